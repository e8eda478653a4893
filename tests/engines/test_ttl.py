"""Time-to-live: the expiry a launch tags on every resource and records, what status shows
of it, moving it with a re-run, and `sweep --expired` removing exactly the expired deployments
(recorded here or found by tags alone). The wall clock is frozen through Hooks.now."""

from __future__ import annotations

import json
from datetime import datetime, timedelta, timezone
from pathlib import Path

import boto3
import pytest
from support import REGION, leftovers, nothing_left

from amazonei_setup.resources.naming import TAG_DEPLOYMENT, TAG_EXPIRES, tag_dict
from amazonei_setup.spec.ttl import left_words, parse_ttl, short_duration

PROFILES = Path(__file__).resolve().parents[2] / "templates" / "profiles"
EIA = str(PROFILES / "eia-workshop.yaml")
INF1 = str(PROFILES / "inf1-ssm.yaml")
T0 = datetime(2026, 11, 21, 12, 0, tzinfo=timezone.utc)
RETAG_CALLS = ("CreateTags", "DeleteTags", "TagRole", "TagInstanceProfile", "DescribeVolumes")


class WallClock:
    """A frozen UTC wall clock that moves only when the test says so."""

    def __init__(self, start: datetime) -> None:
        self.moment = start

    def __call__(self) -> datetime:
        return self.moment

    def at(self, **offset: float) -> None:
        self.moment = T0 + timedelta(**offset)


@pytest.fixture
def wall(hooks) -> WallClock:
    hooks.now = WallClock(T0)
    return hooks.now


def launch(run_cli, *argv: str) -> dict:
    result = run_cli("launch", "--yes", "--no-wait", "--output", "json", *argv)
    assert result.code == 0, result.err
    return json.loads(result.out)


def record(run_cli, name: str) -> dict:
    return json.loads((run_cli.home / f"deployments/{REGION}/{name}.json").read_text())


def expiry_tags(name: str) -> dict[str, str | None]:
    """The expiry tag of every resource carrying the deployment's name, read with boto3."""
    ec2 = boto3.client("ec2", region_name=REGION)
    iam = boto3.client("iam")
    by_name = [{"Name": f"tag:{TAG_DEPLOYMENT}", "Values": [name]}]
    found: dict[str, list[dict]] = {
        i["InstanceId"]: i["Tags"]
        for r in ec2.describe_instances(Filters=by_name)["Reservations"]
        for i in r["Instances"]
        if i["State"]["Name"] != "terminated"
    }
    found |= {v["VolumeId"]: v["Tags"] for v in ec2.describe_volumes(Filters=by_name)["Volumes"]}
    groups = ec2.describe_security_groups(Filters=by_name)["SecurityGroups"]
    found |= {g["GroupId"]: g["Tags"] for g in groups}
    found |= {
        k["KeyPairId"]: k["Tags"] for k in ec2.describe_key_pairs(Filters=by_name)["KeyPairs"]
    }
    endpoints = ec2.describe_vpc_endpoints(Filters=by_name)["VpcEndpoints"]
    found |= {e["VpcEndpointId"]: e["Tags"] for e in endpoints if e["State"] != "deleted"}
    iam_name = f"amazonei-setup-{REGION}-{name}"
    found["role"] = iam.list_role_tags(RoleName=iam_name)["Tags"]
    holder = iam.get_instance_profile(InstanceProfileName=iam_name)["InstanceProfile"]
    found["instance-profile"] = holder["Tags"]
    return {key: tag_dict(tags).get(TAG_EXPIRES) for key, tags in found.items()}


def test_launch_with_ttl_tags_every_created_resource_and_records_the_expiry(aws, run_cli, wall):
    launch(run_cli, "--profile-file", EIA, "--ttl", "4h")
    tags = expiry_tags("eia-workshop")
    kinds = {key.split("-")[0] for key in tags}
    assert kinds == {"i", "vol", "sg", "key", "vpce", "role", "instance"}, tags
    assert set(tags.values()) == {"2026-11-21T16:00:00Z"}, tags
    saved = record(run_cli, "eia-workshop")
    assert saved["created_at"] == "2026-11-21T12:00:00Z"
    assert saved["expires_at"] == "2026-11-21T16:00:00Z"
    assert saved["profile"]["ttl"] == "4h"


