"""Simulated instances: the sandbox runs the real, signed user data of what is launched through
it, with a loopback IMDS and simulated hardware, and the agent's report reaches SSM as on AWS.
Everything stays on 127.0.0.1; nothing sleeps a fixed time (polls back off, bounded)."""

from __future__ import annotations

import base64
import gzip
import io
import json
import os
import shlex
import signal
import subprocess
import sys
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from pathlib import Path
from types import SimpleNamespace
from typing import Any
from urllib.parse import urlencode

import boto3
import pytest
from botocore.exceptions import ClientError
from support import poll, sandbox_keys

from amazonei_sandbox import control, fake_tools, server
from amazonei_sandbox.control import SandboxInfo
from amazonei_sandbox.imds import ImdsEmulator, metadata_for
from amazonei_sandbox.instances import (
    FINAL_STATES,
    STATUS_FIELDS,
    LaunchFacts,
    SimulatedInstances,
    form_list,
    instance_ids_in,
)
from amazonei_setup.resources.role import instance_policy
from amazonei_setup.seats.userdata import render_user_data, sandbox_signing_key, sign
from amazonei_setup.spec.profile_checks import validate_profile

REGION = "us-west-2"
LEAK_MARKER = "AMAZONEI_SANDBOX_TEST_LEAK_MARKER"
SERVER_ONLY_TOKEN = "server-only-session-token-must-not-leak"
WAIT_S = 30.0
# What bash adds to any environment it is given.
BASH_OWN = {"PWD", "SHLVL", "_", "OLDPWD"}
INSTANCE_ENV = {
    "PATH", "HOME", "LANG", "AMAZONEI_SETUP_ROOT", "AMAZONEI_AGENT_IMDS_ENDPOINT",
    "AMAZONEI_AGENT_DEV_DIR", "AMAZONEI_AGENT_ROOT", "AWS_ENDPOINT_URL", "AWS_DEFAULT_REGION",
    "AWS_EC2_METADATA_SERVICE_ENDPOINT", "AWS_METADATA_SERVICE_TIMEOUT",
    "AWS_METADATA_SERVICE_NUM_ATTEMPTS",
}  # fmt: skip
ROLE, PROFILE = "sim-instance-role", "sim-instance-profile"
ACCOUNT = "123456789012"
needs_proc = pytest.mark.skipif(not Path("/proc/self/cwd").exists(), reason="needs Linux /proc")


# --- helpers ------------------------------------------------------------------------------


def _status(home: Path, instance_id: str) -> dict[str, Any] | None:
    """The instance's status.json: in its folder while it lives, in the logs once it is gone."""
    for path in (
        home / "sandbox" / "instances" / instance_id / "status.json",
        home / "sandbox" / "logs" / f"{instance_id}.status.json",
    ):
        try:
            return json.loads(path.read_text())
        except (FileNotFoundError, ValueError):
            continue
    return None


def _wait_status(home: Path, instance_id: str, states: tuple[str, ...] = FINAL_STATES) -> dict:
    def reached() -> dict | None:
        status = _status(home, instance_id)
        return status if status and status["state"] in states else None

    status = poll(reached, WAIT_S)
    if status is None:
        log = (home / "sandbox" / "server.log").read_text()[-2000:]
        pytest.fail(f"{instance_id} never reached {states}: {_status(home, instance_id)}\n{log}")
    return status


def _alive(pid: int) -> bool:
    """Alive and not a zombie (an orphan's zombie may wait for a reaper in a container)."""
    try:
        os.kill(pid, 0)
        stat = Path(f"/proc/{pid}/stat").read_text()
    except (ProcessLookupError, FileNotFoundError):
        return False
    return stat.rpartition(")")[2].split()[:1] != ["Z"]


def _clients(home: Path, info: SandboxInfo) -> tuple[Any, Any]:
    options = {"region_name": REGION, "endpoint_url": info.endpoint, **sandbox_keys(home)}
    return boto3.client("ec2", **options), boto3.client("ssm", **options)


_IMAGES: dict[tuple[str, str], str] = {}


def _image(ec2: Any, name_part: str) -> str:
    """A seeded amazon-owned image whose name contains `name_part` (describe_images is slow)."""
    cache_key = (ec2.meta.endpoint_url, name_part)
    if cache_key not in _IMAGES:
        images = ec2.describe_images(Owners=["amazon"])["Images"]
        _IMAGES[cache_key] = next(i["ImageId"] for i in images if name_part in i["Name"])
    return _IMAGES[cache_key]


_PROFILES: set[str] = set()


