"""Issue 15.5: the sandbox answers only its owner (the state home's own random credentials) and
the simulated instances' role credentials; no other local user and no web page can read its
state, reset it, or replay a signed user-data blob to run a script as the owner."""

from __future__ import annotations

import base64
import http.client
import io
import json
import os
import stat
import urllib.error
import urllib.request
from collections.abc import Iterator
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import boto3
import pytest
from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials
from botocore.exceptions import ClientError
from support import sandbox_keys, signed_request

from amazonei_sandbox import control
from amazonei_sandbox.auth import AuthMiddleware
from amazonei_sandbox.control import SandboxInfo
from amazonei_sandbox.credentials import (
    credentials_path,
    existing_credentials,
    sandbox_credentials,
)
from amazonei_sandbox.identities import IdentityRegistry, InstanceIdentity
from amazonei_setup.errors import InputError
from amazonei_setup.seats.userdata import render_user_data, sandbox_signing_key
from amazonei_setup.spec.profile_checks import validate_profile

REGION = "us-west-2"
FOREIGN_ORIGIN = "http://evil.example"


@pytest.fixture(scope="module")
def sandbox(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Path, SandboxInfo]]:
    home = tmp_path_factory.mktemp("owner-home")
    info = control.start(home, timeout_s=60)
    try:
        yield home, info
    finally:
        control.stop(home)


def _client(service: str, endpoint: str, keys: dict[str, str]) -> Any:
    return boto3.client(service, region_name=REGION, endpoint_url=endpoint, **keys)


def _code(call: Any, **kwargs: Any) -> tuple[str, int]:
    with pytest.raises(ClientError) as caught:
        call(**kwargs)
    response = caught.value.response
    return str(response["Error"]["Code"]), int(response["ResponseMetadata"]["HTTPStatusCode"])


def _raw(endpoint: str, method: str, path: str, headers: dict[str, str], body: bytes = b"") -> Any:
    """One HTTP exchange over a plain socket: what a browser or a curl of another user sends."""
    parts = urlsplit(endpoint)
    connection = http.client.HTTPConnection(parts.hostname, parts.port, timeout=10)
    try:
        connection.request(method, path, body=body or None, headers=headers)
        response = connection.getresponse()
        return response.status, dict(response.getheaders()), response.read()
    finally:
        connection.close()


def _allow_origin(headers: dict[str, str]) -> list[str]:
    return [k for k in headers if k.lower().startswith("access-control-")]


# --- over HTTP, against a real server ------------------------------------------------------


def test_a_web_page_gets_no_cors_and_no_state(sandbox: tuple[Path, SandboxInfo]) -> None:
    _, info = sandbox
    origin = {"Origin": FOREIGN_ORIGIN}
    status, headers, body = _raw(info.endpoint, "GET", "/moto-api/data.json", origin)
    assert status == 403 and _allow_origin(headers) == []
    assert b"MissingAuthenticationToken" in body and b"PrivateKey" not in body
    preflight = {
        **origin,
        "Access-Control-Request-Method": "POST",
        "Access-Control-Request-Headers": "authorization,x-amz-date",
    }
    status, headers, _ = _raw(info.endpoint, "OPTIONS", "/", preflight)
    assert status == 403 and _allow_origin(headers) == []
    status, headers, _ = _raw(info.endpoint, "POST", "/moto-api/reset", origin)
    assert status == 403 and _allow_origin(headers) == []
    form = b"Action=DescribeKeyPairs&Version=2016-11-15"
    unsigned = {**origin, "Content-Type": "application/x-www-form-urlencoded"}
    status, headers, body = _raw(info.endpoint, "POST", "/", unsigned, form)
    assert status == 403 and b"<Code>MissingAuthenticationToken</Code>" in body
    assert _allow_origin(headers) == []


