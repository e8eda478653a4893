"""Test support shared by the tests and scripts/fault_matrix.py: a recorder of every AWS call
with fault injection, a fake clock, and an independent count of what a deployment left in AWS
(by direct boto3 calls, not through the tool's own inventory)."""

from __future__ import annotations

import functools
import gc
import json
import os
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import boto3
from botocore.exceptions import ClientError
from hermetic import hermetic_copy

from amazonei_sandbox.process_caches import (
    cache_fixed_ec2_answers,
    cache_moto_method_lists,
    share_botocore_event_work,
    share_botocore_loader,
)
from amazonei_setup.aws.clients import is_mutating
from amazonei_setup.resources.naming import IAM_PATH, TAG_DEPLOYMENT

REGION = "us-west-2"


def _drop_account(backends: Any) -> None:
    """Forget one account's region backends; a service with its own clean-up still runs it."""
    from moto.core.base_backend import BaseBackend

    for backend in list(backends.values()):
        if type(backend).reset is not BaseBackend.reset:
            backend.reset()
    backends.clear()


def reset_moto_without_rebuilding() -> None:
    """Make moto's reset drop the backends instead of rebuilding each one first.

    moto resets by re-running every region backend's __init__ (EC2's loads ~4000 bundled
    images, about 0.4 s per region) and then discards them all: the next request builds fresh
    ones anyway. Every in-process test ends with that reset, so the rebuild is skipped."""
    from moto.core.base_backend import AccountSpecificBackend

    AccountSpecificBackend.reset = _drop_account  # type: ignore[method-assign]


def memoize_moto_pure_work() -> None:
    """Compute once per test process what moto recomputes per request or per account.

    Every KMS key moto makes gets a fresh RSA-2048 private key (~60 ms), even a symmetric one,
    and each region's first encrypted volume makes one (the tool encrypts every root volume);
    no test signs with it, so one key per key spec is shared. moto also lists its response
    class's methods on every request; classes do not change, so the list is cached."""
    import moto.core.responses
    import moto.kms.models

    if not hasattr(moto.kms.models.generate_private_key, "cache_info"):
        moto.kms.models.generate_private_key = functools.cache(  # type: ignore[assignment]
            moto.kms.models.generate_private_key
        )
    cache_moto_method_lists()
    cache_fixed_ec2_answers()


def collect_garbage_less_often() -> None:
    """Let a test process allocate more between garbage collections.

    A test process holds hundreds of thousands of long-lived objects (botocore's models,
    moto's backends and responses), and at Python's default thresholds (700, 10, 10) every
    collection of the older generations walks them again: in tests/engines' launch, teardown
    and fault-matrix files, 7,045 collections (33 of them full) took 10.7 s of a 52 s run. At
    (20000, 50, 1000) the same files collect 174 times, none full, for 2.4 s; cyclic garbage
    is still freed, only later.
    `freeze_what_is_loaded` then takes what collection loaded out of the walk altogether."""
    gc.set_threshold(20_000, 50, 1_000)


def freeze_what_is_loaded() -> None:
    """Objects alive once the tests are collected (modules, models, fixtures' definitions)
    live until the process ends: move them where the collector never looks."""
    gc.freeze()


def share_botocore_models() -> None:
    """Parse each botocore model once per test process, not once per session.

    botocore's JSON models are megabytes (EC2's alone takes ~0.3 s to parse) and each session
    parses them again; the tool makes a session per command and region, and moto replaces
    boto3's default session on every start. They are read-only data, so every session in this
    process may share one loader."""
    share_botocore_loader()
    share_botocore_event_work()
    _share_client_classes()


_CLIENT_CLASSES_LOCK = threading.Lock()
_SERVICE_MODELS: dict[tuple[int, str, str | None], Any] = {}
_CLIENT_CLASSES: dict[tuple[str, str, tuple[Any, ...]], type] = {}