def _instance_profile(ec2: Any) -> str:
    """An instance profile holding ROLE in the sandbox behind `ec2`, created once per sandbox."""
    endpoint = ec2.meta.endpoint_url
    if endpoint not in _PROFILES:
        credentials = ec2._get_credentials()
        iam = boto3.client(
            "iam", region_name=REGION, endpoint_url=endpoint,
            aws_access_key_id=credentials.access_key, aws_secret_access_key=credentials.secret_key,
        )  # fmt: skip
        trust = {
            "Version": "2012-10-17",
            "Statement": [
                {"Effect": "Allow", "Principal": {"Service": "ec2.amazonaws.com"},
                 "Action": "sts:AssumeRole"}
            ],
        }  # fmt: skip
        iam.create_role(RoleName=ROLE, AssumeRolePolicyDocument=json.dumps(trust))
        # What the tool gives deployment "sim": the sandbox holds the agent to it, as IAM does.
        policy = instance_policy("sim", REGION, ACCOUNT, eia=True, ssm_access=True)
        iam.put_role_policy(RoleName=ROLE, PolicyName="sim", PolicyDocument=json.dumps(policy))
        iam.create_instance_profile(InstanceProfileName=PROFILE)
        iam.add_role_to_instance_profile(InstanceProfileName=PROFILE, RoleName=ROLE)
        _PROFILES.add(endpoint)
    return PROFILE


def _launch(
    ec2: Any, instance_type: str, user_data: bytes | str | None, image: str = "Neuron", **extra: Any
) -> str:
    """Launched as the tool does it, with an instance profile (its role's credentials reach the
    instance through IMDS); `IamInstanceProfile=None` launches one without."""
    request = {"ImageId": _image(ec2, image), "InstanceType": instance_type, **extra}
    if "IamInstanceProfile" not in request:
        request["IamInstanceProfile"] = {"Name": _instance_profile(ec2)}
    elif request["IamInstanceProfile"] is None:
        del request["IamInstanceProfile"]
    if user_data is not None:
        request["UserData"] = user_data
    answer = ec2.run_instances(MinCount=1, MaxCount=1, **request)
    return answer["Instances"][0]["InstanceId"]


def _profile(instance_type: str, accelerator: str | None = None) -> Any:
    document: dict[str, Any] = {
        "name": "sim",
        "region": REGION,
        "instance_type": instance_type,
        "access": {"mode": "ssm"},
    }
    if accelerator:
        document["accelerator"] = accelerator
    return validate_profile(None, document)


def _report(ssm: Any, instance_id: str) -> dict[str, Any]:
    name = f"/amazonei-setup/sim/{instance_id}/report"
    return json.loads(ssm.get_parameter(Name=name)["Parameter"]["Value"])


def _reports_naming(ssm: Any, instance_id: str) -> list[str]:
    names = []
    for page in ssm.get_paginator("get_parameters_by_path").paginate(
        Path="/amazonei-setup/", Recursive=True
    ):
        names += [p["Name"] for p in page["Parameters"] if instance_id in p["Name"]]
    return names


# A child that leads its own session, as the agent's benchmark worker does: out of the script's
# process group, and still on the instance.
OWN_SESSION = (
    f"{shlex.quote(sys.executable)} -c 'import os, sys, time; os.setsid(); "
    'open(sys.argv[1], "w").write(str(os.getpid())); time.sleep(60)\' '
    '"$AMAZONEI_SETUP_ROOT/own-session.pid"'
)


def _sleeper(key: bytes) -> str:
    """A signed script that runs until killed, leaving its children's pids behind: one in its
    process group, one in a session of its own."""
    script = (
        "#!/bin/bash\n"
        'sleep 60 &\necho $! > "$AMAZONEI_SETUP_ROOT/child.pid"\n'
        f"{OWN_SESSION} &\n"
        'until [ -s "$AMAZONEI_SETUP_ROOT/own-session.pid" ]; do sleep 0.05; done\n'
        'echo started > "$AMAZONEI_SETUP_ROOT/started"\nwait\n'
    )
    return sign(script, key)


def _imds(endpoint: str, path: str, token: str | None = None, method: str = "GET") -> Any:
    headers = {"X-aws-ec2-metadata-token": token} if token else {}
    if method == "PUT":
        headers = {"X-aws-ec2-metadata-token-ttl-seconds": "60"}
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
    request = urllib.request.Request(endpoint + path, method=method, headers=headers)
    try:
        with opener.open(request, timeout=5) as answer:
            return answer.status, answer.read().decode()
    except urllib.error.HTTPError as error:
        return error.code, ""


# --- one sandbox for the module -----------------------------------------------------------


