"""The Deep Learning AMI each kind of hardware gets, found the way AWS publishes them now:
deprecated images only with IncludeDeprecated=True, inf1 on a Neuron SDK <= 2.26 image, GPUs on
the PyTorch DLAMI (the framework is on the image), p3 on the proprietary driver, p2 refused,
and a plan note when the chosen AMI is deprecated."""

from __future__ import annotations

import json

import boto3

BASE = ("--name", "demo", "--region", "us-west-2", "--access", "ssm")


def plan_json(run_cli, *argv: str) -> dict:
    result = run_cli("plan", "--output", "json", *BASE, *argv)
    assert result.code == 0, result.err
    return json.loads(result.out)


def image(image_id: str) -> dict:
    ec2 = boto3.client("ec2", region_name="us-west-2")
    return ec2.describe_images(ImageIds=[image_id])["Images"][0]


def test_eia_finds_the_deprecated_ei_dlami_and_the_plan_says_since_when(aws, run_cli, recorder):
    document = plan_json(run_cli, "--instance-type", "m5.xlarge", "--accelerator", "eia2.medium")
    ami = document["ami"]
    assert image(ami["id"])["Name"] == "Deep Learning AMI (Amazon Linux 2) Version 70.0"
    searches = [c.params for c in recorder.of("DescribeImages") if "Filters" in c.params]
    assert searches and all(s.get("IncludeDeprecated") is True for s in searches)
    notes = " ".join(document["notes"])
    assert f"AMI {ami['id']}" in notes and "deprecated since 2024-10-11" in notes


def test_inf1_gets_the_newest_neuron_dlami_that_still_supports_it(aws, run_cli):
    document = plan_json(run_cli, "--instance-type", "inf1.xlarge", "--os", "ubuntu")
    ami = document["ami"]
    found = image(ami["id"])
    # A newer SDK 2.30 image exists in the same line; it no longer supports Inf1.
    assert found["Name"].startswith("Deep Learning AMI Neuron (Ubuntu 22.04)")
    assert "Neuron SDK 2.26.0" in found["Description"]
    assert "deprecated since 2026-04-09" in " ".join(document["notes"])


def test_inf2_gets_the_newest_multi_framework_dlami_that_still_carries_pytorch(aws, run_cli):
    """SDK 2.32.0 stopped publishing PyTorch (Torch-NeuronX) environments in the DLAMI, so the
    "latest" parameter (2.32, 2.34) would leave the smoke test on the CPU: 2.31.0 it is."""
    document = plan_json(run_cli, "--instance-type", "inf2.xlarge", "--os", "ubuntu")
    ami = document["ami"]
    assert ami["source"] == "describe_images (newest)"
    found = image(ami["id"])
    assert found["Name"].startswith("Deep Learning AMI Neuron (Ubuntu 24.04)")
    assert "Neuron SDK 2.31.0" in found["Description"]
    assert not any("deprecated" in note for note in document["notes"])


def test_gpus_get_the_pytorch_dlami_not_the_driver_only_base(aws, run_cli):
    document = plan_json(run_cli, "--instance-type", "g4dn.xlarge", "--os", "ubuntu")
    ami = document["ami"]
    name = image(ami["id"])["Name"]
    assert name.startswith("Deep Learning OSS Nvidia Driver AMI GPU PyTorch 2.13 (Ubuntu 24.04)")
    assert "pytorch-2.13-ubuntu-24.04" in ami["source"]


def test_p3_gets_the_proprietary_driver_dlami(aws):
    """The OSS driver does not support P3's V100s. (moto offers no p3 in any zone, so the
    lookup is asked directly rather than through a plan.)"""
    from types import SimpleNamespace

    from amazonei_setup.aws.amis import resolve_ami
    from amazonei_setup.spec.catalog import load_catalog
    from amazonei_setup.spec.profile_checks import validate_profile

    session = boto3.Session(region_name="us-west-2")
    clients = SimpleNamespace(ec2=session.client("ec2"), ssm=session.client("ssm"))
    profile = validate_profile(
        None, {"name": "p3", "region": "us-west-2", "instance_type": "p3.2xlarge"}
    )
    ami = resolve_ami(clients, load_catalog(), profile)
    assert ami.name.startswith("Deep Learning Proprietary Nvidia Driver AMI GPU PyTorch")
    assert ami.deprecation_time is not None


def test_a_named_ami_is_used_as_given(aws, run_cli):
    ec2 = boto3.client("ec2", region_name="us-west-2")
    mine = ec2.describe_images(Owners=["amazon"])["Images"][0]["ImageId"]
    document = plan_json(run_cli, "--instance-type", "g4dn.xlarge", "--ami", mine)
    ami = document["ami"]
    assert ami["id"] == mine and ami["source"] == "profile"


def test_p2_is_refused_with_alternatives_before_any_aws_call(aws, run_cli, recorder):
    result = run_cli("plan", *BASE, "--instance-type", "p2.xlarge")
    assert result.code == 2
    text = " ".join(result.err.split())
    assert "p2.xlarge cannot be launched with a Deep Learning AMI" in text
    assert "K80" in text and "g4dn.xlarge or g5.xlarge or inf2.xlarge" in text
    assert recorder.calls == []
