"""The caller's least-privilege policy for the stack engines: `launch --engine cloudformation`
(one stack) and `launch --engine stackset` (a service-managed stack set).

CloudFormation without a service role creates a stack's resources with the caller's own
credentials, so the cloudformation policy grants, beside the stack actions, what each resource
type's handler calls (`stack_handlers`), confined as the direct engine confines it (our tag, our
IAM path, our names); no iam:PassRole for a CloudFormation role is needed, none is used.
A service-managed stack set is deployed into the member accounts by the StackSets service-linked
roles, so the stackset policy holds only the StackSets and Organizations calls the tool makes.
The cloudformation policy is more than one IAM managed policy holds: `policy/managed.py` gives
it as two, split along these statements.

How AWS authorizes each action (which resource types it takes, which need `*`) follows the
Service Authorization Reference:
https://docs.aws.amazon.com/service-authorization/latest/reference/list_awscloudformation.html
https://docs.aws.amazon.com/service-authorization/latest/reference/list_awsorganizations.html
"""

from __future__ import annotations

from typing import Any

from amazonei_setup.aws.arns import partition_of
from amazonei_setup.policy.caller import EC2_OWNED, EC2_READ, caller_policy
from amazonei_setup.resources.naming import PREFIX, TAG_MANAGED
from amazonei_setup.resources.registry import kinds

ENGINES = ("direct", "cloudformation", "stackset")


def stack_handlers() -> dict[str, tuple[str, ...]]:
    """What each resource type's CloudFormation handler calls with the caller's credentials to
    create, update, read (drift detection) and delete it, from the kinds that make those types
    (`ResourceKind.stack_handlers`): the handler permissions of the resource provider schemas
    (https://github.com/aws-cloudformation, `handlers.*.permissions`)."""
    handlers: dict[str, tuple[str, ...]] = {}
    for kind in kinds():
        for type_name, actions in kind.stack_handlers.items():
            handlers[type_name] = tuple(sorted({*handlers.get(type_name, ()), *actions}))
    return handlers


# The writes on what a stack made, allowed on ours only (the managed tag).
STACK_OWNED = sorted(
    {
        *(a for a in EC2_OWNED if a != "ec2:StartInstances"),
        "ec2:CreateLaunchTemplateVersion",
        "ec2:DeleteLaunchTemplate",
        "ec2:ModifyLaunchTemplate",
        "ec2:ModifyVpcEndpoint",  # the endpoint (its subnets and groups: LaunchIntoTheAccount)
    }
)

# Actions whose Service Authorization Reference row lists no resource type: IAM authorizes them
# only on `*` (the reference links above; EC2's Describe* and SSM/IAM's as in the direct policy).
NO_RESOURCE_TYPES = {
    *EC2_READ,
    "ec2:DescribeLaunchTemplateVersions",
    "ec2:DescribeLaunchTemplates",
    "cloudformation:DescribeStackDriftDetectionStatus",
    "ssm:ListAssociations",  # the instance's read handler
    # the handlers' EC2 describes, all but DescribeInstanceAttribute (on the instance)
    *(
        a
        for v in stack_handlers().values()
        for a in v
        if a.startswith("ec2:Describe") and a != "ec2:DescribeInstanceAttribute"
    ),
    "organizations:DescribeOrganization",
    "organizations:ListAccounts",
    "organizations:ListAccountsForParent",
    "organizations:ListOrganizationalUnitsForParent",
    "organizations:ListRoots",
}

