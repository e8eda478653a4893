"""The instance's IAM role: trusted by EC2, with one inline policy scoped to this deployment."""

from __future__ import annotations

import json
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar

from amazonei_setup.aws.arns import partition_of
from amazonei_setup.aws.clients import AwsClients, aws_errors, is_error, unless_absent
from amazonei_setup.resources.adopt import create_or_adopt
from amazonei_setup.resources.iam_named import by_deployment, deployments_own
from amazonei_setup.resources.kind import (
    ApplyRun,
    Collect,
    DiscoverInput,
    Found,
    PlanInput,
    PlannedResource,
    ResourceKind,
    TagChange,
    TeardownAction,
    TeardownRun,
    TeardownStep,
)
from amazonei_setup.resources.model_objects import instance_statements
from amazonei_setup.resources.naming import (
    IAM_PATH,
    role_name,
    tag_dict,
    tag_list,
)
from amazonei_setup.resources.report_scope import report_statements
from amazonei_setup.resources.stack_form import (
    ACCOUNT,
    REGION,
    ROLE,
    StackInput,
    StackPart,
    sub,
)
from amazonei_setup.resources.stack_handlers import handlers_of

if TYPE_CHECKING:
    from amazonei_setup.spec.profile import BenchmarkAccess
    from amazonei_setup.state.ledger import Ledger

POLICY_NAME = "amazonei-setup-deployment"
SSM_ON_ANY = (  # why the SessionManager statement's Resource is "*" (checkov: CKV_AWS_111)
    "the Session Manager agent's actions (ssm:UpdateInstanceInformation, "
    "ssmmessages:Create/OpenControlChannel, Create/OpenDataChannel) take no resource-level "
    "permissions; AWS's own AmazonSSMManagedInstanceCore grants them on *"
)
TRUST_POLICY = {
    "Version": "2012-10-17",
    "Statement": [
        {
            "Effect": "Allow",
            "Principal": {"Service": "ec2.amazonaws.com"},
            "Action": "sts:AssumeRole",
        }
    ],
}
# What Session Manager needs on the instance (AWS's minimal custom-role list), instead of the
# much wider AmazonSSMManagedInstanceCore managed policy.
SESSION_MANAGER_ACTIONS = [
    "ssm:UpdateInstanceInformation",
    "ssmmessages:CreateControlChannel",
    "ssmmessages:CreateDataChannel",
    "ssmmessages:OpenControlChannel",
    "ssmmessages:OpenDataChannel",
]


def benchmark_statements(partition: str, access: BenchmarkAccess) -> list[dict[str, Any]]:
    """A benchmark candidate reads its harness, model and job, and writes its result: those
    objects of the benchmark's bucket and no other."""
    return instance_statements(partition, access.bucket, access.read_keys, [access.result_key])


def instance_policy(
    name: str,
    region: str,
    account_id: str,
    *,
    eia: bool,
    ssm_access: bool,
    benchmark: BenchmarkAccess | None = None,
) -> dict[str, Any]:
    """Least privilege: the agent writes its own report under /amazonei-setup/<name>/ and
    nothing else (report_scope.py: each instance only its own); EI Connect only when an
    accelerator is attached; Session Manager only when chosen; a benchmark's own objects."""
    partition = partition_of(region)
    statements: list[dict[str, Any]] = report_statements(name, partition, region, account_id)
    if benchmark is not None:
        statements += benchmark_statements(partition, benchmark)
    if eia:
        statements.append(
            {
                "Sid": "ElasticInference",
                "Effect": "Allow",
                "Action": ["elastic-inference:Connect"],
                "Resource": (
                    f"arn:{partition}:elastic-inference:{region}:{account_id}:"
                    "elastic-inference-accelerator/*"
                ),
            }
        )
    if ssm_access:
        statements.append(
            {
                "Sid": "SessionManager",
                "Effect": "Allow",
                "Action": SESSION_MANAGER_ACTIONS,
                "Resource": "*",
            }
        )
    return {"Version": "2012-10-17", "Statement": statements}


