"""S3 objects for the benchmark (issue 22): boto3 when this Python has it, else the AWS CLI
(`aws s3api`), as report.publish_report does for SSM. The instance role supplies the
credentials: nothing here takes, stores or logs any."""

from __future__ import annotations

import subprocess
import tempfile


def s3_download(uri: str, path: str, region: str | None = None) -> str:
    """`s3://bucket/key` streamed to `path` (boto3 writes it in parts, never all in memory);
    returns the means used. Raises on any failure, with what S3 or the CLI said."""
    bucket, _, key = uri[5:].partition("/")
    try:
        import boto3
    except ImportError:
        argv = ["aws", "s3api", "get-object", "--bucket", bucket, "--key", key, path]
        done = subprocess.run(argv + ["--region", region] * bool(region), capture_output=True)
        if done.returncode:
            raise OSError(f"aws s3api get-object {uri}: {done.stderr.decode()[-300:]}") from None
        return "aws-cli"
    boto3.client("s3", region_name=region).download_file(bucket, key, path)
    return "boto3"


def s3_upload(uri: str, data: bytes, region: str | None = None) -> str:
    """`data` written to `s3://bucket/key` (the bucket's default encryption applies); returns
    the means used. Raises on any failure, with what S3 or the CLI said."""
    bucket, _, key = uri[5:].partition("/")
    try:
        import boto3
    except ImportError:
        with tempfile.NamedTemporaryFile(suffix=".json") as body:
            body.write(data)
            body.flush()
            argv = ["aws", "s3api", "put-object", "--bucket", bucket, "--key", key]
            argv += ["--body", body.name, "--content-type", "application/json"]
            done = subprocess.run(argv + ["--region", region] * bool(region), capture_output=True)
        if done.returncode:
            raise OSError(f"aws s3api put-object {uri}: {done.stderr.decode()[-300:]}") from None
        return "aws-cli"
    client = boto3.client("s3", region_name=region)
    client.put_object(Bucket=bucket, Key=key, Body=data, ContentType="application/json")
    return "boto3"
