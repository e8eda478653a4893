"""Secure by default, as tests: state files and keys private, no world-open ingress unless
asked for (and then a warning), IMDSv2 and encryption on every instance, no secrets in the
user data or the record."""

from __future__ import annotations

import base64
import json
import stat
from pathlib import Path

import boto3

from amazonei_setup.seats.userdata import decode_user_data

PROFILES = Path(__file__).resolve().parents[2] / "templates" / "profiles"
EIA = str(PROFILES / "eia-workshop.yaml")


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_state_home_is_0700_and_every_file_in_it_0600(aws, run_cli):
    assert run_cli("launch", "--yes", "--no-wait", "--profile-file", EIA).code == 0
    home = run_cli.home
    assert mode(home) == 0o700
    files = [p for p in home.rglob("*") if p.is_file()]
    assert files, "the launch wrote its record and key"
    for path in files:
        assert mode(path) == 0o600, path
    for folder in [p for p in home.rglob("*") if p.is_dir()]:
        assert mode(folder) == 0o700, folder


def test_world_ssh_only_when_asked_and_then_with_a_warning(aws, run_cli, tmp_path):
    profile = tmp_path / "open.yaml"
    text = (
        Path(EIA)
        .read_text()
        .replace(
            "access: {mode: ssh, key_pair: create, ssh_cidr: auto}",
            "access: {mode: ssh, ssh_cidr: 0.0.0.0/0, allow_world_ssh: true}",
        )
    )
    profile.write_text(text)
    result = run_cli("launch", "--yes", "--no-wait", "--profile-file", str(profile))
    assert result.code == 0, result.err
    assert "SSH is open to the whole internet" in " ".join(result.err.split())
    groups = boto3.client("ec2", region_name="us-west-2").describe_security_groups(
        Filters=[{"Name": "group-name", "Values": ["amazonei-setup-eia-workshop-instance"]}]
    )["SecurityGroups"]
    assert groups[0]["IpPermissions"][0]["IpRanges"] == [{"CidrIp": "0.0.0.0/0"}]


def test_no_credentials_in_user_data_or_record(aws, run_cli, recorder, monkeypatch):
    secret = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", secret)
    monkeypatch.setenv("AWS_SESSION_TOKEN", "FwoGZXIvYXdzEXAMPLETOKEN")
    assert run_cli("launch", "--yes", "--no-wait", "--profile-file", EIA).code == 0
    [run] = recorder.of("RunInstances")
    script = decode_user_data(run.params["UserData"])
    assert "AMAZONEI_SETUP_AGENT" in script  # the agent is inside
    for needle in (secret, "FwoGZXIvYXdzEXAMPLETOKEN", "aws_secret_access_key"):
        assert needle not in script
    record = json.loads((run_cli.home / "deployments/us-west-2/eia-workshop.json").read_text())
    attribute = boto3.client("ec2", region_name="us-west-2").describe_instance_attribute(
        InstanceId=record["instances"][0]["id"], Attribute="userData"
    )
    assert decode_user_data(base64.b64decode(attribute["UserData"]["Value"])) == script
    for path in run_cli.home.rglob("*.json"):
        text = path.read_text()
        assert secret not in text and "FwoGZXIvYXdzEXAMPLETOKEN" not in text


def test_every_instance_requires_imdsv2_and_encrypts_its_root_volume(aws, run_cli, recorder):
    result = run_cli("launch", "--yes", "--no-wait", "--profile-file", EIA, "--seats", "2")
    assert result.code == 0, result.err
    runs = recorder.of("RunInstances")
    assert len(runs) == 2
    for run in runs:
        assert run.params["MetadataOptions"]["HttpTokens"] == "required"
        assert all(m["Ebs"]["Encrypted"] for m in run.params["BlockDeviceMappings"])
