"""Launch end to end on in-process moto: what is created, how it is secured, and how the engine
behaves when AWS pushes back (capacity, IAM propagation) or when it is run twice."""

from __future__ import annotations

import json
import stat
from pathlib import Path

import boto3
import pytest
from support import agent_publishes, on_event, sample_report

from amazonei_setup.resources.naming import TAG_DEPLOYMENT, TAG_MANAGED

TEMPLATES = Path(__file__).resolve().parents[2] / "templates" / "profiles"
EIA_PROFILE = str(TEMPLATES / "eia-workshop.yaml")
INF1_PROFILE = str(TEMPLATES / "inf1-ssm.yaml")


def launch_json(run_cli, *argv: str) -> dict:
    result = run_cli("launch", "--yes", "--no-wait", "--output", "json", *argv)
    assert result.code == 0, result.err
    return json.loads(result.out)


def ec2():
    return boto3.client("ec2", region_name="us-west-2")


def test_eia_launch_creates_every_resource_secured_and_tagged(aws, run_cli, recorder):
    document = launch_json(run_cli, "--profile-file", EIA_PROFILE)

    assert document["deployment"] == "eia-workshop" and document["region"] == "us-west-2"
    resources = document["resources"]
    expected = {"role", "instance_profile", "instance_sg", "endpoint_sg", "endpoint", "key_pair:1"}
    assert expected <= set(resources)
    assert all(resources[key]["action"] == "created" for key in expected)
    [instance] = document["instances"]
    assert instance["state"] == "running"
    assert instance["connect"].startswith("ssh -i ")
    assert "ec2-user@" in instance["connect"]

    # The request carried the accelerator (moto ignores it, so assert on the request itself).
    [run] = recorder.of("RunInstances")
    assert run.params["ElasticInferenceAccelerators"] == [{"Type": "eia1.large", "Count": 1}]
    assert run.params["MetadataOptions"]["HttpTokens"] == "required"
    [root] = run.params["BlockDeviceMappings"]
    assert root["Ebs"]["Encrypted"] is True and root["Ebs"]["VolumeType"] == "gp3"
    kinds = {spec["ResourceType"] for spec in run.params["TagSpecifications"]}
    assert kinds == {"instance", "volume"}

    described = ec2().describe_instances(InstanceIds=[instance["id"]])
    live = described["Reservations"][0]["Instances"][0]
    assert live["MetadataOptions"]["HttpTokens"] == "required"
    tags = {t["Key"]: t["Value"] for t in live["Tags"]}
    assert tags[TAG_DEPLOYMENT] == "eia-workshop" and tags[TAG_MANAGED] == "true"
    assert tags["workshop"] == "eia-2019-revisited"

    # The endpoint: interface, private DNS, guarded by a group open to the instance group only.
    [endpoint] = ec2().describe_vpc_endpoints(VpcEndpointIds=[resources["endpoint"]["id"]])[
        "VpcEndpoints"
    ]
    assert endpoint["VpcEndpointType"] == "Interface"
    assert endpoint["PrivateDnsEnabled"] is True
    assert [g["GroupId"] for g in endpoint["Groups"]] == [resources["endpoint_sg"]["id"]]
    [endpoint_sg] = ec2().describe_security_groups(GroupIds=[resources["endpoint_sg"]["id"]])[
        "SecurityGroups"
    ]
    [permission] = endpoint_sg["IpPermissions"]
    assert (permission["FromPort"], permission["ToPort"]) == (443, 443)
    assert permission["IpRanges"] == []
    assert permission["UserIdGroupPairs"][0]["GroupId"] == resources["instance_sg"]["id"]

    # The private key is in the state home, owner-only.
    key_file = Path(resources["key_pair:1"]["private_key"])
    assert stat.S_IMODE(key_file.stat().st_mode) == 0o600
    assert "PRIVATE KEY" in key_file.read_text()


