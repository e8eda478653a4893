"""A stack made by hand from `export --format cloudformation` (not `launch --engine
cloudformation`), on the sandbox server over HTTP: its instance's agent finds its account,
region and ARN in IMDS (the user data names none) and its report arrives, allowed by the role."""

from __future__ import annotations

import base64
import json
from pathlib import Path

import boto3
import pytest
from support import main_in_process, poll, sandbox_keys

from amazonei_sandbox import control
from amazonei_setup.seats.userdata import decode_user_data

PROFILE = Path(__file__).resolve().parents[2] / "templates" / "profiles" / "inf1-ssm.yaml"
NAME = "inf1-export"
REGION = "us-west-2"
WAIT_S = 180


@pytest.fixture(scope="module")
def sandbox_home(tmp_path_factory):
    home = tmp_path_factory.mktemp("exported-stack")
    control.start(home)
    yield home
    control.stop(home)


def client(home: Path, service: str):
    info = control.status(home)
    assert info is not None and info.running
    return boto3.client(
        service, region_name=REGION, endpoint_url=info.endpoint, **sandbox_keys(home)
    )


def test_a_stack_from_the_exported_template_publishes_a_passing_report(sandbox_home, capsys):
    exported = main_in_process(
        capsys, "--home", str(sandbox_home), "--sandbox", "export", "--format", "cloudformation",
        "--profile-file", str(PROFILE), "--name", NAME,
    )  # fmt: skip
    assert exported.returncode == 0, exported.stderr
    template = json.loads(exported.stdout)
    data = template["Resources"]["LaunchTemplate"]["Properties"]["LaunchTemplateData"]
    script = decode_user_data(base64.b64decode(data["UserData"]))
    assert '"instance_arn_prefix":' not in script and "123456789012" not in script  # no account

    ec2, cfn, ssm = (client(sandbox_home, s) for s in ("ec2", "cloudformation", "ssm"))
    [vpc] = ec2.describe_vpcs(Filters=[{"Name": "is-default", "Values": ["true"]}])["Vpcs"]
    subnet = ec2.describe_subnets(Filters=[{"Name": "vpc-id", "Values": [vpc["VpcId"]]}])
    cfn.create_stack(
        StackName=NAME,
        TemplateBody=exported.stdout,
        Parameters=[
            {"ParameterKey": "VpcId", "ParameterValue": vpc["VpcId"]},
            {"ParameterKey": "SubnetId", "ParameterValue": subnet["Subnets"][0]["SubnetId"]},
        ],
        Capabilities=["CAPABILITY_NAMED_IAM"],
    )
    [stack] = cfn.describe_stacks(StackName=NAME)["Stacks"]
    assert stack["StackStatus"] == "CREATE_COMPLETE", stack.get("StackStatusReason")
    [instance_id] = [
        r["PhysicalResourceId"]
        for r in cfn.describe_stack_resources(StackName=NAME)["StackResources"]
        if r["ResourceType"] == "AWS::EC2::Instance"
    ]
    name = f"/amazonei-setup/{NAME}/{instance_id}/report"

    def report():
        try:
            return ssm.get_parameter(Name=name)["Parameter"]["Value"]
        except ssm.exceptions.ParameterNotFound:
            return None

    value = poll(report, WAIT_S, first_pause=0.05, longest_pause=1.0)
    assert value, (sandbox_home / "sandbox" / "server.log").read_text()[-3000:]
    assert json.loads(value)["status"] == "passed"
    [tag] = ssm.list_tags_for_resource(ResourceType="Parameter", ResourceId=name)["TagList"]
    account = client(sandbox_home, "sts").get_caller_identity()["Account"]
    assert tag["Value"] == f"arn:aws:ec2:{REGION}:{account}:instance/{instance_id}"
    cfn.delete_stack(StackName=NAME)
    [gone] = ec2.describe_instances(InstanceIds=[instance_id])["Reservations"][0]["Instances"]
    assert gone["State"]["Name"] == "terminated"
