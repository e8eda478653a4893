"""The deployment record in the state home: written before the first create and after every
one, so an interrupted run can be resumed (same command again) or torn down."""

from __future__ import annotations

import fcntl
import json
import os
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from amazonei_setup.errors import InputError
from amazonei_setup.paths import private_dir, write_private_json


def utc_now() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="seconds")


class Ledger:
    """Records live at <home>/deployments/<region>/<name>.json, mode 0600."""

    def __init__(self, home: Path):
        self.root = home / "deployments"
        self._lock = threading.Lock()

    def path(self, region: str, name: str) -> Path:
        return self.root / region / f"{name}.json"

    def load(self, region: str, name: str) -> dict[str, Any] | None:
        path = self.path(region, name)
        if not path.exists():
            return None
        return json.loads(path.read_text(encoding="utf-8"))

    def save(self, record: dict[str, Any]) -> None:
        with self._lock:
            record["updated_at"] = utc_now()
            private_dir(self.root)
            write_private_json(self.path(record["region"], record["name"]), record)

    def all(self) -> list[dict[str, Any]]:
        if not self.root.exists():
            return []
        records = []
        for path in sorted(self.root.glob("*/*.json")):
            records.append(json.loads(path.read_text(encoding="utf-8")))
        return records

    def remove(self, region: str, name: str) -> None:
        self.path(region, name).unlink(missing_ok=True)

    @contextmanager
    def lock(self, region: str, name: str, doing: str, wait_s: float = 0) -> Iterator[None]:
        """One launch or teardown of a deployment at a time in this state home.

        An OS file lock: released by the kernel if the process dies, so it never goes stale.
        Re-entrant within a process (a launch holds it while apply takes it again). With
        `wait_s`, waits that long (polling with backoff) before refusing.
        """
        folder = private_dir(self.root.parent / "locks")
        path = folder / f"{region}--{name}.lock"
        key = str(path)
        with _HELD_GUARD:
            nested = key in _HELD
        if nested:
            yield
            return
        fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
        try:
            if not _acquire(fd, wait_s):
                holder = os.pread(fd, 200, 0).decode(errors="replace").strip() or "another run"
                raise InputError(
                    f"'{name}' in {region} is busy: {holder} is working on it right now",
                    "wait for it to finish (or stop it), then run this again",
                ) from None
            os.ftruncate(fd, 0)
            os.pwrite(fd, f"{doing} (pid {os.getpid()})".encode(), 0)
            with _HELD_GUARD:
                _HELD.add(key)
            try:
                yield
            finally:
                with _HELD_GUARD:
                    _HELD.discard(key)
        finally:
            os.close(fd)


def _acquire(fd: int, wait_s: float) -> bool:
    deadline = time.monotonic() + wait_s
    delay = 0.05
    while True:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            return True
        except BlockingIOError:
            if time.monotonic() >= deadline:
                return False
            time.sleep(min(delay, max(deadline - time.monotonic(), 0)))
            delay = min(delay * 2, 1.0)


_HELD: set[str] = set()  # locks this process holds
_HELD_GUARD = threading.Lock()


def new_record(name: str, region: str, profile: dict[str, Any], endpoint_url: str | None):
    return {
        "name": name,
        "region": region,
        "endpoint_url": endpoint_url,
        "created_at": utc_now(),
        "status": "applying",
        "profile": profile,
        "resources": {},
        "instances": [],
    }
