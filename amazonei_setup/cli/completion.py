"""Shell completion (bash, zsh, fish) through argcomplete: the parser's commands and flags,
deployment names from the local records, and YAML files for --profile-file.

A Tab press runs the program with _ARGCOMPLETE set; it must answer in a blink, so completers
read file names only: no AWS calls, no record parsing, no boto3. Nothing here is imported
unless the shell asks for completions.
"""

from __future__ import annotations

import argparse
import os
from pathlib import Path
from typing import Any

from amazonei_setup.state.paths import HOME_ENV

NAMED_COMMANDS = ("status", "verify", "teardown", "connect")  # their NAME is a deployment
PROFILE_SUFFIXES = ("yaml", "yml")


def autocomplete(parser: argparse.ArgumentParser) -> None:
    """Answer the shell's completion request and exit (argcomplete's way), with our
    completers attached to the arguments they serve."""
    import argcomplete

    attach_completers(parser)
    argcomplete.autocomplete(parser, always_complete_options=False)  # flags after a '-'


def attach_completers(parser: argparse.ArgumentParser) -> None:
    for name, command in _subcommands(parser).items():
        for action in command._actions:
            if name in NAMED_COMMANDS and action.dest == "name":
                action.completer = deployment_names  # type: ignore[attr-defined]
            if action.dest == "profile_file":
                action.completer = profile_files  # type: ignore[attr-defined]


def _subcommands(parser: argparse.ArgumentParser) -> dict[str, argparse.ArgumentParser]:
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            return dict(action.choices)
    return {}


def deployment_names(prefix: str, parsed_args: Any = None, **_: Any) -> list[str]:
    """Names recorded in the state home the command line points at (--home, then
    $AMAZONEI_SETUP_HOME, then ~/.amazonei-setup), from the records' file names."""
    home = getattr(parsed_args, "home", None) or os.environ.get(HOME_ENV)
    root = Path(home or Path.home() / ".amazonei-setup").expanduser() / "deployments"
    regions = getattr(parsed_args, "region", None)
    try:
        files = list(root.glob("*/*.json"))
    except OSError:
        return []
    names = {
        path.stem
        for path in files
        if path.stem.startswith(prefix)
        and (not isinstance(regions, str) or path.parent.name == regions)
    }
    return sorted(names)


def profile_files(prefix: str, **kwargs: Any) -> list[str]:
    """YAML files (and folders to walk into) for --profile-file."""
    from argcomplete.completers import FilesCompleter

    return list(FilesCompleter(PROFILE_SUFFIXES)(prefix, **kwargs))