def test_plan_shows_the_expiry_in_text_and_json(aws, run_cli, wall):
    text = run_cli("plan", "--profile-file", INF1, "--ttl", "1h30m")
    assert text.code == 0, text.err
    assert "expires 2026-11-21 13:30 UTC (in 1h 30m)" in " ".join(text.out.split())
    as_json = run_cli("plan", "--profile-file", INF1, "--ttl", "90m", "--output", "json")
    plan = json.loads(as_json.out)
    assert plan["expires_at"] == "2026-11-21T13:30:00Z" and plan["expires_in_s"] == 5400
    plain = json.loads(run_cli("plan", "--profile-file", INF1, "--output", "json").out)
    assert plain["expires_at"] is None and plain["expires_in_s"] is None


def test_status_shows_time_left_then_expired(aws, run_cli, wall):
    launch(run_cli, "--profile-file", INF1, "--ttl", "4h")
    launch(run_cli, "--profile-file", INF1, "--name", "forever")
    wall.at(hours=1)
    rows = {
        r["name"]: r for r in json.loads(run_cli("status", "--output", "json").out)["deployments"]
    }
    assert rows["inf1-demo"]["expires_at"] == "2026-11-21T16:00:00Z"
    assert rows["inf1-demo"]["time_left_s"] == 3 * 3600
    assert rows["forever"]["expires_at"] is None and rows["forever"]["time_left_s"] is None
    table = " ".join(run_cli("status").out.split())
    assert "3h left" in table and "—" in table
    wall.at(hours=5, minutes=25)
    rows = {
        r["name"]: r for r in json.loads(run_cli("status", "--output", "json").out)["deployments"]
    }
    assert rows["inf1-demo"]["time_left_s"] == -(3600 + 25 * 60)
    assert "expired 1h 25m ago" in " ".join(run_cli("status").out.split())


def test_changed_ttl_moves_the_expiry_with_one_call_per_service_and_same_ttl_none(
    aws, run_cli, wall, recorder
):
    launch(run_cli, "--profile-file", EIA, "--ttl", "4h")
    wall.at(minutes=30)
    recorder.clear()
    launch(run_cli, "--profile-file", EIA, "--ttl", "8h")
    assert set(expiry_tags("eia-workshop").values()) == {"2026-11-21T20:00:00Z"}
    assert record(run_cli, "eia-workshop")["expires_at"] == "2026-11-21T20:00:00Z"
    assert len(recorder.of("CreateTags")) == 1
    assert len(recorder.of("TagRole")) == 1 and len(recorder.of("TagInstanceProfile")) == 1

    recorder.clear()
    launch(run_cli, "--profile-file", EIA, "--ttl", "8h")
    assert [c.operation for c in recorder.calls if c.operation in RETAG_CALLS] == []

    launch(run_cli, "--profile-file", EIA, "--ttl", "none")
    assert set(expiry_tags("eia-workshop").values()) == {None}
    assert record(run_cli, "eia-workshop")["expires_at"] is None


def test_sweep_expired_removes_only_the_expired_deployment(aws, run_cli, wall):
    launch(run_cli, "--profile-file", INF1, "--name", "short", "--ttl", "1h")
    launch(run_cli, "--profile-file", INF1, "--name", "long", "--ttl", "8h")
    launch(run_cli, "--profile-file", INF1, "--name", "no-ttl")
    wall.at(hours=2)
    listed = run_cli("sweep", "--expired", "--output", "json")
    assert listed.code == 0, listed.err
    [row] = json.loads(listed.out)["expired"]
    assert row["deployment"] == "short" and row["time_left_s"] == -3600 and row["recorded"]
    assert leftovers("short")["instances"] == 1  # listing removes nothing

    swept = run_cli("sweep", "--expired", "--delete", "--yes")
    assert swept.code == 0, swept.err
    assert "short" in swept.err and "1h ago" in swept.err
    assert nothing_left("short", run_cli.home)
    for name in ("long", "no-ttl"):
        assert leftovers(name, run_cli.home)["instances"] == 1
        assert leftovers(name, run_cli.home)["records"] == 1


