"""What the wizard needs from the program around it, and nothing more: the console it talks
on, the state home, how to reach AWS for a region, and the test seams. The commands build one
from their own context; tests build one directly."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from rich.console import Console

    from amazonei_setup.aws.clients import AwsClients, AwsTarget


@dataclass(frozen=True)
class WizardContext:
    console: Console  # stderr: questions, lists and notes (stdout stays for JSON)
    home: Path  # the state home (records tell which deployment names are taken)
    clients_for: Callable[[str], AwsClients]  # one set of clients per region, shared
    ip_lookup: Callable[[AwsTarget], str]  # the caller's public IP (a fixed one in tests)
    sandbox: bool = False  # the account line names the sandbox's endpoint
    aws_profile: str | None = None  # the named AWS profile, for its configured region
