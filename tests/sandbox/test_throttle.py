"""The sandbox throttles API calls as AWS does (issue 7): token buckets per (service, category),
refused calls answered in each protocol's own wire format, and a 20-seat workshop that still
launches and tears down through botocore's retries when the sandbox refuses some of its calls."""

from __future__ import annotations

import io
import json
import subprocess
import time
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import boto3
import pytest
from botocore.config import Config
from botocore.parsers import create_parser
from support import (
    FakeClock,
    leftovers,
    main_in_process,
    nothing_left,
    sandbox_keys,
    use_sandbox_by_default,
)

from amazonei_sandbox import control, server
from amazonei_sandbox.throttle import (
    Throttle,
    ThrottleMiddleware,
    ThrottleSetting,
    TokenBucket,
    category,
    parse_setting,
)
from amazonei_setup.errors import EXIT_INPUT, InputError
from amazonei_setup.resources.naming import TAG_DEPLOYMENT, TAG_SEAT

REPO = Path(__file__).resolve().parents[2]
PROFILE = REPO / "templates" / "profiles" / "eia-workshop.yaml"
COUNTS = control.THROTTLE_PATH
REGION = "us-west-2"


# --- crafted requests -----------------------------------------------------------------------


def _authorization(service: str, region: str = REGION) -> str:
    return (
        f"AWS4-HMAC-SHA256 Credential=testing/20261121/{region}/{service}/aws4_request, "
        "SignedHeaders=host;x-amz-date, Signature=0"
    )


def _signed_post(
    body: bytes, content_type: str, service: str, region: str, **headers: str
) -> dict[str, Any]:
    """The WSGI environ of a signed POST, as botocore sends it."""
    return {
        "REQUEST_METHOD": "POST",
        "PATH_INFO": "/",
        "QUERY_STRING": "",
        "CONTENT_TYPE": content_type,
        "CONTENT_LENGTH": str(len(body)),
        "HTTP_AUTHORIZATION": _authorization(service, region),
        "wsgi.input": io.BytesIO(body),
        **headers,
    }


def query_call(service: str, action: str, region: str = REGION, **params: str) -> dict[str, Any]:
    """A query-protocol call (EC2, IAM, STS): the action is in the form body."""
    body = urlencode({"Action": action, "Version": "2016-11-15", **params}).encode()
    return _signed_post(body, "application/x-www-form-urlencoded; charset=utf-8", service, region)


def json_call(service: str, target: str, document: dict[str, Any]) -> dict[str, Any]:
    """A JSON-protocol call (SSM): the action is in X-Amz-Target."""
    body = json.dumps(document).encode()
    return _signed_post(
        body, "application/x-amz-json-1.1", service, REGION, HTTP_X_AMZ_TARGET=target
    )


class Inner:
    """A stand-in for moto: answers 200 and keeps the body of every request it sees."""

    def __init__(self) -> None:
        self.bodies: list[bytes] = []

    def __call__(self, environ: dict[str, Any], start_response: Any) -> Iterable[bytes]:
        length = int(environ.get("CONTENT_LENGTH") or 0)
        self.bodies.append(environ["wsgi.input"].read(length))
        start_response("200 OK", [("Content-Type", "text/xml")])
        return [b"<ok/>"]


def call(app: Any, environ: dict[str, Any]) -> tuple[int, dict[str, str], bytes]:
    answered: list[tuple[str, list[tuple[str, str]]]] = []
    body = b"".join(app(environ, lambda status, headers: answered.append((status, headers))))
    status, headers = answered[0]
    return int(status.split()[0]), dict(headers), body


def parsed_error(protocol: str, status: int, headers: dict[str, str], body: bytes) -> str:
    """The error code botocore's own parser for `protocol` reads from a response."""
    response = {"status_code": status, "headers": headers, "body": body}
    parsed = create_parser(protocol).parse(response, None)
    return str(parsed["Error"]["Code"])


@pytest.fixture
def fake_clock() -> FakeClock:
    return FakeClock()


def middleware(setting: str, clock: FakeClock) -> tuple[ThrottleMiddleware, Inner]:
    inner = Inner()
    parsed = parse_setting(setting)
    assert parsed is not None
    return ThrottleMiddleware(inner, Throttle(parsed, clock=clock), COUNTS), inner


# --- unit: the setting, the buckets, the middleware ---------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("20:5", ThrottleSetting(20, 5.0)),
        (" 3 : 0.5 ", ThrottleSetting(3, 0.5)),
        ("1:.25", ThrottleSetting(1, 0.25)),
        ("off", None),
        ("OFF", None),
        ("", None),
        (None, None),
    ],
)
def test_setting_parses_burst_and_rate(text: str | None, expected: ThrottleSetting | None):
    assert parse_setting(text) == expected


