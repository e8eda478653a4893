"""The model bucket (issue 22, "Model delivery"): private, encrypted, TLS-only, expiring and
tagged as created; named so a re-run finds it; uploads in parts with progress; emptied of every
version, marker and unfinished upload and removed by the unchanged teardown engine; found by
its tags in its own region only; and an instance role that reads only its model's keys and
writes only its result's, as the sandbox enforces it."""

from __future__ import annotations

import hashlib
import json
import re

import boto3
import pytest
from botocore.exceptions import ClientError
from hypothesis import given, settings
from hypothesis import strategies as st
from support import REGION, AwsRecorder

from amazonei_sandbox import identities
from amazonei_sandbox.identities import InstanceIdentity
from amazonei_sandbox.policy_eval import allowed, decision
from amazonei_setup.aws.clients import AwsClients, AwsTarget
from amazonei_setup.engines.direct.teardown import execute_teardown, plan_teardown
from amazonei_setup.engines.inventory import deployment_resources, region_inventory
from amazonei_setup.errors import EXIT_AWS, BucketNameTaken
from amazonei_setup.resources import model_bucket
from amazonei_setup.resources.model_bucket import (
    bucket_name,
    create,
    empty_and_delete,
    exists,
    find_tagged,
    get_json,
    instance_statements,
    put_bytes,
    upload_file,
)
from amazonei_setup.resources.naming import deployment_tags
from amazonei_setup.resources.registry import kind_of
from amazonei_setup.resources.role import TRUST_POLICY
from amazonei_setup.spec.profile import NAME_PATTERN
from amazonei_setup.state.ledger import Ledger

ACCOUNT = "123456789012"
NAME = "demo"
S3_NAME = re.compile(r"^[a-z0-9][a-z0-9-]{1,61}[a-z0-9]$")


def clients(region: str = REGION, recorder: AwsRecorder | None = None) -> AwsClients:
    return AwsClients(AwsTarget(region), recorder.session_factory if recorder else None)


def s3(region: str = REGION):
    return boto3.client("s3", region_name=region)


def made(deployment: str = NAME, region: str = REGION, expire_days: int = 7, **tags: str) -> str:
    name = bucket_name(ACCOUNT, region, deployment)
    create(clients(region), name, region, deployment_tags(deployment, region, tags), expire_days)
    return name


# -- names ---------------------------------------------------------------------------------


def test_a_name_is_the_account_region_and_deployment_when_it_fits():
    assert bucket_name(ACCOUNT, REGION, NAME) == f"amazonei-setup-{ACCOUNT}-{REGION}-{NAME}"
    assert bucket_name(ACCOUNT, REGION, NAME) == bucket_name(ACCOUNT, REGION, NAME)


def test_a_long_name_is_cut_and_keeps_a_digest_of_the_whole():
    deployment = "a-very-long-deployment-name-x32"
    name = bucket_name(ACCOUNT, "ap-southeast-4", deployment)
    full = f"amazonei-setup-{ACCOUNT}-ap-southeast-4-{deployment}"
    assert len(name) == 63 and S3_NAME.fullmatch(name)
    assert name.endswith("-" + hashlib.sha256(full.encode()).hexdigest()[:10])
    assert name.startswith(f"amazonei-setup-{ACCOUNT}-ap-southeast-4-a-very")
    # names that differ only in what was cut off stay apart
    assert bucket_name(ACCOUNT, "ap-southeast-4", deployment[:-1] + "y") != name


def test_a_name_s3_reserves_is_not_given_out():
    name = bucket_name(ACCOUNT, REGION, "x-s3alias")
    assert not name.endswith("-s3alias") and S3_NAME.fullmatch(name)


@settings(max_examples=150, deadline=None)
@given(
    deployment=st.from_regex(NAME_PATTERN, fullmatch=True),
    other=st.from_regex(NAME_PATTERN, fullmatch=True),
    region=st.sampled_from(["us-east-1", "us-west-2", "ap-southeast-4", "us-gov-west-1"]),
    account=st.from_regex(r"\A[0-9]{12}\Z"),
)
def test_every_name_is_valid_ours_deterministic_and_unique(deployment, other, region, account):
    name = bucket_name(account, region, deployment)
    assert 3 <= len(name) <= 63 and S3_NAME.fullmatch(name), name
    assert name.startswith(f"amazonei-setup-{account}-{region}-")
    assert name == bucket_name(account, region, deployment)
    if other != deployment:
        assert bucket_name(account, region, other) != name


# -- create --------------------------------------------------------------------------------