def test_no_security_group_is_open_to_the_world(aws, run_cli):
    launch_json(run_cli, "--profile-file", EIA_PROFILE)
    groups = ec2().describe_security_groups(
        Filters=[{"Name": f"tag:{TAG_DEPLOYMENT}", "Values": ["eia-workshop"]}]
    )["SecurityGroups"]
    assert len(groups) == 2
    for group in groups:
        for permission in group["IpPermissions"]:
            cidrs = [r["CidrIp"] for r in permission.get("IpRanges", [])]
            cidrs += [r["CidrIpv6"] for r in permission.get("Ipv6Ranges", [])]
            assert "0.0.0.0/0" not in cidrs and "::/0" not in cidrs
    instance_group = next(g for g in groups if g["GroupName"].endswith("-instance"))
    [ssh] = instance_group["IpPermissions"]
    assert ssh["FromPort"] == 22 and ssh["IpRanges"] == [{"CidrIp": "198.51.100.7/32"}]


def test_role_policy_is_scoped_to_the_deployment(aws, run_cli):
    launch_json(run_cli, "--profile-file", EIA_PROFILE)
    iam = boto3.client("iam", region_name="us-west-2")
    name = "amazonei-setup-us-west-2-eia-workshop"
    policy = iam.get_role_policy(RoleName=name, PolicyName="amazonei-setup-deployment")
    statements = {s["Sid"]: s for s in policy["PolicyDocument"]["Statement"]}
    reports = "arn:aws:ssm:us-west-2:123456789012:parameter/amazonei-setup/eia-workshop/*"
    for sid in ("AgentReportCreate", "AgentReportTagOnCreate"):  # own report only: 15.10
        assert statements[sid]["Resource"] == reports and statements[sid]["Condition"]
    assert statements["AgentReportCreate"]["Action"] == ["ssm:PutParameter"]
    assert statements["ElasticInference"]["Action"] == ["elastic-inference:Connect"]
    assert "SessionManager" not in statements
    trust = iam.get_role(RoleName=name)["Role"]["AssumeRolePolicyDocument"]
    assert trust["Statement"][0]["Principal"] == {"Service": "ec2.amazonaws.com"}
    profile = iam.get_instance_profile(InstanceProfileName=name)["InstanceProfile"]
    assert [r["RoleName"] for r in profile["Roles"]] == [name]


def test_inf1_launch_with_ssm_only_opens_nothing_and_needs_no_key(aws, run_cli, recorder):
    document = launch_json(run_cli, "--profile-file", INF1_PROFILE)
    resources = document["resources"]
    assert "key_pair:1" not in resources and "endpoint" not in resources
    [run] = recorder.of("RunInstances")
    assert run.params["InstanceType"] == "inf1.xlarge"
    assert "ElasticInferenceAccelerators" not in run.params
    assert "KeyName" not in run.params
    image = ec2().describe_images(ImageIds=[run.params["ImageId"]])["Images"][0]
    # inf1: the newest multi-framework Neuron DLAMI of SDK <= 2.26 (later ones dropped Inf1).
    assert image["Name"].startswith("Deep Learning AMI Neuron (Ubuntu 22.04)")
    assert "Neuron SDK 2.26.0" in image["Description"]
    [group] = ec2().describe_security_groups(GroupIds=[resources["instance_sg"]["id"]])[
        "SecurityGroups"
    ]
    assert group["IpPermissions"] == []
    [instance] = document["instances"]
    assert instance["connect"] == (
        f"aws ssm start-session --target {instance['id']} --region us-west-2"
    )
    policy = boto3.client("iam").get_role_policy(
        RoleName="amazonei-setup-us-west-2-inf1-demo", PolicyName="amazonei-setup-deployment"
    )["PolicyDocument"]
    sids = {s["Sid"] for s in policy["Statement"]}
    assert sids == {"AgentReportCreate", "AgentReportTagOnCreate", "SessionManager"}
    assert recorder.of("CreateKeyPair") == [] and recorder.of("CreateVpcEndpoint") == []


def test_neuron_dlami_is_the_newest_that_still_carries_pytorch(aws, run_cli, recorder):
    """Not the `multi-framework/.../latest` parameter: from SDK 2.32.0 that image carries no
    PyTorch environment, so inf2 launches the newest image of SDK <= 2.31.0."""
    launch_json(
        run_cli,
        "--name", "inf2", "--region", "us-west-2", "--instance-type", "inf2.xlarge",
        "--os", "ubuntu", "--access", "ssm",
    )  # fmt: skip
    read = [c.params["Name"] for c in recorder.of("GetParameter")]
    assert [name for name in read if name.startswith("/aws/service/neuron/")] == []
    [run] = recorder.of("RunInstances")
    ec2 = boto3.client("ec2", region_name="us-west-2")
    [image] = ec2.describe_images(ImageIds=[run.params["ImageId"]])["Images"]
    assert image["Name"].startswith("Deep Learning AMI Neuron (Ubuntu 24.04)")
    assert "Neuron SDK 2.31.0" in image["Description"]