@pytest.fixture(scope="module")
def sandbox(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Path, SandboxInfo]]:
    home = tmp_path_factory.mktemp("sim-home")
    with pytest.MonkeyPatch.context() as monkeypatch:
        # In the server's environment only: a simulated instance must see neither.
        monkeypatch.setenv(LEAK_MARKER, "leaked")
        monkeypatch.setenv("AWS_SESSION_TOKEN", SERVER_ONLY_TOKEN)
        info = control.start(home, timeout_s=60)
    try:
        yield home, info
    finally:
        control.stop(home)


@needs_proc
def test_start_creates_the_signing_key_and_passes_the_home(
    sandbox: tuple[Path, SandboxInfo],
) -> None:
    home, info = sandbox
    key = home / "sandbox" / "user-data.key"
    assert key.stat().st_mode & 0o777 == 0o600
    command = Path(f"/proc/{info.pid}/cmdline").read_bytes().split(b"\0")
    assert b"--home" in command and command[command.index(b"--home") + 1] == str(home).encode()


def test_signed_inf1_launch_publishes_a_passing_simulated_neuron_report(
    sandbox: tuple[Path, SandboxInfo],
) -> None:
    home, info = sandbox
    ec2, ssm = _clients(home, info)
    user_data = render_user_data(_profile("inf1.xlarge"), sandbox_signing_key(home))
    instance_id = _launch(ec2, "inf1.xlarge", user_data)
    status = _wait_status(home, instance_id)
    assert set(status) == set(STATUS_FIELDS)
    assert status["state"] == "exited" and status["ran"] is True, status
    assert status["exit_code"] == 0 and status["reason"] is None
    inf1 = "opt/aws_neuron_venv_pytorch_1_13_inf1/bin/python"  # the 2.26 DLAMI's venvs, all
    assert status["tools"][:2] == ["python3", "neuron-ls"] and inf1 in status["tools"]
    assert status["pid"] is None and status["imds_endpoint"] is None
    report = _report(ssm, instance_id)
    assert report["status"] == "passed", report["reason"]
    smoke = report["smoke_test"]  # discovery found the simulated DLAMI's torch-neuron venv
    assert (smoke["device"], smoke["framework"], smoke["simulated"]) == (
        "neuron",
        "torch-neuron",
        True,
    )
    assert smoke["environment"] == "/" + inf1[: -len("/bin/python")] and smoke["on_accelerator"]
    accelerator = report["accelerator"]
    assert accelerator["kind"] == "neuron" and accelerator["ok"] is True
    assert accelerator["simulated"] is True
    assert accelerator["found"]["neuron_cores"] == 4
    assert report["instance"]["id"] == instance_id
    assert report["instance"]["type"] == "inf1.xlarge"
    assert report["instance"]["region"] == REGION
    log = Path(status["log"]).read_text()
    assert "agent finished with exit code 0" in log
    assert "AMAZONEI-SETUP-REPORT-BEGIN" in Path(status["console"]).read_text()
    assert Path(status["log"]).is_relative_to(home / "sandbox" / "instances" / instance_id)


def test_signed_g4dn_launch_sees_a_simulated_gpu(sandbox: tuple[Path, SandboxInfo]) -> None:
    home, info = sandbox
    ec2, ssm = _clients(home, info)
    user_data = render_user_data(_profile("g4dn.xlarge"), sandbox_signing_key(home))
    instance_id = _launch(ec2, "g4dn.xlarge", user_data, image="Nvidia")
    assert _wait_status(home, instance_id)["exit_code"] == 0
    report = _report(ssm, instance_id)
    assert report["status"] == "passed", report["reason"]
    assert report["accelerator"]["kind"] == "nvidia" and report["accelerator"]["simulated"]
    assert report["accelerator"]["found"]["gpus"][0]["name"] == "Tesla T4"
    smoke = report["smoke_test"]
    assert (smoke["device"], smoke["environment"], smoke["simulated"]) == (
        "cuda:0",
        "/opt/pytorch",
        True,
    )


