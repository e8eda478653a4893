"""Issue 15.10: each instance may write only its own report. The role's policy (scoped by the
instance's ARN in a tag, resources/report_scope.py), the sandbox's evaluation of it as IAM would
(amazonei_sandbox/policy_eval.py, amazonei_sandbox/ssm_strict.py) and the readers' check of who
wrote a report."""

from __future__ import annotations

import json

import boto3
import pytest
from botocore.exceptions import ClientError
from support import sandbox_keys

from amazonei_sandbox import identities
from amazonei_sandbox.identities import InstanceIdentity
from amazonei_sandbox.policy_eval import UnsupportedPolicy, allowed
from amazonei_setup.aws.clients import AwsClients, AwsTarget
from amazonei_setup.resources.report_scope import reporter_is
from amazonei_setup.resources.role import TRUST_POLICY, instance_policy
from amazonei_setup.seats.reports import fetch_report

ACCOUNT, REGION, NAME = "123456789012", "us-west-2", "demo"
SEAT1, SEAT2 = "i-0000000000000aaaa", "i-0000000000000bbbb"
TAG = "amazonei-setup:reporter"


def arn(instance_id: str) -> str:
    return f"arn:aws:ec2:{REGION}:{ACCOUNT}:instance/{instance_id}"


def report_arn(instance_id: str) -> str:
    return f"arn:aws:ssm:{REGION}:{ACCOUNT}:parameter/amazonei-setup/{NAME}/{instance_id}/report"


def context(caller: str, tags: dict[str, str] | None = None, existing=None) -> dict:
    found: dict = {"ec2:SourceInstanceARN": arn(caller), "aws:userid": f"AROAEXAMPLE:{caller}"}
    if tags:
        found["aws:TagKeys"] = list(tags)
        found.update({f"aws:RequestTag/{k}": v for k, v in tags.items()})
    found.update({f"ssm:resourceTag/{k}": v for k, v in (existing or {}).items()})
    return found


POLICY = instance_policy(NAME, REGION, ACCOUNT, eia=False, ssm_access=False)


def test_the_role_lets_an_instance_create_its_report_only_tagged_with_its_own_arn():
    own = context(SEAT1, {TAG: arn(SEAT1)})
    assert allowed([POLICY], "ssm:PutParameter", report_arn(SEAT1), own)
    assert allowed([POLICY], "ssm:AddTagsToResource", report_arn(SEAT1), own)
    # untagged, tagged as another instance, or with another tag key too: refused
    assert not allowed([POLICY], "ssm:PutParameter", report_arn(SEAT1), context(SEAT1))
    forged = context(SEAT2, {TAG: arn(SEAT1)})
    assert not allowed([POLICY], "ssm:PutParameter", report_arn(SEAT1), forged)
    extra = context(SEAT1, {TAG: arn(SEAT1), "other": "x"})
    assert not allowed([POLICY], "ssm:PutParameter", report_arn(SEAT1), extra)
    # another deployment's reports, or any other action: refused
    elsewhere = report_arn(SEAT1).replace(f"/{NAME}/", "/other/")
    assert not allowed([POLICY], "ssm:PutParameter", elsewhere, own)
    assert not allowed([POLICY], "ssm:DeleteParameter", report_arn(SEAT1), own)


def test_no_instance_can_overwrite_or_retag_a_report_once_it_is_written():
    written = {TAG: arn(SEAT1)}
    overwrite = context(SEAT2, existing=written)  # an overwrite carries no tags
    assert not allowed([POLICY], "ssm:PutParameter", report_arn(SEAT1), overwrite)
    retag = context(SEAT2, {TAG: arn(SEAT2)}, existing=written)
    assert not allowed([POLICY], "ssm:AddTagsToResource", report_arn(SEAT1), retag)
    assert not allowed(
        [POLICY], "ssm:PutParameter", report_arn(SEAT1), context(SEAT1, existing=written)
    )
    own_again = context(SEAT1, {TAG: arn(SEAT1)}, existing=written)
    assert not allowed([POLICY], "ssm:AddTagsToResource", report_arn(SEAT1), own_again)