def find(clients: AwsClients, role_name: str) -> dict[str, Any] | None:
    """The role and its current inline policy, or None."""
    with aws_errors(f"looking up IAM role {role_name}"):
        found = unless_absent(lambda: clients.iam.get_role(RoleName=role_name), "NoSuchEntity")
        if found is None:
            return None
        role = found["Role"]
        policy = unless_absent(
            lambda: clients.iam.get_role_policy(RoleName=role_name, PolicyName=POLICY_NAME),
            "NoSuchEntity",
        )
        document = policy["PolicyDocument"] if policy else None
    if isinstance(document, str):
        from urllib.parse import unquote

        document = json.loads(unquote(document))
    return {
        "arn": role["Arn"],
        "name": role["RoleName"],
        "policy": document,
        "tags": tag_dict(role.get("Tags")),
    }


def create(clients: AwsClients, role_name: str, tags: dict[str, str]) -> str:
    return create_or_adopt(
        lambda: _create(clients, role_name, tags),
        lambda: find(clients, role_name),
        tags,
        f"IAM role {role_name}",
    )


def _create(clients: AwsClients, role_name: str, tags: dict[str, str]) -> str:
    with aws_errors(f"creating IAM role {role_name}"):
        role = clients.iam.create_role(
            RoleName=role_name,
            Path=IAM_PATH,
            AssumeRolePolicyDocument=json.dumps(TRUST_POLICY),
            Description="amazonei-setup instance role (created by the tool; removed by teardown)",
            MaxSessionDuration=3600,
            Tags=tag_list(tags),
        )["Role"]
    return str(role["Arn"])


def put_policy(clients: AwsClients, role_name: str, document: dict[str, Any]) -> None:
    with aws_errors(f"writing the inline policy of IAM role {role_name}"):
        clients.iam.put_role_policy(
            RoleName=role_name, PolicyName=POLICY_NAME, PolicyDocument=json.dumps(document)
        )


def delete_policies(clients: AwsClients, role_name: str) -> bool:
    """Its inline and its attached policies, both lists at once; False when the role is gone."""
    from concurrent.futures import ThreadPoolExecutor

    def inline() -> None:
        for policy in clients.iam.list_role_policies(RoleName=role_name)["PolicyNames"]:
            clients.iam.delete_role_policy(RoleName=role_name, PolicyName=policy)

    def attached() -> None:
        found = clients.iam.list_attached_role_policies(RoleName=role_name)["AttachedPolicies"]
        for policy in found:
            clients.iam.detach_role_policy(RoleName=role_name, PolicyArn=policy["PolicyArn"])

    with aws_errors(f"removing the policies of IAM role {role_name}"):
        with ThreadPoolExecutor(max_workers=2, thread_name_prefix="role-policies") as pool:
            futures = [pool.submit(inline), pool.submit(attached)]
        try:
            for future in futures:
                future.result()
        except Exception as exc:
            if is_error(exc, "NoSuchEntity"):
                return False
            raise
    return True


def delete(clients: AwsClients, role_name: str, *, policies_gone: bool = False) -> bool:
    """Inline and attached policies, then the role (AWS refuses any other order); the role
    must be out of its instance profile by then. False when it was already gone."""
    if not policies_gone and not delete_policies(clients, role_name):
        return False
    with aws_errors(f"deleting IAM role {role_name}"):
        deleted = unless_absent(lambda: clients.iam.delete_role(RoleName=role_name), "NoSuchEntity")
    return deleted is not None