def test_eia_launch_gets_an_association_in_imds_and_passes(
    sandbox: tuple[Path, SandboxInfo],
) -> None:
    home, info = sandbox
    ec2, ssm = _clients(home, info)
    user_data = render_user_data(_profile("m5.large", "eia1.large"), sandbox_signing_key(home))
    eia = [{"Type": "eia1.large", "Count": 1}]
    instance_id = _launch(
        ec2, "m5.large", user_data, image="Amazon Linux 2", ElasticInferenceAccelerators=eia
    )
    status = _wait_status(home, instance_id)
    assert status["elastic_inference_accelerators"] == ["eia1.large"]
    env = "home/ec2-user/anaconda3/envs/amazonei_pytorch_latest_p37"
    assert status["tools"] == ["python3", f"{env}/bin/python"] and status["exit_code"] == 0
    report = _report(ssm, instance_id)
    assert report["status"] == "passed", report["reason"]
    smoke = report["smoke_test"]
    assert (smoke["device"], smoke["framework"], smoke["environment"]) == (
        "eia:0",
        "pytorch-ei",
        "/" + env,
    )
    assert report["accelerator"]["kind"] == "eia" and report["accelerator"]["simulated"]
    [association] = report["accelerator"]["found"]["associations"]
    assert association["type"] == "eia1.large" and association["id"].startswith("eia-")


def test_eia_profile_without_an_accelerator_in_the_request_fails(
    sandbox: tuple[Path, SandboxInfo],
) -> None:
    home, info = sandbox
    ec2, ssm = _clients(home, info)
    user_data = render_user_data(_profile("m5.large", "eia1.large"), sandbox_signing_key(home))
    instance_id = _launch(ec2, "m5.large", user_data, image="Amazon Linux 2")
    status = _wait_status(home, instance_id)
    assert status["ran"] is True and status["exit_code"] == 1
    assert status["elastic_inference_accelerators"] == []
    report = _report(ssm, instance_id)
    assert report["status"] == "failed"
    assert report["accelerator"]["kind"] == "eia" and report["accelerator"]["ok"] is False
    assert "no Elastic Inference accelerator" in report["reason"]


@pytest.mark.parametrize(
    ("case", "reason"),
    [
        ("unsigned", "signature"),
        ("wrong-key", "signature"),
        ("no-user-data", "no user data"),
        ("not-a-script", "not a script"),
    ],
)
def test_user_data_that_is_not_ours_never_runs(
    sandbox: tuple[Path, SandboxInfo], tmp_path: Path, case: str, reason: str
) -> None:
    home, info = sandbox
    ec2, ssm = _clients(home, info)
    canary = tmp_path / "canary"
    script = f'#!/bin/bash\ntouch {canary}\ntouch "$AMAZONEI_SETUP_ROOT/canary" /tmp/{case}-$$\n'
    user_data: bytes | None = {
        "unsigned": script.encode(),
        "wrong-key": gzip.compress(sign(script, b"not the sandbox key").encode()),
        "no-user-data": None,
        "not-a-script": gzip.compress(b"\xff\xfe\x00binary")[:-4],
    }[case]
    instance_id = _launch(ec2, "inf1.xlarge", user_data)
    status = _wait_status(home, instance_id)
    assert status["state"] == "not_run" and status["ran"] is False, status
    assert reason in status["reason"]
    assert status["exit_code"] is None and status["started_at"] is None
    assert not canary.exists()
    assert not (home / "sandbox" / "instances" / instance_id / "root").exists()
    assert not list(Path("/tmp").glob(f"{case}-*"))
    assert _reports_naming(ssm, instance_id) == []


def test_instance_environment_is_built_from_scratch(sandbox: tuple[Path, SandboxInfo]) -> None:
    home, info = sandbox
    ec2, _ = _clients(home, info)
    script = (
        "#!/bin/bash\n"
        'env > "$AMAZONEI_SETUP_ROOT/env.txt"\n'
        'python3 -c "import boto3, sys; print(boto3.__version__)" > "$AMAZONEI_SETUP_ROOT/py.txt"\n'
        "python3 -c 'import boto3; c = boto3.Session().get_credentials(); "
        'print(c.method, c.access_key, bool(c.token))\' > "$AMAZONEI_SETUP_ROOT/creds.txt"\n'
    )
    instance_id = _launch(ec2, "m5.large", sign(script, sandbox_signing_key(home)), image="Amazon")
    status = _wait_status(home, instance_id)
    assert status["exit_code"] == 0, Path(status["output_log"]).read_text()
    root = Path(status["root"])
    env = dict(
        line.split("=", 1) for line in (root / "env.txt").read_text().splitlines() if "=" in line
    )
    assert set(env) - BASH_OWN == INSTANCE_ENV
    assert LEAK_MARKER not in env and "AWS_SESSION_TOKEN" not in env
    assert SERVER_ONLY_TOKEN not in (root / "env.txt").read_text()
    assert env["AWS_ENDPOINT_URL"] == info.endpoint
    assert env["AWS_ENDPOINT_URL"].startswith("http://127.0.0.1:")
    assert env["AMAZONEI_AGENT_IMDS_ENDPOINT"].startswith("http://127.0.0.1:")
    assert env["AMAZONEI_AGENT_ROOT"] == str(root)  # framework environments are looked for here
    assert env["AWS_DEFAULT_REGION"] == REGION
    # No key in the environment: boto3 takes the role's own credentials from the instance's IMDS.
    assert env["AWS_EC2_METADATA_SERVICE_ENDPOINT"] == env["AMAZONEI_AGENT_IMDS_ENDPOINT"]
    method, access_key, has_token = (root / "creds.txt").read_text().split()
    assert method == "iam-role" and has_token == "True"
    assert access_key.startswith("ASIA") and len(access_key) == 20
    assert env["HOME"] == env["AMAZONEI_SETUP_ROOT"] == str(root)
    assert env["AMAZONEI_AGENT_DEV_DIR"] == str(root / "dev")
    assert env["PATH"] == f"{root / 'bin'}:/usr/bin:/bin"
    assert root.is_relative_to(home / "sandbox" / "instances" / instance_id)
    assert (root / "py.txt").read_text().strip()  # the python3 shim imports boto3