def test_the_planned_policy_shows_the_scoping(aws, run_cli):
    result = run_cli(
        "plan", "--name", NAME, "--region", REGION, "--instance-type", "m5.large",
        "--access", "ssm", "--output", "json",
    )  # fmt: skip
    assert result.code == 0, result.err
    [role] = [r for r in json.loads(result.out)["resources"] if r["kind"] == "iam-role"]
    statements = {s["Sid"]: s for s in role["policy"]["Statement"]}
    create = statements["AgentReportCreate"]
    assert create["Action"] == ["ssm:PutParameter"]
    assert create["Condition"]["StringEquals"] == {
        f"aws:RequestTag/{TAG}": "${ec2:SourceInstanceARN}"
    }
    assert statements["AgentReportTagOnCreate"]["Condition"]["Null"] == {
        f"ssm:resourceTag/{TAG}": "true"
    }
    assert all("Condition" in s for s in statements.values() if "ssm:PutParameter" in s["Action"])


def test_the_evaluator_follows_iams_rules_for_what_it_knows():
    allow = {"Effect": "Allow", "Action": "s3:Get*", "Resource": "arn:aws:s3:::b/${aws:userid}/*"}
    deny = {"Effect": "Deny", "Action": "s3:GetObject", "Resource": "arn:aws:s3:::b/x/secret"}
    policy = {"Statement": [allow, deny]}
    assert allowed([policy], "s3:getobject", "arn:aws:s3:::b/x/a", {"aws:userid": "x"})
    assert not allowed([policy], "s3:GetObject", "arn:aws:s3:::b/x/secret", {"aws:userid": "x"})
    assert not allowed([policy], "s3:GetObject", "arn:aws:s3:::b/y/a", {"aws:userid": "x"})
    assert not allowed([policy], "s3:GetObject", "arn:aws:s3:::b/x/a", {})  # no value: no match
    exists = {"Effect": "Allow", "Action": "a:B", "Resource": "*",
              "Condition": {"StringEqualsIfExists": {"k": "v"}}}  # fmt: skip
    assert allowed([{"Statement": exists}], "a:B", "r", {})
    assert not allowed([{"Statement": exists}], "a:B", "r", {"K": "w"})  # keys ignore case
    with pytest.raises(UnsupportedPolicy):
        allowed([{"Statement": {**exists, "Condition": {"NumericLessThan": {"k": "1"}}}}],
                "a:B", "r", {})  # fmt: skip
    with pytest.raises(UnsupportedPolicy):
        allowed([{"Statement": {"Effect": "Allow", "NotAction": "a:B", "Resource": "*"}}],
                "a:B", "r", {})  # fmt: skip


def test_reporter_tag_names_the_instance_or_another_or_nobody():
    assert reporter_is({TAG: arn(SEAT1)}, SEAT1) is True
    assert reporter_is({TAG: arn(SEAT2)}, SEAT1) is False
    assert reporter_is({TAG: "i-0000000000000aaaa"}, SEAT1) is False  # not an ARN
    assert reporter_is({}, SEAT1) is None  # written before the scoping


def _deployment_role(policy: dict) -> str:
    iam = boto3.client("iam", region_name=REGION)
    name = f"amazonei-setup-{REGION}-{NAME}"
    iam.create_role(
        RoleName=name, Path="/amazonei-setup/", AssumeRolePolicyDocument=json.dumps(TRUST_POLICY)
    )
    iam.put_role_policy(
        RoleName=name, PolicyName="amazonei-setup-deployment", PolicyDocument=json.dumps(policy)
    )
    return name


@pytest.fixture
def seats(aws):
    """Two seats' role credentials, issued as the sandbox issues them to simulated instances."""
    role = _deployment_role(POLICY)
    issued, clients = [], {}
    for instance_id in (SEAT1, SEAT2):
        identity = InstanceIdentity(instance_id, role, REGION, NAME, ACCOUNT)
        credentials = identities.REGISTRY.issue(identity)
        issued.append(instance_id)
        clients[instance_id] = boto3.client(
            "ssm",
            region_name=REGION,
            aws_access_key_id=credentials.access_key_id,
            aws_secret_access_key=credentials.secret_access_key,
            aws_session_token=credentials.session_token,
        )
    yield clients
    identities.REGISTRY.forget(issued)


