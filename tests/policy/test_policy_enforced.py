"""`iam-policy`'s output is enforced: each engine's launch, status, verify, connect --print,
teardown and sweep run as an IAM user holding exactly that policy, every request authorized the
way IAM does (amazonei_sandbox/strict_caller.py), and pass; and a policy missing any one of its
statements fails with the error AWS gives.

The second half replays the run's recorded authorizations under each smaller policy: a run
under it is the same run up to the first request it refuses (nothing before that request was
decided otherwise), so that request is where it stops, with that refusal. Two statements are
also removed for real, to show what a user sees. The printed `aws ssm start-session` command
is authorized too: StartSession on the instance and the document, then Resume/TerminateSession
on the session id Session Manager gives it (the user's name, a dash, 17 hex digits).
"""

from __future__ import annotations

import json
import re

import boto3
import pytest
from support import agent_publishes, sample_report

from amazonei_sandbox.iam_requests import Request
from amazonei_sandbox.iam_resources import Lookup
from amazonei_sandbox.strict_caller import Decision, StrictCaller, denial_message, error_code
from amazonei_setup.policy.managed import managed_policies
from amazonei_setup.resources.naming import TAG_DEPLOYMENT, TAG_MANAGED

EIA = "templates/profiles/eia-workshop.yaml"
INF2 = "templates/profiles/inf2.yaml"
SESSION_SUFFIX = "0a1b2c3d4e5f67890"
# A State Manager association that targets every instance (Quick Setup's inventory): moto has
# none, so the strict mode is told of it; the instance's read handler describes it
QUICK_SETUP_ASSOCIATION = "0a1b2c3d-4e5f-6789-abcd-ef0123456789"


def _attached(engine: str, region: str) -> list[dict]:
    """What the user attaches: every managed policy `iam-policy` prints for the engine."""
    return [p["PolicyDocument"] for p in managed_policies(engine, region)]


def _without(documents: list[dict], sid: str) -> list[dict]:
    return [{**d, "Statement": [s for s in d["Statement"] if s["Sid"] != sid]} for d in documents]


def _run(strict: StrictCaller, run_cli, argv: list[str]):
    strict.command = argv[0]
    result = run_cli(*argv)
    if argv[0] == "connect":
        _printed_session(strict, result.out)
    return result


def _printed_session(strict: StrictCaller, printed: str) -> None:
    """What the printed `aws ssm start-session` asks of IAM, decided like the tool's calls."""
    found = re.search(r"aws ssm start-session --target (\S+) --region (\S+)", printed)
    if found is None:
        return
    target, region = found.groups()
    session = f"{strict.user_name}-{SESSION_SUFFIX}"
    strict.command = "connect (the printed command)"
    for operation, params in (
        ("StartSession", {"Target": target}),
        ("ResumeSession", {"SessionId": session}),
        ("TerminateSession", {"SessionId": session}),
    ):
        strict.log.append(strict.decide(Request("ssm", operation, params, region, strict.account)))


def _orphan_bucket(region: str) -> None:
    """A model bucket a benchmark left behind: sweep must be able to read its tags."""
    s3 = boto3.client("s3", region_name=region)
    name = f"amazonei-setup-123456789012-{region}-gone"
    s3.create_bucket(Bucket=name, CreateBucketConfiguration={"LocationConstraint": region})
    tags = [{"Key": TAG_MANAGED, "Value": "true"}, {"Key": TAG_DEPLOYMENT, "Value": "gone"}]
    s3.put_bucket_tagging(Bucket=name, Tagging={"TagSet": tags})


def _publish_reports(region: str, deployment: str) -> None:
    """Stand in for the agents of a stack's instances (made by CloudFormation, not by a call)."""
    ec2, ssm = boto3.client("ec2", region_name=region), boto3.client("ssm", region_name=region)
    by_tag = [{"Name": f"tag:{TAG_DEPLOYMENT}", "Values": [deployment]}]
    for reservation in ec2.describe_instances(Filters=by_tag)["Reservations"]:
        for instance in reservation["Instances"]:
            ssm.put_parameter(
                Name=f"/amazonei-setup/{deployment}/{instance['InstanceId']}/report",
                Value=json.dumps(sample_report()),
                Type="String",
                Overwrite=True,
            )


def _statements(documents: list[dict]) -> list[dict]:
    return [s for d in documents for s in d["Statement"]]


