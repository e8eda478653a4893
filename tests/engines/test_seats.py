"""Workshops: N seats share the role, the groups and the endpoint, each with its own key pair;
a handout lists every seat; status shows them; teardown removes them all; a re-run is cheap."""

from __future__ import annotations

import csv
import json
import stat
import threading
from pathlib import Path

import boto3
from botocore.exceptions import ClientError
from support import agent_publishes, leftovers, nothing_left, on_event, sample_report

from amazonei_setup.resources.naming import TAG_SEAT

TEMPLATES = Path(__file__).resolve().parents[2] / "templates" / "profiles"
EIA_PROFILE = str(TEMPLATES / "eia-workshop.yaml")
NAME = "eia-workshop"


def ec2():
    return boto3.client("ec2", region_name="us-west-2")


def launch(run_cli, *argv: str) -> dict:
    result = run_cli(
        "launch", "--profile-file", EIA_PROFILE, "--yes", "--no-wait", "--output", "json", *argv
    )
    assert result.code == 0, result.err
    return json.loads(result.out)


def test_twenty_seats_each_with_its_own_key_share_everything_else(aws, run_cli, recorder, tmp_path):
    document = launch(run_cli, "--seats", "20")

    instances = document["instances"]
    assert [i["seat"] for i in instances] == list(range(1, 21))
    assert len({i["id"] for i in instances}) == 20
    assert all(i["state"] == "running" for i in instances)
    # Shared: one role, one instance profile, the two groups, the endpoint.
    for operation in (
        "CreateRole",
        "CreateInstanceProfile",
        "CreateVpcEndpoint",
    ):
        assert len(recorder.of(operation)) == 1, operation
    assert len(recorder.of("CreateSecurityGroup")) == 2
    # Own: a key pair per seat, each instance launched with its seat's key.
    key_names = [call.params["KeyName"] for call in recorder.of("CreateKeyPair")]
    assert len(set(key_names)) == 20
    runs = recorder.of("RunInstances")
    seat_of_run = {
        next(
            t["Value"] for t in c.params["TagSpecifications"][0]["Tags"] if t["Key"] == TAG_SEAT
        ): c
        for c in runs
    }
    assert sorted(int(s) for s in seat_of_run) == list(range(1, 21))
    assert seat_of_run["1"].params["KeyName"] == "amazonei-setup-eia-workshop"
    assert seat_of_run["7"].params["KeyName"] == "amazonei-setup-eia-workshop.seat7"
    # Every seat's private key is its own 0600 file, named in its connect command.
    key_files = {document["resources"][f"key_pair:{n}"]["private_key"] for n in range(1, 21)}
    assert len(key_files) == 20
    for path in key_files:
        assert stat.S_IMODE(Path(path).stat().st_mode) == 0o600
    for instance in instances:
        key_file = document["resources"][f"key_pair:{instance['seat']}"]["private_key"]
        assert f"-i {key_file} " in instance["connect"]

    live = ec2().describe_instances(
        Filters=[{"Name": "tag:amazonei-setup:deployment", "Values": [NAME]}]
    )
    seats = {
        tag["Value"]
        for reservation in live["Reservations"]
        for item in reservation["Instances"]
        for tag in item["Tags"]
        if tag["Key"] == TAG_SEAT
    }
    assert seats == {str(n) for n in range(1, 21)}

    result = run_cli("teardown", NAME, "--region", "us-west-2", "--yes")
    assert result.code == 0, result.err
    assert nothing_left(NAME, tmp_path / "home"), leftovers(NAME, tmp_path / "home")


def test_growing_a_workshop_adds_only_the_new_seats(aws, run_cli, recorder):
    launch(run_cli, "--seats", "2")
    recorder.clear()
    document = launch(run_cli, "--seats", "5")
    assert len(recorder.of("RunInstances")) == 3
    assert len(recorder.of("CreateKeyPair")) == 3
    assert recorder.of("CreateRole") == [] and recorder.of("CreateSecurityGroup") == []
    assert [i["seat"] for i in document["instances"]] == [1, 2, 3, 4, 5]


def test_idempotent_rerun_makes_at_most_ten_calls_all_reads(aws, run_cli, recorder):
    launch(run_cli, "--seats", "3")
    recorder.clear()
    document = launch(run_cli, "--seats", "3")

    calls = [call.operation for call in recorder.calls]
    assert len(calls) <= 10, calls
    assert recorder.operations(mutating_only=True) == []
    assert all(entry["action"] == "reused" for entry in document["resources"].values())


