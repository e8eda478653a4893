"""Creating a named IAM resource idempotently: when AWS says it already exists, it is ours
(a retried call whose first answer was lost, or a run that died before recording it) and is
adopted, or it is someone else's and the create is refused."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from amazonei_setup.errors import AwsFailure
from amazonei_setup.resources.naming import TAG_EXPIRES


def create_or_adopt(
    create: Callable[[], str],
    find: Callable[[], dict[str, Any] | None],
    tags: dict[str, str],
    what: str,
) -> str:
    """The ARN of the created resource, or of ours that was already there. Our tags say whose
    it is; the expiry is not identity (a re-run with another ttl moves it)."""
    try:
        return create()
    except AwsFailure as failure:
        if failure.code != "EntityAlreadyExists":
            raise
    found = find()
    ours = found is not None and all(
        found["tags"].get(key) == value
        for key, value in tags.items()
        if key.startswith("amazonei-setup:") and key != TAG_EXPIRES
    )
    if not ours:
        raise AwsFailure(
            f"{what} already exists and was not made by this deployment",
            "choose another deployment name, or remove that resource",
            code="EntityAlreadyExists",
        )
    return str(found["arn"])  # type: ignore[index]
