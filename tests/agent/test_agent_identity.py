"""The agent learns who and where it is from IMDS (the instance identity document and the
partition), as served by the sandbox's IMDS emulator: its report goes to the region it runs in,
tagged with its own ARN, whatever region or account the user data was rendered for."""

from __future__ import annotations

import json

import boto3
import pytest
from moto import mock_aws

from amazonei_sandbox.imds import ImdsEmulator, identity_document, metadata_for
from amazonei_setup.agent.cli import main
from amazonei_setup.agent.imds import ImdsClient, instance_arn
from amazonei_setup.agent.report import REPORTER_TAG

INSTANCE = "i-0a1b2c3d4e5f67890"
ACCOUNT_B = "210987654321"
# What AWS documents for /latest/dynamic/instance-identity/document (every field, null or not).
AWS_FIELDS = {
    "accountId", "architecture", "availabilityZone", "billingProducts", "devpayProductCodes",
    "marketplaceProductCodes", "imageId", "instanceId", "instanceType", "kernelId",
    "pendingTime", "privateIp", "ramdiskId", "region", "version",
}  # fmt: skip


def emulator(region: str, account: str = ACCOUNT_B) -> ImdsEmulator:
    zone = f"{region}a"
    metadata = metadata_for(INSTANCE, "m5.large", region, zone)
    identity = identity_document(account, region, INSTANCE, "m5.large", zone)
    return ImdsEmulator(metadata, identity)


@pytest.mark.parametrize(
    ("region", "partition"),
    [("eu-west-1", "aws"), ("cn-north-1", "aws-cn"), ("us-gov-west-1", "aws-us-gov")],
)
def test_the_agent_builds_its_arn_from_the_identity_document(region, partition):
    with emulator(region) as imds:
        document = json.loads(
            ImdsClient(imds.endpoint).get("instance-identity/document", "/latest/dynamic/")
        )
        arn = instance_arn(ImdsClient(imds.endpoint))
    assert set(document) == AWS_FIELDS
    assert (document["region"], document["accountId"]) == (region, ACCOUNT_B)
    assert arn == f"arn:{partition}:ec2:{region}:{ACCOUNT_B}:instance/{INSTANCE}"


def test_outside_ec2_or_without_the_document_there_is_no_arn():
    assert instance_arn(ImdsClient("http://127.0.0.1:9", timeout=0.2)) is None
    with ImdsEmulator(metadata_for(INSTANCE, "m5.large", "us-west-2", "us-west-2a")) as imds:
        assert instance_arn(ImdsClient(imds.endpoint)) is None  # no identity document


def _config(tmp_path, **extra):
    config = tmp_path / "deployment.json"
    document = {
        "deployment": "demo",
        "region": "us-east-1",  # the profile's region, where the tool ran: not the instance's
        "expect": "none",
        "report_parameter_prefix": "/amazonei-setup/demo/",
        **extra,
    }
    config.write_text(json.dumps(document))
    return str(config)


@mock_aws
def test_a_stack_set_copy_publishes_in_its_own_region_tagged_with_its_arn(
    tools, tmp_path, monkeypatch, capsys
):
    """User data rendered in us-east-1 (region A); the instance runs in eu-west-1 (region B) of
    another account: the report lands in B's SSM, tagged with the ARN IMDS gives."""
    with emulator("eu-west-1") as imds:
        monkeypatch.setenv("AMAZONEI_AGENT_IMDS_ENDPOINT", imds.endpoint)
        code = main(["--config", _config(tmp_path), "--no-smoke-test"], sleep=lambda s: None)
    assert code == 0, capsys.readouterr().err
    name = f"/amazonei-setup/demo/{INSTANCE}/report"
    there = boto3.client("ssm", region_name="eu-west-1")
    assert json.loads(there.get_parameter(Name=name)["Parameter"]["Value"])["status"] == "passed"
    tags = there.list_tags_for_resource(ResourceType="Parameter", ResourceId=name)["TagList"]
    assert tags == [
        {"Key": REPORTER_TAG, "Value": f"arn:aws:ec2:eu-west-1:{ACCOUNT_B}:instance/{INSTANCE}"}
    ]
    here = boto3.client("ssm", region_name="us-east-1")
    assert here.describe_parameters()["Parameters"] == []


@mock_aws
def test_the_config_fills_only_what_imds_lacks(tools, tmp_path, monkeypatch, capsys):
    """No identity document (an IMDS that lacks it): the config's ARN prefix still tags the
    report; IMDS's placement region still beats the config's."""
    prefix = "arn:aws:ec2:us-west-2:123456789012:instance/"
    metadata = metadata_for(INSTANCE, "m5.large", "us-west-2", "us-west-2a")
    with ImdsEmulator(metadata) as imds:
        monkeypatch.setenv("AMAZONEI_AGENT_IMDS_ENDPOINT", imds.endpoint)
        config = _config(tmp_path, instance_arn_prefix=prefix)
        assert main(["--config", config, "--no-smoke-test"], sleep=lambda s: None) == 0
    name = f"/amazonei-setup/demo/{INSTANCE}/report"
    ssm = boto3.client("ssm", region_name="us-west-2")
    tags = ssm.list_tags_for_resource(ResourceType="Parameter", ResourceId=name)["TagList"]
    assert tags == [{"Key": REPORTER_TAG, "Value": prefix + INSTANCE}]
    assert "report published" in capsys.readouterr().err