def _put(client, instance_id: str, value: str, **extra):
    name = f"/amazonei-setup/{NAME}/{instance_id}/report"
    return client.put_parameter(Name=name, Value=value, Type="String", **extra)


def test_seat_two_cannot_overwrite_or_retag_seat_ones_report_in_the_sandbox(seats):
    own = [{"Key": TAG, "Value": arn(SEAT1)}]
    _put(seats[SEAT1], SEAT1, '{"status": "passed"}', Tags=own)
    with pytest.raises(ClientError) as denied:
        _put(seats[SEAT2], SEAT1, '{"status": "failed"}', Overwrite=True)
    assert denied.value.response["Error"]["Code"] == "AccessDeniedException"
    message = denied.value.response["Error"]["Message"]
    assert f"assumed-role/amazonei-setup-{REGION}-{NAME}/{SEAT2}" in message
    assert "ssm:PutParameter" in message and f"{SEAT1}/report" in message
    with pytest.raises(ClientError) as retag:
        seats[SEAT2].add_tags_to_resource(
            ResourceType="Parameter",
            ResourceId=f"/amazonei-setup/{NAME}/{SEAT1}/report",
            Tags=[{"Key": TAG, "Value": arn(SEAT2)}],
        )
    assert retag.value.response["Error"]["Code"] == "AccessDeniedException"
    owner = boto3.client("ssm", region_name=REGION)
    found = owner.get_parameter(Name=f"/amazonei-setup/{NAME}/{SEAT1}/report")["Parameter"]
    assert found["Value"] == '{"status": "passed"}' and found["Version"] == 1
    assert fetch_report(AwsClients(AwsTarget(REGION)), NAME, SEAT1) == {"status": "passed"}


def test_a_report_created_by_another_seat_is_not_taken_for_the_seats_own(seats):
    _put(seats[SEAT2], SEAT1, '{"status": "passed"}', Tags=[{"Key": TAG, "Value": arn(SEAT2)}])
    with pytest.raises(ClientError) as forged:  # nor can it claim to be seat 1
        _put(seats[SEAT2], SEAT2, "{}", Tags=[{"Key": TAG, "Value": arn(SEAT1)}])
    assert forged.value.response["Error"]["Code"] == "AccessDeniedException"
    report = fetch_report(AwsClients(AwsTarget(REGION)), NAME, SEAT1)
    assert report is not None and report["status"] == "failed"
    assert "written by another instance" in report["reason"]


def test_a_report_written_to_another_region_is_denied_as_on_aws(seats):
    """The role allows its own region's reports: an agent that published where the tool ran
    (a stack set's home region) instead of where it runs is refused; its own region works."""
    role = f"amazonei-setup-{REGION}-{NAME}"  # the seat keeps the credentials it was issued
    credentials = identities.REGISTRY.issue(InstanceIdentity(SEAT1, role, REGION, NAME, ACCOUNT))
    elsewhere = boto3.client(
        "ssm",
        region_name="us-east-1",
        aws_access_key_id=credentials.access_key_id,
        aws_secret_access_key=credentials.secret_access_key,
        aws_session_token=credentials.session_token,
    )
    own = [{"Key": TAG, "Value": arn(SEAT1)}]
    with pytest.raises(ClientError) as denied:
        _put(elsewhere, SEAT1, "{}", Tags=own)
    assert denied.value.response["Error"]["Code"] == "AccessDeniedException"
    assert f"arn:aws:ssm:us-east-1:{ACCOUNT}:parameter/amazonei-setup/" in str(denied.value)
    _put(seats[SEAT1], SEAT1, "{}", Tags=own)


def test_the_owners_own_credentials_are_not_an_instances(seats):
    owner = boto3.client("ssm", region_name=REGION)
    _put(owner, SEAT1, "{}", Overwrite=True)  # the user's sandbox keys: moto as before
    assert fetch_report(AwsClients(AwsTarget(REGION)), NAME, SEAT1) == {}


