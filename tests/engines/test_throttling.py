"""Throttling: with RequestLimitExceeded (or its IAM/SSM equivalents) answered to half of all
requests, launch and teardown still succeed, through botocore's adaptive retries, in bounded
time. Injected at `before-send`, so the real retry machinery sees real 400 responses."""

from __future__ import annotations

import itertools
import time
from pathlib import Path

import pytest
from botocore.awsrequest import AWSResponse
from moto.core.models import botocore_stubber
from support import nothing_left

PROFILE = str(Path(__file__).resolve().parents[2] / "templates" / "profiles" / "eia-workshop.yaml")

BODIES = {
    "ec2": (
        b"<Response><Errors><Error><Code>RequestLimitExceeded</Code><Message>Request limit "
        b"exceeded.</Message></Error></Errors><RequestID>t</RequestID></Response>",
        "text/xml",
    ),
    "query": (
        b"<ErrorResponse><Error><Type>Sender</Type><Code>Throttling</Code><Message>Rate "
        b"exceeded</Message></Error><RequestId>t</RequestId></ErrorResponse>",
        "text/xml",
    ),
    "json": (
        b'{"__type":"ThrottlingException","message":"Rate exceeded"}',
        "application/x-amz-json-1.1",
    ),
}


class _Raw:
    def __init__(self, body: bytes):
        self.body = body

    def stream(self, **_):
        yield self.body


def throttle_half(hooks):
    """Half of all calls (every other one, across services) have their first attempt refused
    with a throttling error and, as on AWS, not executed: moto's own request handler is
    wrapped so it never sees the refused attempt."""
    counter = itertools.count()
    throttled = {"count": 0}
    original = hooks.session_factory

    def before_send(request, event_name, **kwargs):
        attempt = request.headers.get("amz-sdk-request", b"").decode().split(";")[0]
        first_attempt = attempt.strip() == "attempt=1"
        if not first_attempt or next(counter) % 2:
            return botocore_stubber(request=request, event_name=event_name, **kwargs)
        service = event_name.split(".")[1]
        kind = "ec2" if service == "ec2" else "json" if service == "ssm" else "query"
        body, content_type = BODIES[kind]
        throttled["count"] += 1
        return AWSResponse(request.url, 400, {"Content-Type": content_type}, _Raw(body))

    def factory(target):
        session = original(target)
        session.events.unregister("before-send", botocore_stubber)
        session.events.register_first("before-send", before_send)
        return session

    hooks.session_factory = factory
    return throttled


@pytest.mark.slow
def test_launch_and_teardown_survive_throttling_on_half_the_calls(aws, run_cli, hooks, recorder):
    throttled = throttle_half(hooks)
    started = time.monotonic()
    launched = run_cli("launch", "--yes", "--no-wait", "--profile-file", PROFILE)
    assert launched.code == 0, launched.err
    removed = run_cli("teardown", "eia-workshop", "--yes")
    assert removed.code == 0, removed.err
    elapsed = time.monotonic() - started
    assert nothing_left("eia-workshop", run_cli.home)
    assert len(recorder.calls) // 2 - 1 <= throttled["count"] <= len(recorder.calls) // 2 + 1
    assert elapsed < 100, f"took {elapsed:.0f}s"
    print(f"{throttled['count']} throttled of {len(recorder.calls)} calls; {elapsed:.1f}s")
