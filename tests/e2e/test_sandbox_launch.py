"""The same engine through the moto HTTP server on 127.0.0.1 (the sandbox), driven as a user
drives it with `--sandbox`: the first test runs the real console program in a subprocess; the
others call the same `main` in-process (no interpreter start-up), still over HTTP."""

from __future__ import annotations

import json
import shlex
import subprocess
import sys
from pathlib import Path

import boto3
import pytest
from support import child_env, main_in_process, sandbox_keys

from amazonei_sandbox import control

REPO = Path(__file__).resolve().parents[2]
PROFILES = REPO / "templates" / "profiles"


@pytest.fixture(scope="module")
def sandbox_home(tmp_path_factory):
    home = tmp_path_factory.mktemp("sandbox-home")
    info = control.start(home)
    assert info.endpoint.startswith("http://127.0.0.1:")
    yield home
    control.stop(home)


def cli(home: Path, *argv: str) -> subprocess.CompletedProcess:
    """The console program itself, in a fresh interpreter."""
    return subprocess.run(
        [sys.executable, "-m", "amazonei_setup", "--home", str(home), "--sandbox", *argv],
        capture_output=True,
        text=True,
        env=child_env(),
        timeout=120,
    )


@pytest.fixture
def run(capsys: pytest.CaptureFixture[str]):
    """The same program in-process, still over HTTP to the sandbox."""

    def call(home: Path, *argv: str, sandbox: bool = True) -> subprocess.CompletedProcess:
        return main_in_process(capsys, "--home", str(home), *(["--sandbox"] * sandbox), *argv)

    return call


def sandbox_client(home: Path, service: str):
    info = control.status(home)
    assert info is not None and info.running
    return boto3.client(
        service,
        region_name="us-west-2",
        endpoint_url=info.endpoint,
        **sandbox_keys(home),
    )


def test_eia_workshop_launches_on_the_sandbox_and_prints_how_to_connect(sandbox_home):
    done = cli(
        sandbox_home, "launch", "--profile-file", str(PROFILES / "eia-workshop.yaml"), "--yes"
    )
    assert done.returncode == 0, done.stderr
    flat = " ".join(done.stdout.split())  # the result: stdout; progress went to stderr
    assert "'eia-workshop' is running in us-west-2" in flat
    assert "ssh -i " in done.stdout and "ec2-user@" in done.stdout
    assert "\x1b[" not in done.stdout  # no colour codes off a terminal
    assert "Traceback" not in done.stderr
    record = json.loads((sandbox_home / "deployments/us-west-2/eia-workshop.json").read_text())
    assert record["status"] == "ready"
    instance_id = record["instances"][0]["id"]
    ec2 = sandbox_client(sandbox_home, "ec2")
    live = ec2.describe_instances(InstanceIds=[instance_id])["Reservations"][0]["Instances"][0]
    assert live["State"]["Name"] == "running"
    assert live["MetadataOptions"]["HttpTokens"] == "required"
    endpoints = ec2.describe_vpc_endpoints(
        Filters=[
            {
                "Name": "service-name",
                "Values": ["com.amazonaws.us-west-2.elastic-inference.runtime"],
            }
        ]
    )["VpcEndpoints"]
    assert [e["VpcEndpointId"] for e in endpoints] == [record["resources"]["endpoint"]["id"]]
    # The agent ran on the (simulated) instance and its report is there to verify again.
    assert record["instances"][0]["agent"] == "passed"
    verified = cli(sandbox_home, "verify", "eia-workshop", "--output", "json")
    assert verified.returncode == 0, verified.stderr
    [report] = json.loads(verified.stdout)["reports"].values()
    assert report["accelerator"]["kind"] == "eia" and report["accelerator"]["simulated"] is True
    assert report["smoke_test"]["latency_ms"]["p50"] > 0
    # The printed teardown works as pasted (here: `python3 -m amazonei_setup --sandbox ...`).
    removed = paste(printed_teardown(done.stdout), "--yes")
    assert removed.returncode == 0, removed.stderr
    assert "removed or released" in removed.stdout
    # The simulated instance's folder went with it (teardown waits for the termination).
    assert not (sandbox_home / "sandbox" / "instances" / instance_id).exists()
    assert (sandbox_home / "sandbox" / "logs" / f"{instance_id}.status.json").is_file()
    assert cli(sandbox_home, "status", "--output", "json").stdout.count("eia-workshop") == 0


def printed_teardown(stdout: str) -> str:
    lines = stdout.splitlines()
    return lines[lines.index("Remove everything:") + 1].strip()


def paste(command: str, *more: str, cwd: Path | None = None, env: dict | None = None):
    """The printed command as a shell would run it after a paste."""
    return subprocess.run(
        [*shlex.split(command), *more],
        capture_output=True,
        text=True,
        cwd=cwd,
        env=env or child_env(),
        timeout=120,
    )