def test_a_created_bucket_is_private_encrypted_tls_only_expiring_and_tagged(aws):
    name = made(expire_days=3, team="ml")
    client = s3()
    assert client.get_bucket_location(Bucket=name)["LocationConstraint"] == REGION
    block = client.get_public_access_block(Bucket=name)["PublicAccessBlockConfiguration"]
    assert block == dict.fromkeys(
        ["BlockPublicAcls", "IgnorePublicAcls", "BlockPublicPolicy", "RestrictPublicBuckets"], True
    )
    [rule] = client.get_bucket_encryption(Bucket=name)["ServerSideEncryptionConfiguration"]["Rules"]
    assert rule["ApplyServerSideEncryptionByDefault"]["SSEAlgorithm"] == "AES256"
    assert rule["BucketKeyEnabled"] is True
    [deny] = json.loads(client.get_bucket_policy(Bucket=name)["Policy"])["Statement"]
    assert (deny["Effect"], deny["Principal"], deny["Action"]) == ("Deny", "*", "s3:*")
    assert deny["Resource"] == [f"arn:aws:s3:::{name}", f"arn:aws:s3:::{name}/*"]
    assert deny["Condition"] == {"Bool": {"aws:SecureTransport": "false"}}
    [life] = client.get_bucket_lifecycle_configuration(Bucket=name)["Rules"]
    assert life["Status"] == "Enabled" and life["Expiration"] == {"Days": 3}
    assert life["AbortIncompleteMultipartUpload"] == {"DaysAfterInitiation": 1}
    assert life["NoncurrentVersionExpiration"]["NoncurrentDays"] == 1
    tags = {t["Key"]: t["Value"] for t in client.get_bucket_tagging(Bucket=name)["TagSet"]}
    assert tags == deployment_tags(NAME, REGION, {"team": "ml"})


def test_the_policy_refuses_plain_http_and_nothing_over_tls():
    policy = model_bucket.tls_only_policy("aws-cn", "b")
    for resource in ("arn:aws-cn:s3:::b", "arn:aws-cn:s3:::b/models/m.onnx"):
        assert decision([policy], "s3:GetObject", resource, {"aws:SecureTransport": "false"}) == (
            "Deny"
        )
        assert decision([policy], "s3:GetObject", resource, {"aws:SecureTransport": "true"}) is None
    assert all(r.startswith("arn:aws-cn:s3:::") for r in policy["Statement"][0]["Resource"])


def test_creating_again_converges_and_us_east_1_takes_no_location(aws):
    name = made()
    s3().delete_bucket_policy(Bucket=name)
    s3().put_bucket_tagging(Bucket=name, Tagging={"TagSet": [{"Key": "x", "Value": "y"}]})
    again = AwsRecorder()
    create(clients(recorder=again), name, REGION, deployment_tags(NAME, REGION), 7)
    assert "TlsOnly" in s3().get_bucket_policy(Bucket=name)["Policy"]
    assert [b["Name"] for b in s3().list_buckets()["Buckets"]] == [name]
    assert find_tagged(clients(), REGION, NAME)[0]["tags"] == deployment_tags(NAME, REGION)

    east = AwsRecorder()
    other = bucket_name(ACCOUNT, "us-east-1", NAME)
    for _ in range(2):  # us-east-1 answers 200 to its owner's second CreateBucket
        create(
            clients("us-east-1", east), other, "us-east-1", deployment_tags(NAME, "us-east-1"), 7
        )
    assert [c.params for c in east.of("CreateBucket")] == [{"Bucket": other}] * 2
    assert s3("us-east-1").get_bucket_location(Bucket=other)["LocationConstraint"] is None


def test_a_name_another_account_holds_is_a_clear_error_and_touches_nothing(aws, monkeypatch):
    name = bucket_name(ACCOUNT, REGION, NAME)
    monkeypatch.setenv("MOTO_ACCOUNT_ID", "210987654321")
    s3().create_bucket(Bucket=name, CreateBucketConfiguration={"LocationConstraint": REGION})
    monkeypatch.delenv("MOTO_ACCOUNT_ID")
    recorder = AwsRecorder()
    with pytest.raises(BucketNameTaken) as taken:
        create(clients(recorder=recorder), name, REGION, deployment_tags(NAME, REGION), 7)
    assert taken.value.exit_code == EXIT_AWS and taken.value.code == "BucketAlreadyExists"
    assert name in taken.value.message and "another AWS account" in taken.value.message
    assert "--name" in (taken.value.hint or "")
    assert recorder.operations() == ["CreateBucket"]  # no policy or tags on theirs


