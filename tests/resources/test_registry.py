"""The registry is the one place a kind of resource lives: a new kind (an S3 bucket for models,
depending on the role) registered here alone is planned, applied, recorded, inventoried, shown
and torn down by the unchanged direct engine, and exported, stacked, granted and torn down by
the unchanged CloudFormation and StackSets engines."""

from __future__ import annotations

import json
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path
from typing import Any, ClassVar

import boto3
import pytest
from botocore.exceptions import ClientError
from printed_policy import printed_policy
from support import REGION

from amazonei_setup.aws.clients import AwsClients
from amazonei_setup.resources import registry
from amazonei_setup.resources.kind import (
    ApplyRun,
    Collect,
    DiscoverInput,
    Found,
    PlanInput,
    PlannedResource,
    ResourceKind,
    TeardownAction,
    TeardownRun,
    TeardownStep,
)
from amazonei_setup.resources.naming import TAG_DEPLOYMENT, tag_dict, tag_list
from amazonei_setup.resources.stack_form import ROLE, StackInput, StackPart
from amazonei_setup.state.ledger import Ledger

PROFILES = Path(__file__).resolve().parents[2] / "templates" / "profiles"
EIA = str(PROFILES / "eia-workshop.yaml")
INF2 = str(PROFILES / "inf2.yaml")  # us-east-1
BUCKET = "ModelsBucket"


def bucket_name(deployment: str) -> str:
    return f"amazonei-setup-{deployment}-models"


def bucket_tags(clients: AwsClients, name: str) -> dict[str, str] | None:
    try:
        return tag_dict(clients.client("s3").get_bucket_tagging(Bucket=name)["TagSet"])
    except ClientError as exc:
        if exc.response["Error"]["Code"] in ("NoSuchBucket", "NoSuchTagSet", "404"):
            return None
        raise


class ModelBucketKind(ResourceKind):
    """What a team would add for model artifacts: nothing but this class and its registration."""

    kind = "s3-bucket"
    title = "S3 bucket"
    count_key = "s3_buckets"
    after = ("iam-role",)
    caller_actions: ClassVar[dict[str, tuple[str, ...]]] = {
        "other": (
            "s3:CreateBucket",
            "s3:DeleteBucket",
            "s3:GetBucketTagging",
            "s3:PutBucketTagging",
        )
    }

    stack_handlers: ClassVar[dict[str, tuple[str, ...]]] = {
        "AWS::S3::Bucket": (
            "s3:CreateBucket",
            "s3:DeleteBucket",
            "s3:GetBucketTagging",
            "s3:PutBucketTagging",
        )
    }
    stack_records: ClassVar[dict[str, str]] = {BUCKET: "models"}

    def stack_part(self, given: StackInput, seat: int | None) -> StackPart:
        if seat is not None:
            return StackPart()
        bucket = {
            "Type": "AWS::S3::Bucket",
            "DependsOn": [ROLE],
            "Properties": {"Tags": tag_list(given.tags)},  # a name CloudFormation picks
        }
        output = {"Description": "the models' bucket", "Value": {"Ref": BUCKET}}
        return StackPart({BUCKET: bucket}, {"ModelsBucketName": output})

    def discover(self, look: DiscoverInput) -> Collect:
        found = look.pool.submit(bucket_tags, look.clients, bucket_name(look.profile.name))
        return lambda: (found.result(), 1)

    def plan(self, given: PlanInput) -> list[PlannedResource]:
        exists = given.discovery.existing.of(self.kind) is not None
        name = bucket_name(given.profile.name)
        after = given.keys("iam-role")
        if exists:
            return [PlannedResource("models", self.kind, name, "reuse", name, after)]
        return [PlannedResource("models", self.kind, name, "create", None, after, why="models")]

    def apply(self, run: ApplyRun, resource: PlannedResource) -> str:
        s3 = run.clients.client("s3")
        s3.create_bucket(
            Bucket=resource.name, CreateBucketConfiguration={"LocationConstraint": REGION}
        )
        s3.put_bucket_tagging(Bucket=resource.name, Tagging={"TagSet": tag_list(run.tags)})
        return resource.name

    def inventory(
        self, clients: AwsClients, pool: ThreadPoolExecutor, name: str, region: str
    ) -> Future[list[Any]]:
        def ours() -> list[Any]:
            tags = bucket_tags(clients, bucket_name(name))
            if not tags or tags.get(TAG_DEPLOYMENT) != name:
                return []
            return [{"id": bucket_name(name), "name": bucket_name(name), "tags": tags}]

        return pool.submit(ours)

    def teardown(self, found: Found, home: Path, ledger: Any) -> list[TeardownStep]:
        actions = tuple(
            TeardownAction("delete", self.kind, b["name"], b["id"]) for b in found.of(self.kind)
        )
        return [TeardownStep("models", self.kind, actions)] if actions else []

    def remove(self, run: TeardownRun, step: TeardownStep) -> list[TeardownAction]:
        for action in step.actions:
            run.clients.client("s3").delete_bucket(Bucket=action.name)
        return list(step.actions)


@pytest.fixture
def with_bucket_kind(monkeypatch):
    monkeypatch.setattr(registry, "REGISTRY", [*registry.REGISTRY, ModelBucketKind()])


