"""Commands the tool prints for the person to run next (teardown, status, verify, sweep, the
replay of a saved profile): each one built here, so that pasted as printed it works — the program
as it was invoked (`.venv/bin/amazonei-setup` when that is not on PATH), then the flags that
chose this AWS and this state home (`--sandbox`, `--home`, `--profile`, `--endpoint-url`), then
the command, and `--region` for anything that lives in one region."""

from __future__ import annotations

import argparse
import os
import re
import shlex
import shutil
import sys
from pathlib import Path

ENTRY_POINTS = ("amazonei-setup", "amazonei_setup.py")
PACKAGE = "amazonei_setup"
# A command quoted in a message the way libraries write them: `amazonei-setup status ...`
_QUOTED = re.compile(r"`amazonei-setup ([^`]*)`")


def program_words(argv0: str | None = None, executable: str | None = None) -> list[str]:
    """The program as the person ran it, in a form a shell finds again: the bare name when
    PATH leads to this very file; the path as typed when it does not (`.venv/bin/...` after
    an install into a venv that is not active); `python -m amazonei_setup` for that form."""
    argv0 = sys.argv[0] if argv0 is None else argv0
    executable = executable or sys.executable
    path = Path(argv0)
    if path.name == "__main__.py" and path.parent.name == PACKAGE:
        return [_python(executable), "-m", PACKAGE]
    if path.name not in ENTRY_POINTS:  # embedded (tests, another program's main): the name
        return ["amazonei-setup"]
    found = shutil.which(path.name)
    if found and _same_file(found, argv0):
        return [path.name]
    return [argv0]


def _python(executable: str) -> str:
    """The interpreter: by its name when PATH finds this one, else by its path."""
    name = Path(executable).name
    found = shutil.which(name)
    return name if found and _same_file(found, executable) else executable


def _same_file(a: str, b: str) -> bool:
    try:
        return Path(a).resolve() == Path(b).resolve()
    except OSError:
        return False


def talks_to_sandbox(args: argparse.Namespace, home: Path) -> bool:
    """--sandbox, or an endpoint (--endpoint-url, AWS_ENDPOINT_URL after `sandbox env`) that is
    this home's running sandbox: either way the run is a sandbox run."""
    if getattr(args, "sandbox", False):
        return True
    endpoint = getattr(args, "endpoint_url", None) or os.environ.get("AWS_ENDPOINT_URL")
    if not endpoint:
        return False
    from amazonei_sandbox import control

    info = control.status(home)
    return info is not None and info.running and info.endpoint == endpoint.rstrip("/")


def context_words(args: argparse.Namespace, home: Path, sandbox: bool = False) -> list[str]:
    """The global flags that made this run talk to this AWS with this state home. A sandbox
    run's commands carry --sandbox (its keys live in the home, so they work in a fresh shell,
    where an endpoint from `sandbox env` would not be set)."""
    words: list[str] = []
    sandbox = sandbox or talks_to_sandbox(args, home)
    if sandbox:
        words.append("--sandbox")
    # Any home but ~/.amazonei-setup is named, $AMAZONEI_SETUP_HOME's too: the command may be
    # pasted into a shell (cron, a colleague's) that does not have that variable.
    if _resolved(home) != _resolved(Path.home() / ".amazonei-setup"):
        words += ["--home", str(home)]
    if getattr(args, "aws_profile", None):
        words += ["--profile", args.aws_profile]
    if getattr(args, "endpoint_url", None) and not sandbox:
        words += ["--endpoint-url", args.endpoint_url]
    return words


def _resolved(path: Path) -> Path:
    try:
        return path.expanduser().resolve()
    except OSError:
        return path


def command_line(
    args: argparse.Namespace,
    home: Path,
    command: str,
    *words: str,
    region: str | None = None,
    sandbox: bool = False,
) -> str:
    """One follow-up command, shell-quoted: program, context flags, command, its words, and
    `--region R` when the command acts in one region."""
    tail = [*words, "--region", region] if region else list(words)
    flags = context_words(args, home, sandbox)
    return shlex.join([*program_words(), *flags, command, *tail])


def pasteable(args: argparse.Namespace, home: Path, text: str) -> str:
    """`text` with every quoted `amazonei-setup COMMAND ...` (as libraries write them, knowing
    nothing of this run) made into a command that works as printed. Text already built by
    `command_line` is left as it is."""
    prefix = shlex.join([*program_words(), *context_words(args, home)])

    def full(match: re.Match[str]) -> str:
        rest = match.group(1)
        flags = shlex.join(context_words(args, home))
        # Built by command_line already: its global flags come first (a library's starts with
        # the command word), whichever flags it chose (--sandbox for a sandbox deployment).
        if prefix == "amazonei-setup" or rest.startswith("-") or (flags and rest.startswith(flags)):
            return match.group(0)
        return f"`{prefix} {rest}`"

    return _QUOTED.sub(full, text)