@pytest.mark.parametrize("text", ["3", "0:1", "3:0", "a:b", "-1:2", "3:2:1", "3:-1", "2.5:1"])
def test_malformed_setting_is_bad_input_naming_the_value(text: str):
    with pytest.raises(InputError) as caught:
        parse_setting(text)
    assert caught.value.exit_code == EXIT_INPUT
    assert repr(text) in caught.value.message and "BURST:RATE" in caught.value.message
    assert caught.value.hint


def test_categories_and_their_scaling():
    setting = ThrottleSetting(10, 4.0)
    assert category("ec2", "RunInstances") == "ec2/resource-intensive"
    assert category("ec2", "TerminateInstances") == "ec2/resource-intensive"
    assert category("ec2", "CreateKeyPair") == "ec2/mutating"
    assert category("ec2", "DescribeInstances") == "ec2/non-mutating"
    assert category("iam", "GetRole") == "iam/non-mutating"
    assert category("ssm", "PutParameter") == "ssm/mutating"
    assert category("iam", "RunInstances") == "iam/mutating"  # only EC2's is resource-intensive
    assert setting.bucket_for("ec2/mutating") == (10, 4.0)
    assert setting.bucket_for("ec2/non-mutating") == (20, 16.0)
    assert setting.bucket_for("ec2/resource-intensive") == (5, 2.0)
    assert ThrottleSetting(1, 1.0).bucket_for("ec2/resource-intensive") == (1, 0.5)


def test_bucket_refills_with_the_clock_up_to_its_size(fake_clock: FakeClock):
    bucket = TokenBucket(3, 2.0, clock=fake_clock)
    assert [bucket.take() for _ in range(4)] == [True, True, True, False]
    fake_clock.sleep(0.25)  # half a token
    assert bucket.take() is False
    fake_clock.sleep(0.25)
    assert bucket.take() is True and bucket.take() is False
    fake_clock.sleep(3600)  # never more than its size
    assert [bucket.take() for _ in range(4)] == [True, True, True, False]


def test_ec2_mutating_calls_past_the_burst_get_503_request_limit_exceeded(fake_clock):
    app, inner = middleware("3:2", fake_clock)
    answers = [call(app, query_call("ec2", "CreateTags", ResourceId="vpc-1")) for _ in range(5)]
    assert [status for status, _, _ in answers] == [200, 200, 200, 503, 503]
    assert len(inner.bodies) == 3  # a refused call is not executed
    status, headers, body = answers[3]
    assert b"<Response><Errors><Error><Code>RequestLimitExceeded</Code>" in body
    assert parsed_error("ec2", status, headers, body) == "RequestLimitExceeded"
    # Reads and RunInstances draw from buckets of their own.
    assert call(app, query_call("ec2", "DescribeInstances"))[0] == 200
    assert call(app, query_call("ec2", "RunInstances"))[0] == 200
    assert call(app, query_call("ec2", "RunInstances"))[0] == 200  # ceil(3 / 2) = 2
    assert call(app, query_call("ec2", "RunInstances"))[0] == 503
    # Other regions share the account's buckets (the sandbox is one account).
    assert call(app, query_call("ec2", "CreateTags", region="eu-west-1"))[0] == 503
    fake_clock.sleep(0.5)  # one token at 2 per second
    assert call(app, query_call("ec2", "CreateTags"))[0] == 200
    assert call(app, query_call("ec2", "CreateTags"))[0] == 503
    fake_clock.sleep(10)
    assert [call(app, query_call("ec2", "CreateTags"))[0] for _ in range(4)] == [200] * 3 + [503]


def test_the_body_reaches_the_inner_app_whole(fake_clock: FakeClock):
    app, inner = middleware("5:1", fake_clock)
    environ = query_call("ec2", "RunInstances", UserData="x" * 20000, ImageId="ami-1")
    sent = environ["wsgi.input"].getvalue()
    assert call(app, environ)[0] == 200
    assert inner.bodies == [sent]
    document = {"Name": "/amazonei-setup/x", "Value": "v" * 5000}
    environ = json_call("ssm", "AmazonSSM.PutParameter", document)
    assert call(app, environ)[0] == 200
    assert json.loads(inner.bodies[-1]) == document


@pytest.mark.parametrize(
    ("service", "action", "protocol", "status", "code"),
    [
        ("iam", "CreateRole", "query", 400, "Throttling"),
        ("sts", "AssumeRole", "query", 400, "Throttling"),
    ],
)
def test_iam_and_sts_answer_throttling_400(fake_clock, service, action, protocol, status, code):
    app, inner = middleware("2:1", fake_clock)
    answers = [call(app, query_call(service, action)) for _ in range(3)]
    assert [a[0] for a in answers] == [200, 200, status]
    assert answers[2][2].startswith(b"<ErrorResponse><Error>")
    assert parsed_error(protocol, *answers[2]) == code
    assert len(inner.bodies) == 2


