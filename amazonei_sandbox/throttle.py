"""Request-rate throttling for the sandbox, the way AWS does it: token buckets per API category.

EC2 limits API calls per account with token buckets: each call takes a token from its
category's bucket, buckets refill at a steady rate up to their size, and a call that finds its
bucket empty is refused with HTTP 503 and the code `RequestLimitExceeded` (and not executed).
IAM and STS answer `Throttling` (HTTP 400, query protocol); SSM and the other JSON services answer
`ThrottlingException` (HTTP 400). botocore treats all three as throttling and retries them with
backoff (adaptive mode also slows its own send rate), so a sandbox that throttles exercises the
tool's retry behaviour end to end, over real HTTP.

Off by default. On with `amazonei-setup sandbox start --throttle BURST:RATE`, or with
`AMAZONEI_SANDBOX_THROTTLE=BURST:RATE` in the environment of the process that starts the server
(`sandbox start`, or the first `--sandbox` command); `off` turns it off explicitly. BURST is a
whole number of calls (at least 1), RATE the tokens added per second (more than 0).

Buckets, one per (service, category) for the sandbox's one account (all regions share them), and
their scaling from BURST:RATE. This approximates AWS, it does not copy its numbers (EC2 now keeps a
bucket per API, and limits RunInstances/TerminateInstances also by instance count): reads
(DescribeHosts: 100 tokens, 20 per second) are cheaper than writes, and launching or terminating
instances is the scarcest. So here:

    category                                  bucket size          refill per second
    <service>/mutating       (any other)      BURST                RATE
    <service>/non-mutating   Describe*, Get*,  2 x BURST            4 x RATE
                             List*, Search*
    ec2/resource-intensive   RunInstances,     ceil(BURST / 2)      RATE / 2
                             TerminateInstances

A bucket starts full; a refused call takes no token. Refill follows `time.monotonic` (no
sleeping: this is a server). Requests that are not signed AWS API calls (the sandbox's own control
paths, moto's `/moto-api/`) and API calls of protocols other than query and JSON pass untouched.

What was refused is counted; `GET THROTTLE_PATH` (control.py) answers the setting, the buckets
and the counts as JSON, and `sandbox status` shows them.
"""

from __future__ import annotations

import io
import json
import math
import re
import threading
import time
import uuid
from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

from amazonei_sandbox.form import credential_service, read_form
from amazonei_setup.errors import InputError

ENV_VAR = "AMAZONEI_SANDBOX_THROTTLE"
OFF = "off"
NON_MUTATING_PREFIXES = ("Describe", "Get", "List", "Search")
RESOURCE_INTENSIVE = frozenset({"RunInstances", "TerminateInstances"})
_SETTING = re.compile(r"^\s*(\d+)\s*:\s*(\d+(?:\.\d*)?|\.\d+)\s*$")
_MAX_BODY_BYTES = 1 << 20

StartResponse = Callable[..., Any]
WsgiApp = Callable[[dict[str, Any], StartResponse], Iterable[bytes]]


@dataclass(frozen=True)
class ThrottleSetting:
    """BURST:RATE, the size and refill rate of a service's bucket for mutating calls."""

    burst: int
    rate: float

    def __str__(self) -> str:
        return f"{self.burst}:{self.rate:g}"

    def bucket_for(self, category: str) -> tuple[int, float]:
        """(size, refill per second) of a category's bucket ("ec2/mutating", ...)."""
        kind = category.rpartition("/")[2]
        if kind == "non-mutating":
            return 2 * self.burst, 4 * self.rate
        if kind == "resource-intensive":
            return math.ceil(self.burst / 2), self.rate / 2
        return self.burst, self.rate


def parse_setting(text: str | None, *, source: str = "--throttle") -> ThrottleSetting | None:
    """`BURST:RATE` as a setting; None for "off" or nothing. Anything else is an InputError."""
    if text is None or not text.strip() or text.strip().lower() == OFF:
        return None
    match = _SETTING.match(text)
    if match:
        burst, rate = int(match.group(1)), float(match.group(2))
        if burst >= 1 and rate > 0:
            return ThrottleSetting(burst, rate)
    raise InputError(
        f"{source} {text!r} is not BURST:RATE (a bucket of at least 1 call, refilled at more "
        "than 0 calls per second)",
        f"for example {source} 20:5, or {OFF}",
    )


def category(service: str, action: str) -> str:
    """The bucket an API call draws from: "ec2/resource-intensive", "iam/non-mutating", ..."""
    if service == "ec2" and action in RESOURCE_INTENSIVE:
        return "ec2/resource-intensive"
    kind = "non-mutating" if action.startswith(NON_MUTATING_PREFIXES) else "mutating"
    return f"{service}/{kind}"