def test_terminating_an_instance_kills_its_script_and_its_imds(
    sandbox: tuple[Path, SandboxInfo],
) -> None:
    home, info = sandbox
    ec2, _ = _clients(home, info)
    instance_id = _launch(ec2, "inf1.xlarge", _sleeper(sandbox_signing_key(home)))
    running = _wait_status(home, instance_id, ("running", *FINAL_STATES))
    assert running["state"] == "running", running
    root = Path(running["root"])
    assert poll(lambda: (root / "started").exists(), WAIT_S)
    child = int((root / "child.pid").read_text())
    own_session = int((root / "own-session.pid").read_text())
    imds = running["imds_endpoint"]
    assert _imds(imds, "/latest/meta-data/instance-id")[0] == 401  # no token: refused
    status_code, token = _imds(imds, "/latest/api/token", method="PUT")
    assert status_code == 200 and token
    assert _imds(imds, "/latest/meta-data/instance-id", token) == (200, instance_id)
    assert _imds(imds, "/latest/meta-data/instance-type", token) == (200, "inf1.xlarge")
    ec2.terminate_instances(InstanceIds=[instance_id])
    status = _wait_status(home, instance_id)
    assert status["state"] == "killed" and "terminated" in status["reason"]
    assert poll(lambda: not any(map(_alive, (running["pid"], child, own_session))), 5)
    # Its folder goes with it; its status and output log stay, in the bounded logs folder.
    folder = home / "sandbox" / "instances" / instance_id
    assert poll(lambda: not folder.exists(), 10), list(folder.rglob("*"))
    kept = _status(home, instance_id)
    assert kept is not None and kept["state"] == "killed" and kept["root"] is None
    assert Path(kept["output_log"]).parent == home / "sandbox" / "logs"
    assert Path(kept["output_log"]).is_file()
    with pytest.raises(OSError):
        urllib.request.build_opener(urllib.request.ProxyHandler({})).open(imds, timeout=2)


@pytest.mark.slow
def test_stopping_the_sandbox_kills_running_instances(tmp_path: Path) -> None:
    info = control.start(tmp_path, timeout_s=60)
    try:
        ec2, _ = _clients(tmp_path, info)
        instance_id = _launch(ec2, "inf1.xlarge", _sleeper(sandbox_signing_key(tmp_path)))
        running = _wait_status(tmp_path, instance_id, ("running", *FINAL_STATES))
        assert running["state"] == "running", running
        root = Path(running["root"])
        assert poll(lambda: (root / "started").exists(), WAIT_S)
        child = int((root / "child.pid").read_text())
        own_session = int((root / "own-session.pid").read_text())
    finally:
        assert control.stop(tmp_path) is True
    assert not any(map(_alive, (running["pid"], child, own_session)))
    status = _status(tmp_path, instance_id)
    assert status is not None and status["state"] == "killed"
    assert "sandbox stopped" in status["reason"]
    assert list((tmp_path / "sandbox" / "instances").iterdir()) == []  # no folder outlives it