NOTES = {
    "direct": [
        "Attach this to the user or role that runs amazonei-setup "
        "(launch, status, verify, teardown, sweep)."
    ],
    "cloudformation": [
        "Attach them to the user or role that runs `amazonei-setup launch --engine "
        "cloudformation` (and status, verify, connect, teardown of its stacks).",
        "No service role is used: CloudFormation creates the stack's resources (role, instance "
        "profile, security groups, endpoint, key pairs, launch template, instances) with these "
        "permissions, so they are in these policies; no iam:PassRole for CloudFormation is needed.",
    ],
    "stackset": [
        "Attach this to the user or role in the organization's management account (or a "
        "delegated administrator) that runs `amazonei-setup launch --engine stackset`.",
        "Member-account resources are created by the StackSets service-linked role in each "
        "target account: the caller needs no permissions in the member accounts.",
        "StackSets' trusted access with AWS Organizations must be activated once "
        "(`aws cloudformation activate-organizations-access`).",
    ],
}


def policy_for(engine: str, region: str | None = None) -> dict[str, Any]:
    """The caller's policy for one engine, its ARNs in the partition of `region`."""
    if engine == "cloudformation":
        return stack_policy(region)
    if engine == "stackset":
        return stackset_policy(region)
    return caller_policy(region)


def stack_policy(region: str | None = None) -> dict[str, Any]:
    """`launch --engine cloudformation`: our stacks, and what their resources' handlers call."""
    arn = f"arn:{partition_of(region)}"
    cfn = f"{arn}:cloudformation:*:*"
    direct = {s["Sid"]: s for s in caller_policy(region)["Statement"]}

    def extended(sid: str, actions: list[str], resources: list[str] | None = None) -> Any:
        statement = dict(direct[sid])
        statement["Action"] = sorted({*statement["Action"], *actions})
        if resources:
            statement["Resource"] = [*statement["Resource"], *resources]
        return statement

    create_actions = sorted(
        {*direct["CreateTaggedResources"]["Action"], "ec2:CreateLaunchTemplate"}
    )
    launch_template = [f"{arn}:ec2:*:*:launch-template/*"]
    ours = {"StringEquals": {f"aws:ResourceTag/{TAG_MANAGED}": "true"}}
    made = [*direct["CreateTaggedResources"]["Resource"], *launch_template]
    key_parameters = f"{arn}:ssm:*:*:parameter/ec2/keypair/*"
    policy = {
        "Version": "2012-10-17",
        "Statement": [
            # on `*` (the reference lists no resource type for any but the EC2 reads): the
            # direct engine's reads and its role listing, drift status, the error helpers (in
            # one statement: the managed-policy size limit of 6,144 characters is near)
            extended(
                "Discover",
                [
                    "cloudformation:DescribeStackDriftDetectionStatus",
                    "ec2:DescribeLaunchTemplateVersions",
                    "ec2:DescribeLaunchTemplates",
                    *direct["ListOurRoles"]["Action"],
                    *direct["ExplainErrors"]["Action"],
                ],
            ),
            {
                # The reference lists `stack*` for every change-set action (AWS authorizes them on
                # the stack); ExecuteChangeSet and DescribeChangeSet name ours by its ARN, so our
                # change sets' names are granted too, at no wider reach.
                "Sid": "OurStacks",
                "Effect": "Allow",
                "Action": [
                    "cloudformation:CreateChangeSet",
                    "cloudformation:DeleteChangeSet",
                    "cloudformation:DeleteStack",
                    "cloudformation:DescribeChangeSet",
                    "cloudformation:DescribeStackEvents",
                    "cloudformation:DescribeStackResourceDrifts",
                    "cloudformation:DescribeStacks",
                    "cloudformation:DetectStackDrift",
                    "cloudformation:ExecuteChangeSet",
                    "cloudformation:ListStackResources",
                ],
                "Resource": [f"{cfn}:stack/{PREFIX}-*/*", f"{cfn}:changeSet/{PREFIX}-*/*"],
            },
            {
                # A stack created with tags is also authorized as cloudformation:TagResource,
                # its cloudformation:CreateAction the creating call (the reference's key:
                # "control which APIs IAM users can use to add or remove tags on a stack")
                "Sid": "TagOurStacksOnCreate",
                "Effect": "Allow",
                "Action": ["cloudformation:TagResource"],
                "Resource": f"{cfn}:stack/{PREFIX}-*/*",
                "Condition": {
                    "StringEquals": {
                        "cloudformation:CreateAction": ["CreateChangeSet", "CreateStack"]
                    }
                },
            },
            extended("CreateTaggedResources", ["ec2:CreateLaunchTemplate"], launch_template),
            # RunInstances from the launch template; the endpoint handler's ModifyVpcEndpoint
            # names the subnets and groups it adds too (the endpoint itself: ChangeOnlyOurs)
            extended("LaunchIntoTheAccount", ["ec2:ModifyVpcEndpoint"], launch_template),
            direct["AttachElasticInference"],
            {
                "Sid": "TagOnCreate",  # the tags in each create request, on what it makes
                "Effect": "Allow",
                "Action": ["ec2:CreateTags"],
                "Resource": made,
                "Condition": {
                    "StringEquals": {"ec2:CreateAction": [a.split(":")[1] for a in create_actions]}
                },
            },
            {
                "Sid": "ChangeOnlyOurs",  # the handlers' updates, deletes, reads of one resource
                "Effect": "Allow",
                "Action": STACK_OWNED,
                "Resource": made,
                "Condition": ours,
            },
            direct["OurRolesOnly"],
            direct["OurRolesBeforeTheyExist"],
            direct["PassOurRolesToEc2"],
            direct["PassOurRolesIntoOurProfiles"],  # the InstanceProfile handler's AddRole...
            extended("PublicAmiParameters", ["ssm:GetParameters"]),  # SSM-typed parameters
            {
                # SecureString under the AWS managed key aws/ssm: its key policy lets the
                # account's principals use it through SSM, so no kms:Decrypt grant is needed
                "Sid": "PrivateKeysOfOurKeyPairs",
                "Effect": "Allow",
                "Action": ["ssm:DeleteParameter", "ssm:GetParameter", "ssm:PutParameter"],
                "Resource": key_parameters,
            },
            direct["AgentReports"],
            direct["SessionManagerToOurs"],
            direct["SessionManagerShell"],
            direct["OwnSessions"],
            {
                # sweep: a benchmark's model bucket left behind is found by its tags (the
                # benchmark itself runs on the direct engine and its policy)
                "Sid": "ReadOurBuckets",
                "Effect": "Allow",
                "Action": ["s3:GetBucketLocation", "s3:GetBucketTagging"],
                "Resource": f"{arn}:s3:::{PREFIX}-*",
            },
        ],
    }
    return _with_other_handlers(policy, direct, arn)