# -- objects -------------------------------------------------------------------------------


def test_a_small_file_goes_in_one_put_and_a_large_one_in_parts_with_progress(aws, tmp_path):
    name = made()
    small, large = tmp_path / "small.onnx", tmp_path / "large.onnx"
    small.write_bytes(b"onnx" * 256)
    large.write_bytes(bytes(range(256)) * (11 * 4096))  # 11 MiB
    recorder = AwsRecorder()
    sent: list[int] = []
    upload_file(clients(recorder=recorder), name, "m/small.onnx", small, sent.append)
    assert recorder.operations() == ["PutObject"] and sum(sent) == small.stat().st_size
    recorder.clear()
    sent.clear()
    upload_file(
        clients(recorder=recorder), name, "m/large.onnx", large, sent.append,
        multipart_threshold=5 << 20, part_size=5 << 20,
    )  # fmt: skip
    operations = recorder.operations()
    assert operations.count("UploadPart") == 3 and operations[-1] == "CompleteMultipartUpload"
    assert sum(sent) == large.stat().st_size
    got = s3().get_object(Bucket=name, Key="m/large.onnx")
    assert got["Body"].read() == large.read_bytes()
    assert got["ServerSideEncryption"] == "AES256"


def test_json_reads_writes_and_absence(aws):
    name = made()
    assert get_json(clients(), name, "results/i-1.json") is None
    assert not exists(clients(), name, "results/i-1.json")
    put_bytes(clients(), name, "results/i-1.json", json.dumps({"p50_ms": 1.5}).encode())
    assert get_json(clients(), name, "results/i-1.json") == {"p50_ms": 1.5}
    assert exists(clients(), name, "results/i-1.json")


def test_an_upload_s3_refuses_says_what_s3_said(aws, tmp_path):
    path = tmp_path / "m.onnx"
    path.write_bytes(b"x")
    from amazonei_setup.errors import AwsFailure

    with pytest.raises(AwsFailure) as failed:
        upload_file(clients(), "amazonei-setup-nobody", "m.onnx", path)
    assert failed.value.code == "NoSuchBucket"
    assert "uploading" in failed.value.message and "s3://amazonei-setup-nobody/m.onnx" in (
        failed.value.message
    )


# -- emptying and deleting -------------------------------------------------------------------


def test_empty_and_delete_removes_every_version_marker_and_unfinished_upload(aws):
    name = made()
    client = s3()
    client.put_bucket_versioning(Bucket=name, VersioningConfiguration={"Status": "Enabled"})
    for body in (b"1", b"2"):
        client.put_object(Bucket=name, Key="m/model.onnx", Body=body)
    client.put_object(Bucket=name, Key="r/result.json", Body=b"{}")
    client.delete_object(Bucket=name, Key="r/result.json")  # a delete marker
    upload = client.create_multipart_upload(Bucket=name, Key="m/big.onnx")["UploadId"]
    recorder = AwsRecorder()
    assert empty_and_delete(clients(recorder=recorder), name) == 4  # 3 versions, 1 marker
    [aborted] = recorder.of("AbortMultipartUpload")
    assert aborted.params["UploadId"] == upload
    assert client.list_buckets()["Buckets"] == []
    assert empty_and_delete(clients(), name) == 0  # gone already: done


def test_a_bucket_an_agent_refilled_is_emptied_again(aws):
    name = made()
    put_bytes(clients(), name, "a", b"1")
    recorder = AwsRecorder()
    recorder.fail("DeleteBucket", "BucketNotEmpty", "The bucket you tried to delete is not empty")
    assert empty_and_delete(clients(recorder=recorder), name) == 1
    assert recorder.operations().count("DeleteBucket") == 2
    assert s3().list_buckets()["Buckets"] == []


# -- finding -------------------------------------------------------------------------------


