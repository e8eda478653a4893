"""One row per deployment for `status`: hardware, instances, age and what it has cost so far.

Pure functions over a record and the live instances, so a frozen clock tests them exactly.
"""

from __future__ import annotations

from datetime import datetime, timezone
from typing import Any

from amazonei_setup.resources.instance import LaunchedInstance
from amazonei_setup.spec.catalog import Catalog
from amazonei_setup.spec.ttl import time_left_s
from amazonei_setup.state.record import DeploymentRecord

BILLED_STATES = ("pending", "running", "stopping")


def _parse(timestamp: str | None) -> datetime | None:
    if not timestamp:
        return None
    parsed = datetime.fromisoformat(timestamp.replace("Z", "+00:00"))
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=timezone.utc)


def _hours(since: datetime | None, now: datetime) -> float:
    return 0.0 if since is None else max((now - since).total_seconds() / 3600, 0.0)


def _agent_summary(record: DeploymentRecord) -> str | None:
    """'passed', 'failed', or e.g. '1 passed, 1 failed'; None before any report arrived."""
    results = [i.agent for i in record.instances if i.agent]
    if not results:
        return None
    counts = {result: results.count(result) for result in sorted(set(results))}
    if len(counts) == 1:
        return next(iter(counts))
    return ", ".join(f"{n} {result}" for result, n in counts.items())


def _seat(instance: LaunchedInstance, record: DeploymentRecord) -> dict[str, Any]:
    """A live instance with what the record knows of its seat: how to connect, the agent."""
    known = next((e for e in record.instances if e.id == instance.id), None)
    return {
        "id": instance.id,
        "seat": instance.seat,
        "state": instance.state,
        "availability_zone": instance.availability_zone,
        "connect": known.connect if known else None,
        "agent": known.agent if known else None,
    }


def deployment_row(
    record: DeploymentRecord, live: list[LaunchedInstance], catalog: Catalog, now: datetime
) -> dict[str, Any]:
    """Cost so far = hours each billed instance has run × the catalog's price per hour."""
    profile = record.profile
    accelerator = profile.get("accelerator")
    accelerator = None if accelerator in (None, "none") else accelerator
    price = None
    if not record.benchmark:  # a benchmark's own record holds only its bucket
        price = catalog.price_per_hour(profile["instance_type"], accelerator)
    cost = None
    if price is not None:
        cost = sum(
            _hours(_parse(i.launched_at), now) * price for i in live if i.state in BILLED_STATES
        )
    return {
        "name": record.name,
        "region": record.region,
        "hardware": profile["instance_type"] + (f" + {accelerator}" if accelerator else ""),
        "seats": profile.get("seats", 1),
        "benchmark": bool(record.benchmark),  # its candidates are deployments of their own
        "status": record.status,
        "agent": _agent_summary(record),
        "instances": [_seat(i, record) for i in live],
        "price_per_hour_usd": price,  # one seat
        "total_per_hour_usd": None if price is None else round(price * profile.get("seats", 1), 6),
        "cost_so_far_usd": None if cost is None else round(cost, 4),
        "age_hours": round(_hours(_parse(record.created_at), now), 2),
        "created_at": record.created_at,
        "expires_at": record.expires_at,
        "time_left_s": time_left_s(record.expires_at, now),  # negative once expired
        "resources": {
            key: {"kind": entry.kind, "id": entry.id, "owned": entry.owned}
            for key, entry in record.resources.items()
        },
    }
