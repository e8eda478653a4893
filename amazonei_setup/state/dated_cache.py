"""What the tool read from AWS and keeps for a few days in the state home (the instance types'
facts, the price list): one JSON document per region, stamped with the day it was read."""

from __future__ import annotations

import json
from datetime import date, datetime, timezone
from pathlib import Path
from typing import Any


def today() -> str:
    return datetime.now(timezone.utc).date().isoformat()


def read_dated(
    path: Path, on: str, max_age_days: int, table: str, empty: dict[str, Any]
) -> dict[str, Any]:
    """The document at `path` when it was read at most `max_age_days` before `on` and holds a
    `table` mapping; else `empty` (a missing, unreadable or stale cache is read again)."""
    try:
        document = json.loads(path.read_text())
        age = date.fromisoformat(on) - date.fromisoformat(str(document["read_at"]))
    except (OSError, ValueError, KeyError, TypeError):
        return empty
    if age.days > max_age_days or not isinstance(document.get(table), dict):
        return empty
    return dict(document)
