"""Where the sandbox was kinder than EC2 (issue 12 points 5 and 6): it now answers ClientToken,
accelerator limits, dry runs and the default VPC's route as EC2 does, and the tool passes."""

from __future__ import annotations

import json
from pathlib import Path

import boto3
import pytest
from botocore.exceptions import ClientError
from support import REGION, nothing_left, on_event

EIA = str(Path(__file__).resolve().parents[2] / "templates" / "profiles" / "eia-workshop.yaml")


@pytest.fixture
def ec2(aws):
    return boto3.client("ec2", region_name=REGION)


@pytest.fixture
def image(ec2) -> str:
    return ec2.describe_images(Owners=["amazon"])["Images"][0]["ImageId"]


def run(ec2, image: str, **extra):
    request = {"ImageId": image, "InstanceType": "m5.large", "MinCount": 1, "MaxCount": 1}
    return ec2.run_instances(**{**request, **extra})["Instances"][0]


def test_the_same_client_token_returns_the_first_instance_even_terminated(ec2, image):
    first = run(ec2, image, ClientToken="t-1")["InstanceId"]
    assert run(ec2, image, ClientToken="t-1")["InstanceId"] == first
    ec2.terminate_instances(InstanceIds=[first])
    assert run(ec2, image, ClientToken="t-1")["InstanceId"] == first  # no new instance
    with pytest.raises(ClientError, match="IdempotentParameterMismatch"):
        run(ec2, image, ClientToken="t-1", InstanceType="m5.xlarge")


@pytest.mark.parametrize(
    ("accelerators", "message"),
    [
        ([{"Type": "eia1.large", "Count": 10_000_000}], "at most one"),
        ([{"Type": "eia1.large", "Count": 1}, {"Type": "eia2.medium", "Count": 1}], "at most one"),
        ([{"Type": "eia9.huge", "Count": 1}], "eia9.huge"),
    ],
)
def test_accelerators_beyond_ec2s_limits_are_refused(ec2, image, accelerators, message):
    with pytest.raises(ClientError, match=message) as raised:
        run(ec2, image, ElasticInferenceAccelerators=accelerators)
    assert raised.value.response["Error"]["Code"] == "InvalidParameterValue"


def test_a_dry_run_answers_dry_run_operation(ec2, image):
    with pytest.raises(ClientError) as raised:
        run(
            ec2,
            image,
            DryRun=True,
            ElasticInferenceAccelerators=[{"Type": "eia1.large", "Count": 1}],
        )
    assert raised.value.response["Error"]["Code"] == "DryRunOperation"


def test_the_default_vpc_routes_to_the_internet_as_on_aws(ec2):
    vpc = ec2.describe_vpcs(Filters=[{"Name": "is-default", "Values": ["true"]}])["Vpcs"][0]
    tables = ec2.describe_route_tables(Filters=[{"Name": "vpc-id", "Values": [vpc["VpcId"]]}])
    routes = [r for t in tables["RouteTables"] for r in t["Routes"]]
    assert any(
        r["DestinationCidrBlock"] == "0.0.0.0/0" and r["GatewayId"].startswith("igw-")
        for r in routes
    )


def launch(run_cli):
    result = run_cli("launch", "--profile-file", EIA, "--yes", "--no-wait", "--output", "json")
    assert result.code == 0, result.err
    return json.loads(result.out)


def test_a_seat_terminated_behind_the_tools_back_is_launched_anew(aws, run_cli, ec2):
    first = launch(run_cli)["instances"][0]["id"]
    record = run_cli.home / "deployments" / REGION / "eia-workshop.json"
    token = json.loads(record.read_text())["launch_tokens"]["instance:1"]
    ec2.terminate_instances(InstanceIds=[first])
    again = launch(run_cli)["instances"][0]
    assert again["id"] != first and again["state"] == "running"
    assert json.loads(record.read_text())["launch_tokens"]["instance:1"] != token


def test_a_new_ttl_on_a_relaunched_seat_is_no_idempotency_mismatch(aws, run_cli, ec2):
    first = launch(run_cli)["instances"][0]["id"]
    ec2.terminate_instances(InstanceIds=[first])
    result = run_cli(
        "launch", "--profile-file", EIA, "--ttl", "4h", "--yes", "--no-wait", "--output", "json"
    )
    assert result.code == 0, result.err