def test_ssm_answers_throttling_exception_400_in_json(fake_clock: FakeClock):
    app, inner = middleware("2:1", fake_clock)
    put = {"Name": "/amazonei-setup/x/report", "Value": "{}", "Type": "String"}
    answers = [call(app, json_call("ssm", "AmazonSSM.PutParameter", put)) for _ in range(3)]
    assert [a[0] for a in answers] == [200, 200, 400]
    status, headers, body = answers[2]
    assert headers["Content-Type"] == "application/x-amz-json-1.1"
    assert json.loads(body)["__type"] == "ThrottlingException"
    assert parsed_error("json", status, headers, body) == "ThrottlingException"
    assert len(inner.bodies) == 2
    get = {"Name": "/amazonei-setup/x/report"}
    reads = [call(app, json_call("ssm", "AmazonSSM.GetParameter", get))[0] for _ in range(4)]
    assert reads == [200] * 4  # reads have their own, larger bucket


def test_unsigned_requests_pass_and_counts_are_served(fake_clock: FakeClock):
    app, inner = middleware("1:1", fake_clock)
    for _ in range(3):  # control paths, /moto-api/: never throttled
        unsigned = query_call("ec2", "CreateTags")
        del unsigned["HTTP_AUTHORIZATION"]
        assert call(app, unsigned)[0] == 200
    call(app, query_call("ec2", "CreateTags"))
    call(app, query_call("ec2", "CreateTags"))
    call(app, query_call("iam", "CreateRole"))
    status, headers, body = call(app, {"REQUEST_METHOD": "GET", "PATH_INFO": COUNTS})
    assert status == 200 and headers["Content-Type"] == "application/json"
    counts = json.loads(body)
    assert counts["enabled"] is True and counts["setting"] == "1:1"
    assert counts["requests"] == 3 and counts["throttled"] == 1
    assert len(inner.bodies) == 3 + 2  # the unsigned ones, and the signed ones let through
    assert counts["throttled_by_action"] == {"ec2:CreateTags": 1}
    assert counts["buckets"]["ec2/mutating"] == {
        "size": 1, "refill_per_s": 1.0, "requests": 2, "throttled": 1,
    }  # fmt: skip


def test_off_passes_everything_and_says_so():
    inner = Inner()
    app = ThrottleMiddleware(inner, None, COUNTS)
    assert {call(app, query_call("ec2", "RunInstances"))[0] for _ in range(50)} == {200}
    counts = json.loads(call(app, {"REQUEST_METHOD": "GET", "PATH_INFO": COUNTS})[2])
    assert counts["enabled"] is False and counts["throttled"] == 0


# --- end to end: a throttled sandbox server and the real CLI ------------------------------

# BURST:RATE for the workshop below. RunInstances' bucket is ceil(2/2) = 1 call refilled 4 times
# a second and ordinary writes 2 refilled 8 times: the launch's bursts (security group rules,
# key pairs and RunInstances, several at once) are refused a few times each, while 20 seats
# still need only about 5 s of RunInstances tokens.
E2E_THROTTLE = "2:8"
E2E_SEATS = 20
E2E_NAME = "eia-workshop"


@pytest.fixture
def cli(capsys: pytest.CaptureFixture[str]) -> Callable[..., subprocess.CompletedProcess[str]]:
    """The console program, in-process (the sandbox server it starts is still a process)."""

    def call(home: Path, *argv: str) -> subprocess.CompletedProcess[str]:
        return main_in_process(capsys, "--home", str(home), *argv)

    return call


def test_sandbox_start_refuses_a_malformed_throttle(
    tmp_path: Path, cli: Callable[..., Any], monkeypatch: pytest.MonkeyPatch
):
    done = cli(tmp_path, "sandbox", "start", "--throttle", "fast")
    assert done.returncode == EXIT_INPUT
    assert "'fast' is not BURST:RATE" in done.stderr and "Traceback" not in done.stderr
    monkeypatch.setenv("AMAZONEI_SANDBOX_THROTTLE", "10")
    from_env = cli(tmp_path, "sandbox", "start")
    assert from_env.returncode == EXIT_INPUT
    assert "AMAZONEI_SANDBOX_THROTTLE '10' is not BURST:RATE" in from_env.stderr
    assert control.status(tmp_path) is None  # nothing was started


def test_environment_variable_throttles_a_new_server(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
):
    monkeypatch.setenv("AMAZONEI_SANDBOX_THROTTLE", "3:1.5")
    info = control.start(tmp_path, timeout_s=60)
    try:
        assert info.running and info.throttle == "3:1.5"
        assert control.status(tmp_path) == info
        counts = control.throttle_counts(info)
        assert counts is not None and counts["enabled"] is True and counts["setting"] == "3:1.5"
    finally:
        control.stop(tmp_path)


