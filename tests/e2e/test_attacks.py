"""Attacks that broke 34e039e (issue 15), reproduced: a teardown racing a joining deployment,
and names that EC2 filters or the state home would read as patterns or paths."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import boto3
import pytest
from support import REGION, on_event

EIA = str(Path(__file__).resolve().parents[2] / "templates" / "profiles" / "eia-workshop.yaml")


def launch(run_cli, *argv: str) -> dict:
    result = run_cli(
        "launch", "--profile-file", EIA, "--yes", "--no-wait", "--output", "json", *argv
    )
    assert result.code == 0, result.err
    return json.loads(result.out)


def test_a_deployment_joining_during_a_teardown_keeps_the_shared_endpoint(aws, run_cli, hooks):
    endpoint = launch(run_cli)["resources"]["endpoint"]["id"]
    planned = run_cli("teardown", "eia-workshop", "--dry-run", "--output", "json")
    verbs = {a["kind"]: a["verb"] for a in json.loads(planned.out)["deployments"][0]["actions"]}
    assert verbs["vpc-endpoint"] == "delete"  # nobody else uses it when the plan is made

    def another_joins(**_):  # while the instances terminate, another deployment joins
        boto3.client("ec2", region_name=REGION).create_tags(
            Resources=[endpoint], Tags=[{"Key": "amazonei-setup:user:late", "Value": "true"}]
        )

    on_event(hooks, "before-parameter-build.ec2.TerminateInstances", another_joins)
    result = run_cli("teardown", "eia-workshop", "--yes", "--output", "json")
    assert result.code == 0, result.err
    done = json.loads(result.out)["deployments"][0]["done"]
    assert {"kind": "vpc-endpoint", "verb": "leave"}.items() <= next(
        a for a in done if a["kind"] == "vpc-endpoint"
    ).items()
    live = boto3.client("ec2", region_name=REGION).describe_vpc_endpoints(
        VpcEndpointIds=[endpoint]
    )["VpcEndpoints"]
    assert live[0]["State"] != "deleted"
    tags = {t["Key"]: t["Value"] for t in live[0]["Tags"]}
    assert tags["amazonei-setup:deployment"] == "late"  # handed over to its remaining user


@pytest.mark.parametrize("name", ["eia-?", "*", "eia-*", "../../../x", "Demo", "a/b"])
@pytest.mark.parametrize("command", ["teardown", "status", "verify"])
def test_a_name_that_is_a_pattern_or_a_path_is_refused(
    aws, run_cli, recorder, capsys, command, name
):
    with pytest.raises(SystemExit) as exited:  # a usage error, as argparse reports them
        run_cli(command, name, "--region", REGION)
    assert exited.value.code == 2
    assert f"'{name}' is not a deployment name" in " ".join(capsys.readouterr().err.split())
    assert recorder.calls == []  # refused before any AWS call or file read


def test_a_wildcard_teardown_leaves_the_deployment_it_would_have_matched(aws, run_cli, capsys):
    launch(run_cli, "--name", "eia-b")
    with pytest.raises(SystemExit):
        run_cli("teardown", "eia-?", "--region", REGION, "--yes")
    status = run_cli("status", "eia-b", "--output", "json")
    [row] = json.loads(status.out)["deployments"]
    assert [i["state"] for i in row["instances"]] == ["running"]


def test_a_teardown_stops_when_a_seat_appeared_after_its_plan_was_shown(aws, run_cli, hooks):
    """The plan is shown (and confirmed) before the lock; a launch that finished meanwhile
    must not lose its new seat to a teardown nobody confirmed for it."""
    launch(run_cli)
    ec2 = boto3.client("ec2", region_name=REGION)
    looks = {"count": 0}

    def second_seat_lands(**_):  # the re-plan under the lock is the second look
        looks["count"] += 1
        if looks["count"] == 2:
            image = ec2.describe_images(Owners=["amazon"])["Images"][0]["ImageId"]
            tags = {
                "amazonei-setup:deployment": "eia-workshop",
                "amazonei-setup:managed": "true",
                "amazonei-setup:seat": "2",
            }
            ec2.run_instances(
                ImageId=image,
                InstanceType="m5.large",
                MinCount=1,
                MaxCount=1,
                TagSpecifications=[
                    {
                        "ResourceType": "instance",
                        "Tags": [{"Key": k, "Value": v} for k, v in tags.items()],
                    }
                ],
            )

    on_event(hooks, "before-parameter-build.ec2.DescribeInstances", second_seat_lands)
    result = run_cli("teardown", "eia-workshop", "--yes")
    assert result.code == 2, result.err
    flat = " ".join(result.err.split())
    assert "changed since its teardown was shown" in flat and "nothing was removed" in flat
    live = [
        i
        for r in ec2.describe_instances()["Reservations"]
        for i in r["Instances"]
        if i["State"]["Name"] == "running"
    ]
    assert len(live) == 2  # neither seat was touched
    assert run_cli("teardown", "eia-workshop", "--yes").code == 0  # the current plan goes


def test_a_hostile_agent_report_cannot_drive_the_terminal_or_a_spreadsheet(
    aws, run_cli, hooks, tmp_path
):
    """An instance's workload can write its own report (issue 15 point 10): its strings are
    shown as text, without escape sequences, and no handout cell starts a formula."""
    from support import agent_publishes, sample_report

    def hostile(instance_id: str) -> dict:
        report = sample_report('=HYPERLINK("http://x")', "\x1b]0;pwned\x07\x1b[2J[bold red]boom")
        report["smoke_test"]["device"] = "[link=http://x]cuda:0[/link]"
        return report

    agent_publishes(hooks, hostile)
    handout = tmp_path / "seats.csv"
    result = run_cli("launch", "--profile-file", EIA, "--yes", "--handout", str(handout))
    assert result.code == 3  # not "passed"
    shown = result.out + result.err
    assert "\x1b" not in shown and "\x07" not in shown
    assert "[bold red]boom" in shown  # shown as the text it is, not applied as markup
    assert "[link=http://x]cuda:0[/link]" in shown
    [row] = list(csv.DictReader(handout.open()))
    assert row["agent"].startswith("'=HYPERLINK")  # a spreadsheet shows it as text