def test_capacity_failure_moves_to_the_next_az(aws, run_cli, recorder):
    recorder.fail("RunInstances", "InsufficientInstanceCapacity", "no m5.large capacity")
    document = launch_json(run_cli, "--profile-file", EIA_PROFILE)
    runs = recorder.of("RunInstances")
    assert len(runs) == 2
    subnets = {s["SubnetId"]: s["AvailabilityZone"] for s in ec2().describe_subnets()["Subnets"]}
    assert [subnets[r.params["SubnetId"]] for r in runs] == ["us-west-2a", "us-west-2b"]
    assert document["instances"][0]["availability_zone"] == "us-west-2b"


def test_capacity_everywhere_exhausted_is_an_aws_failure_that_can_resume(aws, run_cli, recorder):
    recorder.fail("RunInstances", "InsufficientInstanceCapacity", times=3)
    result = run_cli("launch", "--yes", "--no-wait", "--profile-file", EIA_PROFILE)
    assert result.code == 1
    assert (
        "no AZ had capacity for m5.large (tried us-west-2a, us-west-2b, us-west-2c)" in result.err
    )
    assert "run the same command to resume" in result.err
    assert "Traceback" not in result.err
    again = run_cli(
        "launch", "--yes", "--no-wait", "--output", "json", "--profile-file", EIA_PROFILE
    )
    assert again.code == 0
    resources = json.loads(again.out)["resources"]
    assert resources["role"]["action"] == "reused"
    assert resources["instance:1"]["action"] == "created"


def test_iam_propagation_is_retried_with_backoff(aws, run_cli, recorder, sleeps):
    recorder.fail(
        "RunInstances",
        "InvalidParameterValue",
        "Value (amazonei-setup-us-west-2-eia-workshop) for parameter iamInstanceProfile.name "
        "is invalid. Invalid IAM Instance Profile name",
        times=3,
    )
    result = run_cli("launch", "--yes", "--no-wait", "--profile-file", EIA_PROFILE)
    assert result.code == 0, result.err
    assert len(recorder.of("RunInstances")) == 4
    assert sleeps[:3] == [1, 2, 4]
    assert "not visible to EC2 yet" in result.err


def test_iam_propagation_retry_is_bounded(aws, run_cli, recorder, sleeps):
    recorder.fail(
        "RunInstances", "InvalidParameterValue", "Invalid IAM Instance Profile name", times=50
    )
    result = run_cli("launch", "--yes", "--no-wait", "--profile-file", EIA_PROFILE)
    assert result.code == 1
    assert len(recorder.of("RunInstances")) == 7
    assert sum(sleeps) <= 60


def test_second_run_creates_and_changes_nothing(aws, run_cli, recorder):
    first = launch_json(run_cli, "--profile-file", EIA_PROFILE)
    recorder.clear()
    second = launch_json(run_cli, "--profile-file", EIA_PROFILE)
    assert recorder.operations(mutating_only=True) == []
    assert [i["id"] for i in second["instances"]] == [i["id"] for i in first["instances"]]
    assert {r["action"] for r in second["resources"].values()} == {"reused"}


@pytest.mark.parametrize("command", [("plan",), ("launch", "--dry-run", "--yes")])
def test_plan_and_dry_run_make_no_mutating_call(aws, run_cli, recorder, command):
    result = run_cli(*command, "--output", "json", "--profile-file", EIA_PROFILE)
    assert result.code == 0, result.err
    assert recorder.calls, "the plan must have looked at the account"
    assert recorder.operations(mutating_only=True) == []
    plan = json.loads(result.out)
    actions = {r["key"]: r["action"] for r in plan["resources"]}
    assert actions["endpoint"] == "create" and actions["instance:1"] == "create"
    assert plan["cost"]["price_per_hour_usd"] == pytest.approx(0.356)
    assert plan["critical_path_depth"] == 5  # the claim, then four dependent steps
    assert ec2().describe_instances()["Reservations"] == []