@needs_proc
def test_stop_kills_what_a_killed_server_left_running(tmp_path: Path) -> None:
    """The backstop: a status still saying "running" whose pid runs in that instance's root."""
    folder = tmp_path / "sandbox" / "instances" / "i-0123456789abcdef0"
    root = folder / "root"
    root.mkdir(parents=True)
    # Its script, and a child of it in a session of its own (as the agent's worker runs).
    script = f"AMAZONEI_SETUP_ROOT={shlex.quote(str(root))}; {OWN_SESSION} & wait"
    orphan = subprocess.Popen(["bash", "-c", script], cwd=root, start_new_session=True)
    stranger = subprocess.Popen(["sleep", "60"], cwd=tmp_path, start_new_session=True)
    try:
        assert poll(lambda: (root / "own-session.pid").exists(), WAIT_S)
        own_session = int(poll(lambda: (root / "own-session.pid").read_text(), WAIT_S))
        other = tmp_path / "sandbox" / "instances" / "i-0fedcba9876543210"
        other.mkdir(parents=True)
        for where, process in ((folder, orphan), (other, stranger)):
            status = {"state": "running", "pid": process.pid, "root": str(where / "root")}
            (where / "status.json").write_text(json.dumps(status))
        assert control._kill_orphaned_instances(tmp_path) == 1
        assert orphan.wait(timeout=5) == -signal.SIGKILL
        assert poll(lambda: not _alive(own_session), 5)
        assert stranger.poll() is None  # its cwd is not that instance's root: left alone
    finally:
        for process in (orphan, stranger):
            process.kill()
            process.wait()


# --- the parts, in-process ----------------------------------------------------------------


def test_imds_emulator_is_imdsv2_only() -> None:
    metadata = metadata_for(
        "i-0123456789abcdef0", "m5.large", REGION, "us-west-2b", eia_types=("eia1.large",)
    )
    with ImdsEmulator(metadata) as imds:
        base = imds.endpoint
        assert base.startswith("http://127.0.0.1:")
        assert _imds(base, "/latest/meta-data/instance-id") == (401, "")
        assert _imds(base, "/latest/meta-data/instance-id", "forged")[0] == 401
        assert _imds(base, "/latest/api/token", method="GET")[0] == 401
        code, token = _imds(base, "/latest/api/token", method="PUT")
        assert code == 200
        assert (
            _imds(base, "/latest/meta-data/placement/availability-zone", token)[1] == "us-west-2b"
        )
        assert _imds(base, "/latest/meta-data/placement/region", token)[1] == REGION
        assert _imds(base, "/latest/meta-data/missing", token)[0] == 404
        listing = _imds(base, "/latest/meta-data/elastic-inference/associations", token)[1]
        [association] = listing.split()
        document = json.loads(
            _imds(base, f"/latest/meta-data/elastic-inference/associations/{association}", token)[1]
        )
        inner = document["version_2018_04_12"]
        assert inner["elastic-inference-accelerator-type"] == "eia1.large"
        assert inner["elastic-inference-accelerator-id"] == association
        assert inner["amazonei-setup-simulated"] is True
        assert "placement/" in _imds(base, "/latest/meta-data/", token)[1].split()
        opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
        no_ttl = urllib.request.Request(base + "/latest/api/token", method="PUT")
        with pytest.raises(urllib.error.HTTPError) as refused:
            opener.open(no_ttl, timeout=5)
        assert refused.value.code == 400
    with pytest.raises(OSError):
        urllib.request.build_opener(urllib.request.ProxyHandler({})).open(base, timeout=2)


def test_agent_parses_what_the_emulator_and_the_fake_tools_serve(tmp_path: Path) -> None:
    from amazonei_setup.agent import imds as agent_imds
    from amazonei_setup.agent.probes import parse_neuron_ls, parse_nvidia_smi

    metadata = metadata_for(
        "i-0123456789abcdef0", "m5.large", REGION, "us-west-2a", eia_types=("eia2.medium",)
    )
    with ImdsEmulator(metadata) as imds:
        client = agent_imds.ImdsClient(imds.endpoint)
        assert agent_imds.read_instance(client)["availability_zone"] == "us-west-2a"
        [association] = agent_imds.read_associations(client)
        assert association["type"] == "eia2.medium" and association["simulated"] is True
    hardware = fake_tools.install(tmp_path, "inf2.24xlarge")
    assert hardware.dev_nodes == tuple(f"neuron{i}" for i in range(6))
    done = subprocess.run(
        [str(tmp_path / "bin" / "neuron-ls"), "--json-output"], capture_output=True, text=True
    )
    assert done.returncode == 0 and done.stderr.strip() == fake_tools.SIMULATED_MARKER
    assert sum(d["cores"] for d in parse_neuron_ls(done.stdout)) == 12
    fake_tools.install(tmp_path, "p3.2xlarge")
    query = ["--query-gpu=name,memory.total,driver_version", "--format=csv,noheader"]
    done = subprocess.run(
        [str(tmp_path / "bin" / "nvidia-smi"), *query], capture_output=True, text=True
    )
    assert [g["name"] for g in parse_nvidia_smi(done.stdout)] == ["Tesla V100-SXM2-16GB"]
    assert (tmp_path / "dev" / "console").is_file()