def _share_client_classes() -> None:
    """Build each service's client class once per test process, not once per client.

    botocore builds a class with a method per operation for every client it makes (EC2 has
    ~700: about 30 ms each time). With one shared loader the service models are the same data
    in every session, so the class is too, as long as the handlers that may change it
    (`creating-client-class`, which boto3 uses to add S3's transfer methods) are the same:
    they are part of the key."""
    import botocore.client
    import botocore.hooks

    build = botocore.client.ClientCreator._create_client_class
    if getattr(build, "shared", False):  # already installed (support is imported twice)
        return

    def shared(self: Any, service_name: str, service_model: Any) -> type:
        emitter = getattr(self._event_emitter, "_emitter", None)
        if not isinstance(emitter, botocore.hooks.HierarchicalEmitter):
            return build(self, service_name, service_model)
        event = f"creating-client-class.{service_model.service_id.hyphenize()}"
        handlers = tuple(
            getattr(h, "__qualname__", repr(h)) for h in emitter._handlers.prefix_search(event)
        )
        key = (service_name, service_model.api_version, handlers)
        with _CLIENT_CLASSES_LOCK:
            if key not in _CLIENT_CLASSES:
                _CLIENT_CLASSES[key] = build(self, service_name, service_model)
            return _CLIENT_CLASSES[key]

    shared.shared = True  # type: ignore[attr-defined]
    botocore.client.ClientCreator._create_client_class = shared  # type: ignore[method-assign]
    load = botocore.client.ClientCreator._load_service_model

    def shared_model(self: Any, service_name: str, api_version: str | None = None) -> Any:
        """One ServiceModel per service and loader: it caches its operation models, which
        every client otherwise builds again (endpoint discovery alone walks all of EC2's)."""
        key = (id(self._loader), service_name, api_version)
        with _CLIENT_CLASSES_LOCK:
            if key not in _SERVICE_MODELS:
                _SERVICE_MODELS[key] = load(self, service_name, api_version)
            return _SERVICE_MODELS[key]

    botocore.client.ClientCreator._load_service_model = shared_model  # type: ignore[method-assign]


@dataclass
class Call:
    service: str
    operation: str
    params: dict[str, Any]


@dataclass
class AwsRecorder:
    """Every AWS call the code under test makes, and errors to inject at chosen calls."""

    calls: list[Call] = field(default_factory=list)
    faults: dict[str, list[tuple[str, str]]] = field(default_factory=dict)
    sessions: int = 0

    def fail(self, operation: str, code: str, message: str = "injected", times: int = 1) -> None:
        self.faults.setdefault(operation, []).extend([(code, message)] * times)

    def operations(self, *, mutating_only: bool = False) -> list[str]:
        """A dry run (DryRun=True) changes nothing: it is not a mutating call."""
        return [
            c.operation
            for c in self.calls
            if not mutating_only or (is_mutating(c.operation) and not c.params.get("DryRun"))
        ]

    def of(self, operation: str, *, dry_runs: bool = False) -> list[Call]:
        """The calls of `operation` (a DryRun=True call only when asked: it does nothing)."""
        return [
            c
            for c in self.calls
            if c.operation == operation and (dry_runs or not c.params.get("DryRun"))
        ]

    def clear(self) -> None:
        self.calls.clear()

    def _before_call(self, model: Any, params: dict[str, Any], **_: Any) -> None:
        self.calls.append(Call(model.service_model.service_name, model.name, dict(params)))
        pending = self.faults.get(model.name) if not params.get("DryRun") else None
        if pending:
            code, message = pending.pop(0)
            raise ClientError({"Error": {"Code": code, "Message": message}}, model.name)

    def session_factory(self, target: Any) -> boto3.Session:
        self.sessions += 1
        session = boto3.Session(
            region_name=target.region, aws_access_key_id="testing", aws_secret_access_key="testing"
        )
        session.events.register("before-parameter-build.*.*", self._before_call)
        return session


class FakeClock:
    """Time that passes only when the code under test sleeps: no test waits for real."""

    def __init__(self) -> None:
        self.now = 1000.0
        self.sleeps: list[float] = []

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += seconds

    def __call__(self) -> float:
        return self.now