def test_plan_table_shows_cost_per_hour_and_day_for_all_seats(aws, run_cli):
    result = run_cli("plan", "--profile-file", EIA_PROFILE, "--seats", "3")
    assert result.code == 0, result.err
    assert "$0.356/hour per seat × 3 = $1.068/hour, $25.63/day" in " ".join(result.out.split())


def test_a_changed_ssh_address_updates_the_rule_in_place(aws, run_cli, hooks):
    launch_json(run_cli, "--profile-file", EIA_PROFILE)
    hooks.ip_lookup = lambda target: "203.0.113.9"
    document = launch_json(run_cli, "--profile-file", EIA_PROFILE)
    assert document["resources"]["instance_sg"]["action"] == "updated"
    [group] = ec2().describe_security_groups(GroupIds=[document["resources"]["instance_sg"]["id"]])[
        "SecurityGroups"
    ]
    assert group["IpPermissions"][0]["IpRanges"] == [{"CidrIp": "203.0.113.9/32"}]


def test_two_eia_deployments_share_one_endpoint(aws, run_cli):
    first = launch_json(run_cli, "--profile-file", EIA_PROFILE)
    second = launch_json(run_cli, "--profile-file", EIA_PROFILE, "--name", "second")
    assert second["resources"]["endpoint"]["id"] == first["resources"]["endpoint"]["id"]
    assert second["resources"]["endpoint"]["action"] == "updated"
    endpoints = ec2().describe_vpc_endpoints()["VpcEndpoints"]
    assert len([e for e in endpoints if e["State"] != "deleted"]) == 1
    tags = {t["Key"] for t in endpoints[0]["Tags"]}
    assert {"amazonei-setup:user:eia-workshop", "amazonei-setup:user:second"} <= tags
    assert len(endpoints[0]["Groups"]) == 2


def test_existing_key_pair_is_used_as_is(aws, run_cli, recorder):
    ec2().create_key_pair(KeyName="mine", KeyType="ed25519")
    document = launch_json(run_cli, "--profile-file", EIA_PROFILE, "--key-pair", "mine")
    assert document["resources"]["key_pair"]["action"] == "reused"
    assert recorder.of("CreateKeyPair") == [] and recorder.of("DeleteKeyPair") == []
    assert recorder.of("RunInstances")[0].params["KeyName"] == "mine"
    assert "<your private key for mine>" in document["instances"][0]["connect"]


def test_record_is_written_before_the_first_create(aws, run_cli, recorder):
    """Write-ahead: if the first create dies, the record already names the deployment."""
    recorder.fail("CreateRole", "ServiceFailure", "IAM is having a bad day")
    recorder.fail("CreateSecurityGroup", "InternalError", "EC2 too")
    recorder.fail("CreateKeyPair", "InternalError", "and again")
    result = run_cli("launch", "--yes", "--no-wait", "--profile-file", EIA_PROFILE)
    assert result.code == 1
    record = json.loads((run_cli.home / "deployments/us-west-2/eia-workshop.json").read_text())
    assert record["status"] == "incomplete"
    assert {p["key"] for p in record["planned"]} >= {"role", "instance_sg", "instance:1"}
    record_file = run_cli.home / "deployments/us-west-2/eia-workshop.json"
    assert stat.S_IMODE(record_file.stat().st_mode) == 0o600


def test_interrupted_launch_keeps_the_record_and_resumes(aws, run_cli, recorder, hooks):
    # Ctrl-C arrives while the endpoint is being created, after IAM, groups and key pair.
    calls_before = {}

    def on_endpoint(model, params, **_):
        if model.name == "CreateVpcEndpoint" and not calls_before:
            calls_before["seen"] = True
            raise KeyboardInterrupt

    on_event(hooks, "before-parameter-build.ec2.CreateVpcEndpoint", on_endpoint)
    result = run_cli("launch", "--yes", "--no-wait", "--profile-file", EIA_PROFILE)
    assert result.code == 130
    assert "run the same command again" in " ".join(result.err.split())
    record = json.loads((run_cli.home / "deployments/us-west-2/eia-workshop.json").read_text())
    assert record["status"] == "incomplete"
    assert {"role", "instance_sg", "endpoint_sg", "key_pair:1"} <= set(record["resources"])
    assert ec2().describe_instances()["Reservations"] == []

    recorder.clear()
    document = launch_json(run_cli, "--profile-file", EIA_PROFILE)
    assert document["resources"]["role"]["action"] == "reused"
    assert document["resources"]["endpoint"]["action"] == "created"
    assert recorder.of("CreateRole") == [] and recorder.of("CreateKeyPair") == []
    assert len(document["instances"]) == 1