def _first_refusals(strict: StrictCaller, documents: list[dict]) -> dict[str, tuple[Decision, str]]:
    """For each statement (of any attached policy), the first recorded request the policies
    without it refuse, and the error AWS answers it with; statements no request needs are
    missing."""
    found = {}
    for statement in _statements(documents):
        smaller = _without(documents, statement["Sid"])
        for decision in strict.log:
            again = strict.replay(decision, smaller)
            if again.denied is not None:
                service = again.request.service
                code = error_code(_protocol(service), service)
                found[statement["Sid"]] = (again, f"{code}: {_words(strict, again)}")
                break
    return found


def _protocol(service: str) -> str:
    import botocore.session

    return str(botocore.session.get_session().get_service_model(service).protocol)


def _words(strict: StrictCaller, decision: Decision) -> str:
    assert decision.denied is not None
    return denial_message(strict.user_arn, decision.denied, decision.request.service)


def _assert_every_statement_is_needed(strict: StrictCaller, documents: list[dict]) -> None:
    refused = _first_refusals(strict, documents)
    unneeded = [s["Sid"] for s in _statements(documents) if s["Sid"] not in refused]
    assert unneeded == [], f"statements no request of the run needs: {unneeded}"
    for sid, (decision, error) in refused.items():
        assert decision.denied is not None
        action = decision.denied.action
        assert f"is not authorized to perform: {action}" in error, (sid, error)
        assert f"because no identity-based policy allows the {action} action" in error
        expected = {"ec2": "UnauthorizedOperation", "ssm": "AccessDeniedException"}
        prefix = expected.get(decision.request.service, "AccessDenied")
        assert error.startswith(prefix), (sid, error)


def _nothing_refused(strict: StrictCaller) -> list[str]:
    return [
        f"{d.command}: {d.request.operation} -> {d.denied.action} on {d.denied.resource} "
        f"{d.denied.context}"
        for d in strict.log
        if d.denied is not None
    ]


def _launched(strict: StrictCaller, run_cli, *argv: str) -> None:
    result = _run(strict, run_cli, ["launch", "--yes", *argv])
    assert result.code == 0, (argv, result.err[-1500:])


def _dns_hostnames_off(region: str) -> None:
    """The default VPC without DNS hostnames: the endpoint's private DNS must turn them on."""
    ec2 = boto3.client("ec2", region_name=region)
    vpc = ec2.describe_vpcs(Filters=[{"Name": "is-default", "Values": ["true"]}])["Vpcs"][0]
    ec2.modify_vpc_attribute(VpcId=vpc["VpcId"], EnableDnsHostnames={"Value": False})


# Each engine's runs, between them asking for every statement of its policy: a workshop with an
# accelerator over SSM (its endpoint turning on the VPC's private DNS), re-run with another
# expiry and tags, a second deployment joining its endpoint, and an AMI from a public parameter
# (a GPU: the Neuron rule reads none since SDK 2.32 dropped PyTorch from its latest image).
DIRECT_LAUNCHES = [
    ["--profile-file", EIA, "--access", "ssm", "--ttl", "8h"],
    ["--profile-file", EIA, "--access", "ssm", "--ttl", "4h", "--tag", "workshop=again"],
    ["--profile-file", EIA, "--access", "ssm", "--name", "second", "--no-wait"],
    [
        "--profile-file",
        "templates/profiles/inf1-ssm.yaml",
        "--instance-type",
        "g5.xlarge",
        "--no-wait",
    ],
]
STACK_LAUNCHES = [
    ["--profile-file", EIA, "--engine", "cloudformation", "--no-wait"],
    ["--profile-file", "templates/profiles/inf1-ssm.yaml", "--instance-type", "g5.xlarge",
     "--engine", "cloudformation", "--no-wait"],
]  # fmt: skip
DEPLOYMENTS = {"direct": ["eia-workshop", "second", "inf1-demo"],
               "cloudformation": ["eia-workshop", "inf1-demo"]}  # fmt: skip