def leftovers(name: str, home: Path | None = None) -> dict[str, int]:
    """Everything in AWS (and the state home) that still carries the deployment's name."""
    ec2 = boto3.client("ec2", region_name=REGION)
    iam = boto3.client("iam")
    ssm = boto3.client("ssm", region_name=REGION)
    by_tag = [{"Name": f"tag:{TAG_DEPLOYMENT}", "Values": [name]}]
    instances = [
        i
        for r in ec2.describe_instances(Filters=by_tag)["Reservations"]
        for i in r["Instances"]
        if i["State"]["Name"] != "terminated"
    ]
    endpoints = [
        e
        for e in ec2.describe_vpc_endpoints()["VpcEndpoints"]
        if e["State"] != "deleted"
        and any(
            t["Key"] == f"amazonei-setup:user:{name}"
            or (t["Key"] == TAG_DEPLOYMENT and t["Value"] == name)
            for t in e.get("Tags", [])
        )
    ]
    roles = [
        r
        for r in iam.list_roles(PathPrefix=IAM_PATH)["Roles"]
        if r["RoleName"].endswith(f"-{name}")
    ]
    holders = [
        p
        for p in iam.list_instance_profiles(PathPrefix=IAM_PATH)["InstanceProfiles"]
        if p["InstanceProfileName"].endswith(f"-{name}")
    ]
    params = ssm.get_parameters_by_path(Path=f"/amazonei-setup/{name}", Recursive=True)
    claims = ssm.get_parameters_by_path(Path="/amazonei-setup/.claims")["Parameters"]
    counts = {
        "instances": len(instances),
        "security_groups": len(ec2.describe_security_groups(Filters=by_tag)["SecurityGroups"]),
        "endpoints": len(endpoints),
        "key_pairs": len(ec2.describe_key_pairs(Filters=by_tag)["KeyPairs"]),
        "roles": len(roles),
        "instance_profiles": len(holders),
        "ssm_parameters": len(params["Parameters"]),
        "claims": len([c for c in claims if c["Name"].endswith(f"/{name}")]),
        "s3_buckets": len(_buckets_of(name)),
    }
    if home is not None:
        counts["records"] = len(list((home / "deployments").glob(f"*/{name}.json")))
        counts["key_files"] = len(list((home / "keys").glob(f"*/amazonei-setup-{name}.pem")))
    return counts


def _buckets_of(name: str) -> list[str]:
    """The tool's S3 buckets (named `amazonei-setup-*`) whose tags name the deployment."""
    s3 = boto3.client("s3", region_name=REGION)
    found = []
    for bucket in s3.list_buckets()["Buckets"]:
        if not bucket["Name"].startswith("amazonei-setup-"):
            continue
        try:
            tags = s3.get_bucket_tagging(Bucket=bucket["Name"])["TagSet"]
        except ClientError:
            continue  # untagged (NoSuchTagSet), or gone meanwhile
        if {"Key": TAG_DEPLOYMENT, "Value": name} in tags:
            found.append(bucket["Name"])
    return found


def nothing_left(name: str, home: Path | None = None) -> bool:
    return not any(leftovers(name, home).values())


def on_event(hooks: Any, event: str, handler: Any) -> Any:
    """Make every session the CLI creates from now on call `handler` on botocore `event`.

    Returns the previous session factory, so a test can put it back."""
    previous = hooks.session_factory

    def factory(target: Any) -> Any:
        session = previous(target)
        session.events.register(event, handler)
        return session

    hooks.session_factory = factory
    return previous


def sandbox_keys(home: Path) -> dict[str, str]:
    """The state home's own sandbox credentials, as boto3 takes them (the sandbox answers no
    others)."""
    from amazonei_sandbox.credentials import sandbox_credentials

    return sandbox_credentials(home).boto3_kwargs()


def owner_env(home: Path) -> dict[str, str]:
    """The home's sandbox credentials as AWS_* environment variables (what `sandbox env` prints)."""
    keys = sandbox_keys(home)
    return {
        "AWS_ACCESS_KEY_ID": keys["aws_access_key_id"],
        "AWS_SECRET_ACCESS_KEY": keys["aws_secret_access_key"],
    }


def use_sandbox_by_default(monkeypatch: Any, home: Path, endpoint: str) -> None:
    """Point this process's default boto3 clients (leftovers() makes them) at the sandbox, with
    the home's keys: a fresh default session, since the old one keeps the credentials it found."""
    monkeypatch.setenv("AWS_ENDPOINT_URL", endpoint)
    monkeypatch.setenv("AWS_DEFAULT_REGION", REGION)
    for name, value in owner_env(home).items():
        monkeypatch.setenv(name, value)
    monkeypatch.setattr(boto3, "DEFAULT_SESSION", None)