def _with_other_handlers(
    policy: dict[str, Any], direct: dict[str, Any], arn: str
) -> dict[str, Any]:
    """Every handler action (`stack_handlers`) the statements above do not name yet, put where
    the direct policy confines its like: EC2 reads without a resource type on `*`, EC2's other
    actions on ours (the managed tag: writes, and reads of one resource such as
    DescribeInstanceAttribute), IAM on our roles (our path), SSM lists on `*` and association
    reads on associations; S3's on our buckets; a kind of any other service (none built in)
    named one by one on `*`."""
    statements = {s["Sid"]: s for s in policy["Statement"]}
    granted = {a for s in policy["Statement"] for a in s["Action"]}
    wanted = {a for actions in stack_handlers().values() for a in actions}
    other: list[str] = []
    for action in sorted(wanted - granted):
        service = action.split(":", 1)[0]
        sid = {
            "ec2": "Discover" if action in NO_RESOURCE_TYPES else "ChangeOnlyOurs",
            "iam": "OurRolesOnly",
            "ssm": "Discover" if action in NO_RESOURCE_TYPES else "InstanceAssociations",
            "s3": "OurBucketsInStacks",
        }.get(service)
        if sid is None:
            other.append(action)
            continue
        if sid not in statements:
            statements[sid] = _new_statement(sid, direct, arn)
            policy["Statement"].append(statements[sid])
        statements[sid]["Action"] = sorted({*statements[sid]["Action"], action})
    if other:
        policy["Statement"].append(
            {"Sid": "OtherStackHandlers", "Effect": "Allow", "Action": other, "Resource": "*"}
        )
    return policy


