"""Time-to-live arithmetic: parsing a `ttl`, a deployment's expiry (its record's `created_at`
plus the ttl), and the words `plan`, `status` and `sweep` show for it.

Pure functions over strings and datetimes (the profile validates with them, a frozen clock
tests them exactly); the AWS side (tags) lives in `expiry`.
"""

from __future__ import annotations

import re
from datetime import datetime, timedelta, timezone

TTL_PATTERN = re.compile(r"(?:(\d{1,6})d)?(?:(\d{1,6})h)?(?:(\d{1,6})m)?")
MIN_TTL = timedelta(minutes=10)
MAX_TTL = timedelta(days=30)
TTL_ALLOWED = "a duration like 90m, 4h, 2d or 1h30m (units d, h, m), from 10m to 30d, or none"
NONE_WORDS = ("none", "")


def utc_clock() -> datetime:
    """The real wall clock, in UTC (tests inject a frozen one instead)."""
    return datetime.now(timezone.utc)


def parse_ttl(text: str) -> timedelta:
    """The duration `text` names; ValueError saying what is allowed when it names none, or
    one under 10 minutes (a typo, not a plan) or over 30 days (not a time-to-live)."""
    match = TTL_PATTERN.fullmatch(text)
    if not text or match is None:
        raise ValueError(f"'{text}' is not a duration; use {TTL_ALLOWED}")
    days, hours, minutes = (int(group or 0) for group in match.groups())
    ttl = timedelta(days=days, hours=hours, minutes=minutes)
    if ttl < MIN_TTL:
        raise ValueError(f"'{text}' is too short; use {TTL_ALLOWED}")
    if ttl > MAX_TTL:
        raise ValueError(f"'{text}' is too long; use {TTL_ALLOWED}")
    return ttl


def utc_iso(moment: datetime) -> str:
    """ISO-8601 in UTC to the second, e.g. 2026-11-21T16:00:00Z (record and tag alike)."""
    return moment.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def parse_time(text: str | None) -> datetime | None:
    """A timestamp we wrote (or a person typed into a tag); None when it is not one."""
    if not text:
        return None
    try:
        parsed = datetime.fromisoformat(text.strip().replace("Z", "+00:00"))
    except ValueError:
        return None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=timezone.utc)


def expiry_of(created_at: str, ttl: str | None) -> str | None:
    """When a deployment created at `created_at` expires; None without a ttl. The first
    launch fixes created_at, so a re-run with another ttl moves the expiry from there."""
    created = parse_time(created_at)
    if ttl is None or created is None:
        return None
    return utc_iso(created + parse_ttl(ttl))


def time_left_s(expires_at: str | None, now: datetime) -> int | None:
    """Seconds until the expiry (negative once past); None without one."""
    expires = parse_time(expires_at)
    if expires is None:
        return None
    return round((expires - now).total_seconds())


def expired(expires_at: str | None, now: datetime) -> bool:
    left = time_left_s(expires_at, now)
    return left is not None and left <= 0


def short_duration(seconds: int) -> str:
    """The two largest units, rounded down: '2d 3h', '3h 12m', '25m', '4h'; '<1m' under one."""
    minutes = abs(seconds) // 60
    if minutes == 0:
        return "<1m"
    days, rest = divmod(minutes, 24 * 60)
    hours, minutes = divmod(rest, 60)
    parts = [(days, "d"), (hours, "h"), (minutes, "m")]
    first = next(i for i, (amount, _) in enumerate(parts) if amount)
    shown = [f"{amount}{unit}" for amount, unit in parts[first : first + 2] if amount]
    return " ".join(shown)


def left_words(seconds: int | None) -> str:
    """'3h 12m left', 'expired 25m ago', or '—' without a ttl (status's table)."""
    if seconds is None:
        return "—"
    if seconds <= 0:
        return f"expired {short_duration(seconds)} ago"
    return f"{short_duration(seconds)} left"


def expiry_words(expires_at: str, seconds: int) -> str:
    """'expires 2026-11-21 16:00 UTC (in 4h)' (the plan's line), `seconds` from now."""
    moment = parse_time(expires_at)
    if moment is None:
        return f"expires {expires_at}"
    when = f"in {short_duration(seconds)}" if seconds > 0 else f"{short_duration(seconds)} ago"
    verb = "expires" if seconds > 0 else "expired"
    return f"{verb} {moment.strftime('%Y-%m-%d %H:%M')} UTC ({when})"