def buckets(account: str | None = None) -> list[str]:
    """The buckets of the test's account, or of a member account (moto's own backend)."""
    if account is None:
        return [b["Name"] for b in boto3.client("s3", region_name=REGION).list_buckets()["Buckets"]]
    from moto.s3.models import s3_backends

    return list(s3_backends[account]["aws"].buckets)


def test_a_registered_kind_is_planned_applied_inventoried_shown_and_torn_down(
    aws, run_cli, recorder, with_bucket_kind
):
    planned = run_cli("plan", "--profile-file", EIA, "--output", "json")
    assert planned.code == 0, planned.err
    row = next(r for r in json.loads(planned.out)["resources"] if r["kind"] == "s3-bucket")
    assert (row["action"], row["depends_on"]) == ("create", ["role"])
    table = run_cli("plan", "--profile-file", EIA)
    assert "s3-bucket" in table.out + table.err  # shown in the plan table

    launched = run_cli("launch", "--profile-file", EIA, "--yes", "--no-wait", "--output", "json")
    assert launched.code == 0, launched.err
    assert buckets() == ["amazonei-setup-eia-workshop-models"]
    recorded = json.loads(launched.out)["resources"]["models"]
    assert (recorded["kind"], recorded["action"], recorded["owned"]) == (
        "s3-bucket",
        "created",
        True,
    )
    operations = recorder.operations(mutating_only=True)
    assert operations.index("CreateBucket") > operations.index("PutRolePolicy")  # after the role

    again = run_cli("plan", "--profile-file", EIA, "--output", "json")
    row = next(r for r in json.loads(again.out)["resources"] if r["kind"] == "s3-bucket")
    assert row["action"] == "reuse"

    dry = run_cli("teardown", "eia-workshop", "--dry-run", "--output", "json")
    actions = json.loads(dry.out)["deployments"][0]["actions"]
    assert {"verb": "delete", "kind": "s3-bucket"}.items() <= next(
        a for a in actions if a["kind"] == "s3-bucket"
    ).items()

    recorder.clear()
    gone = run_cli("teardown", "eia-workshop", "--yes")
    assert gone.code == 0, gone.err
    assert buckets() == []
    assert "deleted s3-bucket" in " ".join(gone.err.split())
    operations = recorder.operations(mutating_only=True)
    assert operations.index("DeleteBucket") < operations.index("DeleteRole")  # reversed


def test_a_registered_kind_brings_its_iam_actions_into_the_printed_policy(run_cli, monkeypatch):
    before = json.loads(run_cli("iam-policy").out)
    assert "OtherKinds" not in json.dumps(before)  # no built-in kind is of another service
    monkeypatch.setattr(registry, "REGISTRY", [*registry.REGISTRY, ModelBucketKind()])
    after = json.loads(run_cli("iam-policy").out)
    statement = next(s for s in after["Statement"] if s["Sid"] == "OtherKinds")
    assert statement["Action"] == sorted(ModelBucketKind.caller_actions["other"])


def test_a_registered_kind_is_exported_stacked_granted_and_torn_down(
    aws, run_cli, tmp_path, with_bucket_kind
):
    for fmt in ("cloudformation", "stackset"):
        out = tmp_path / f"{fmt}.json"
        exported = run_cli("export", "--format", fmt, "--profile-file", EIA, "-o", str(out))
        assert exported.code == 0, exported.err
        template = json.loads(out.read_text())
        assert template["Resources"][BUCKET]["Type"] == "AWS::S3::Bucket", fmt
        assert template["Outputs"]["ModelsBucketName"] == {
            "Description": "the models' bucket",
            "Value": {"Ref": BUCKET},
        }
    policy = printed_policy(run_cli("iam-policy", "--engine", "cloudformation").out)
    on_buckets = {  # granted on our buckets only, never on `*`
        action
        for s in policy["Statement"]
        if "arn:aws:s3:::amazonei-setup-*" in str(s["Resource"])
        for action in s["Action"]
    }
    assert set(ModelBucketKind.stack_handlers["AWS::S3::Bucket"]) <= on_buckets
    assert "OurBucketsInStacks" in {s["Sid"] for s in policy["Statement"]}

    args = ("launch", "--profile-file", EIA, "--engine", "cloudformation", "--yes", "--no-wait")
    launched = run_cli("--output", "json", *args)
    assert launched.code == 0, launched.err
    [made] = buckets()
    assert json.loads(launched.out)["outputs"]["ModelsBucketName"] == made
    recorded = Ledger(run_cli.home).load(REGION, "eia-workshop").resources["models"]
    assert (recorded.kind, recorded.id) == ("s3-bucket", made)  # read back as the kind's own

    dry = run_cli("teardown", "eia-workshop", "--dry-run")
    assert BUCKET in dry.out + dry.err and "AWS::S3::Bucket" in dry.out + dry.err
    gone = run_cli("teardown", "eia-workshop", "--yes")
    assert gone.code == 0, gone.err
    assert buckets() == []


def test_a_registered_kind_is_deployed_by_a_stack_set_and_torn_down(org, run_cli, with_bucket_kind):
    args = ("launch", "--profile-file", INF2, "--engine", "stackset", "--ou", org["ou"])
    launched = run_cli(*args, "--regions", "us-east-1", "--yes")
    assert launched.code == 0, launched.err
    for account in org["accounts"]:
        assert len(buckets(account=account)) == 1, account
    gone = run_cli("teardown", "inf2-demo", "--yes")
    assert gone.code == 0, gone.err
    for account in org["accounts"]:
        assert buckets(account=account) == [], account
