"""Throttling: with RequestLimitExceeded (or its IAM/SSM equivalents) answered to half of all
requests, launch and teardown still succeed, through botocore's adaptive retries, in bounded
time. Injected at `before-send`, so the real retry machinery sees real 400 responses.

Time is virtual: botocore's backoff sleeps and its adaptive token bucket run on a clock that
advances by what they ask to wait instead of waiting it, so the bound below is on the time the
retries would spend on AWS, summed over threads (an upper bound of the real wait), and the test
takes seconds instead of the 40 it took in real time."""

from __future__ import annotations

import itertools
import threading
import time
from pathlib import Path

import botocore.endpoint
import botocore.retries.bucket
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


class VirtualClock:
    """botocore's waits, advanced instead of waited: `sleep` (backoff, the bucket's Clock) and
    `wait` (the bucket's condition) move `now` on; `current_time` reads it."""

    def __init__(self) -> None:
        self.now = time.time()
        self.waited = 0.0
        self._lock = threading.Lock()

    def sleep(self, seconds: float) -> None:
        with self._lock:
            self.now += max(seconds, 0.0)
            self.waited += max(seconds, 0.0)

    def current_time(self) -> float:
        with self._lock:
            return self.now

    def condition(self, lock: threading.Lock) -> threading.Condition:
        """The token bucket's condition, whose timed wait advances this clock."""
        clock = self

        class Condition(threading.Condition):
            def wait(self, timeout: float | None = None) -> bool:
                # At least a millisecond: the bucket loops while its shortfall is above 0, and a
                # rounding-error shortfall would not move a clock near 1.7e9 on.
                clock.sleep(max(timeout or 0.0, 0.001))
                return False

        return Condition(lock)


@pytest.fixture
def virtual_clock(monkeypatch: pytest.MonkeyPatch) -> VirtualClock:
    clock = VirtualClock()
    real_time = time

    class EndpointTime:
        def __getattr__(self, name: str):
            return getattr(real_time, name)

        def sleep(self, seconds: float) -> None:
            clock.sleep(seconds)

    monkeypatch.setattr(botocore.endpoint, "time", EndpointTime())
    monkeypatch.setattr(botocore.retries.bucket, "Clock", lambda: clock)
    monkeypatch.setattr(
        botocore.retries.bucket,
        "threading",
        type("Threading", (), {"Lock": threading.Lock, "Condition": staticmethod(clock.condition)}),
    )
    return clock


def test_launch_and_teardown_survive_throttling_on_half_the_calls(
    aws, run_cli, hooks, recorder, virtual_clock
):
    throttled = throttle_half(hooks)
    launched = run_cli("launch", "--yes", "--no-wait", "--profile-file", PROFILE)
    assert launched.code == 0, launched.err
    removed = run_cli("teardown", "eia-workshop", "--yes")
    assert removed.code == 0, removed.err
    elapsed = virtual_clock.waited
    assert nothing_left("eia-workshop", run_cli.home)
    assert len(recorder.calls) // 2 - 1 <= throttled["count"] <= len(recorder.calls) // 2 + 1
    assert elapsed < 100, f"the retries waited {elapsed:.0f}s"
    calls = len(recorder.calls)
    print(f"{throttled['count']} throttled of {calls} calls; {elapsed:.1f}s waited (virtual)")
