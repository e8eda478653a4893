"""Text that came from somewhere we do not trust (an instance's agent report, tags in AWS) made
safe to show: no terminal control sequences (which could rewrite the screen or set the window
title), and, for spreadsheets, no cell that starts a formula."""

from __future__ import annotations

import re

# CSI and OSC escape sequences first, then any other C0/C1 control character but tab and newline.
_CONTROL = re.compile(
    r"\x1b\[[0-?]*[ -/]*[@-~]|\x1b\][^\x07\x1b]*(?:\x07|\x1b\\)?|[\x00-\x08\x0b-\x1f\x7f-\x9f]"
)
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def plain(value: object) -> str:
    """The text without control sequences; show it through rich as Text, never as markup."""
    return _CONTROL.sub("", str(value))


def spreadsheet_cell(value: object) -> str:
    """A CSV cell a spreadsheet shows as text: a leading formula character is quoted away."""
    text = plain(value)
    return "'" + text if text.startswith(FORMULA_STARTS) else text