def test_the_owner_reaches_moto_admin_but_never_with_cors(
    sandbox: tuple[Path, SandboxInfo],
) -> None:
    home, info = sandbox
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
    request = signed_request(home, info.endpoint + "/moto-api/data.json")
    request.add_header("Origin", FOREIGN_ORIGIN)
    with opener.open(request, timeout=10) as answer:
        assert answer.status == 200 and _allow_origin(dict(answer.headers)) == []
        assert isinstance(json.loads(answer.read()), dict)
    stranger = signed_request(None, info.endpoint + "/moto-api/data.json", keys=_stranger())
    with pytest.raises(urllib.error.HTTPError) as refused:
        opener.open(stranger, timeout=10)
    assert refused.value.code == 403


def _stranger() -> dict[str, str]:
    """What another user of the machine would sign with: their own sandbox's keys."""
    return {"aws_access_key_id": "AKIAIOSFODNN7EXAMPLE", "aws_secret_access_key": "x" * 40}


@pytest.mark.parametrize(
    ("service", "call", "unknown", "bad_signature"),
    [
        (
            "sts",
            "get_caller_identity",
            ("InvalidClientTokenId", 403),
            ("SignatureDoesNotMatch", 403),
        ),
        ("iam", "list_roles", ("InvalidClientTokenId", 403), ("SignatureDoesNotMatch", 403)),
        ("ec2", "describe_key_pairs", ("AuthFailure", 401), ("AuthFailure", 401)),
        (
            "ssm",
            "describe_parameters",
            ("UnrecognizedClientException", 400),
            ("InvalidSignatureException", 400),
        ),
    ],
)
def test_other_credentials_are_refused_as_aws_refuses_them(
    sandbox: tuple[Path, SandboxInfo],
    service: str,
    call: str,
    unknown: tuple[str, int],
    bad_signature: tuple[str, int],
) -> None:
    home, info = sandbox
    owner = sandbox_keys(home)
    assert getattr(_client(service, info.endpoint, owner), call)() is not None
    for keys in (_stranger(), {"aws_access_key_id": "testing", "aws_secret_access_key": "testing"}):
        assert _code(getattr(_client(service, info.endpoint, keys), call)) == unknown
    wrong_secret = {**owner, "aws_secret_access_key": owner["aws_secret_access_key"][::-1]}
    assert _code(getattr(_client(service, info.endpoint, wrong_secret), call)) == bad_signature


def test_a_replayed_user_data_blob_from_another_caller_never_runs(
    sandbox: tuple[Path, SandboxInfo], tmp_path: Path
) -> None:
    """The blob a stranger would replay: the owner's signed user data, read back with
    DescribeInstanceAttribute. Without the owner's credentials RunInstances never happens."""
    home, info = sandbox
    owner_ec2 = _client("ec2", info.endpoint, sandbox_keys(home))
    images = owner_ec2.describe_images(Owners=["amazon"])["Images"]
    image = next(i["ImageId"] for i in images if "Amazon Linux" in i["Name"])
    profile = validate_profile(
        None,
        {"name": "mine", "region": REGION, "instance_type": "m5.large", "access": {"mode": "ssm"}},
    )
    blob = render_user_data(profile, sandbox_signing_key(home))
    launch = {"ImageId": image, "InstanceType": "m5.large", "MinCount": 1, "MaxCount": 1}
    mine = owner_ec2.run_instances(UserData=blob, **launch)["Instances"][0]["InstanceId"]
    replay = owner_ec2.describe_instance_attribute(InstanceId=mine, Attribute="userData")
    stolen = base64.b64decode(replay["UserData"]["Value"])
    folders = {p.name for p in (home / "sandbox" / "instances").iterdir()}
    before = {
        i["InstanceId"]
        for r in owner_ec2.describe_instances()["Reservations"]
        for i in r["Instances"]
    }
    wrong_secret = {
        **sandbox_keys(home),
        "aws_secret_access_key": sandbox_keys(home)["aws_secret_access_key"][::-1],
    }
    for keys in (_stranger(), wrong_secret):
        stranger_ec2 = _client("ec2", info.endpoint, keys)
        assert _code(stranger_ec2.run_instances, UserData=stolen, **launch)[0] == "AuthFailure"
        assert _code(stranger_ec2.describe_instance_attribute, InstanceId=mine,
                     Attribute="userData")[0] == "AuthFailure"  # fmt: skip
    unsigned = urllib.request.Request(
        info.endpoint + "/",
        data=f"Action=RunInstances&Version=2016-11-15&ImageId={image}&InstanceType=m5.large"
        f"&MinCount=1&MaxCount=1&UserData={base64.b64encode(stolen).decode()}".encode(),
        method="POST",
        headers={"Content-Type": "application/x-www-form-urlencoded"},
    )
    with pytest.raises(urllib.error.HTTPError) as refused:
        urllib.request.build_opener(urllib.request.ProxyHandler({})).open(unsigned, timeout=10)
    assert refused.value.code == 403
    after = {
        i["InstanceId"]
        for r in owner_ec2.describe_instances()["Reservations"]
        for i in r["Instances"]
    }
    assert after == before  # nothing launched, so nothing ran
    new_folders = {p.name for p in (home / "sandbox" / "instances").iterdir()} - folders
    assert new_folders == set()
    owner_ec2.terminate_instances(InstanceIds=[mine])


