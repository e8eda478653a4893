"""Any type AWS sells can be planned and launched (issue 21): the hardware comes from
DescribeInstanceTypes (moto ships AWS's data), arm64 types get an arm64 image or a refusal
that names the type and what to pick instead."""

from __future__ import annotations

import json

import pytest

from amazonei_setup.aws.instance_types import cache_path


def _plan(run_cli, *argv: str):
    return run_cli(
        "plan",
        "--output",
        "json",
        "--region",
        "us-east-1",
        "--name",
        "any",
        "--access",
        "ssm",
        *argv,
    )


def _launch(run_cli, name: str, instance_type: str):
    """A Session-Manager launch of `instance_type` in us-east-1 that does not wait for the agent."""
    return run_cli(
        "launch", "--output", "json", "--yes", "--no-wait", "--region", "us-east-1",
        "--name", name, "--access", "ssm", "--instance-type", instance_type,
    )  # fmt: skip


@pytest.mark.parametrize(
    "instance_type, kind, accelerator",
    [("g6.xlarge", "nvidia", "L4"), ("c7i.xlarge", "cpu", None), ("p5.48xlarge", "nvidia", "H100")],
)
def test_types_the_yaml_never_listed_are_planned_from_aws(
    aws, run_cli, instance_type, kind, accelerator
):
    aws("us-east-1")
    result = _plan(run_cli, "--instance-type", instance_type)
    assert result.code == 0, result.err
    plan = json.loads(result.out)
    assert plan["hardware"]["instance_type"] == instance_type
    hardware = plan["carries"]
    assert hardware["kind"] == kind
    assert hardware["accelerator_name"] == accelerator
    assert hardware["architecture"] == "x86_64"
    assert hardware["hardware_source"] == "DescribeInstanceTypes"
    cached = json.loads(cache_path(run_cli.home, "us-east-1").read_text())
    assert instance_type in cached["types"] and cached["read_at"]


def test_c7g_gets_an_arm64_image(aws, run_cli):
    aws("us-east-1")
    result = _plan(run_cli, "--instance-type", "c7g.xlarge")
    assert result.code == 0, result.err
    plan = json.loads(result.out)
    assert plan["carries"]["architecture"] == "arm64", plan["carries"]
    assert "arm64" in json.dumps(plan["ami"]), plan["ami"]


def test_c7g_launches(aws, run_cli):
    aws("us-east-1")
    result = _launch(run_cli, "arm", "c7g.xlarge")
    assert result.code == 0, result.err
    import boto3

    ec2 = boto3.client("ec2", region_name="us-east-1")
    (reservation,) = ec2.describe_instances()["Reservations"]
    instance = reservation["Instances"][0]
    image = ec2.describe_images(ImageIds=[instance["ImageId"]])["Images"][0]
    assert instance["InstanceType"] == "c7g.xlarge" and image["Architecture"] == "arm64"


def test_g6_launches(aws, run_cli):
    aws("us-east-1")
    result = _launch(run_cli, "l4", "g6.xlarge")
    assert result.code == 0, result.err


def test_an_arm64_gpu_on_amazon_linux_gets_the_arm64_al2023_pytorch_dlami(aws, run_cli, recorder):
    """AWS publishes the ARM64 PyTorch DLAMI for Amazon Linux 2023 too (since 2026-10)."""
    aws("us-east-1")
    result = _plan(run_cli, "--instance-type", "g5g.xlarge", "--os", "amazon-linux")
    assert result.code == 0, result.err
    ami = json.loads(result.out)["ami"]
    assert ami["source"] == (
        "ssm:/aws/service/deeplearning/ami/arm64/"
        "oss-nvidia-driver-gpu-pytorch-2.11-amazon-linux-2023/latest/ami-id"
    )
    assert "ARM64" in ami["name"] and "(Amazon Linux 2023)" in ami["name"]
    assert recorder.operations(mutating_only=True) == []


def test_elastic_inference_on_graviton_is_refused(aws, run_cli):
    aws("us-east-1")
    result = _plan(run_cli, "--instance-type", "c7g.xlarge", "--accelerator", "eia2.medium")
    assert result.code == 2
    assert "c7g.xlarge" in result.err and "c7i.xlarge" in result.err


def test_a_type_not_offered_in_the_region_is_refused_with_the_reason(aws, run_cli):
    aws("us-east-1")
    result = _plan(run_cli, "--instance-type", "trn2.48xlarge")
    assert result.code != 0
    assert "trn2.48xlarge" in result.err and "Traceback" not in result.err


def test_a_type_aws_does_not_know_is_bad_input(aws, run_cli):
    aws("us-east-1")
    result = _plan(run_cli, "--instance-type", "zz9.xlarge")
    assert result.code == 2
    assert "zz9.xlarge" in result.err and "not an instance type AWS offers" in result.err


def test_the_sandbox_describes_trainium2_and_h100_as_aws_does(aws):
    import boto3

    from amazonei_setup.spec.catalog import load_catalog
    from amazonei_setup.spec.hardware import spec_from_aws

    ec2 = boto3.client("ec2", region_name="us-west-2")
    names = ["trn2.48xlarge", "trn2u.48xlarge", "p5.48xlarge", "inf2.xlarge", "g6.xlarge"]
    entries = ec2.describe_instance_types(InstanceTypes=names)["InstanceTypes"]
    specs = {e["InstanceType"]: spec_from_aws(e, load_catalog().family_labels) for e in entries}
    for name in ("trn2.48xlarge", "trn2u.48xlarge"):
        trn2 = specs[name]
        assert (trn2.kind, trn2.neuron_device_name) == ("neuron", "Trainium2")
        assert (trn2.neuron_devices, trn2.neuron_cores, trn2.neuron_memory_gib) == (16, 128, 1536)
    p5 = specs["p5.48xlarge"]
    assert (p5.kind, p5.gpus, p5.gpu_model, p5.gpu_memory_gib) == ("nvidia", 8, "H100", 80)
    assert (specs["inf2.xlarge"].neuron_cores, specs["inf2.xlarge"].label) == (2, "AWS Inferentia2")
    assert specs["g6.xlarge"].gpu_model == "L4" and specs["g6.xlarge"].label == "NVIDIA L4"
