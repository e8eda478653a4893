"""The owner's credentials for the sandbox of one state home.

The sandbox listens on 127.0.0.1, which every local user (and every web page, through the
browser) can reach; so it answers only requests signed with these credentials (or with a simulated
instance's role credentials, identities.py). They are random, made once per state home and kept in
`<home>/sandbox/credentials.json` (0600): created exclusively (a hard link of a finished private
file, so never half-written, never through a planted symlink, and two starts at once agree), and
read without following a symlink, refusing a file that others could read or write.
"""

from __future__ import annotations

import contextlib
import json
import os
import secrets
import stat
import string
import tempfile
from dataclasses import dataclass
from pathlib import Path

from amazonei_setup.errors import InputError
from amazonei_setup.state.paths import private_dir

CREDENTIALS_FILE = "credentials.json"
ACCESS_KEY_PREFIX = "AKIA"  # what AWS gives an IAM user's long-term access key
_KEY_ALPHABET = string.ascii_uppercase + string.digits
_SECRET_ALPHABET = string.ascii_letters + string.digits + "+/"


@dataclass(frozen=True)
class SandboxCredentials:
    access_key_id: str
    secret_access_key: str

    def boto3_kwargs(self) -> dict[str, str]:
        """What boto3.Session/boto3.client take."""
        return {
            "aws_access_key_id": self.access_key_id,
            "aws_secret_access_key": self.secret_access_key,
        }


def credentials_path(home: Path) -> Path:
    return home / "sandbox" / CREDENTIALS_FILE


def new_sandbox_credentials() -> SandboxCredentials:
    return SandboxCredentials(
        access_key_id=random_access_key_id(ACCESS_KEY_PREFIX), secret_access_key=random_secret()
    )


def random_access_key_id(prefix: str) -> str:
    """An access key id shaped as AWS's: the kind's prefix (AKIA, ASIA) + 16 characters."""
    return prefix + "".join(secrets.choice(_KEY_ALPHABET) for _ in range(16))


def random_secret() -> str:
    """A 40-character secret access key, from AWS's alphabet."""
    return "".join(secrets.choice(_SECRET_ALPHABET) for _ in range(40))


def sandbox_credentials(home: Path) -> SandboxCredentials:
    """This home's sandbox credentials, made on first use."""
    found = existing_credentials(home)
    if found is not None:
        return found
    path = credentials_path(home)
    folder = private_dir(path.parent)
    created = new_sandbox_credentials()
    document = {
        "access_key_id": created.access_key_id,
        "secret_access_key": created.secret_access_key,
    }
    fd, tmp = tempfile.mkstemp(dir=folder, prefix=f".{CREDENTIALS_FILE}.")
    try:
        os.fchmod(fd, 0o600)
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            json.dump(document, handle)
            handle.flush()
            os.fsync(handle.fileno())
        # Exclusive: fails if anything (a symlink too) is there; another start made it first.
        with contextlib.suppress(FileExistsError):
            os.link(tmp, path)
    finally:
        Path(tmp).unlink(missing_ok=True)
    found = existing_credentials(home)
    if found is None:  # pragma: no cover - removed between link and read
        raise InputError(f"{path} vanished as it was made", "run the command again")
    return found


def existing_credentials(home: Path) -> SandboxCredentials | None:
    """This home's sandbox credentials, or None when none were made yet."""
    path = credentials_path(home)
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | getattr(os, "O_CLOEXEC", 0))
    except FileNotFoundError:
        return None
    except OSError as error:  # ELOOP: a symlink
        raise _unsafe(path, f"cannot be opened safely ({error.strerror or error})") from None
    with os.fdopen(fd, "r", encoding="utf-8") as handle:
        info = os.fstat(handle.fileno())
        if not stat.S_ISREG(info.st_mode):
            raise _unsafe(path, "is not a regular file")
        if info.st_uid != os.geteuid():
            raise _unsafe(path, "belongs to another user")
        if info.st_mode & 0o077:
            raise _unsafe(path, f"can be read by others (mode {stat.filemode(info.st_mode)})")
        try:
            document = json.load(handle)
            return SandboxCredentials(
                str(document["access_key_id"]), str(document["secret_access_key"])
            )
        except (ValueError, KeyError, TypeError):
            raise _unsafe(path, "is not a sandbox credentials file") from None


def _unsafe(path: Path, why: str) -> InputError:
    return InputError(
        f"the sandbox credentials file {path} {why}",
        "stop the sandbox (`amazonei-setup sandbox stop`), delete that file, and start it "
        "again: new credentials are made",
    )