def test_each_seat_publishes_its_own_tagged_report_through_the_sandbox(tmp_path, capsys):
    """End to end over HTTP: `launch --sandbox --seats 2` runs each seat's real agent with its
    own role credentials; the sandbox lets each create only its own report, tagged with it."""
    from support import main_in_process

    from amazonei_sandbox import control

    home = tmp_path / "home"
    control.start(home)
    try:
        result = main_in_process(
            capsys, "--home", str(home), "--sandbox", "--output", "json",
            "launch", "--name", "seats", "--region", REGION, "--instance-type", "m5.large",
            "--access", "ssm", "--seats", "2", "--yes",
        )  # fmt: skip
        assert result.returncode == 0, result.stderr
        info = control.status(home)
        assert info is not None
        ssm = boto3.client(
            "ssm", region_name=REGION, endpoint_url=info.endpoint,
            **sandbox_keys(home),
        )  # fmt: skip
        names = [
            p["Name"]
            for p in ssm.get_parameters_by_path(Path="/amazonei-setup/seats", Recursive=True)[
                "Parameters"
            ]
        ]
        assert len(names) == 2
        for name in names:
            instance_id = name.split("/")[3]
            tags = ssm.list_tags_for_resource(ResourceType="Parameter", ResourceId=name)
            assert {t["Key"]: t["Value"] for t in tags["TagList"]}[TAG].endswith(
                f":instance/{instance_id}"
            )
            report = json.loads(ssm.get_parameter(Name=name)["Parameter"]["Value"])
            assert report["instance"]["id"] == instance_id
        first = sorted(names)[0]
        before = ssm.get_parameter(Name=first)["Parameter"]
        attempts = _workload_of_the_same_role(home, info.endpoint, first)
        assert attempts == {"overwrite": "AccessDeniedException", "retag": "AccessDeniedException"}
        after = ssm.get_parameter(Name=first)["Parameter"]
        assert (after["Value"], after["Version"]) == (before["Value"], before["Version"])
    finally:
        control.stop(home)


ATTACK = """#!/bin/bash
python3 - > "$AMAZONEI_SETUP_ROOT/attempts.json" <<'PY'
import json, boto3
ssm, found = boto3.client("ssm"), {}
def attempt(label, call):
    try:
        call()
        found[label] = "done"
    except Exception as error:
        found[label] = getattr(error, "response", {}).get("Error", {}).get("Code", str(error))
attempt("overwrite", lambda: ssm.put_parameter(
    Name="TARGET", Value='{"status": "passed"}', Type="String", Overwrite=True))
attempt("retag", lambda: ssm.add_tags_to_resource(
    ResourceType="Parameter", ResourceId="TARGET", Tags=[{"Key": "TAG", "Value": "mine"}]))
print(json.dumps(found))
PY
"""


def _workload_of_the_same_role(home, endpoint: str, target: str) -> dict:
    """Another instance launched with the deployment's instance profile (a seat's workload, as
    far as IAM can tell) tries to overwrite and re-tag a seat's report with its own role
    credentials; returns the error code of each attempt."""
    import time

    from amazonei_sandbox.instances import FINAL_STATES
    from amazonei_setup.seats.userdata import sandbox_signing_key, sign

    ec2 = boto3.client(
        "ec2", region_name=REGION, endpoint_url=endpoint,
        **sandbox_keys(home),
    )  # fmt: skip
    seat = ec2.describe_instances(InstanceIds=[target.split("/")[3]])["Reservations"][0]
    seat = seat["Instances"][0]
    script = ATTACK.replace("TARGET", target).replace("TAG", TAG)
    launched = ec2.run_instances(
        ImageId=seat["ImageId"], InstanceType="m5.large", MinCount=1, MaxCount=1,
        IamInstanceProfile={"Arn": seat["IamInstanceProfile"]["Arn"]},
        UserData=sign(script, sandbox_signing_key(home)),
    )["Instances"][0]["InstanceId"]  # fmt: skip
    folder = home / "sandbox" / "instances" / launched
    deadline, pause, status = time.monotonic() + 60, 0.05, {}
    while time.monotonic() < deadline:  # bounded polling, no fixed sleep
        try:
            status = json.loads((folder / "status.json").read_text())
        except (FileNotFoundError, ValueError):
            status = {}
        if status.get("state") in FINAL_STATES:
            return json.loads((folder / "root" / "attempts.json").read_text())
        time.sleep(pause)
        pause = min(pause * 1.5, 0.5)
    raise AssertionError(f"{launched} did not finish: {status}")