class RoleKind(ResourceKind):
    """The instance role: created with the deployment, its inline policy kept as planned."""

    kind = "iam-role"
    caller_actions: ClassVar[dict[str, tuple[str, ...]]] = {
        "iam": (
            "iam:CreateRole",
            "iam:DeleteRole",
            "iam:DeleteRolePolicy",
            "iam:DetachRolePolicy",
            "iam:GetRole",
            "iam:GetRolePolicy",
            "iam:ListAttachedRolePolicies",
            "iam:ListRolePolicies",
            "iam:PutRolePolicy",
            "iam:TagRole",
            "iam:UntagRole",
        )
    }
    title = "IAM role"
    count_key = "iam_roles"

    def discover(self, look: DiscoverInput) -> Collect:
        found = look.pool.submit(
            find, look.clients, role_name(look.profile.name, look.profile.region)
        )

        def collect() -> tuple[Any, int]:
            role = found.result()
            return role, 2 if role is not None else 1  # the role, then its inline policy

        return collect

    def plan(self, given: PlanInput) -> list[PlannedResource]:
        profile, discovery = given.profile, given.discovery
        name = role_name(profile.name, profile.region)
        policy = instance_policy(
            profile.name,
            profile.region,
            discovery.account_id,
            eia=profile.has_eia,
            ssm_access=profile.access.mode == "ssm",
            benchmark=profile.agent.benchmark,
        )
        existing = discovery.existing.of(self.kind)
        if existing is None:
            role = PlannedResource("role", self.kind, name, "create", why="instance role")
        elif existing["policy"] != policy:
            role = PlannedResource("role", self.kind, name, "update", existing["arn"])
            role.why = "policy differs"
        else:
            role = PlannedResource("role", self.kind, name, "reuse", existing["arn"])
        role.details = policy
        return [role]

    def step_calls(self, resource: PlannedResource) -> int:
        return {"create": 2, "reuse": 0}.get(resource.action, 1)  # create, then the policy

    def apply(self, run: ApplyRun, resource: PlannedResource) -> str:
        arn = resource.id or create(run.clients, resource.name, run.tags)
        if resource.action == "create":
            run.remember(resource, arn, owned=True)
        put_policy(run.clients, resource.name, resource.details)
        return arn

    def inventory(
        self, clients: AwsClients, pool: ThreadPoolExecutor, name: str, region: str
    ) -> Future[list[Any]]:
        return pool.submit(deployments_own, find, clients, name, region)

    def region_inventory(self, clients: AwsClients, region: str) -> dict[str, list[Any]]:
        with aws_errors("listing IAM roles"):
            pages = clients.iam.get_paginator("list_roles").paginate(PathPrefix=IAM_PATH)
            names = [role["RoleName"] for page in pages for role in page["Roles"]]
        return by_deployment(find, clients, names, region)

    def retag(
        self, clients: AwsClients, found: Found, change: TagChange, ec2_ids: list[str]
    ) -> None:
        for role in found.of(self.kind):
            if change.put:
                clients.iam.tag_role(RoleName=role["name"], Tags=tag_list(change.put))
            if change.remove:
                clients.iam.untag_role(RoleName=role["name"], TagKeys=change.remove)

    def teardown(self, found: Found, home: Path, ledger: Ledger) -> list[TeardownStep]:
        actions = [
            TeardownAction("delete", self.kind, r["name"], r["arn"]) for r in found.of(self.kind)
        ]
        return [TeardownStep("role", self.kind, tuple(actions))] if actions else []

    def remove(self, run: TeardownRun, step: TeardownStep) -> list[TeardownAction]:
        for action in step.actions:
            delete(run.clients, action.name)
        return list(step.actions)

    stack_handlers: ClassVar[dict[str, tuple[str, ...]]] = handlers_of("AWS::IAM::Role")
    stack_records: ClassVar[dict[str, str]] = {ROLE: "role"}

    def stack_part(self, given: StackInput, seat: int | None) -> StackPart:
        """The direct engine's role: same trust, same scoped inline policy, ARNs made neutral."""
        if seat is not None:
            return StackPart()
        profile = given.profile
        policy = instance_policy(
            profile.name,
            profile.region,
            ACCOUNT,
            eia=profile.has_eia,
            ssm_access=profile.access.mode == "ssm",
        )
        own_arn = f"arn:{partition_of(profile.region)}:"
        for statement in policy["Statement"]:
            resource = statement["Resource"]
            if resource != "*":
                neutral = resource.replace(own_arn, "arn:${AWS::Partition}:", 1)
                statement["Resource"] = sub(neutral.replace(f":{profile.region}:", f":{REGION}:"))
        role: dict[str, Any] = {
            "Type": "AWS::IAM::Role",
            "Properties": {
                "RoleName": sub(role_name(profile.name, REGION)),
                "Path": IAM_PATH,
                "AssumeRolePolicyDocument": TRUST_POLICY,
                "Policies": [{"PolicyName": POLICY_NAME, "PolicyDocument": policy}],
                "Tags": tag_list(given.tags),
            },
        }
        metadata: dict[str, Any] = {}
        if profile.has_eia:  # cfn-lint's IAM data dropped the retired service; AWS needs it
            metadata["cfn-lint"] = {"config": {"ignore_checks": ["W3037"]}}
        if profile.access.mode == "ssm":
            metadata["checkov"] = {"skip": [{"id": "CKV_AWS_111", "comment": SSM_ON_ANY}]}
        if metadata:
            role["Metadata"] = metadata
        return StackPart({ROLE: role})


KIND = RoleKind()
