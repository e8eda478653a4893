"""moto shapes some answers through `RESPONSE_KEY_PATH_TO_TRANSFORMER`, a dict on the response
class, and some handlers write a request's choice into it: DescribeKeyPairs its
IncludePublicKey, CreateVpcPeeringConnection the new connection's status. The class's dict is
shared by every request of the process, so with two server threads (or a tool's parallel
steps against the in-process mock) one request was answered with another's choice, and the
first write changed the dict's size under a thread serializing some other answer, a 500 with
"dictionary changed size during iteration". Here each request gets its own copy, as each AWS
request is answered on its own parameters (tests/sandbox/test_request_transformers.py).
"""

from __future__ import annotations

from typing import Any

from moto.core.responses import BaseResponse

from amazonei_sandbox.patching import once


@once
def install() -> None:
    """Give each moto response object its own transformer dict (idempotent, thread-safe)."""
    original = BaseResponse.__init__

    def per_request(self: Any, *args: Any, **kwargs: Any) -> None:
        original(self, *args, **kwargs)
        self.RESPONSE_KEY_PATH_TO_TRANSFORMER = dict(type(self).RESPONSE_KEY_PATH_TO_TRANSFORMER)

    BaseResponse.__init__ = per_request  # type: ignore[method-assign]