def test_sweep_expired_finds_an_unrecorded_deployment_by_its_tags(aws, run_cli, wall):
    launch(run_cli, "--profile-file", INF1, "--name", "from-ci", "--ttl", "1h")
    launch(run_cli, "--profile-file", INF1, "--name", "orphan-no-ttl")
    for name in ("from-ci", "orphan-no-ttl"):  # launched elsewhere: no record here
        (run_cli.home / f"deployments/{REGION}/{name}.json").unlink()
    wall.at(minutes=59)
    early = run_cli("sweep", "--expired", "--delete", "--yes", "--region", REGION)
    assert early.code == 0 and "No expired deployments" in early.err
    assert leftovers("from-ci")["instances"] == 1
    wall.at(hours=1, minutes=25)
    swept = run_cli(
        "sweep", "--expired", "--delete", "--yes", "--region", REGION, "--output", "json"
    )
    assert swept.code == 0, swept.err
    document = json.loads(swept.out)
    assert [(e["deployment"], e["recorded"]) for e in document["expired"]] == [("from-ci", False)]
    assert [d["deployment"] for d in document["deployments"]] == ["from-ci"]
    assert nothing_left("from-ci", run_cli.home)
    assert leftovers("orphan-no-ttl")["instances"] == 1  # no ttl: never an expired one


def test_sweep_expired_dry_run_changes_nothing(aws, run_cli, wall, recorder):
    launch(run_cli, "--profile-file", INF1, "--ttl", "1h")
    wall.at(hours=3)
    recorder.clear()
    result = run_cli("sweep", "--expired", "--delete", "--dry-run", "--output", "json")
    assert result.code == 0, result.err
    assert recorder.operations(mutating_only=True) == []
    assert [d["deployment"] for d in json.loads(result.out)["deployments"]] == ["inf1-demo"]


@pytest.mark.parametrize(
    ("value", "fragment"),
    [
        ("4 hours", "'4 hours' is not a duration"),
        ("5m", "'5m' is too short"),
        ("31d", "'31d' is too long"),
        ("1.5h", "'1.5h' is not a duration"),
        ("h", "'h' is not a duration"),
    ],
)
def test_bad_ttl_exits_2_naming_the_flag_and_field(aws, run_cli, recorder, value, fragment):
    result = run_cli("plan", "--profile-file", INF1, "--ttl", value)
    assert result.code == 2, result.err
    flat = " ".join(result.err.split())
    assert f"--ttl: ttl: {fragment}" in flat and "90m, 4h, 2d or 1h30m" in flat
    assert "Traceback" not in flat
    assert recorder.operations(mutating_only=True) == []


def test_ttl_round_trips_through_save_profile(aws, run_cli, tmp_path, wall):
    saved = tmp_path / "saved.yaml"
    made = run_cli(
        "launch", "--dry-run", "--profile-file", INF1, "--ttl", "2d", "--save-profile", str(saved)
    )
    assert made.code == 0, made.err
    assert "ttl: 2d" in saved.read_text()
    replay = json.loads(run_cli("plan", "--profile-file", str(saved), "--output", "json").out)
    assert replay["expires_at"] == "2026-11-23T12:00:00Z"
    plain = tmp_path / "plain.yaml"
    assert (
        run_cli("launch", "--dry-run", "--profile-file", INF1, "--save-profile", str(plain)).code
        == 0
    )
    assert "ttl" not in plain.read_text()


@pytest.mark.parametrize(
    ("text", "minutes"),
    [("90m", 90), ("4h", 240), ("2d", 2880), ("1h30m", 90), ("10m", 10), ("30d", 43200)],
)
def test_accepted_durations(text, minutes):
    assert parse_ttl(text) == timedelta(minutes=minutes)


def test_time_left_words():
    assert left_words(3 * 3600 + 12 * 60 + 59) == "3h 12m left"
    assert left_words(-25 * 60) == "expired 25m ago"
    assert left_words(None) == "—"
    assert short_duration(2 * 86400 + 3 * 3600 + 5) == "2d 3h"
    assert short_duration(4 * 3600) == "4h"
    assert short_duration(30) == "<1m"


def test_the_caller_policy_allows_moving_only_the_expiry_tag(run_cli):
    document = json.loads(run_cli("iam-policy").out)
    actions = {a for s in document["Statement"] for a in s["Action"]}
    assert {"ec2:DescribeVolumes", "iam:UntagRole", "iam:UntagInstanceProfile"} <= actions
    [move] = [s for s in document["Statement"] if s["Sid"] == "MoveTheExpiryOfOurs"]
    assert move["Action"] == ["ec2:CreateTags", "ec2:DeleteTags"]
    assert move["Condition"]["ForAllValues:StringEquals"] == {"aws:TagKeys": [TAG_EXPIRES]}
    assert move["Condition"]["StringEquals"] == {"aws:ResourceTag/amazonei-setup:managed": "true"}