def test_find_tagged_keeps_this_regions_managed_buckets_of_the_deployment(aws):
    ours = made()
    theirs = made("other")
    untagged = bucket_name(ACCOUNT, REGION, "untagged")
    s3().create_bucket(Bucket=untagged, CreateBucketConfiguration={"LocationConstraint": REGION})
    unmanaged = bucket_name(ACCOUNT, REGION, "unmanaged")
    s3().create_bucket(Bucket=unmanaged, CreateBucketConfiguration={"LocationConstraint": REGION})
    s3().put_bucket_tagging(
        Bucket=unmanaged, Tagging={"TagSet": [{"Key": "amazonei-setup:deployment", "Value": NAME}]}
    )
    elsewhere = made(region="eu-west-1")
    # named as if for us-west-2, tagged as ours, but in eu-west-1: the location decides
    misplaced = bucket_name(ACCOUNT, REGION, "misplaced")
    eu = clients("eu-west-1")
    create(eu, misplaced, "eu-west-1", deployment_tags("misplaced", REGION), 7)

    assert [b["name"] for b in find_tagged(clients(), REGION, NAME)] == [ours]
    assert sorted(b["name"] for b in find_tagged(clients(), REGION, None)) == sorted([ours, theirs])
    assert [b["name"] for b in find_tagged(eu, "eu-west-1", NAME)] == [elsewhere]
    assert find_tagged(clients(), REGION, "misplaced") == []
    grouped = region_inventory(clients(), REGION)
    assert [b["name"] for b in grouped[NAME].of("model-bucket")] == [ours]
    assert [b["name"] for b in grouped["other"].of("model-bucket")] == [theirs]


# -- the kind, through the engine -----------------------------------------------------------


def test_the_engine_finds_counts_and_tears_down_the_bucket(aws, tmp_path):
    name = made()
    put_bytes(clients(), name, "models/m.onnx", b"model")
    found = deployment_resources(clients(), NAME, REGION)
    assert [b["name"] for b in found.of("model-bucket")] == [name]
    assert found.counts()["s3_buckets"] == 1
    assert found.own_tags() == [deployment_tags(NAME, REGION)]

    home = tmp_path / "home"
    ledger = Ledger(home)
    plan = plan_teardown(clients(), ledger, home, NAME, REGION)
    assert [a.to_dict() for a in plan.changes] == [
        {"verb": "delete", "kind": "model-bucket", "name": name, "id": name, "reason": ""}
    ]
    notes: list[str] = []

    class Reporter:
        def action_started(self, action): ...
        def action_finished(self, action): ...
        def note(self, message: str) -> None:
            notes.append(message)

    done = execute_teardown(plan, clients(), ledger, reporter=Reporter())  # type: ignore[arg-type]
    assert [(a.verb, a.kind, a.name) for a in done] == [("delete", "model-bucket", name)]
    assert s3().list_buckets()["Buckets"] == []
    assert notes == [f"emptied {name}: 1 object version(s) removed"]
    assert deployment_resources(clients(), NAME, REGION).empty


def test_the_kind_is_removed_after_the_instances_and_its_caller_actions_are_s3():
    kind = kind_of("model-bucket")
    assert (kind.title, kind.count_key, kind.own, kind.teardown_after) == (
        "S3 bucket (models)", "s3_buckets", True, ("ec2-instance",)
    )  # fmt: skip
    assert kind.caller_actions["read"] == ("s3:ListAllMyBuckets",)
    assert all(a.startswith("s3:") for a in kind.caller_actions["s3"])


# -- an instance's access --------------------------------------------------------------------

MODEL, RESULT = "models/abc123/model.onnx", "results/i-0000000000000aaaa/result.json"


def test_instance_statements_read_only_the_model_and_write_only_the_result():
    policy = {
        "Version": "2012-10-17",
        "Statement": instance_statements("aws-cn", "b", [MODEL, "shared/"], [RESULT]),
    }
    arn = "arn:aws-cn:s3:::b/"
    assert allowed([policy], "s3:GetObject", arn + MODEL, {})
    assert allowed([policy], "s3:GetObject", arn + "shared/labels.txt", {})
    assert not allowed([policy], "s3:GetObject", arn + "models/other/model.onnx", {})
    assert not allowed([policy], "s3:GetObject", arn + RESULT, {})
    assert allowed([policy], "s3:PutObject", arn + RESULT, {})
    assert not allowed([policy], "s3:PutObject", arn + MODEL, {})
    assert not allowed([policy], "s3:DeleteObject", arn + RESULT, {})
    assert instance_statements("aws", "b", [], []) == []


@pytest.fixture
def seat(aws):
    """A simulated instance's role credentials, whose role has the bucket statements alone."""
    name = made()
    put_bytes(clients(), name, MODEL, b"model")
    put_bytes(clients(), name, "models/other/model.onnx", b"not yours")
    iam = boto3.client("iam", region_name=REGION)
    role = f"amazonei-setup-{REGION}-{NAME}"
    iam.create_role(
        RoleName=role, Path="/amazonei-setup/", AssumeRolePolicyDocument=json.dumps(TRUST_POLICY)
    )
    statements = instance_statements("aws", name, [MODEL], [RESULT])
    iam.put_role_policy(
        RoleName=role,
        PolicyName="amazonei-setup-deployment",
        PolicyDocument=json.dumps({"Version": "2012-10-17", "Statement": statements}),
    )
    instance = "i-0000000000000aaaa"
    credentials = identities.REGISTRY.issue(InstanceIdentity(instance, role, REGION, NAME, ACCOUNT))
    client = boto3.client(
        "s3",
        region_name=REGION,
        aws_access_key_id=credentials.access_key_id,
        aws_secret_access_key=credentials.secret_access_key,
        aws_session_token=credentials.session_token,
    )
    yield name, client
    identities.REGISTRY.forget([instance])


