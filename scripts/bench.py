"""How fast launches and teardowns are, measured against the sandbox with a fixed latency added
to every AWS call (a botocore `before-send` hook), so the numbers say how close the tool comes
to the bound its own plan sets: wall ÷ (critical-path calls × per-call delay).

    python scripts/bench.py [--delay-ms 200,100] [--seats 20]

Prints one table from one run, then the targets with PASS/FAIL; exit 1 when a target is missed.
The simulated instances' agents are switched off (the agent's own speed is not an AWS call).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from amazonei_sandbox import control  # noqa: E402
from amazonei_sandbox.credentials import sandbox_credentials  # noqa: E402
from amazonei_setup.aws.clients import is_mutating  # noqa: E402
from amazonei_setup.cli.main import Hooks, main  # noqa: E402

REGION = "us-west-2"


@dataclass
class CallLog:
    """Every request that went on the wire (retries included), with the added latency."""

    delay_s: float
    operations: list[str] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def before_send(self, event_name: str, **_: Any) -> None:
        operation = event_name.rsplit(".", 1)[-1]
        with self.lock:
            self.operations.append(operation)
        time.sleep(self.delay_s)  # the latency of a real AWS round trip, on every call

    def take(self) -> list[str]:
        with self.lock:
            taken, self.operations = self.operations, []
        return taken


@dataclass
class Row:
    scenario: str
    calls: int
    mutating: int
    wall_s: float
    critical_path_calls: int | None = None
    delay_s: float = 0.0

    @property
    def ratio(self) -> float | None:
        if not self.critical_path_calls:
            return None
        return self.wall_s / (self.critical_path_calls * self.delay_s)


def delayed_hooks(log: CallLog, home: Path) -> Hooks:
    import boto3

    credentials = sandbox_credentials(home).boto3_kwargs()  # the sandbox answers no other

    def session_factory(target: Any) -> Any:
        session = boto3.Session(region_name=target.region, **credentials)
        session.events.register("before-send", log.before_send)
        return session

    return Hooks(session_factory=session_factory, stdin_is_tty=lambda: False)


def run(home: Path, hooks: Hooks, *argv: str) -> tuple[int, str]:
    """The CLI in this process, its JSON stdout captured."""
    import contextlib
    import io

    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        code = main(["--sandbox", "--home", str(home), *argv], hooks)
    if code != 0:
        raise SystemExit(f"`{' '.join(argv)}` exited {code}:\n{err.getvalue()}")
    return code, out.getvalue()


def measure(
    scenario: str, log: CallLog, action: Callable[[], Any], bound: int | None = None
) -> tuple[Row, list[str]]:
    log.take()
    started = time.perf_counter()
    action()
    wall = time.perf_counter() - started
    operations = log.take()
    mutating = sum(is_mutating(op) for op in operations)
    return Row(scenario, len(operations), mutating, wall, bound, log.delay_s), operations


def bench_profile(folder: Path, name: str, seats: int) -> Path:
    document = yaml.safe_load((REPO / "templates/profiles/eia-workshop.yaml").read_text())
    document.update(name=name, seats=seats, agent={"enabled": False, "smoke_test": False})
    path = folder / f"{name}.yaml"
    path.write_text(yaml.safe_dump(document))
    return path


def help_imports() -> tuple[float, list[str]]:
    """`amazonei-setup --help` in a fresh interpreter: its time, and any AWS SDK it imported."""
    started = time.perf_counter()
    result = subprocess.run(
        [sys.executable, "-X", "importtime", "-m", "amazonei_setup", "--help"],
        capture_output=True,
        text=True,
        cwd=REPO,
        check=True,
    )
    wall = time.perf_counter() - started
    imported = {line.rsplit("|", 1)[-1].strip() for line in result.stderr.splitlines()}
    heavy = sorted(m for m in imported if m.split(".")[0] in ("boto3", "botocore", "moto"))
    return wall, heavy


def scenario_rows(
    home: Path, folder: Path, delay_s: float, seats: int
) -> list[tuple[Row, list[str]]]:
    log = CallLog(delay_s)
    hooks = delayed_hooks(log, home)
    results = []
    for name, count in (("bench-one", 1), (f"bench-{seats}", seats)):
        profile = bench_profile(folder, name, count)
        log.delay_s = 0.0  # the plan itself is not measured
        _, plan_json = run(home, hooks, "plan", "--profile-file", str(profile), "--output", "json")
        log.delay_s = delay_s
        bound = json.loads(plan_json)["critical_path_calls"]
        launch = (
            "launch",
            "--profile-file",
            str(profile),
            "--yes",
            "--no-wait",
            "--output",
            "json",
        )
        label = f"fresh launch, {count} seat{'s' if count > 1 else ''}"
        results.append(measure(label, log, lambda a=launch: run(home, hooks, *a), bound))
        if count == 1:
            again = measure("idempotent re-run, 1 seat", log, lambda a=launch: run(home, hooks, *a))
            results.append(again)
        teardown = ("teardown", name, "--region", REGION, "--yes", "--output", "json")
        label = f"teardown, {count} seat{'s' if count > 1 else ''}"
        results.append(measure(label, log, lambda a=teardown: run(home, hooks, *a)))
    return results


def table(rows: list[Row], delay_s: float) -> str:
    header = (
        f"| scenario | AWS calls (mutating) | wall s | critical path (calls) | "
        f"bound s (× {delay_s * 1000:.0f} ms) | wall ÷ bound | wall − bound s |"
    )
    lines = [header, "|---|---:|---:|---:|---:|---:|---:|"]
    for row in rows:
        bound = row.critical_path_calls
        lines.append(
            f"| {row.scenario} | {row.calls} ({row.mutating}) | {row.wall_s:.2f} | "
            + (
                f"{bound} | {bound * delay_s:.2f} | {row.ratio:.2f}× | "
                f"{row.wall_s - bound * delay_s:.2f}"
                if bound
                else "— | — | — | —"
            )
            + " |"
        )
    return "\n".join(lines)


def machine() -> str:
    return (
        f"{platform.system()} {platform.machine()}, {os.cpu_count()} CPUs, "
        f"Python {platform.python_version()}"
    )


def targets(measured: list[tuple[Row, list[str]]], seats: int) -> list[tuple[str, bool]]:
    by_name = {row.scenario: (row, operations) for row, operations in measured}
    one, _ = by_name["fresh launch, 1 seat"]
    many, _ = by_name[f"fresh launch, {seats} seats"]
    again, again_ops = by_name["idempotent re-run, 1 seat"]
    assert one.ratio is not None
    return [
        (f"fresh 1-seat launch ≤ 1.3× its bound: {one.ratio:.2f}×", one.ratio <= 1.3),
        (
            f"{seats} seats ≤ 3× one seat: {many.wall_s / one.wall_s:.2f}×",
            many.wall_s <= 3 * one.wall_s,
        ),
        (
            f"idempotent re-run ≤ 10 calls, all reads: {again.calls} calls, "
            f"{again.mutating} mutating ({', '.join(again_ops)})",
            again.calls <= 10 and again.mutating == 0,
        ),
    ]


def main_bench(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--delay-ms",
        default="200,100",
        help="latency added per call; several (comma-separated) make one table each, and the "
        "targets are judged at the first (default 200,100)",
    )
    parser.add_argument("--seats", type=int, default=20, help="seats of the workshop launch")
    args = parser.parse_args(argv)
    delays = [float(ms) / 1000 for ms in args.delay_ms.split(",")]
    folder = Path(tempfile.mkdtemp(prefix="amazonei-bench-"))
    home = folder / "home"
    try:
        control.start(home)
        runs = [(delay, scenario_rows(home, folder, delay, args.seats)) for delay in delays]
    finally:
        control.stop(home)
        shutil.rmtree(folder, ignore_errors=True)
    help_s, heavy = help_imports()

    print(f"amazonei-setup bench: {machine()}; the sandbox on 127.0.0.1")
    verdicts: list[tuple[str, bool]] = []
    for index, (delay, measured) in enumerate(runs):
        print()
        print(f"{delay * 1000:.0f} ms added to every AWS call:")
        print()
        print(table([row for row, _ in measured], delay))
        judged = targets(measured, args.seats)
        print()
        for text, ok in judged:
            print(f"{'PASS' if ok else 'FAIL'}  {text}" if index == 0 else f"info  {text}")
        if index == 0:
            verdicts = judged
    heavy_text = f"imported {', '.join(heavy[:3])}" if heavy else "none of boto3/botocore/moto"
    verdicts.append((f"`--help` imports no boto3: {help_s:.2f} s, {heavy_text}", not heavy))
    print(f"{'PASS' if not heavy else 'FAIL'}  {verdicts[-1][0]}")
    return 0 if all(ok for _, ok in verdicts) else 1


if __name__ == "__main__":
    sys.exit(main_bench())