def test_each_home_has_its_own_private_credentials(
    sandbox: tuple[Path, SandboxInfo], tmp_path: Path
) -> None:
    home, _ = sandbox
    path = credentials_path(home)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    mine = sandbox_credentials(home)
    assert mine == sandbox_credentials(home)  # made once, then kept
    assert mine.access_key_id.startswith("AKIA") and len(mine.access_key_id) == 20
    assert mine.secret_access_key not in ("testing", "")
    other = sandbox_credentials(tmp_path / "other-home")
    assert other.access_key_id != mine.access_key_id
    assert other.secret_access_key != mine.secret_access_key


def test_a_planted_or_readable_credentials_file_is_refused(tmp_path: Path) -> None:
    planted = tmp_path / "planted"
    (planted / "sandbox").mkdir(parents=True)
    target = tmp_path / "attacker.json"
    target.write_text(json.dumps({"access_key_id": "AKIA", "secret_access_key": "known"}))
    os.symlink(target, credentials_path(planted))
    with pytest.raises(InputError, match="cannot be opened safely"):
        sandbox_credentials(planted)
    readable = tmp_path / "readable"
    sandbox_credentials(readable)
    credentials_path(readable).chmod(0o644)
    with pytest.raises(InputError, match="read by others") as refused:
        existing_credentials(readable)
    assert "delete that file" in refused.value.hint


# --- the front door, in process -----------------------------------------------------------


class _Inner:
    """Stands in for moto: answers 200 and lets CORS headers out, as moto's flask-cors does."""

    def __init__(self) -> None:
        self.bodies: list[bytes] = []

    def __call__(self, environ: dict[str, Any], start_response: Any) -> list[bytes]:
        self.bodies.append(environ["wsgi.input"].read(int(environ.get("CONTENT_LENGTH") or 0)))
        start_response("200 OK", [("Access-Control-Allow-Origin", "*"), ("X-Ok", "1")])
        return [b"ok"]


def _environ(
    url: str, keys: Credentials, body: bytes = b"", service: str = "ec2", **headers: str
) -> dict[str, Any]:
    """The WSGI environ of a request signed by botocore, as it arrives at the server."""
    request = AWSRequest(method="POST", url=url, data=body, headers=headers)
    SigV4Auth(keys, service, REGION).add_auth(request)
    parts = urlsplit(url)
    environ: dict[str, Any] = {
        "REQUEST_METHOD": "POST",
        "PATH_INFO": parts.path,
        "QUERY_STRING": parts.query,
        "REQUEST_URI": parts.path + (f"?{parts.query}" if parts.query else ""),
        "HTTP_HOST": parts.netloc,
        "CONTENT_LENGTH": str(len(body)),
        "wsgi.input": io.BytesIO(body),
    }
    for name, value in request.headers.items():
        key = name.upper().replace("-", "_")
        environ[key if key == "CONTENT_TYPE" else f"HTTP_{key}"] = value
    return environ