@pytest.mark.slow
@pytest.mark.parametrize("engine", ["direct", "cloudformation"])
def test_a_stack_or_direct_deployment_runs_on_exactly_its_policy(
    aws, run_cli, hooks, monkeypatch, engine
):
    policy = _attached(engine, "us-west-2")  # the cloudformation engine's: two
    assert len(policy) == (2 if engine == "cloudformation" else 1)
    strict = StrictCaller(policy)
    monkeypatch.setattr(Lookup, "associations", lambda self, i: [QUICK_SETUP_ASSOCIATION])
    agent_publishes(hooks, lambda instance_id: sample_report())
    hooks.session_factory = strict.wrap(hooks.session_factory)
    if engine == "direct":  # a stack cannot turn them on: the engine refuses such a VPC
        _dns_hostnames_off("us-west-2")
    for argv in DIRECT_LAUNCHES if engine == "direct" else STACK_LAUNCHES:
        _launched(strict, run_cli, *argv)
    _publish_reports("us-west-2", "eia-workshop")
    _publish_reports("us-west-2", "inf1-demo")
    assert _run(strict, run_cli, ["status"]).code == 0
    for name in ("eia-workshop", "inf1-demo"):
        assert _run(strict, run_cli, ["status", name]).code == 0  # a stack's: its drift too
        for argv in (["verify", name], ["connect", name, "--print"]):
            result = _run(strict, run_cli, argv)
            assert result.code == 0, (argv, result.err)
    assert strict.log[-1].request.operation == "TerminateSession"  # the printed command's
    for name in DEPLOYMENTS[engine]:
        gone = _run(strict, run_cli, ["teardown", name, "--yes"])
        assert gone.code == 0, (name, gone.err)
    _orphan_bucket("us-west-2")
    swept = _run(strict, run_cli, ["sweep", "--region", "us-west-2"])
    assert swept.code == 0, swept.err
    assert "gone" in swept.out  # the orphaned bucket, found by its tags
    assert _nothing_refused(strict) == []
    _assert_every_statement_is_needed(strict, policy)


@pytest.mark.slow
def test_a_stack_set_deployment_runs_on_exactly_its_policy(org, run_cli, hooks, tmp_path):
    policy = _attached("stackset", "us-east-1")
    strict = StrictCaller(policy)
    hooks.session_factory = strict.wrap(hooks.session_factory)
    launch = ["launch", "--profile-file", INF2, "--engine", "stackset", "--ou", org["ou"]]
    launched = _run(strict, run_cli, [*launch, "--regions", "us-east-1", "--yes"])
    assert launched.code == 0, launched.err
    assert _run(strict, run_cli, ["status"]).code == 0
    # a stack set's instances live in the member accounts: verify and connect say so (exit 2,
    # as without the strict mode) and ask AWS nothing the policy refuses
    for argv in (["verify", "inf2-demo"], ["connect", "inf2-demo", "--print"]):
        refused = _run(strict, run_cli, argv)
        assert refused.code == 2 and "no running instance" in refused.err, refused.err
    assert _run(strict, run_cli, ["teardown", "inf2-demo", "--yes"]).code == 0
    assert _run(strict, run_cli, ["sweep", "--region", "us-east-1"]).code == 0
    assert _nothing_refused(strict) == []
    _assert_every_statement_is_needed(strict, policy)


def test_a_launch_without_a_statement_stops_with_aws_s_words(aws, run_cli, hooks, recorder):
    """For real: the EC2 launch grant gone, the accelerator's dry run is refused as EC2 refuses
    it, and nothing is created."""
    strict = StrictCaller(_without(_attached("direct", "us-west-2"), "LaunchIntoTheAccount"))
    hooks.session_factory = strict.wrap(hooks.session_factory)
    result = run_cli("launch", "--yes", "--no-wait", "--profile-file", EIA)
    flat = " ".join(result.err.split())
    assert result.code == 1, result.err
    assert "UnauthorizedOperation" in flat and "Encoded authorization failure message" in flat
    assert f"User: {strict.user_arn} is not authorized to perform: ec2:RunInstances" in flat
    assert "decode-authorization-message" in flat
    assert recorder.operations(mutating_only=True) == []


def test_a_stack_set_without_its_create_grant_is_refused(org, run_cli, hooks):
    policy = _without(_attached("stackset", "us-east-1"), "CreateOurStackSets")
    hooks.session_factory = StrictCaller(policy).wrap(hooks.session_factory)
    launch = ["launch", "--profile-file", INF2, "--engine", "stackset", "--ou", org["ou"]]
    result = run_cli(*launch, "--regions", "us-east-1", "--yes")
    flat = " ".join(result.err.split())
    assert result.code == 1, result.err
    assert "AccessDenied" in flat and "perform: cloudformation:CreateStackSet because" in flat
    cfn = boto3.client("cloudformation", region_name="us-east-1")
    assert cfn.list_stack_sets()["Summaries"] == []