def test_printed_commands_work_pasted_after_the_readme_install(sandbox_home):
    """The README installs into .venv and runs .venv/bin/amazonei-setup without activating
    it: the commands printed then name that path, and work pasted in the same folder."""
    script = Path(sys.executable).parent / "amazonei-setup"
    if not script.exists():
        pytest.skip("the amazonei-setup script is not installed beside this interpreter")
    venv = script.parent.parent
    env = child_env(PATH="/usr/bin:/bin")  # the venv is not active
    argv = ["bin/amazonei-setup", "--sandbox", "--home", str(sandbox_home), "launch"]
    profile = str(PROFILES / "inf1-ssm.yaml")
    done = subprocess.run(
        [*argv, "--profile-file", profile, "--name", "pasted", "--no-wait", "--yes"],
        capture_output=True,
        text=True,
        cwd=venv,
        env=env,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    command = printed_teardown(done.stdout)
    home = shlex.quote(str(sandbox_home))
    assert (
        command == f"bin/amazonei-setup --sandbox --home {home} teardown pasted --region us-west-2"
    )
    status = paste(command.replace(" teardown pasted", " status pasted"), cwd=venv, env=env)
    assert status.returncode == 0 and "Seats of pasted" in status.stdout, status.stderr
    removed = paste(command, "--yes", cwd=venv, env=env)
    assert removed.returncode == 0, removed.stderr
    assert "'pasted' in us-west-2" in removed.stdout


def test_inf1_launch_json_status_and_connect_through_http(sandbox_home, run, capsys):
    done = run(
        sandbox_home, "launch", "--profile-file", str(PROFILES / "inf1-ssm.yaml"),
        "--yes", "--output", "json",
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    document = json.loads(done.stdout)  # stdout holds exactly one JSON document
    assert document["deployment"] == "inf1-demo"
    [instance] = document["instances"]
    assert instance["connect"].startswith("aws ssm start-session --target i-")
    status = run(sandbox_home, "status", "--output", "json")
    assert status.returncode == 0, status.stderr
    rows = {row["name"]: row for row in json.loads(status.stdout)["deployments"]}
    assert rows["inf1-demo"]["instances"][0]["state"] == "running"
    assert rows["inf1-demo"]["hardware"] == "inf1.xlarge"
    # connect: the instance is simulated, so the command is shown, marked so, and not run.
    from amazonei_setup.cli.main import Hooks, main

    ran: list[list[str]] = []
    code = main(["--home", str(sandbox_home), "--sandbox", "connect", "inf1-demo"], Hooks(
        replace_process=ran.append
    ))  # fmt: skip
    out, err = capsys.readouterr()
    assert code == 0 and ran == [], err
    endpoint = control.status(sandbox_home).endpoint
    assert out.strip() == instance["connect"]  # one builder for both
    assert out.split()[-2:] == ["--endpoint-url", endpoint]
    assert "simulated" in err and "nothing was run" in err


def test_a_stack_through_http_runs_its_agent_and_leaves_nothing(sandbox_home, run):
    """--engine cloudformation on the sandbox server: the stack's instance runs its signed
    user data like a RunInstances one, its agent's report arrives, and teardown empties it."""
    done = run(
        sandbox_home, "launch", "--profile-file", str(PROFILES / "inf1-ssm.yaml"),
        "--name", "inf1-stack", "--engine", "cloudformation", "--yes", "--output", "json",
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    document = json.loads(done.stdout)
    assert document["stack"]["status"] == "CREATE_COMPLETE"
    [instance] = document["instances"]
    assert instance["report"]["status"] == "passed"
    assert "CREATE_COMPLETE InstanceSeat1 (AWS::EC2::Instance)" in done.stderr
    gone = run(sandbox_home, "teardown", "inf1-stack", "--yes")
    assert gone.returncode == 0, gone.stderr
    cfn = sandbox_client(sandbox_home, "cloudformation")
    live = [
        s["StackName"]
        for s in cfn.list_stacks()["StackSummaries"]
        if s["StackStatus"] != "DELETE_COMPLETE"
    ]
    assert live == []
    ec2 = sandbox_client(sandbox_home, "ec2")
    (reservation,) = ec2.describe_instances(InstanceIds=[instance["id"]])["Reservations"]
    assert reservation["Instances"][0]["State"]["Name"] == "terminated"


def test_rerun_through_http_reuses_everything(sandbox_home, run):
    profile = str(PROFILES / "inf1-ssm.yaml")
    first = run(sandbox_home, "launch", "--profile-file", profile, "--yes", "--output", "json")
    second = run(sandbox_home, "launch", "--profile-file", profile, "--yes", "--output", "json")
    assert first.returncode == second.returncode == 0, second.stderr
    again = json.loads(second.stdout)
    assert {r["action"] for r in again["resources"].values()} == {"reused"}
    assert again["instances"][0]["id"] == json.loads(first.stdout)["instances"][0]["id"]


def test_plan_json_on_the_sandbox_for_a_retired_region(sandbox_home, run):
    done = run(
        sandbox_home, "plan", "--name", "old", "--region", "eu-central-1",
        "--instance-type", "m5.large", "--accelerator", "eia1.medium",
    )  # fmt: skip
    assert done.returncode == 2
    assert "AWS retired the service in April 2024" in " ".join(done.stderr.split())


def test_sandbox_status_json_contract(sandbox_home, run):
    done = run(sandbox_home, "sandbox", "status", "--output", "json", sandbox=False)
    assert done.returncode == 0, done.stderr
    document = json.loads(done.stdout)
    assert document["running"] is True
    assert document["endpoint"].startswith("http://127.0.0.1:")