def test_server_refuses_a_malformed_throttle_with_exit_2(capsys: pytest.CaptureFixture[str]):
    with pytest.raises(SystemExit) as caught:
        server.main(["--port", "0", "--throttle", "3:"])
    assert caught.value.code == EXIT_INPUT
    assert "'3:' is not BURST:RATE" in capsys.readouterr().err


@pytest.fixture(scope="module")
def throttled_home(tmp_path_factory: pytest.TempPathFactory) -> Iterable[Path]:
    home = tmp_path_factory.mktemp("throttled-home")
    try:
        yield home
    finally:
        control.stop(home)


def test_status_reports_the_setting_and_counts(throttled_home: Path, cli: Callable[..., Any]):
    started = cli(
        throttled_home, "sandbox", "start", "--throttle", E2E_THROTTLE, "--output", "json"
    )
    assert started.returncode == 0, started.stderr
    document = json.loads(started.stdout)
    assert document["running"] is True and document["endpoint"].startswith("http://127.0.0.1:")
    assert document["throttle"] == E2E_THROTTLE
    status = cli(throttled_home, "sandbox", "status", "--output", "json")
    assert status.returncode == 0, status.stderr
    document = json.loads(status.stdout)
    assert document["running"] is True and document["throttle"] == E2E_THROTTLE
    assert document["throttle_counts"]["enabled"] is True
    assert document["throttle_counts"]["throttled"] >= 0
    other = cli(throttled_home, "sandbox", "start", "--throttle", "50:50")
    assert other.returncode == EXIT_INPUT and "sandbox stop" in other.stderr
    assert cli(throttled_home, "sandbox", "start").returncode == 0  # reuses it as it is


def _client(home: Path, endpoint: str, service: str) -> Any:
    """A client that retries like the tool's: our own checks are throttled too."""
    return boto3.client(
        service,
        region_name=REGION,
        endpoint_url=endpoint,
        **sandbox_keys(home),
        config=Config(retries={"mode": "adaptive", "max_attempts": 10}),
    )


def _counts(cli: Callable[..., Any], home: Path) -> dict[str, Any]:
    done = cli(home, "sandbox", "status", "--output", "json")
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)["throttle_counts"]


@pytest.mark.slow
def test_twenty_seat_workshop_survives_a_throttling_sandbox(
    throttled_home: Path, monkeypatch: pytest.MonkeyPatch, cli: Callable[..., Any]
):
    home = throttled_home
    info = control.start(home, throttle=E2E_THROTTLE)
    assert info.throttle == E2E_THROTTLE
    before = _counts(cli, home)["throttled"]
    started = time.monotonic()
    launched = cli(
        home, "--sandbox", "launch", "--profile-file", str(PROFILE),
        "--seats", str(E2E_SEATS), "--no-wait", "--yes",
    )  # fmt: skip
    launch_s = time.monotonic() - started
    assert launched.returncode == 0, launched.stderr
    assert "Traceback" not in launched.stderr
    after_launch = _counts(cli, home)
    assert after_launch["throttled"] > before, after_launch  # the launch was throttled

    ec2 = _client(home, info.endpoint, "ec2")
    by_name = [{"Name": f"tag:{TAG_DEPLOYMENT}", "Values": [E2E_NAME]}]
    running = [
        instance
        for reservation in ec2.describe_instances(
            Filters=[*by_name, {"Name": "instance-state-name", "Values": ["running"]}]
        )["Reservations"]
        for instance in reservation["Instances"]
    ]
    seats = sorted(
        int(tag["Value"])
        for instance in running
        for tag in instance.get("Tags", [])
        if tag["Key"] == TAG_SEAT
    )
    assert seats == list(range(1, E2E_SEATS + 1))
    assert len(running) == E2E_SEATS

    started = time.monotonic()
    removed = cli(home, "--sandbox", "teardown", E2E_NAME, "--yes")
    teardown_s = time.monotonic() - started
    assert removed.returncode == 0, removed.stderr
    counts = _counts(cli, home)
    # support.leftovers makes default boto3 clients: point them at the sandbox, retrying.
    use_sandbox_by_default(monkeypatch, home, info.endpoint)
    monkeypatch.setenv("AWS_RETRY_MODE", "adaptive")
    monkeypatch.setenv("AWS_MAX_ATTEMPTS", "10")
    assert nothing_left(E2E_NAME, home), leftovers(E2E_NAME, home)
    print(
        f"\nlaunch {launch_s:.1f}s (throttled {after_launch['throttled'] - before} of "
        f"{after_launch['requests']}), teardown {teardown_s:.1f}s; all: {counts['throttled']} "
        f"of {counts['requests']} refused: {counts['throttled_by_action']}"
    )
