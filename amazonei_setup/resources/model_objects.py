"""Objects in the model bucket (resources/model_bucket.py, which re-exports these): the model
uploaded once with boto3's managed transfer, the results read back, and the S3 statements of an
instance role, which may read only its model's keys and write only its own result keys."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

from amazonei_setup.aws.clients import AwsClients, aws_errors, is_error, translate
from amazonei_setup.errors import AwsFailure, SetupError

MULTIPART_THRESHOLD = 64 << 20  # a file this large or larger goes up in parts
PART_SIZE = 16 << 20  # 2 GB in 128 parts (S3 allows 10,000)
MAX_CONCURRENCY = 8


def bucket_arn(partition: str, bucket: str, key: str | None = None) -> str:
    return f"arn:{partition}:s3:::{bucket}" + (f"/{key}" if key is not None else "")


def upload_file(
    clients: AwsClients,
    bucket: str,
    key: str,
    path: Path,
    progress: Callable[[int], None] | None = None,
    *,
    multipart_threshold: int = MULTIPART_THRESHOLD,
    part_size: int = PART_SIZE,
) -> None:
    """Upload a file with boto3's managed transfer: in parallel parts from
    `multipart_threshold` up (S3's minimum part is 5 MiB), `progress` told the bytes sent as
    they go (from the transfer's threads; a retried part may count back down)."""
    from boto3.exceptions import S3UploadFailedError
    from boto3.s3.transfer import TransferConfig

    config = TransferConfig(
        multipart_threshold=multipart_threshold,
        multipart_chunksize=part_size,
        max_concurrency=MAX_CONCURRENCY,
    )
    doing = f"uploading {path} to s3://{bucket}/{key}"
    with aws_errors(doing):
        try:
            clients.client("s3").upload_file(
                str(path), bucket, key, Callback=progress, Config=config
            )
        except S3UploadFailedError as exc:  # boto3 wraps what S3 said
            cause = exc.__context__
            if cause is not None and getattr(cause, "response", None):
                raise translate(cause, doing) from exc
            raise AwsFailure(f"{doing} failed: {exc}") from exc


def put_bytes(clients: AwsClients, bucket: str, key: str, data: bytes) -> None:
    with aws_errors(f"writing s3://{bucket}/{key}"):
        clients.client("s3").put_object(Bucket=bucket, Key=key, Body=data)


def get_json(clients: AwsClients, bucket: str, key: str) -> dict[str, Any] | None:
    """The JSON object at the key, or None when there is none (yet)."""
    with aws_errors(f"reading s3://{bucket}/{key}"):
        try:
            body = clients.client("s3").get_object(Bucket=bucket, Key=key)["Body"].read()
        except Exception as exc:
            if is_error(exc, "NoSuchKey", "404"):
                return None
            raise
    try:
        found = json.loads(body)
    except ValueError:
        found = None
    if not isinstance(found, dict):
        raise SetupError(
            f"s3://{bucket}/{key} is not a JSON object",
            "it was written by something other than the agent; remove it and run again",
        )
    return found


def exists(clients: AwsClients, bucket: str, key: str) -> bool:
    with aws_errors(f"looking up s3://{bucket}/{key}"):
        try:
            clients.client("s3").head_object(Bucket=bucket, Key=key)
        except Exception as exc:
            if is_error(exc, "404", "NoSuchKey", "NotFound"):
                return False
            raise
    return True


def instance_statements(
    partition: str, bucket: str, readable: list[str], writable: list[str]
) -> list[dict[str, Any]]:
    """The S3 statements of an instance role: s3:GetObject on its model's keys alone, and
    s3:PutObject on its own result keys alone. A key ending in '/' stands for what is under it."""

    def arns(keys: list[str]) -> list[str]:
        return [bucket_arn(partition, bucket, k + "*" if k.endswith("/") else k) for k in keys]

    statements = []
    if readable:
        statements.append(
            {
                "Sid": "ModelRead",
                "Effect": "Allow",
                "Action": ["s3:GetObject"],
                "Resource": arns(readable),
            }
        )
    if writable:
        statements.append(
            {
                "Sid": "ResultWrite",
                "Effect": "Allow",
                "Action": ["s3:PutObject"],
                "Resource": arns(writable),
            }
        )
    return statements