def _fake_backend(scripts: dict[str, str]) -> Callable[[str, str, str], Any]:
    """moto's instance as the runner reads it: user data kept base64-encoded."""

    def find(account_id: str, region: str, instance_id: str) -> Any:
        encoded = base64.b64encode(scripts[instance_id].encode()).decode()
        return SimpleNamespace(
            instance_type="m5.large", user_data=encoded, image_id="ami-0123456789abcdef0",
            private_ip="10.0.0.7", placement=f"{region}c",
        )  # fmt: skip

    return find


def test_a_script_past_its_time_is_killed_and_queued_ones_stop_with_the_sandbox(
    tmp_path: Path,
) -> None:
    key = b"in-process key"
    scripts = {f"i-000000000000000{n}": sign("#!/bin/bash\nsleep 60\n", key) for n in range(3)}
    runner = SimulatedInstances(
        tmp_path, "http://127.0.0.1:9", workers=1, timeout_s=0.5, signing_key=key,
        backend=_fake_backend(scripts),
    )  # fmt: skip
    first, second, third = scripts
    try:
        runner.launched("123456789012", REGION, [first], LaunchFacts())
        timed_out = _wait_status(tmp_path, first, ("timed_out",))
        assert timed_out["ran"] is True and "0.5s" in timed_out["reason"]
        assert timed_out["instance_type"] == "m5.large" and timed_out["tools"] == ["python3"]
        runner.timeout_s = WAIT_S
        runner.launched("123456789012", REGION, [second, third], LaunchFacts())
        assert _wait_status(tmp_path, second, ("running",))["pid"]
    finally:
        runner.shutdown()
    killed, queued = _status(tmp_path, second), _status(tmp_path, third)
    assert killed is not None and killed["state"] == "killed", killed
    assert "sandbox stopped while" in killed["reason"]
    assert queued is not None and queued["state"] == "not_run", queued
    assert queued["ran"] is False and "before its user data ran" in queued["reason"]
    runner.launched("123456789012", REGION, ["i-0000000000000009"], LaunchFacts())
    late = _status(tmp_path, "i-0000000000000009")
    assert late is not None and late["state"] == "not_run"


def test_launch_facts_and_instance_ids_from_the_wire() -> None:
    form = {
        "Action": ["RunInstances"],
        "ElasticInferenceAccelerator.1.Type": ["EIA1.Large"],
        "ElasticInferenceAccelerator.1.Count": ["1"],
        "InstanceId.2": ["i-0000000000000000b"],
        "InstanceId.1": ["i-0000000000000000a"],
    }
    assert LaunchFacts.from_form(form).eia_types == ("eia1.large",)
    assert LaunchFacts.from_form({"Action": ["RunInstances"]}).eia_types == ()
    assert form_list(form, "InstanceId") == ["i-0000000000000000a", "i-0000000000000000b"]
    xml = (
        b'<RunInstancesResponse xmlns="http://ec2.amazonaws.com/doc/2016-11-15/">'
        b"<instancesSet><item><instanceId>i-0123456789abcdef0</instanceId>"
        b"<networkInterfaceSet><item><attachment><instanceId>i-ffffffffffffffff0</instanceId>"
        b"</attachment></item></networkInterfaceSet></item>"
        b"<item><instanceId>i-0123456789abcdef1</instanceId></item></instancesSet>"
        b"</RunInstancesResponse>"
    )
    assert instance_ids_in(xml) == ["i-0123456789abcdef0", "i-0123456789abcdef1"]
    assert instance_ids_in(b"<not xml") == []


class _Recorder:
    def __init__(self) -> None:
        self.events: list[tuple[Any, ...]] = []

    def launched(self, account_id: str, region: str, ids: list[str], facts: LaunchFacts) -> None:
        self.events.append(("launched", account_id, region, list(ids), facts.eia_types))

    def terminated(self, ids: list[str]) -> None:
        self.events.append(("terminated", list(ids)))

    def reset(self) -> None:
        self.events.append(("reset",))


def _ec2_request(form: dict[str, str]) -> dict[str, Any]:
    body = urlencode(form).encode()
    return {
        "PATH_INFO": "/",
        "REQUEST_METHOD": "POST",
        "CONTENT_TYPE": "application/x-www-form-urlencoded; charset=utf-8",
        "CONTENT_LENGTH": str(len(body)),
        "wsgi.input": io.BytesIO(body),
        "HTTP_X_MOTO_ACCOUNT_ID": "111122223333",
        "HTTP_AUTHORIZATION": (
            "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20261121/"
            f"{REGION}/ec2/aws4_request, SignedHeaders=host, Signature=abc"
        ),
    }


