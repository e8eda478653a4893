"""The seams a run can be given from outside (tests, above all): a library-level type, so the
commands and the wizard take it typed rather than as Any, and no library imports the CLI."""

from __future__ import annotations

import sys
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any


@dataclass
class Hooks:
    """Seams for tests: how sessions are made, the caller's IP, sleeping, TTY detection, the
    wall clock (`now`, UTC) that dates deployments and judges their time-to-live, and how
    `connect` replaces the process (os.execvp by default; a test records the argv)."""

    session_factory: Callable[..., Any] | None = None
    ip_lookup: Callable[..., str] | None = None
    sleep: Callable[[float], None] | None = None
    clock: Callable[[], float] | None = None
    now: Callable[[], datetime] | None = None  # default: datetime.now(timezone.utc)
    stdin_is_tty: Callable[[], bool] = field(default=lambda: sys.stdin.isatty())
    replace_process: Callable[[list[str]], None] | None = None  # default: os.execvp
