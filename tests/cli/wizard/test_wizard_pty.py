"""The real console program on a pseudo-terminal, from the 2019 command line
(`amazonei_setup.py --region us-west-2 --instance-type m5.large`), against the sandbox: Enter at
every question and `y` at the review launch an instance whose agent reports back.

Waits are pexpect's bounded `expect` timeouts on output patterns; nothing sleeps.
"""

from __future__ import annotations

import re
import sys
from pathlib import Path

import boto3
import pytest
from support import child_env, sandbox_keys

from amazonei_sandbox import control
from amazonei_setup.resources.naming import TAG_DEPLOYMENT

pexpect = pytest.importorskip("pexpect")

REPO = Path(__file__).resolve().parents[3]
PROMPT_S = 30  # a question appears within this (the first one waits for the sandbox's AWS)
LAUNCH_S = 120  # apply, boot, the agent's report
QUESTIONS = (
    "Accelerator",
    "Operating system",
    "VPC",
    "Subnet",
    "Access",
    "SSH allowed from",
    "Deployment name",
    "Tags",
)


@pytest.fixture(scope="module")
def sandbox_home(tmp_path_factory):
    home = tmp_path_factory.mktemp("wizard-sandbox")
    info = control.start(home)
    assert info.endpoint.startswith("http://127.0.0.1:")
    yield home
    control.stop(home)


def spawn(home: Path, *argv: str):
    env = child_env(
        HOME=str(home),  # no ~/.ssh, no ~/.aws of the person running the tests
        TERM="xterm-256color",
        NO_COLOR="1",
        PROMPT_TOOLKIT_NO_CPR="1",  # pexpect does not answer cursor-position requests
        COLUMNS="80",
        LINES="40",
    )
    env.pop("AMAZONEI_SETUP_HOME", None)
    return pexpect.spawn(
        sys.executable,
        ["-m", "amazonei_setup", "--home", str(home), "--sandbox", *argv],
        cwd=str(REPO),
        env=env,
        dimensions=(40, 80),
        encoding="utf-8",
        timeout=PROMPT_S,
    )


def question(name: str) -> str:
    # prompt_toolkit draws "? Name [default]:" with escape codes between the parts.
    return re.escape(name) + r" \[[^\]]*\]:"


def sandbox_ec2(home: Path):
    info = control.status(home)
    assert info is not None and info.running
    return boto3.client(
        "ec2",
        region_name="us-west-2",
        endpoint_url=info.endpoint,
        **sandbox_keys(home),
    )


def test_2019_command_line_enter_and_y_launch_a_sandbox_instance(sandbox_home):
    child = spawn(sandbox_home, "--region", "us-west-2", "--instance-type", "m5.large")
    try:
        child.expect("launch wizard")
        for name in QUESTIONS:
            child.expect(question(name))
            child.send("\r")
        child.expect(r"Create these resources\? \[y/N\]:")
        child.send("y\r")
        child.expect("'eia-demo' is running in us-west-2", timeout=LAUNCH_S)
        # the program as it was run (`python -m amazonei_setup` here), so it works pasted
        child.expect(r"-m amazonei_setup --sandbox --home \S+ teardown eia-demo --region us-west-2")
        child.expect("Agent reports", timeout=LAUNCH_S)
        child.expect(r"passed\s+eia \(simulated\)")
        child.expect(r"remove everything: \S+ -m amazonei_setup --sandbox --home \S+ teardown")
        child.expect(pexpect.EOF)
    finally:
        child.close()
    assert child.exitstatus == 0

    instances = [
        instance
        for reservation in sandbox_ec2(sandbox_home).describe_instances(
            Filters=[{"Name": f"tag:{TAG_DEPLOYMENT}", "Values": ["eia-demo"]}]
        )["Reservations"]
        for instance in reservation["Instances"]
    ]
    assert [i["InstanceType"] for i in instances] == ["m5.large"]
    assert instances[0]["State"]["Name"] == "running"
    assert (sandbox_home / "keys" / "us-west-2" / "amazonei-setup-eia-demo.pem").exists()


def test_ctrl_c_at_a_question_leaves_with_130_and_nothing_created(sandbox_home):
    before = sandbox_ec2(sandbox_home).describe_security_groups()["SecurityGroups"]
    child = spawn(sandbox_home, "--region", "us-west-2")
    try:
        child.expect(question("Hardware family"))
        child.send("1\r")
        child.expect(question("Size"))
        child.send("<\r")  # back one question, as typed on a real terminal
        child.expect(question("Hardware family"))
        child.send("1\r")
        child.expect(question("Size"))
        child.sendcontrol("c")
        child.expect("Quit: nothing was created.")
        child.expect(pexpect.EOF)
    finally:
        child.close()
    assert child.exitstatus == 130
    after = sandbox_ec2(sandbox_home).describe_security_groups()["SecurityGroups"]
    assert len(after) == len(before)