def test_middleware_tells_instances_and_moto_still_reads_the_body(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.delenv("MOTO_ACCOUNT_ID", raising=False)
    bodies: list[bytes] = []
    answer = (
        b"<RunInstancesResponse><instancesSet><item><instanceId>i-0123456789abcdef0</instanceId>"
        b"</item></instancesSet></RunInstancesResponse>"
    )

    def moto(environ: dict[str, Any], start_response: Any) -> list[bytes]:
        if environ["PATH_INFO"].startswith("/moto-api/"):
            start_response("200 OK", [])
            return [b"reset"]
        bodies.append(environ["wsgi.input"].read(int(environ["CONTENT_LENGTH"])))
        start_response("200 OK", [("Content-Type", "text/xml")])
        return [answer[:40], answer[40:]]

    recorder = _Recorder()
    middleware = server.SeedingMiddleware(moto, seed=lambda *_: None, instances=recorder)  # type: ignore[arg-type]
    launch = {
        "Action": "RunInstances",
        "UserData": "IyEvYmluL2Jhc2gK",
        "ElasticInferenceAccelerator.1.Type": "eia1.large",
    }
    statuses: list[str] = []
    body = middleware(_ec2_request(launch), lambda status, headers: statuses.append(status))
    assert b"".join(body) == answer and statuses == ["200 OK"]
    assert bodies == [urlencode(launch).encode()]  # moto saw the whole body
    middleware(
        _ec2_request({"Action": "TerminateInstances", "InstanceId.1": "i-0123456789abcdef0"}),
        lambda *a: None,
    )
    middleware(_ec2_request({"Action": "DescribeInstances"}), lambda *a: None)
    middleware({"PATH_INFO": "/moto-api/reset"}, lambda *a: None)
    assert recorder.events == [
        ("launched", "111122223333", REGION, ["i-0123456789abcdef0"], ("eia1.large",)),
        ("terminated", ["i-0123456789abcdef0"]),
        ("reset",),
    ]
    assert len(bodies) == 3


def test_middleware_ignores_a_failed_launch(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("MOTO_ACCOUNT_ID", raising=False)

    def moto(environ: dict[str, Any], start_response: Any) -> list[bytes]:
        start_response("400 Bad Request", [])
        return [b"<Response><Errors><Error><Code>InvalidAMIID.NotFound</Code></Error></Errors>"]

    recorder = _Recorder()
    middleware = server.SeedingMiddleware(moto, seed=lambda *_: None, instances=recorder)  # type: ignore[arg-type]
    middleware(_ec2_request({"Action": "RunInstances"}), lambda *a: None)
    assert recorder.events == []


def test_report_parameter_is_missing_for_an_unknown_instance(
    sandbox: tuple[Path, SandboxInfo],
) -> None:
    """Sanity of the helper the negative tests rely on: a missing report is an error."""
    home, info = sandbox
    _, ssm = _clients(home, info)
    with pytest.raises(ClientError):
        _report(ssm, "i-0000000000000000f")


def test_gone_instances_leave_bounded_logs_and_no_folder(tmp_path: Path) -> None:
    from amazonei_sandbox.instance_logs import KEPT_INSTANCES, archive_all

    instances, logs = tmp_path / "instances", tmp_path / "logs"
    for n in range(KEPT_INSTANCES + 5):
        folder = instances / f"i-{n:017x}"
        (folder / "root" / "var" / "log").mkdir(parents=True)
        (folder / "root" / "var" / "log" / "cloud-init-output.log").write_text(f"run {n}\n")
        (folder / "status.json").write_text(json.dumps({"state": "exited", "root": "x"}))
        os.utime(folder / "status.json", (n, n))
    secret = tmp_path / "secret"
    secret.write_text("not a log")
    linked = instances / f"i-{0:017x}" / "root" / "dev"
    linked.mkdir()
    (linked / "console").symlink_to(secret)  # a script's link is never followed nor moved
    archive_all(instances, logs)
    assert list(instances.iterdir()) == [] and secret.read_text() == "not a log"
    kept = sorted(logs.glob("*.status.json"))
    assert len(kept) == KEPT_INSTANCES  # the newest ones
    assert not (logs / f"i-{0:017x}.status.json").exists()
    newest = json.loads((logs / f"i-{KEPT_INSTANCES + 4:017x}.status.json").read_text())
    assert newest["root"] is None and Path(newest["output_log"]).read_text() == "run 24\n"
    assert not list(logs.glob("*.console.log"))