def test_the_sandbox_lets_an_instance_read_its_model_and_write_its_result_only(seat, tmp_path):
    name, client = seat
    client.download_file(name, MODEL, str(tmp_path / "model.onnx"))  # HeadObject + GetObject
    assert (tmp_path / "model.onnx").read_bytes() == b"model"
    client.put_object(Bucket=name, Key=RESULT, Body=b"{}")
    refused = {
        "other model": lambda: client.get_object(Bucket=name, Key="models/other/model.onnx"),
        "overwrite the model": lambda: client.put_object(Bucket=name, Key=MODEL, Body=b"x"),
        "delete": lambda: client.delete_object(Bucket=name, Key=RESULT),
        "list": lambda: client.list_objects_v2(Bucket=name),
        "list buckets": lambda: client.list_buckets(),
    }
    for what, call in refused.items():
        with pytest.raises(ClientError) as denied:
            call()
        assert denied.value.response["Error"]["Code"] == "AccessDenied", what
    with pytest.raises(ClientError) as denied:
        client.put_object(Bucket=name, Key=MODEL, Body=b"x")
    message = denied.value.response["Error"]["Message"]
    assert f"assumed-role/amazonei-setup-{REGION}-{NAME}/i-0000000000000aaaa" in message
    assert f'perform: s3:PutObject on resource: "arn:aws:s3:::{name}/{MODEL}"' in message
    assert get_json(clients(), name, RESULT) == {}  # the owner's credentials: as before
    assert s3().get_object(Bucket=name, Key=MODEL)["Body"].read() == b"model"


# -- through the CLI ---------------------------------------------------------------------------


def test_sweep_lists_and_removes_a_lost_benchmarks_bucket_and_teardown_by_name_too(aws, run_cli):
    lost = made("lost-bench")
    put_bytes(clients(), lost, "models/m.onnx", b"model")
    listed = run_cli("sweep", "--region", REGION, "--output", "json")
    assert listed.code == 0, listed.err
    [orphan] = json.loads(listed.out)["orphans"]
    assert orphan["deployment"] == "lost-bench" and orphan["resources"]["s3_buckets"] == 1
    table = run_cli("sweep", "--region", REGION)
    assert "1 s3 bucket" in table.out
    deleted = run_cli("sweep", "--region", REGION, "--delete", "--yes")
    assert deleted.code == 0, deleted.err
    assert s3().list_buckets()["Buckets"] == []

    named = made("bench")
    dry = run_cli("teardown", "bench", "--region", REGION, "--dry-run", "--output", "json")
    [action] = json.loads(dry.out)["deployments"][0]["actions"]
    assert (action["verb"], action["kind"], action["name"]) == ("delete", "model-bucket", named)
    gone = run_cli("teardown", "bench", "--region", REGION, "--yes")
    assert gone.code == 0, gone.err
    assert s3().list_buckets()["Buckets"] == []


def test_a_new_expiry_moves_onto_the_bucket_with_its_other_tags_kept(aws):
    from amazonei_setup.engines.expiry import move_tags
    from amazonei_setup.resources.kind import TagChange
    from amazonei_setup.resources.naming import TAG_EXPIRES

    name = made(team="ml")
    move_tags(clients(), NAME, REGION, TagChange(put={TAG_EXPIRES: "2030-01-01T00:00:00Z"}))
    tags = {t["Key"]: t["Value"] for t in s3().get_bucket_tagging(Bucket=name)["TagSet"]}
    assert tags == {
        **deployment_tags(NAME, REGION, {"team": "ml"}),
        TAG_EXPIRES: "2030-01-01T00:00:00Z",
    }
    move_tags(clients(), NAME, REGION, TagChange(remove=["team"]))
    tags = {t["Key"]: t["Value"] for t in s3().get_bucket_tagging(Bucket=name)["TagSet"]}
    assert "team" not in tags and tags[TAG_EXPIRES] == "2030-01-01T00:00:00Z"
