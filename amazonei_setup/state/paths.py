"""Where the tool keeps its state: records, private keys, the sandbox's pid and port."""

from __future__ import annotations

import json
import os
import stat
import tempfile
from pathlib import Path
from typing import Any

from amazonei_setup.errors import InputError

HOME_ENV = "AMAZONEI_SETUP_HOME"


def state_home(override: str | os.PathLike[str] | None = None) -> Path:
    """The state home (--home, then $AMAZONEI_SETUP_HOME, then ~/.amazonei-setup), made 0700."""
    raw = override or os.environ.get(HOME_ENV) or Path.home() / ".amazonei-setup"
    home = Path(raw).expanduser()
    if not home.exists() and not home.is_symlink():
        return private_dir(home)  # made here: 0700, parents too
    # An existing folder is the user's: its mode stays (`--home /tmp` must not become 0700),
    # but one that others may write to could have records and keys planted or swapped.
    if not home.is_dir():
        raise InputError(
            f"the state home {home} is not a folder",
            "pass --home with a folder (it is made if missing), or drop --home",
        )
    mode = home.stat().st_mode
    if mode & (stat.S_IWGRP | stat.S_IWOTH):
        raise InputError(
            f"others can write to the state home {home} (mode {stat.filemode(mode)}), so they "
            "could change its records and private keys",
            "use a folder only you can write (e.g. --home ~/.amazonei-setup, made 0700)",
        )
    return home


def private_dir(path: Path) -> Path:
    """Create `path`, and every missing parent, readable by the owner only (mkdir's `mode`
    does not apply to the parents it makes)."""
    missing = []
    cursor = path
    while not cursor.exists():
        missing.append(cursor)
        cursor = cursor.parent
    for folder in reversed(missing):
        folder.mkdir(mode=0o700, exist_ok=True)
        folder.chmod(0o700)
    path.chmod(0o700)
    return path


def write_private(path: Path, data: str | bytes) -> None:
    """Write a file atomically with mode 0600, so a crash never leaves half a record or key.
    A missing folder is made private; an existing one (the user's own) keeps its mode."""
    if not path.parent.exists():
        private_dir(path.parent)
    write_atomic(path, data, 0o600)


def write_public(path: Path, data: str | bytes) -> None:
    """Write atomically with mode 0644: for what holds no secret and is meant to be shared
    (an exported template)."""
    write_atomic(path, data, 0o644)


def write_atomic(path: Path, data: str | bytes, mode: int) -> None:
    """Write beside the target, then rename: readers see the old file or the whole new one,
    with its mode set before a byte is written."""
    payload = data.encode() if isinstance(data, str) else data
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")
    try:
        os.fchmod(fd, mode)
        with os.fdopen(fd, "wb") as handle:
            handle.write(payload)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def write_private_json(path: Path, document: Any) -> None:
    write_private(path, json.dumps(document, indent=2, sort_keys=True, default=str) + "\n")


def templates_dir() -> Path:
    """The bundled templates: inside the installed wheel, or the repository's `templates/`."""
    package = Path(__file__).resolve().parents[1]
    for candidate in (package / "templates", package.parent / "templates"):
        if (candidate / "catalog").is_dir():
            return candidate
    raise FileNotFoundError("templates/ not found next to the amazonei_setup package")
