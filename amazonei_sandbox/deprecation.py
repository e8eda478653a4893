"""DescribeImages as EC2 answers an AMI user: deprecated images are left out unless they are
asked for by id or with IncludeDeprecated=True; their owner sees them all (EC2 User Guide,
"Deprecate an AMI"). moto 5 shows every image and has no DeprecationTime: an image carries one
when the seed sets `deprecation_time` (serialized as DeprecationTime)."""

from __future__ import annotations

from datetime import datetime, timezone
from typing import Any

from moto.core.responses import ActionResult
from moto.ec2.responses.amis import AmisResponse

from amazonei_sandbox.patching import once


@once
def install() -> None:
    """Wrap moto's DescribeImages once per process (idempotent, thread-safe)."""
    original = AmisResponse.describe_images

    def describe_images(self: Any) -> ActionResult:
        answer = original(self)
        if self._get_param("ImageIds") or self._get_bool_param("IncludeDeprecated", False):
            return answer
        now = datetime.now(timezone.utc)
        images = [
            image
            for image in answer.result["Images"]  # type: ignore[index]
            if image.owner_id == self.current_account or not is_deprecated(image, now)
        ]
        return ActionResult({"Images": images})

    AmisResponse.describe_images = describe_images  # type: ignore[method-assign]


def is_deprecated(image: Any, now: datetime) -> bool:
    stamp = getattr(image, "deprecation_time", None)
    if not stamp:
        return False
    when = datetime.fromisoformat(str(stamp).replace("Z", "+00:00"))
    return when <= now