def signed_request(
    home: Path | None,
    url: str,
    method: str = "GET",
    body: bytes = b"",
    headers: dict[str, str] | None = None,
    keys: dict[str, str] | None = None,
) -> Any:
    """A urllib request signed with SigV4 (the home's sandbox credentials, or `keys`), as any
    AWS client would sign it."""
    import urllib.request

    from botocore.auth import SigV4Auth
    from botocore.awsrequest import AWSRequest
    from botocore.credentials import Credentials

    keys = keys or sandbox_keys(home)  # type: ignore[arg-type]
    request = AWSRequest(method=method, url=url, data=body, headers=dict(headers or {}))
    credentials = Credentials(
        keys["aws_access_key_id"], keys["aws_secret_access_key"], keys.get("aws_session_token")
    )
    SigV4Auth(credentials, "sts", "us-east-1").add_auth(request)
    return urllib.request.Request(
        url, data=body or None, method=method, headers=dict(request.headers.items())
    )


def child_env(**extra: str) -> dict[str, str]:
    """The environment for a tool subprocess (the CLI, a shell, a pexpect session): this
    process's, less every AWS_*, MOTO_*, proxy and amazonei-setup variable (whatever a test
    set, and whatever the developer's shell had), with no AWS config or credentials file and
    no keys (a child must reach only the sandbox, with the keys a test hands it), plus `extra`.
    Every test that starts a child builds its environment here (tests/hermetic.py)."""
    env = hermetic_copy(os.environ, **extra)
    for name in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY"):
        if name not in extra:
            del env[name]
    return env


def inherited_env(**extra: str) -> dict[str, str]:
    """This process's environment as the test set it up, plus `extra`: for a child that must
    see the test's own settings (the agent's fake IMDS address and roots, which child_env
    removes). Clean of the developer's shell all the same: the conftest made os.environ
    hermetic before any test ran, and a test's monkeypatch adds only what it chose."""
    return dict(os.environ, **extra)


def agent_publishes(hooks: Any, report_for: Any, deployment: str = "eia-workshop") -> None:
    """Stand in for the on-instance agent: publish a report right after each launch."""

    def publish(model, http_response, parsed, **_):
        ssm = boto3.client("ssm", region_name="us-west-2")
        for item in parsed.get("Instances", []):
            report = report_for(item["InstanceId"])
            if report is not None:
                ssm.put_parameter(
                    Name=f"/amazonei-setup/{deployment}/{item['InstanceId']}/report",
                    Value=json.dumps(report),
                    Type="String",
                    Overwrite=True,
                )

    on_event(hooks, "after-call.ec2.RunInstances", publish)


def sample_report(status: str = "passed", reason: str | None = None) -> dict[str, Any]:
    return {
        "status": status,
        "reason": reason,
        "accelerator": {"kind": "eia", "ok": status == "passed", "simulated": True},
        "smoke_test": {
            "ok": True,
            "framework": "numpy",
            "device": "cpu",
            "latency_ms": {"p50": 222.78, "p90": 230.0, "p99": 240.0},
        },
    }


def main_in_process(capsys: Any, *argv: str) -> Any:
    """The console program's `main` called here with no test seams (a real session, e.g. to the
    sandbox over HTTP), its output captured: what a subprocess would show, without starting
    an interpreter that imports boto3 again. Returns a subprocess.CompletedProcess."""
    import subprocess

    from amazonei_setup.cli.main import main

    capsys.readouterr()
    code = main(list(argv))
    out, err = capsys.readouterr()
    return subprocess.CompletedProcess(list(argv), code, out, err)


def poll(
    done: Any, timeout_s: float, *, first_pause: float = 0.02, longest_pause: float = 0.5
) -> Any:
    """done()'s first truthy value, polling with growing pauses; done()'s last value (falsy)
    at the deadline. Bounded waits for what another process does: never a fixed sleep."""
    deadline, pause = time.monotonic() + timeout_s, first_pause
    while True:
        value = done()
        if value or time.monotonic() >= deadline:
            return value
        time.sleep(min(pause, max(deadline - time.monotonic(), 0)))
        pause = min(pause * 1.5, longest_pause)