class TokenBucket:
    """`size` tokens at most, `refill_per_s` added continuously; `take` never waits."""

    def __init__(
        self, size: int, refill_per_s: float, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self.size = size
        self.refill_per_s = refill_per_s
        self._clock = clock
        self._tokens = float(size)
        self._last = clock()
        self._lock = threading.Lock()

    def take(self) -> bool:
        """One token if there is one (True), else False and nothing taken."""
        with self._lock:
            now = self._clock()
            elapsed = max(0.0, now - self._last)
            self._last = now
            self._tokens = min(float(self.size), self._tokens + elapsed * self.refill_per_s)
            if self._tokens >= 1:
                self._tokens -= 1
                return True
            return False

    @property
    def tokens(self) -> float:
        with self._lock:
            elapsed = max(0.0, self._clock() - self._last)
            return min(float(self.size), self._tokens + elapsed * self.refill_per_s)


class Throttle:
    """The buckets of one setting, made on first use, and what they let through or refused."""

    def __init__(self, setting: ThrottleSetting, clock: Callable[[], float] = time.monotonic):
        self.setting = setting
        self._clock = clock
        self._buckets: dict[str, TokenBucket] = {}
        self._lock = threading.Lock()
        self._seen: Counter[str] = Counter()
        self._refused: Counter[str] = Counter()
        self._refused_by_action: Counter[str] = Counter()

    def admit(self, service: str, action: str) -> bool:
        """Take a token for this call; False when its bucket is empty (the call is refused)."""
        name = category(service, action)
        with self._lock:
            bucket = self._buckets.get(name)
            if bucket is None:
                size, rate = self.setting.bucket_for(name)
                bucket = self._buckets[name] = TokenBucket(size, rate, self._clock)
            self._seen[name] += 1
        allowed = bucket.take()
        if not allowed:
            with self._lock:
                self._refused[name] += 1
                self._refused_by_action[f"{service}:{action}"] += 1
        return allowed

    def snapshot(self) -> dict[str, Any]:
        with self._lock:
            buckets = {
                name: {
                    "size": bucket.size,
                    "refill_per_s": bucket.refill_per_s,
                    "requests": self._seen[name],
                    "throttled": self._refused[name],
                }
                for name, bucket in sorted(self._buckets.items())
            }
            return {
                "enabled": True,
                "setting": str(self.setting),
                "requests": sum(self._seen.values()),
                "throttled": sum(self._refused.values()),
                "throttled_by_action": dict(sorted(self._refused_by_action.items())),
                "buckets": buckets,
            }


def disabled_snapshot() -> dict[str, Any]:
    return {
        "enabled": False,
        "setting": None,
        "requests": 0,
        "throttled": 0,
        "throttled_by_action": {},
        "buckets": {},
    }


# --- the wire ------------------------------------------------------------------------------


def error_response(service: str, protocol: str, action: str) -> tuple[str, str, bytes]:
    """(HTTP status, content type, body) of a throttling error as `service` sends it."""
    request_id = str(uuid.uuid4())
    if protocol == "json":
        body = json.dumps({"__type": "ThrottlingException", "message": "Rate exceeded"})
        return "400 Bad Request", "application/x-amz-json-1.1", body.encode()
    if service == "ec2":
        xml = (
            "<?xml version='1.0' encoding='UTF-8'?>\n<Response><Errors><Error>"
            "<Code>RequestLimitExceeded</Code><Message>Request limit exceeded.</Message>"
            f"</Error></Errors><RequestID>{request_id}</RequestID></Response>"
        )
        return "503 Service Unavailable", "text/xml;charset=UTF-8", xml.encode()
    xml = (
        "<ErrorResponse><Error><Type>Sender</Type><Code>Throttling</Code>"
        f"<Message>Rate exceeded</Message></Error><RequestId>{request_id}</RequestId>"
        "</ErrorResponse>"
    )
    return "400 Bad Request", "text/xml", xml.encode()


def _body(environ: dict[str, Any]) -> bytes | None:
    """The request body, put back in `wsgi.input` so that the next reader sees it whole; None
    when it cannot be read safely (no length and no end marker, or too large)."""
    stream = environ.get("wsgi.input")
    if stream is None:
        return b""
    try:
        length = int(environ.get("CONTENT_LENGTH") or -1)
    except ValueError:
        length = -1
    if (length < 0 and not environ.get("wsgi.input_terminated")) or length > _MAX_BODY_BYTES:
        return None
    body = stream.read(length) if length >= 0 else stream.read()
    environ["wsgi.input"] = io.BytesIO(body)
    environ["CONTENT_LENGTH"] = str(len(body))
    return body


def api_call(environ: dict[str, Any]) -> tuple[str, str, str] | None:
    """(service, protocol "query"|"json", action) of a signed query or JSON API request."""
    service = credential_service(str(environ.get("HTTP_AUTHORIZATION", "")))
    if not service:
        return None
    target = str(environ.get("HTTP_X_AMZ_TARGET", ""))
    if target:  # JSON protocol: "AmazonSSM.PutParameter"
        return service, "json", target.rpartition(".")[2]
    action = (read_form(environ).get("Action") or [""])[0]
    return (service, "query", action) if action else None


class ThrottleMiddleware:
    """Refuses API calls whose bucket is empty, as AWS would; passes everything else to `app`.

    With `throttle` None it only answers `path` (the counts: throttling off)."""

    def __init__(self, app: WsgiApp, throttle: Throttle | None, path: str) -> None:
        self.app = app
        self.throttle = throttle
        self.path = path

    def __call__(self, environ: dict[str, Any], start_response: StartResponse) -> Iterable[bytes]:
        if environ.get("PATH_INFO", "") == self.path:
            return self._counts(start_response)
        if self.throttle is None:
            return self.app(environ, start_response)
        call = api_call(environ)
        if call is None:
            return self.app(environ, start_response)
        service, protocol, action = call
        if self.throttle.admit(service, action):
            return self.app(environ, start_response)
        _body(environ)  # read what the client sent before answering
        status, content_type, body = error_response(service, protocol, action)
        headers = [("Content-Type", content_type), ("Content-Length", str(len(body)))]
        start_response(status, headers)
        return [body]

    def _counts(self, start_response: StartResponse) -> Iterable[bytes]:
        document = self.throttle.snapshot() if self.throttle else disabled_snapshot()
        body = json.dumps(document).encode()
        start_response(
            "200 OK", [("Content-Type", "application/json"), ("Content-Length", str(len(body)))]
        )
        return [body]
