"""A changed launch never relabels what runs (issue 14 point 1): a change an instance cannot
take in place is planned as replace and needs --replace; tags change in place, everywhere."""

from __future__ import annotations

import json
from pathlib import Path

import boto3
from support import REGION

EIA = str(Path(__file__).resolve().parents[2] / "templates" / "profiles" / "eia-workshop.yaml")
TO_INF1 = ("--instance-type", "inf1.xlarge", "--accelerator", "none", "--access", "ssm")


def launch(run_cli, *argv: str):
    return run_cli("launch", "--profile-file", EIA, "--yes", "--no-wait", "--output", "json", *argv)


def running(ec2) -> list[dict]:
    return [
        i
        for r in ec2.describe_instances()["Reservations"]
        for i in r["Instances"]
        if i["State"]["Name"] == "running"
    ]


def test_a_new_instance_type_is_refused_without_replace_and_nothing_changes(aws, run_cli, recorder):
    assert launch(run_cli).code == 0
    recorder.clear()
    result = launch(run_cli, *TO_INF1)
    assert result.code == 2, result.err
    flat = " ".join(result.err.split())
    assert "would replace 1 running instance(s)" in flat
    assert "instance type m5.large → inf1.xlarge" in flat and "--replace" in flat
    assert recorder.operations(mutating_only=True) == []  # no role or group was touched
    status = json.loads(run_cli("status", "eia-workshop", "--output", "json").out)
    [row] = status["deployments"]
    assert row["hardware"] == "m5.large + eia1.large"  # the record says what runs

    planned = run_cli("plan", "--profile-file", EIA, *TO_INF1, "--output", "json")
    actions = {r["key"]: r["action"] for r in json.loads(planned.out)["resources"]}
    assert actions["instance:1"] == "replace"


def test_with_replace_the_old_instance_goes_and_the_record_says_what_runs(aws, run_cli):
    first = json.loads(launch(run_cli).out)["instances"][0]["id"]
    result = launch(run_cli, *TO_INF1, "--replace")
    assert result.code == 0, result.err
    [instance] = json.loads(result.out)["instances"]
    assert instance["id"] != first
    ec2 = boto3.client("ec2", region_name=REGION)
    [live] = running(ec2)
    assert (live["InstanceId"], live["InstanceType"]) == (instance["id"], "inf1.xlarge")
    assert "KeyName" not in live  # Session Manager: no key on the new instance
    [row] = json.loads(run_cli("status", "eia-workshop", "--output", "json").out)["deployments"]
    assert row["hardware"] == "inf1.xlarge"


def test_a_changed_tag_reaches_every_existing_resource_in_place(aws, run_cli, recorder):
    launched = json.loads(launch(run_cli).out)
    recorder.clear()
    result = launch(run_cli, "--tag", "team=vision")
    assert result.code == 0, result.err
    assert recorder.of("RunInstances") == []  # updated in place, not replaced
    ec2 = boto3.client("ec2", region_name=REGION)
    [instance] = running(ec2)
    tags = {t["Key"]: t["Value"] for t in instance["Tags"]}
    assert tags["team"] == "vision" and tags["workshop"] == "eia-2019-revisited"
    group = launched["resources"]["instance_sg"]["id"]
    [found] = ec2.describe_security_groups(GroupIds=[group])["SecurityGroups"]
    assert {"Key": "team", "Value": "vision"} in found["Tags"]
    role = launched["resources"]["role"]["name"]
    role_tags = boto3.client("iam").list_role_tags(RoleName=role)["Tags"]
    assert {"Key": "team", "Value": "vision"} in role_tags