class Trap:
    """A listener on 127.0.0.1 that stands for everywhere a call must not go (a real AWS
    endpoint, a proxy, IMDS): it counts each connection and closes it at once, so a client
    sent there fails fast instead of waiting for an answer. Use it as a context manager."""

    def __init__(self) -> None:
        import socket

        self._socket = socket.create_server(("127.0.0.1", 0))
        self._socket.settimeout(0.05)
        self.url = f"http://127.0.0.1:{self._socket.getsockname()[1]}"
        self.requests: list[str] = []  # the first line each connection sent, for the failure
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._serve, daemon=True)

    def _serve(self) -> None:
        while not self._stop.is_set():
            try:
                connection, _ = self._socket.accept()
            except OSError:  # the timeout: look at the stop flag again
                continue
            connection.settimeout(0.2)
            try:
                first = connection.recv(512).split(b"\r\n", 1)[0].decode("latin-1")
            except OSError:
                first = ""
            self.requests.append(first or "(connected, sent nothing)")
            connection.close()

    @property
    def connections(self) -> int:
        return len(self.requests)

    def __enter__(self) -> Trap:
        self._thread.start()
        return self

    def __exit__(self, *_: Any) -> None:
        self._stop.set()
        self._thread.join(timeout=5)
        self._socket.close()


def hostile_environment(trap_url: str, folder: Path) -> dict[str, str]:
    """What a developer's or user's shell may export that would send an AWS call anywhere but
    where the tool means it to go: every endpoint, proxy and metadata address at `trap_url`,
    real-looking keys, a profile that does not exist, a config file whose [default] profile
    has its own region, endpoint and FIPS setting, FIPS, dual-stack, one attempt, a CA bundle
    that is not there, and the tool's own variables pointing elsewhere."""
    folder.mkdir(parents=True, exist_ok=True)
    config = folder / "aws-config"
    config.write_text(
        "[default]\nregion = eu-west-3\nuse_fips_endpoint = true\n"
        f"endpoint_url = {trap_url}\nmax_attempts = 1\n[profile x]\nregion = sa-east-1\n",
        encoding="utf-8",
    )
    credentials = folder / "aws-credentials"
    credentials.write_text(
        "[default]\naws_access_key_id = AKIAIOSFODNN7EXAMPLE\n"
        "aws_secret_access_key = wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY\n",
        encoding="utf-8",
    )
    return {
        "AWS_DEFAULT_REGION": "eu-central-1",
        "AWS_REGION": "ap-south-1",
        "AWS_PROFILE": "nonexistent",
        "AWS_DEFAULT_PROFILE": "x",
        "AWS_ENDPOINT_URL": trap_url,
        **{f"AWS_ENDPOINT_URL_{s}": trap_url for s in ("EC2", "S3", "STS", "SSM", "IAM")},
        "AWS_ACCESS_KEY_ID": "AKIAIOSFODNN7EXAMPLE",
        "AWS_SECRET_ACCESS_KEY": "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY",
        "AWS_SESSION_TOKEN": "FwoGZXIvYXdzEXAMPLESESSIONTOKEN",
        "AWS_CONFIG_FILE": str(config),
        "AWS_SHARED_CREDENTIALS_FILE": str(credentials),
        "AWS_CA_BUNDLE": str(folder / "no-such-bundle.pem"),
        "AWS_STS_REGIONAL_ENDPOINTS": "legacy",
        "AWS_USE_FIPS_ENDPOINT": "true",
        "AWS_USE_DUALSTACK_ENDPOINT": "true",
        "AWS_MAX_ATTEMPTS": "1",
        "AWS_RETRY_MODE": "adaptive",
        "AWS_EC2_METADATA_DISABLED": "false",
        "AWS_EC2_METADATA_SERVICE_ENDPOINT": trap_url,
        "AWS_CONTAINER_CREDENTIALS_FULL_URI": f"{trap_url}/credentials",
        "AWS_IGNORE_CONFIGURED_ENDPOINT_URLS": "false",
        "HTTP_PROXY": trap_url,
        "HTTPS_PROXY": trap_url,
        "http_proxy": trap_url,
        "https_proxy": trap_url,
        "AMAZONEI_SETUP_HOME": str(folder / "not-this-home"),
        "AMAZONEI_SANDBOX_THROTTLE": "1:0.01",
        "MOTO_ACCOUNT_ID": "111111111111",
    }