def test_save_profile_writes_a_private_replayable_file(aws, run_cli, tmp_path):
    saved = tmp_path / "saved.yaml"
    result = run_cli(
        "launch", "--dry-run", "--name", "saved", "--region", "us-west-2",
        "--instance-type", "inf1.xlarge", "--access", "ssm", "--save-profile", str(saved),
    )  # fmt: skip
    assert result.code == 0, result.err
    assert stat.S_IMODE(saved.stat().st_mode) == 0o600
    again = run_cli(
        "launch", "--dry-run", "--profile-file", str(saved), "--save-profile", str(saved)
    )
    assert again.code == 2 and "--force" in again.err
    replay = run_cli("plan", "--output", "json", "--profile-file", str(saved))
    assert replay.code == 0, replay.err
    assert json.loads(replay.out)["hardware"]["instance_type"] == "inf1.xlarge"


def test_launch_waits_for_the_agent_and_shows_cost_per_100k(aws, run_cli, hooks):
    agent_publishes(hooks, lambda instance_id: sample_report())
    result = run_cli("launch", "--yes", "--profile-file", EIA_PROFILE)
    assert result.code == 0, result.err
    flat = " ".join(result.out.split())  # the verdict is the result: stdout
    assert "Agent reports (m5.large + eia1.large)" in flat
    assert "eia (simulated)" in flat
    # The 2019 seed workshop: m5.large + eia1.large at 222.78 ms costs $2.20 per 100k.
    assert "$2.2030" in flat
    assert "Cheapest:" in flat and "Fastest measured: m5.large + eia1.large" in flat
    record = json.loads((run_cli.home / "deployments/us-west-2/eia-workshop.json").read_text())
    assert record["instances"][0]["agent"] == "passed"


def test_failed_agent_check_exits_3_with_the_reason(aws, run_cli, hooks):
    reason = "no Elastic Inference accelerator is associated with this instance"
    agent_publishes(hooks, lambda instance_id: sample_report("failed", reason))
    result = run_cli("launch", "--yes", "--output", "json", "--profile-file", EIA_PROFILE)
    assert result.code == 3
    assert reason in result.err
    document = json.loads(result.out)
    assert document["instances"][0]["report"]["status"] == "failed"
    again = run_cli("verify", "eia-workshop")
    assert again.code == 3 and reason in " ".join(again.err.split())


def test_missing_report_is_bounded_and_explained(aws, run_cli, clock):
    result = run_cli("launch", "--yes", "--profile-file", EIA_PROFILE)
    assert result.code == 1
    assert "no agent report from i-" in result.err and "verify eia-workshop" in result.err
    assert 900 <= sum(clock.sleeps) <= 930
    assert len(clock.sleeps) < 100


def test_no_wait_returns_once_launched(aws, run_cli, recorder):
    result = run_cli("launch", "--yes", "--no-wait", "--profile-file", EIA_PROFILE)
    assert result.code == 0, result.err
    reports = [c for c in recorder.of("GetParameter") if "/.claims/" not in c.params["Name"]]
    assert reports == []  # no agent report was waited for


def test_verify_reads_a_passed_report(aws, run_cli, hooks):
    agent_publishes(hooks, lambda instance_id: sample_report())
    assert run_cli("launch", "--yes", "--no-wait", "--profile-file", EIA_PROFILE).code == 0
    result = run_cli("verify", "eia-workshop", "--output", "json")
    assert result.code == 0, result.err
    [report] = json.loads(result.out)["reports"].values()
    assert report["status"] == "passed"


def test_vcpu_quota_error_names_the_quota_and_how_to_raise_it(aws, run_cli, recorder):
    recorder.fail("RunInstances", "VcpuLimitExceeded", "You have requested more vCPU capacity")
    result = run_cli("launch", "--yes", "--no-wait", "--profile-file", INF1_PROFILE)
    assert result.code == 1
    flat = " ".join(result.err.split())
    assert "inf1.xlarge × 1 needs 4 vCPUs" in flat
    assert "'Running On-Demand Inf instances' (quota L-1945791B) in us-west-2" in flat
    assert "request-service-quota-increase --service-code ec2 --quota-code L-1945791B" in flat
    assert "Traceback" not in result.err