def _answer(app: AuthMiddleware, environ: dict[str, Any]) -> tuple[int, dict[str, str], bytes]:
    seen: list[Any] = []
    body = b"".join(app(environ, lambda status, headers: seen.append((status, headers))))
    return int(seen[0][0].split()[0]), dict(seen[0][1]), body


def test_instance_credentials_need_their_session_token_and_stay_out_of_moto_admin(
    tmp_path: Path,
) -> None:
    owner = sandbox_credentials(tmp_path)
    registry = IdentityRegistry()
    issued = registry.issue(InstanceIdentity("i-0123456789abcdef0", "role", REGION, "d", "1"))
    inner = _Inner()
    app = AuthMiddleware(inner, owner, registry, open_paths=("/health",))
    form = b"Action=DescribeInstances&Version=2016-11-15"
    kind = {"Content-Type": "application/x-www-form-urlencoded; charset=utf-8"}
    url = "http://127.0.0.1:4566/"
    with_token = Credentials(issued.access_key_id, issued.secret_access_key, issued.session_token)
    status, headers, _ = _answer(app, _environ(url, with_token, form, **kind))
    assert status == 200 and "Access-Control-Allow-Origin" not in headers and headers["X-Ok"]
    assert inner.bodies == [form]  # moto still reads the whole body
    no_token = Credentials(issued.access_key_id, issued.secret_access_key)
    status, _, body = _answer(app, _environ(url, no_token, form, **kind))
    assert status == 401 and b"<Code>AuthFailure</Code>" in body
    forged = Credentials(issued.access_key_id, issued.secret_access_key, "forged-token")
    assert _answer(app, _environ(url, forged, form, **kind))[0] == 401
    admin = "http://127.0.0.1:4566/moto-api/data.json"
    status, _, body = _answer(app, _environ(admin, with_token, service="sts"))
    assert status == 403 and b"AccessDenied" in body
    owner_keys = Credentials(owner.access_key_id, owner.secret_access_key)
    assert _answer(app, _environ(admin, owner_keys, service="sts"))[0] == 200
    tampered = _environ(url, owner_keys, form, **kind)
    tampered["wsgi.input"] = io.BytesIO(form.replace(b"Describe", b"Terminat"))
    status, _, body = _answer(app, tampered)
    assert status == 401 and b"AuthFailure" in body  # the signature covers the body
    registry.forget(["i-0123456789abcdef0"])  # terminated: its keys stop working
    assert _answer(app, _environ(url, with_token, form, **kind))[0] == 401
    health = {"REQUEST_METHOD": "GET", "PATH_INFO": "/health", "wsgi.input": io.BytesIO()}
    assert _answer(app, health)[0] == 200  # the server's own open paths need no signature


def test_an_old_signature_is_refused_as_expired(tmp_path: Path) -> None:
    owner = sandbox_credentials(tmp_path)
    later = datetime.now(timezone.utc) + timedelta(minutes=16)
    app = AuthMiddleware(_Inner(), owner, IdentityRegistry(), clock=lambda: later)
    keys = Credentials(owner.access_key_id, owner.secret_access_key)
    status, _, body = _answer(app, _environ("http://127.0.0.1:4566/", keys, service="ec2"))
    assert status == 400 and b"<Code>RequestExpired</Code>" in body
    target = {"X-Amz-Target": "AmazonSSM.DescribeParameters"}
    status, _, body = _answer(app, _environ("http://127.0.0.1:4566/", keys, b"{}", "ssm", **target))
    assert status == 400 and json.loads(body)["__type"] == "InvalidSignatureException"
