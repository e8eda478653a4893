"""What is left of a simulated instance once it is gone: a few log files, never its folder.

Each simulated instance works in `<home>/sandbox/instances/<id>/` (its status and a root with
tools, a script and logs). When the instance is terminated, the sandbox is reset or stopped, that
folder is deleted; its status and logs move to `<home>/sandbox/logs/<id>.<name>` first (status.json,
output.log, agent.log, console.log), and only the newest KEPT_INSTANCES instances' logs are kept.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
from pathlib import Path

from amazonei_setup.state.paths import private_dir, write_private_json

KEPT_INSTANCES = 20
STATUS = "status.json"
# What is kept, from where in the instance's folder, under which name (and status.json key).
KEPT_FILES = (
    ("root/var/log/cloud-init-output.log", "output.log", "output_log"),
    ("root/var/log/amazonei-agent.log", "agent.log", "log"),
    ("root/dev/console", "console.log", "console"),
)


def logs_dir(home: Path) -> Path:
    return home / "sandbox" / "logs"


def archived_status(logs: Path, instance_id: str) -> Path:
    return logs / f"{instance_id}.{STATUS}"


def archive(folder: Path, logs: Path) -> None:
    """Move the instance's status and logs out of `folder` into `logs`, then delete `folder`.
    Safe to call for a folder already gone."""
    if not folder.is_dir() or folder.is_symlink():
        return
    instance_id = folder.name
    private_dir(logs)
    moved: dict[str, str | None] = {}
    for relative, name, key in KEPT_FILES:
        source = folder / relative
        target = logs / f"{instance_id}.{name}"
        if source.is_file() and not source.is_symlink():  # never a link the script left
            os.replace(source, target)
            moved[key] = str(target)
        else:
            moved[key] = None
    status_file = folder / STATUS
    with contextlib.suppress(OSError, ValueError):
        document = json.loads(status_file.read_text(encoding="utf-8"))
        last_change = status_file.stat().st_mtime  # when the instance last changed: kept
        if isinstance(document, dict):
            document.update(moved, root=None, script=None)
            target = archived_status(logs, instance_id)
            write_private_json(target, document)
            os.utime(target, (last_change, last_change))
    shutil.rmtree(folder, ignore_errors=True)
    prune(logs)


def archive_all(instances: Path, logs: Path) -> None:
    """Every instance folder left under `instances` (the sandbox stopped, or died)."""
    if not instances.is_dir():
        return
    for folder in sorted(instances.iterdir()):
        archive(folder, logs)


def prune(logs: Path, keep: int = KEPT_INSTANCES) -> None:
    """Delete the logs of all but the `keep` most recently archived instances."""
    statuses = sorted(logs.glob(f"*.{STATUS}"), key=lambda path: path.stat().st_mtime, reverse=True)
    for status in statuses[keep:]:
        instance_id = status.name.removesuffix(f".{STATUS}")
        for path in logs.glob(f"{instance_id}.*"):
            path.unlink(missing_ok=True)
