"""The deployment records in the state home: written before the first create and after every
one, so an interrupted run can be resumed (same command again) or torn down.

Every writer goes through `Ledger.edit()`: it takes the deployment's lock, loads the record
once, and saves it atomically (write to a temporary file, then rename) — so a command takes the
lock once, and a slow reader (`verify --wait`) never brings back a record teardown removed.
"""

from __future__ import annotations

import fcntl
import json
import os
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import datetime, timezone
from pathlib import Path

from amazonei_setup.errors import InputError
from amazonei_setup.state.paths import private_dir, write_private_json
from amazonei_setup.state.record import DeploymentRecord, RecordError, parse_record


def utc_now() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="seconds")


class Edit:
    """A record held under its deployment's lock: `record` is None until one is created."""

    def __init__(self, ledger: Ledger, region: str, name: str, record: DeploymentRecord | None):
        self.ledger = ledger
        self.region = region
        self.name = name
        self.record = record
        self._save_lock = threading.Lock()  # apply's steps save from several threads

    def save(self) -> None:
        if self.record is None:
            return
        with self._save_lock:
            self.record.updated_at = utc_now()
            private_dir(self.ledger.root)
            write_private_json(self.ledger.path(self.region, self.name), self.record.to_document())

    def remove(self) -> None:
        self.ledger.path(self.region, self.name).unlink(missing_ok=True)
        self.record = None


class Ledger:
    """Records live at <home>/deployments/<region>/<name>.json, mode 0600."""

    def __init__(self, home: Path):
        self.root = home / "deployments"

    def path(self, region: str, name: str) -> Path:
        return self.root / region / f"{name}.json"

    def load(self, region: str, name: str) -> DeploymentRecord | None:
        """The record, or None; a record that cannot be read is an error naming the file."""
        return self._read(self.path(region, name))

    def _read(self, path: Path) -> DeploymentRecord | None:
        try:
            text = path.read_text(encoding="utf-8")
        except FileNotFoundError:
            return None
        try:
            return parse_record(json.loads(text))
        except (ValueError, RecordError) as exc:
            raise InputError(
                f"the deployment record {path} is damaged ({exc})",
                "move it aside; the deployment can still be torn down by its tags with "
                "`amazonei-setup teardown NAME --region R`",
            ) from None

    def all(self) -> list[DeploymentRecord]:
        """Every readable record; a damaged one never stops the others (`damaged()` names
        it, and its deployment can still be torn down by its tags)."""
        return self._scan()[0]

    def damaged(self) -> list[InputError]:
        """One error per record that cannot be read, naming the file and the fault."""
        return self._scan()[1]

    def _scan(self) -> tuple[list[DeploymentRecord], list[InputError]]:
        records: list[DeploymentRecord] = []
        faults: list[InputError] = []
        paths = sorted(self.root.glob("*/*.json")) if self.root.exists() else []
        for path in paths:
            try:
                record = self._read(path)
            except InputError as fault:
                faults.append(fault)
                continue
            if record is not None:
                records.append(record)
        return records, faults

    @contextmanager
    def edit(self, region: str, name: str, doing: str) -> Iterator[Edit]:
        """Lock the deployment, load its record once, hand it over; the holder saves."""
        with self.lock(region, name, doing):
            yield Edit(self, region, name, self.load(region, name))

    @contextmanager
    def lock(self, region: str, name: str, doing: str, wait_s: float = 0) -> Iterator[None]:
        """One launch or teardown of a deployment (or one endpoint change of a VPC) at a time
        in this state home. An OS file lock: released by the kernel if the process dies, so
        it never goes stale. With `wait_s`, waits that long (with backoff) before refusing."""
        folder = private_dir(self.root.parent / "locks")
        path = folder / f"{region}--{name}.lock"
        try:  # never through a link: a planted one would have its target truncated
            fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_NOFOLLOW, 0o600)
        except OSError as exc:
            raise InputError(
                f"the lock file {path} cannot be opened ({exc.strerror})",
                "remove it if it is a link; the tool makes its own lock files",
            ) from None
        try:
            if not _acquire(fd, wait_s):
                holder = os.pread(fd, 200, 0).decode(errors="replace").strip() or "another run"
                raise InputError(
                    f"'{name}' in {region} is busy: {holder} is working on it right now",
                    "wait for it to finish (or stop it), then run this again",
                ) from None
            os.ftruncate(fd, 0)
            os.pwrite(fd, f"{doing} (pid {os.getpid()})".encode(), 0)
            yield
        finally:
            os.close(fd)


def _acquire(fd: int, wait_s: float, sleep: Callable[[float], None] = time.sleep) -> bool:
    deadline = time.monotonic() + wait_s
    delay = 0.05
    while True:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            return True
        except BlockingIOError:
            if time.monotonic() >= deadline:
                return False
            sleep(min(delay, max(deadline - time.monotonic(), 0)))
            delay = min(delay * 2, 1.0)


def new_record(
    name: str, region: str, profile: dict[str, object], endpoint_url: str | None, created_at: str
) -> DeploymentRecord:
    return DeploymentRecord(
        name=name,
        region=region,
        endpoint_url=endpoint_url,
        created_at=created_at,
        status="applying",
        profile=profile,
    )
