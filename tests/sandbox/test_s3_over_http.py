"""The model bucket over the sandbox's HTTP front door (auth.py checks every S3 signature): the
owner's credentials create and configure it, upload a model in parts, read a result back, find
it by its tags and remove it with every version; the TLS-only policy refuses none of it (the
loopback stands in for AWS's TLS endpoint, s3_strict.py)."""

from __future__ import annotations

import json
from pathlib import Path

import boto3
from support import sandbox_keys

from amazonei_sandbox import control
from amazonei_setup.aws.clients import AwsClients, AwsTarget
from amazonei_setup.resources import model_bucket
from amazonei_setup.resources.naming import deployment_tags

REGION = "us-west-2"


def test_a_model_bucket_lives_and_goes_through_the_sandbox(tmp_path: Path):
    home = tmp_path / "home"
    info = control.start(home, timeout_s=60)
    try:
        keys = sandbox_keys(home)

        def session(target: AwsTarget) -> boto3.Session:
            return boto3.Session(region_name=target.region, **keys)

        clients = AwsClients(AwsTarget(REGION, endpoint_url=info.endpoint), session)
        name = model_bucket.bucket_name("123456789012", REGION, "http")
        model_bucket.create(clients, name, REGION, deployment_tags("http", REGION), 1)
        model = tmp_path / "model.onnx"
        model.write_bytes(bytes(range(256)) * (7 * 4096))  # 7 MiB: two parts
        sent: list[int] = []
        model_bucket.upload_file(clients, name, "m/model.onnx", model, sent.append,
                                 multipart_threshold=5 << 20, part_size=5 << 20)  # fmt: skip
        assert sum(sent) == model.stat().st_size
        whole = tmp_path / "whole.onnx"  # just under the threshold: one PUT of it all
        whole.write_bytes(b"\1" * ((64 << 20) - 1))
        model_bucket.upload_file(clients, name, "m/whole.onnx", whole)
        head = clients.client("s3").head_object(Bucket=name, Key="m/whole.onnx")
        assert head["ContentLength"] == whole.stat().st_size and "-" not in head["ETag"]
        model_bucket.put_bytes(clients, name, "r/i-1.json", json.dumps({"ok": 1}).encode())
        assert model_bucket.get_json(clients, name, "r/i-1.json") == {"ok": 1}
        assert model_bucket.get_json(clients, name, "r/none.json") is None
        s3 = clients.client("s3")
        assert s3.get_object(Bucket=name, Key="m/model.onnx")["Body"].read() == model.read_bytes()
        assert [b["name"] for b in model_bucket.find_tagged(clients, REGION, "http")] == [name]
        assert model_bucket.empty_and_delete(clients, name) == 3
        assert s3.list_buckets()["Buckets"] == []
    finally:
        control.stop(home)