def test_an_account_that_cannot_have_ei_is_told_so_before_anything_is_created(
    aws, run_cli, hooks, recorder
):
    def refuse(params, **_):
        if params.get("DryRun"):
            raise ClientError(
                {"Error": {"Code": "Unsupported", "Message": "EI is not available"}},
                "RunInstances",
            )

    on_event(hooks, "before-parameter-build.ec2.RunInstances", refuse)
    result = run_cli("launch", "--profile-file", EIA, "--yes", "--no-wait")
    assert result.code == 2, result.err
    flat = " ".join(result.err.split())
    assert "EC2 will not launch m5.large with eia1.large in us-west-2" in flat
    assert "capacity" not in flat and "--accelerator none" in flat
    assert recorder.operations(mutating_only=True) == []
    assert nothing_left("eia-workshop", run_cli.home)


def test_the_endpoint_has_a_subnet_in_every_az_a_seat_may_land_in(aws, run_cli, ec2):
    launch(run_cli)
    endpoint = next(
        e for e in ec2.describe_vpc_endpoints()["VpcEndpoints"] if e["State"] != "deleted"
    )
    subnets = ec2.describe_subnets(SubnetIds=endpoint["SubnetIds"])["Subnets"]
    assert sorted(s["AvailabilityZone"] for s in subnets) == [
        "us-west-2a",
        "us-west-2b",
        "us-west-2c",  # us-west-2d has no Elastic Inference: no seat lands there
    ]


INF1_SSM = str(Path(EIA).parent / "inf1-ssm.yaml")


def private_subnet(ec2) -> tuple[str, str]:
    """A VPC of the user's own with one subnet and no way out: no gateway, no NAT."""
    vpc = ec2.create_vpc(CidrBlock="10.20.0.0/16")["Vpc"]["VpcId"]
    subnet = ec2.create_subnet(VpcId=vpc, CidrBlock="10.20.1.0/24", AvailabilityZone="us-west-2a")
    return vpc, subnet["Subnet"]["SubnetId"]


def test_session_manager_access_from_a_subnet_with_no_way_to_ssm_is_refused(
    aws, run_cli, ec2, recorder
):
    vpc, subnet = private_subnet(ec2)
    argv = ("launch", "--profile-file", INF1_SSM, "--vpc", vpc, "--yes", "--no-wait")
    result = run_cli(*argv)
    assert result.code == 2, result.err
    flat = " ".join(result.err.split())
    assert f"{subnet} has no route to Systems Manager" in flat
    assert "ssm, ssmmessages and ec2messages interface endpoints" in flat
    assert recorder.operations(mutating_only=True) == []

    for service in ("ssm", "ssmmessages", "ec2messages"):  # the private way in
        ec2.create_vpc_endpoint(
            VpcId=vpc,
            ServiceName=f"com.amazonaws.{REGION}.{service}",
            VpcEndpointType="Interface",
            SubnetIds=[subnet],
        )
    result = run_cli(*argv)
    assert result.code == 0, result.err


def test_user_data_over_16_kb_is_refused_as_ec2_does(ec2, image):
    with pytest.raises(ClientError, match="limited to 16384 bytes") as raised:
        run(ec2, image, UserData="x" * (16 * 1024 + 1))
    assert raised.value.response["Error"]["Code"] == "InvalidParameterValue"
    run(ec2, image, UserData="x" * (16 * 1024))  # the limit itself is fine


def test_a_gzip_bomb_in_user_data_unpacks_no_further_than_a_script_can_be():
    import gzip

    from amazonei_setup.seats.userdata import MAX_SCRIPT_BYTES, decode_user_data

    bomb = gzip.compress(b"#" * (64 * 1024 * 1024))  # 64 MB of '#', about 64 KB gzip'd
    with pytest.raises(ValueError, match=f"more than {MAX_SCRIPT_BYTES} bytes"):
        decode_user_data(bomb)
    assert decode_user_data(gzip.compress(b"#!/bin/sh\n")) == "#!/bin/sh\n"
