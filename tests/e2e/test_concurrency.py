"""Real processes at once against the sandbox: two launches with different names both succeed
and share one endpoint; the same name twice at once is refused; and a real SIGINT in the middle
of a launch leaves a deployment that resumes and tears down to nothing. What runs alone
afterwards (the resume, the teardowns) calls the same `main` in-process."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import boto3
import pytest
from support import child_env, main_in_process, nothing_left, owner_env, use_sandbox_by_default

from amazonei_sandbox import control

REPO = Path(__file__).resolve().parents[2]
EIA = str(REPO / "templates" / "profiles" / "eia-workshop.yaml")


@pytest.fixture(scope="module")
def sandbox(tmp_path_factory):
    home = tmp_path_factory.mktemp("concurrency-home")
    info = control.start(home)
    yield home, info.endpoint
    control.stop(home)


@pytest.fixture
def sandbox_env(sandbox, monkeypatch):
    """Point this test process's own boto3 (used to count leftovers) at the sandbox."""
    home, endpoint = sandbox
    use_sandbox_by_default(monkeypatch, home, endpoint)
    return home


def start(home: Path, *argv: str) -> subprocess.Popen:
    command = [sys.executable, "-m", "amazonei_setup", "--home", str(home), "--sandbox", *argv]
    return subprocess.Popen(
        command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=child_env()
    )


@pytest.fixture
def alone(capsys):
    """Run the CLI in-process against the sandbox, when nothing else runs at the same time."""

    def run(home: Path, *argv: str) -> tuple[int, str, str]:
        done = main_in_process(capsys, "--home", str(home), "--sandbox", *argv)
        return done.returncode, done.stdout, done.stderr

    return run


def finish(process: subprocess.Popen) -> tuple[int, str, str]:
    out, err = process.communicate(timeout=180)
    return process.returncode, out, err


def test_two_launches_with_different_names_at_once_share_one_endpoint(sandbox_env, alone):
    home = sandbox_env
    runs = [
        start(home, "launch", "--profile-file", EIA, "--name", name, "--yes", "--output", "json")
        for name in ("team-a", "team-b")
    ]
    results = [finish(run) for run in runs]
    assert [code for code, _, _ in results] == [0, 0], [err for _, _, err in results]
    documents = [json.loads(out) for _, out, _ in results]
    endpoints = {d["resources"]["endpoint"]["id"] for d in documents}
    assert len(endpoints) == 1, "one endpoint per VPC, shared"
    actions = sorted(d["resources"]["endpoint"]["action"] for d in documents)
    assert actions == ["created", "updated"], "the second one joined, and says so"
    assert all(d["instances"][0]["report"]["status"] == "passed" for d in documents)
    for name in ("team-a", "team-b"):
        code, _, err = alone(home, "teardown", name, "--yes")
        assert code == 0, err
        assert nothing_left(name, home)


def test_the_same_name_twice_at_once_is_refused(sandbox_env, alone):
    home = sandbox_env
    runs = [start(home, "launch", "--profile-file", EIA, "--name", "twice", "--yes") for _ in "ab"]
    results = [finish(run) for run in runs]
    assert sorted(code for code, _, _ in results) == [0, 2]
    refused = next(err for code, _, err in results if code == 2)
    assert "'twice' in us-west-2 is busy: a launch of 'twice'" in " ".join(refused.split())
    code, _, err = alone(home, "teardown", "twice", "--yes")
    assert code == 0, err
    assert nothing_left("twice", home)


def test_two_state_homes_launching_one_name_at_once_leave_one_deployment(
    sandbox, sandbox_env, tmp_path, alone
):
    """Issue 15 point 3: a second machine (another state home, the same account) launching
    the same name at the same moment. The name is claimed in AWS first, atomically: one
    launch wins, the other stops before it has made anything (34e039e made two seat-1
    instances on one role, and one home's key file no longer matched)."""
    home, endpoint = sandbox
    other = tmp_path / "other-machine"
    argv = ["launch", "--profile-file", EIA, "--name", "both", "--yes", "--no-wait"]
    mine = start(home, *argv)
    theirs = subprocess.Popen(
        [sys.executable, "-m", "amazonei_setup", "--home", str(other), "--endpoint-url", endpoint,
         "--region", "us-west-2", *argv],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        env=child_env(**owner_env(home)),
    )  # fmt: skip
    results = [finish(mine), finish(theirs)]
    assert sorted(code for code, _, _ in results) == [0, 2], [err for _, _, err in results]
    refused = " ".join(next(err for code, _, err in results if code == 2).split())
    assert "is claimed by another state home" in refused or "not recorded in" in refused
    ec2 = boto3.client("ec2", region_name="us-west-2")
    live = [
        i
        for r in ec2.describe_instances()["Reservations"]
        for i in r["Instances"]
        if i["State"]["Name"] != "terminated"
        and {"Key": "amazonei-setup:deployment", "Value": "both"} in i.get("Tags", [])
    ]
    assert len(live) == 1  # one deployment, one seat 1
    winner = home if results[0][0] == 0 else other
    if winner == home:
        code, _, _ = alone(home, "teardown", "both", "--yes")
    else:
        code = subprocess.run(
            [sys.executable, "-m", "amazonei_setup", "--home", str(other), "--endpoint-url",
             endpoint, "teardown", "both", "--region", "us-west-2", "--yes"],
            capture_output=True, text=True,
            env=child_env(**owner_env(home)),
        ).returncode  # fmt: skip
    assert code == 0
    assert nothing_left("both", winner)


SIGINT_AFTER = """
import os, signal, sys
import boto3
from amazonei_setup.cli.main import Hooks, main

step, fired = sys.argv[1], []
# A process started in the background by a shell inherits SIGINT ignored, and Python then
# installs no KeyboardInterrupt handler: put Ctrl-C's usual meaning back, as a terminal has it.
signal.signal(signal.SIGINT, signal.default_int_handler)

def factory(target):
    session = boto3.Session(region_name=target.region)  # the home's keys, from the environment
    def after(model, parsed=None, **_):
        dry_run = (parsed or {}).get("Error", {}).get("Code") == "DryRunOperation"
        if model.name == step and not fired and not dry_run:
            fired.append(step)
            os.kill(os.getpid(), signal.SIGINT)  # a real signal, as from Ctrl-C
    session.events.register("after-call.*.*", after)
    return session

sys.exit(main(sys.argv[2:], Hooks(session_factory=factory)))
"""


@pytest.mark.parametrize("step", ["CreateRole", "CreateVpcEndpoint", "RunInstances"])
def test_sigint_to_a_real_launch_then_resume_and_teardown(sandbox_env, alone, step):
    home = sandbox_env
    name = f"sig-{step.lower()}"
    argv = ["--home", str(home), "--sandbox", "launch", "--profile-file", EIA, "--name", name]
    interrupted = subprocess.run(
        [sys.executable, "-c", SIGINT_AFTER, step, *argv, "--yes", "--no-wait"],
        capture_output=True,
        text=True,
        env=child_env(**owner_env(home)),
        timeout=120,
    )
    assert interrupted.returncode == 130, interrupted.stderr
    assert "run the same command again" in " ".join(interrupted.stderr.split())
    assert "Traceback" not in interrupted.stderr
    record = json.loads((home / "deployments" / "us-west-2" / f"{name}.json").read_text())
    assert record["status"] == "incomplete"
    code, _, err = alone(home, "launch", "--profile-file", EIA, "--name", name, "--yes")
    assert code == 0, err
    code, _, err = alone(home, "teardown", name, "--yes")
    assert code == 0, err
    assert nothing_left(name, home)
