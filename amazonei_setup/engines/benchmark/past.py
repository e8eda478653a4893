"""Past benchmarks, kept in the state home (`benchmarks/measured/<model sha256>/<time>.json`,
each run's JSON document), so `estimate --rank --model M` shows what was measured for that
model as `measured` rows: a latency measured on that hardware, never one carried over from
other hardware. Simulated (sandbox) results are left out: they measured this machine's CPU."""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

from amazonei_setup.state.paths import private_dir, write_private_json


def folder(home: Path, sha256: str) -> Path:
    return home / "benchmarks" / "measured" / sha256


def remember(home: Path, document: dict[str, Any]) -> Path:
    """Keep a run's document under its model's SHA-256; returns where."""
    sha = str(document["model"]["sha256"])
    stamp = time.strftime("%Y%m%dT%H%M%SZ", time.gmtime())
    path = private_dir(folder(home, sha)) / f"{stamp}.json"
    write_private_json(path, document)
    return path


def measured_latencies(home: Path, sha256: str) -> list[tuple[str, float, float]]:
    """(hardware, $/hour, ms per inference) of the model's newest measurement on each
    hardware: the single-stream mean at the smallest batch measured, ÷ that batch."""
    newest: dict[str, tuple[str, float, float]] = {}
    for path in sorted(folder(home, sha256).glob("*.json")):
        try:
            document = json.loads(path.read_text())
        except (OSError, ValueError):
            continue  # a damaged file says nothing
        rows = [
            r for r in document.get("results", [])
            if r.get("status") == "ok" and not r.get("simulated")
            and r.get("price_per_hour_usd") is not None and r.get("mean_ms")
        ]  # fmt: skip
        for row in sorted(rows, key=lambda r: -int(r["batch_size"])):  # smallest batch wins
            hardware = row["instance_type"] + (
                f" + {row['accelerator']}" if row.get("accelerator") else ""
            )
            latency = float(row["mean_ms"]) / int(row["batch_size"])
            newest[hardware] = (hardware, float(row["price_per_hour_usd"]), latency)
    return sorted(newest.values())
