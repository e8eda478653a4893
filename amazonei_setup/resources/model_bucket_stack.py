"""The model bucket's stack form (its kind is in model_bucket.py): the bucket `create` makes,
as CloudFormation resources, with the same settings taken from the same constants."""

from __future__ import annotations

from typing import Any

from amazonei_setup.resources import model_bucket
from amazonei_setup.resources.model_bucket import BUCKET, BUCKET_POLICY
from amazonei_setup.resources.naming import tag_list


def stack_resources(name: Any, tags: dict[str, Any], expire_days: int) -> dict[str, Any]:
    """The bucket `create` makes, as CloudFormation resources: the same Block Public Access,
    default encryption, expiry rules, tags, and TLS-only policy. `name` may be an Fn::Sub."""
    bucket_ref = {"Ref": BUCKET}
    policy = model_bucket.tls_only_policy("${AWS::Partition}", f"${{{BUCKET}}}")
    for statement in policy["Statement"]:
        statement["Resource"] = [{"Fn::Sub": arn} for arn in statement["Resource"]]
    return {
        BUCKET: {
            "Type": "AWS::S3::Bucket",
            "Properties": {
                "BucketName": name,
                "PublicAccessBlockConfiguration": model_bucket.PUBLIC_ACCESS_BLOCK,
                "BucketEncryption": {"ServerSideEncryptionConfiguration": _encryption()},
                "LifecycleConfiguration": {"Rules": _stack_lifecycle(expire_days)},
                "Tags": tag_list(tags),
            },
        },
        BUCKET_POLICY: {
            "Type": "AWS::S3::BucketPolicy",
            "Properties": {"Bucket": bucket_ref, "PolicyDocument": policy},
        },
    }


def _stack_lifecycle(expire_days: int) -> list[dict[str, Any]]:
    """lifecycle_rules in CloudFormation's spelling of the same fields."""
    return [
        {
            "Id": rule["ID"],
            "Status": rule["Status"],
            "Prefix": rule["Filter"]["Prefix"],
            "ExpirationInDays": rule["Expiration"]["Days"],
            "NoncurrentVersionExpiration": {
                "NoncurrentDays": rule["NoncurrentVersionExpiration"]["NoncurrentDays"]
            },
            "AbortIncompleteMultipartUpload": rule["AbortIncompleteMultipartUpload"],
        }
        for rule in model_bucket.lifecycle_rules(expire_days)
    ]


def _encryption() -> list[dict[str, Any]]:
    """model_bucket.ENCRYPTION in CloudFormation's spelling."""
    return [
        {
            "ServerSideEncryptionByDefault": rule["ApplyServerSideEncryptionByDefault"],
            "BucketKeyEnabled": rule["BucketKeyEnabled"],
        }
        for rule in model_bucket.ENCRYPTION["Rules"]
    ]
