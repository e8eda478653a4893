"""The caller's policy covers the model bucket's whole life — create, upload (in parts), read
results, find by tags, empty every version and remove — on our buckets only, each call judged
by the sandbox's IAM evaluator on the ARN S3 authorizes it against."""

from __future__ import annotations

import boto3
from support import REGION, AwsRecorder
from test_caller_policy_direct import ACCOUNT, IamState, _resources

from amazonei_sandbox.policy_eval import allowed
from amazonei_setup.aws.clients import AwsClients, AwsTarget, iam_action
from amazonei_setup.policy.caller import caller_policy
from amazonei_setup.resources import model_bucket
from amazonei_setup.resources.naming import deployment_tags


def test_every_call_of_a_buckets_life_is_allowed_on_ours_and_only_ours(aws, tmp_path):
    recorder = AwsRecorder()
    clients = AwsClients(AwsTarget(REGION), recorder.session_factory)
    name = model_bucket.bucket_name(ACCOUNT, REGION, "demo")
    model_bucket.create(clients, name, REGION, deployment_tags("demo", REGION), 7)
    big = tmp_path / "model.onnx"
    big.write_bytes(b"\0" * (6 << 20))
    model_bucket.upload_file(clients, name, "m/model.onnx", big, multipart_threshold=5 << 20,
                             part_size=5 << 20)  # fmt: skip
    boto3.client("s3", region_name=REGION).put_bucket_versioning(
        Bucket=name, VersioningConfiguration={"Status": "Enabled"}
    )
    model_bucket.put_bytes(clients, name, "r/result.json", b"{}")
    assert model_bucket.get_json(clients, name, "r/result.json") == {}
    assert model_bucket.get_json(clients, name, "r/none.json") is None
    assert not model_bucket.exists(clients, name, "r/none.json")
    assert model_bucket.find_tagged(clients, REGION, "demo")
    assert model_bucket.empty_and_delete(clients, name) == 2

    document = caller_policy(REGION)
    denied, checked = [], set()
    for call in recorder.calls:
        action = iam_action(call.operation)
        for arn in _resources(call, REGION, IamState()):
            if not allowed([document], action, arn, {}):
                denied.append(f"{action} on {arn}")
            if call.operation == "DeleteObjects" and not allowed(
                [document], "s3:DeleteObjectVersion", arn, {}
            ):
                denied.append(f"s3:DeleteObjectVersion on {arn}")
        checked.add(action)
    assert denied == [], "\n".join(dict.fromkeys(denied))
    assert {
        "s3:ListAllMyBuckets", "s3:CreateBucket", "s3:PutBucketPolicy", "s3:PutObject",
        "s3:ListBucketVersions", "s3:DeleteObject", "s3:DeleteBucket", "s3:GetObject",
    } <= checked  # fmt: skip
    assert not any(a.startswith(("ListBuckets", "HeadObject")) for a in checked)  # all mapped

    someone_elses = "arn:aws:s3:::prod-data"
    for action in ("s3:GetObject", "s3:PutObject", "s3:DeleteObject"):
        assert not allowed([document], action, f"{someone_elses}/x", {})
    assert not allowed([document], "s3:DeleteBucket", someone_elses, {})
    assert not allowed([document], "s3:PutBucketPolicy", someone_elses, {})