def _new_statement(sid: str, direct: dict[str, Any], arn: str) -> dict[str, Any]:
    if sid == "OurBucketsInStacks":
        return {**direct["OurBuckets"], "Sid": sid, "Action": []}
    # The instance's read handler describes each State Manager association on the instance
    # (ListAssociations finds them): the reference authorizes DescribeAssociation on the
    # association only, and those that target every instance (Quick Setup's) are not ours
    return {"Sid": sid, "Effect": "Allow", "Action": [], "Resource": f"{arn}:ssm:*:*:association/*"}


def stackset_policy(region: str | None = None) -> dict[str, Any]:
    """`launch --engine stackset` (service-managed): our stack sets, their instances in the
    targets, and the organization look-ups that resolve --accounts and --ou."""
    arn = f"arn:{partition_of(region)}"
    cfn = f"{arn}:cloudformation:*:*"
    stack_set = f"{cfn}:stackset/{PREFIX}-*:*"
    direct = {s["Sid"]: s for s in caller_policy(region)["Statement"]}
    return {
        "Version": "2012-10-17",
        "Statement": [
            {
                # CreateStackSet has no resource type in the reference: IAM authorizes it on
                # `*` only, so it is held to stack sets that carry our tag as they are made
                "Sid": "CreateOurStackSets",
                "Effect": "Allow",
                "Action": ["cloudformation:CreateStackSet"],
                "Resource": "*",
                "Condition": {"StringEquals": {f"aws:RequestTag/{TAG_MANAGED}": "true"}},
            },
            {
                # ... and as cloudformation:TagResource, its CreateAction CreateStackSet
                "Sid": "TagOurStackSetsOnCreate",
                "Effect": "Allow",
                "Action": ["cloudformation:TagResource"],
                "Resource": stack_set,
                "Condition": {"StringEquals": {"cloudformation:CreateAction": "CreateStackSet"}},
            },
            {
                "Sid": "OurStackSets",
                "Effect": "Allow",
                "Action": [
                    "cloudformation:DeleteStackSet",
                    "cloudformation:DescribeStackSet",
                    "cloudformation:DescribeStackSetOperation",
                    "cloudformation:ListStackInstances",
                ],
                "Resource": stack_set,
            },
            {
                # the reference's CreateStackInstances/DeleteStackInstances rows also name the
                # stack set's targets and the resource types its template uses
                "Sid": "OurStackInstances",
                "Effect": "Allow",
                "Action": [
                    "cloudformation:CreateStackInstances",
                    "cloudformation:DeleteStackInstances",
                ],
                "Resource": [stack_set, f"{cfn}:stackset-target/*", f"{cfn}:type/resource/*"],
            },
            {
                "Sid": "ReadTheOrganization",  # no resource type in the reference: `*` only
                "Effect": "Allow",
                "Action": [
                    "organizations:DescribeOrganization",
                    "organizations:ListAccounts",
                    "organizations:ListAccountsForParent",
                    "organizations:ListOrganizationalUnitsForParent",
                    "organizations:ListRoots",
                ],
                "Resource": "*",
            },
            # an AMI per region when no public parameter names it (DescribeImages), and what
            # status, verify and sweep read in this account
            direct["Discover"],
            direct["ListOurRoles"],
            {
                "Sid": "ReadOurParameters",  # sweep's claims; authorized on the path itself
                "Effect": "Allow",
                "Action": ["ssm:GetParametersByPath"],
                "Resource": [
                    f"{arn}:ssm:*:*:parameter/{PREFIX}",
                    f"{arn}:ssm:*:*:parameter/{PREFIX}/*",
                ],
            },
        ],
    }
