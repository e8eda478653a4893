"""The model bucket's CloudFormation form: the same private bucket `create` makes (Block
Public Access, default encryption, the TLS-only policy, expiry), lint-clean, made by a stack,
and read back from the stack as the model-bucket kind."""

from __future__ import annotations

import json

import boto3
from support import REGION

from amazonei_setup.engines.cloudformation.template import direct_shape
from amazonei_setup.resources import model_bucket
from amazonei_setup.resources.model_bucket_stack import stack_resources
from amazonei_setup.resources.naming import deployment_tags

NAME = {"Fn::Sub": "amazonei-setup-${AWS::AccountId}-${AWS::Region}-bench"}


def _template() -> dict:
    tags = deployment_tags("bench", REGION, {})
    return {
        "AWSTemplateFormatVersion": "2010-09-09",
        "Resources": stack_resources(NAME, tags, expire_days=3),
    }


def test_the_stack_form_is_lint_clean_and_reads_back_as_the_kind():
    from cfnlint.api import ManualArgs, lint

    problems = lint(json.dumps(_template()), config=ManualArgs(regions=[REGION]))
    assert [str(p) for p in problems] == []
    assert direct_shape("ModelBucket") == ("bucket", "model-bucket", None)
    assert direct_shape("ModelBucketTlsOnly") == ("bucket_policy", "model-bucket", None)


def test_the_stack_form_carries_the_settings_create_puts():
    resources = _template()["Resources"]
    bucket = resources["ModelBucket"]["Properties"]
    assert bucket["PublicAccessBlockConfiguration"] == model_bucket.PUBLIC_ACCESS_BLOCK
    [rule] = bucket["BucketEncryption"]["ServerSideEncryptionConfiguration"]
    [api_rule] = model_bucket.ENCRYPTION["Rules"]
    assert rule["ServerSideEncryptionByDefault"] == api_rule["ApplyServerSideEncryptionByDefault"]
    [expiry] = bucket["LifecycleConfiguration"]["Rules"]
    assert (expiry["ExpirationInDays"], expiry["Prefix"]) == (3, "")
    [statement] = resources["ModelBucketTlsOnly"]["Properties"]["PolicyDocument"]["Statement"]
    assert statement["Condition"] == {"Bool": {"aws:SecureTransport": "false"}}
    assert statement["Resource"] == [
        {"Fn::Sub": "arn:${AWS::Partition}:s3:::${ModelBucket}"},
        {"Fn::Sub": "arn:${AWS::Partition}:s3:::${ModelBucket}/*"},
    ]


def test_a_stack_makes_the_bucket_named_and_tagged(aws):
    """moto's CloudFormation makes the bucket (not its policy or access block: those are
    checked on the template above)."""
    cfn = boto3.client("cloudformation", region_name=REGION)
    cfn.create_stack(StackName="amazonei-setup-bench", TemplateBody=json.dumps(_template()))
    s3 = boto3.client("s3", region_name=REGION)
    [name] = [b["Name"] for b in s3.list_buckets()["Buckets"]]
    assert name == f"amazonei-setup-123456789012-{REGION}-bench"
    tags = {t["Key"]: t["Value"] for t in s3.get_bucket_tagging(Bucket=name)["TagSet"]}
    assert tags["amazonei-setup:deployment"] == "bench"
