"""The IAM action behind each S3 API operation the tool calls. Unlike EC2, IAM or SSM, S3 does
not name its actions after its operations (ListBuckets is authorized as s3:ListAllMyBuckets,
HeadObject as s3:GetObject, every part of a multipart upload as s3:PutObject), so they are
listed here from the Service Authorization Reference
(https://docs.aws.amazon.com/service-authorization/latest/reference/list_amazons3.html)."""

from __future__ import annotations

S3_ACTIONS = {
    "AbortMultipartUpload": "s3:AbortMultipartUpload",
    "CompleteMultipartUpload": "s3:PutObject",
    "CreateBucket": "s3:CreateBucket",
    "CreateMultipartUpload": "s3:PutObject",
    "DeleteBucket": "s3:DeleteBucket",
    "DeleteObject": "s3:DeleteObject",
    "DeleteObjects": "s3:DeleteObject",  # and s3:DeleteObjectVersion for the versions it names
    "GetBucketEncryption": "s3:GetEncryptionConfiguration",
    "GetBucketLifecycleConfiguration": "s3:GetLifecycleConfiguration",
    "GetBucketLocation": "s3:GetBucketLocation",
    "GetBucketPolicy": "s3:GetBucketPolicy",
    "GetBucketTagging": "s3:GetBucketTagging",
    "GetObject": "s3:GetObject",
    "GetPublicAccessBlock": "s3:GetBucketPublicAccessBlock",
    "HeadBucket": "s3:ListBucket",
    "HeadObject": "s3:GetObject",
    "ListBuckets": "s3:ListAllMyBuckets",
    "ListMultipartUploads": "s3:ListBucketMultipartUploads",
    "ListObjectVersions": "s3:ListBucketVersions",
    "ListObjects": "s3:ListBucket",
    "ListObjectsV2": "s3:ListBucket",
    "ListParts": "s3:ListMultipartUploadParts",
    "PutBucketEncryption": "s3:PutEncryptionConfiguration",
    "PutBucketLifecycleConfiguration": "s3:PutLifecycleConfiguration",
    "PutBucketPolicy": "s3:PutBucketPolicy",
    "PutBucketTagging": "s3:PutBucketTagging",
    "PutBucketVersioning": "s3:PutBucketVersioning",
    "PutObject": "s3:PutObject",
    "PutPublicAccessBlock": "s3:PutBucketPublicAccessBlock",
    "UploadPart": "s3:PutObject",
}


def s3_action(operation: str) -> str | None:
    """`s3:...` for an S3 operation name, None for one not listed."""
    return S3_ACTIONS.get(operation)