def test_handout_lists_every_seat_with_its_key_and_agent_result(aws, run_cli, tmp_path):
    target = tmp_path / "out" / "handout"
    target.parent.mkdir(mode=0o755)
    document = launch(run_cli, "--seats", "3", "--handout", str(target))

    markdown = (tmp_path / "out" / "handout.md").read_text()
    rows = list(csv.DictReader((tmp_path / "out" / "handout.csv").open()))
    assert [row["seat"] for row in rows] == ["1", "2", "3"]
    for row, instance in zip(rows, document["instances"], strict=True):
        key_file = document["resources"][f"key_pair:{row['seat']}"]["private_key"]
        assert row["instance_id"] == instance["id"]
        assert row["connect"] == instance["connect"]
        assert row["key_file"] == key_file
        assert row["agent"].startswith("pending (`amazonei-setup --home ")  # pasteable, whole
        assert row["agent"].endswith(" verify eia-workshop --region us-west-2`)")
        assert f"`{instance['connect']}`" in markdown and f"`{key_file}`" in markdown
    assert markdown.startswith("# Workshop handout: eia-workshop (us-west-2)")
    assert "3 seat(s) of m5.large + eia1.large." in markdown
    assert stat.S_IMODE((tmp_path / "out" / "handout.csv").stat().st_mode) == 0o600
    # The folder it was written to is the user's: its mode is left alone.
    assert stat.S_IMODE((tmp_path / "out").stat().st_mode) == 0o755


def test_handout_into_a_missing_folder_fails_before_anything_is_created(aws, run_cli, recorder):
    result = run_cli(
        "launch", "--profile-file", EIA_PROFILE, "--yes", "--handout", "/nonexistent/dir/h.md"
    )
    assert result.code == 2
    assert "cannot write the handout /nonexistent/dir/h.md" in result.err
    assert recorder.calls == []


def test_status_shows_every_seat(aws, run_cli):
    launch(run_cli, "--seats", "3")
    result = run_cli("status", NAME)
    assert result.code == 0, result.err
    assert "Seats of eia-workshop" in result.out
    for seat in ("amazonei-setup-eia-workshop.pem", ".seat2.pem", ".seat3.pem"):
        assert seat in result.out
    document = json.loads(run_cli("status", NAME, "--output", "json").out)
    seats = document["deployments"][0]["instances"]
    assert [s["seat"] for s in seats] == [1, 2, 3]
    assert all(s["state"] == "running" and s["connect"].startswith("ssh -i ") for s in seats)


def test_capacity_runs_out_mid_workshop_and_only_the_unlucky_seats_move(aws, run_cli, hooks):
    """us-west-2a holds 8 more m5.large; seats 9..20 each fail over to the next AZ alone."""
    subnets = {s["SubnetId"]: s["AvailabilityZone"] for s in ec2().describe_subnets()["Subnets"]}
    placed_in_a: list[str] = []
    guard = threading.Lock()

    def capacity(params, **_):
        if params.get("DryRun") or subnets.get(params.get("SubnetId")) != "us-west-2a":
            return
        with guard:
            if len(placed_in_a) >= 8:
                raise ClientError(
                    {"Error": {"Code": "InsufficientInstanceCapacity", "Message": "none left"}},
                    "RunInstances",
                )
            placed_in_a.append(params["ClientToken"])

    on_event(hooks, "before-parameter-build.ec2.RunInstances", capacity)
    document = launch(run_cli, "--seats", "20")

    zones = [i["availability_zone"] for i in document["instances"]]
    assert len(zones) == 20
    assert zones.count("us-west-2a") == 8
    assert zones.count("us-west-2b") == 12


def test_seats_share_one_progress_display(aws, run_cli):
    result = run_cli("launch", "--profile-file", EIA_PROFILE, "--yes", "--no-wait", "--seats", "6")
    assert result.code == 0, result.err
    # Shared resources get a line each; the six seats, one bar that ends at 6/6.
    assert "created iam-role" in result.err
    assert "created ec2-instance" not in result.err and "created key-pair" not in result.err
    bars = [line for line in result.err.splitlines() if line.strip().startswith("seats")]
    assert bars and all("seats" in b for b in bars)  # one display (redrawn when slow)
    assert "6/6" in bars[-1] and "6 key pair(s)" in bars[-1]


def test_handout_carries_each_seats_agent_result_and_verify_refreshes_it(
    aws, run_cli, hooks, tmp_path
):
    def seat_of(instance_id: str) -> str:
        [reservation] = ec2().describe_instances(InstanceIds=[instance_id])["Reservations"]
        tags = reservation["Instances"][0]["Tags"]
        return next(tag["Value"] for tag in tags if tag["Key"] == TAG_SEAT)

    def report(instance_id: str) -> dict:
        failed = seat_of(instance_id) == "2"
        return sample_report("failed", "no accelerator") if failed else sample_report()

    agent_publishes(hooks, report)
    target = tmp_path / "workshop.csv"
    result = run_cli(
        "launch", "--profile-file", EIA_PROFILE, "--yes", "--seats", "3", "--handout", str(target)
    )
    assert result.code == 3  # one seat's checks failed: the launch says so
    rows = list(csv.DictReader(target.open()))
    assert [(row["seat"], row["agent"]) for row in rows] == [
        ("1", "passed"), ("2", "failed"), ("3", "passed"),
    ]  # fmt: skip
    assert "| 2 |" in (tmp_path / "workshop.md").read_text()

    target.unlink()
    again = run_cli("verify", NAME, "--handout", str(target))
    assert again.code == 3
    assert [row["agent"] for row in csv.DictReader(target.open())] == ["passed", "failed", "passed"]