def test_unauthorized_operation_names_the_action_and_the_decode_command(aws, run_cli, recorder):
    recorder.fail(
        "CreateSecurityGroup",
        "UnauthorizedOperation",
        "You are not authorized to perform this operation. Encoded authorization failure "
        "message: AbCdEf123",
    )
    result = run_cli("launch", "--yes", "--no-wait", "--profile-file", INF1_PROFILE)
    assert result.code == 1
    flat = " ".join(result.err.split())
    assert "not allowed ec2:CreateSecurityGroup" in flat
    assert "aws sts decode-authorization-message --encoded-message" in flat
    assert f"amazonei-setup --home {run_cli.home} iam-policy" in flat  # works pasted


def test_same_name_from_another_state_home_is_refused(aws, run_cli, hooks, tmp_path, capsys):
    from amazonei_setup.cli.main import main

    assert run_cli("launch", "--yes", "--no-wait", "--profile-file", INF1_PROFILE).code == 0
    other_home = tmp_path / "other-laptop"
    capsys.readouterr()
    code = main(
        ["--home", str(other_home), "launch", "--yes", "--no-wait", "--profile-file", INF1_PROFILE],
        hooks,
    )
    err = " ".join(capsys.readouterr().err.split())
    assert code == 2
    assert "'inf1-demo' already exists in us-west-2 but is not recorded" in err
    assert "teardown inf1-demo --region us-west-2" in err


def test_a_busy_deployment_refuses_a_second_run(aws, run_cli):
    """Another process holds the deployment's lock (a launch of it is running)."""
    import fcntl
    import os

    folder = run_cli.home / "locks"
    folder.mkdir(parents=True)
    fd = os.open(folder / "us-west-2--inf1-demo.lock", os.O_RDWR | os.O_CREAT, 0o600)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        os.write(fd, b"a launch of 'inf1-demo' (pid 4242)")
        result = run_cli("launch", "--yes", "--no-wait", "--profile-file", INF1_PROFILE)
    finally:
        os.close(fd)
    assert result.code == 2
    assert "'inf1-demo' in us-west-2 is busy: a launch of 'inf1-demo' (pid 4242)" in result.err
    assert ec2().describe_instances()["Reservations"] == []


def test_user_data_over_16_kb_is_refused_before_anything_is_created(
    aws, run_cli, recorder, monkeypatch
):
    import os

    from amazonei_setup.agent import bundle

    monkeypatch.setattr(bundle, "build_single_file", lambda *_: "# " + os.urandom(20000).hex())
    result = run_cli("launch", "--yes", "--no-wait", "--profile-file", EIA_PROFILE)
    assert result.code == 2
    assert "gzip'd; EC2 accepts at most 16384" in " ".join(result.err.split())
    assert recorder.operations(mutating_only=True) == []


@pytest.mark.parametrize("ours", [True, False])
def test_a_create_that_meets_an_existing_role_adopts_only_its_own(aws, run_cli, hooks, ours):
    """As when a CreateRole succeeded but its answer was lost, and the retry meets the role."""
    from amazonei_setup.resources.naming import deployment_tags, tag_list

    role = "amazonei-setup-us-west-2-eia-workshop"

    def appears_first(model, params, **_):
        tags = deployment_tags("eia-workshop", "us-west-2") if ours else {"owner": "someone"}
        boto3.client("iam").create_role(
            RoleName=role, Path="/amazonei-setup/", AssumeRolePolicyDocument="{}",
            Tags=tag_list(tags),
        )  # fmt: skip

    on_event(hooks, "before-parameter-build.iam.CreateRole", appears_first)
    result = run_cli("launch", "--yes", "--no-wait", "--profile-file", EIA_PROFILE)
    if ours:
        assert result.code == 0, result.err
        policy = boto3.client("iam").get_role_policy(
            RoleName=role, PolicyName="amazonei-setup-deployment"
        )
        assert policy["PolicyDocument"]["Statement"]
    else:
        assert result.code == 1
        assert f"IAM role {role} already exists and was not made by this deployment" in result.err
        assert ec2().describe_instances()["Reservations"] == []
