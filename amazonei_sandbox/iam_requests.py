"""How IAM authorizes one API request: the (action, resource ARN, condition context) checks it
makes, every one of which must be allowed (strict_caller.py decides them).

- The action: the operation's name under the service's IAM prefix (S3's own names from
  `aws/s3_actions`).
- The resources: what the request names or creates (iam_resources.py, per service), kept for
  the resource types the Service Authorization Reference lists for the action (iam_reference.py),
  each as the reference's ARN format writes it. An action with no resource type is authorized
  on `*`; one whose required resource type the request does not yield raises UnmappedRequest.
- The context: the request's tags (`aws:RequestTag/K`, `aws:TagKeys`) and the resource's
  (`aws:ResourceTag/K` and the service's own `ec2:`/`iam:`/`ssm:` form), and the action's own
  keys, each only where the reference lists it for that action and resource type; the caller's
  global keys are added by the caller.
- The checks IAM adds: iam:PassRole on the role an instance profile hands over (RunInstances,
  with `iam:PassedToService` = ec2.amazonaws.com; AddRoleToInstanceProfile, without it: the API
  reference says its caller needs PassRole, and no service is passed to), and tag-on-create:
  ec2:CreateTags with `ec2:CreateAction` for every TagSpecification of an EC2 create (EC2 User
  Guide, "Grant permission to tag resources during creation"), cloudformation:TagResource with
  `cloudformation:CreateAction` for a stack or stack set created with tags (the reference's
  `cloudformation:CreateAction`: "control which APIs IAM users can use to add or remove tags on
  a stack or stack set").
"""

from __future__ import annotations

import functools
from dataclasses import dataclass, field

from amazonei_sandbox.iam_reference import ActionFacts, UnmappedRequest, action_facts, arn_of
from amazonei_sandbox.iam_resources import Lookup, Named, Request, resources_of

Context = dict[str, "str | list[str]"]
# The service's own spelling of a resource tag key, beside aws:ResourceTag.
_OWN_RESOURCE_TAG = {"ec2": "ec2:ResourceTag", "iam": "iam:ResourceTag", "ssm": "ssm:resourceTag"}
# S3 operations IAM authorizes under another action's name (Service Authorization Reference,
# list_amazons3: "API operations defined by Amazon S3"); every other S3 operation the tool
# calls is an action of its own name, and one that is not raises UnmappedRequest.
S3_RENAMED = {
    "CompleteMultipartUpload": "PutObject",
    "CreateMultipartUpload": "PutObject",
    "DeleteObjects": "DeleteObject",
    "DeletePublicAccessBlock": "PutBucketPublicAccessBlock",
    "GetBucketEncryption": "GetEncryptionConfiguration",
    "GetBucketLifecycleConfiguration": "GetLifecycleConfiguration",
    "GetPublicAccessBlock": "GetBucketPublicAccessBlock",
    "HeadBucket": "ListBucket",
    "HeadObject": "GetObject",
    "ListBuckets": "ListAllMyBuckets",
    "ListMultipartUploads": "ListBucketMultipartUploads",
    "ListObjectVersions": "ListBucketVersions",
    "ListObjects": "ListBucket",
    "ListObjectsV2": "ListBucket",
    "ListParts": "ListMultipartUploadParts",
    "PutBucketEncryption": "PutEncryptionConfiguration",
    "PutBucketLifecycleConfiguration": "PutLifecycleConfiguration",
    "PutPublicAccessBlock": "PutBucketPublicAccessBlock",
    "UploadPart": "PutObject",
}
# Operations that need no permission at all (sts:GetCallerIdentity: "No permissions are
# required to perform this operation", STS API Reference).
NO_AUTHORIZATION = {("sts", "GetCallerIdentity")}


@dataclass(frozen=True)
class Check:
    """One authorization IAM makes for a request."""

    action: str
    resource: str
    context: Context = field(default_factory=dict)


@functools.cache
def iam_prefix(service: str) -> str:
    """The IAM service prefix of a botocore service (bundled data: read once per process)."""
    import botocore.session

    model = botocore.session.get_session().get_service_model(service)
    return str(model.metadata.get("signingName") or model.endpoint_prefix)


def action_name(service: str, operation: str) -> tuple[str, str]:
    """(prefix, action) IAM authorizes the operation as: its own name, but for the S3
    operations authorized under another (the reference's "API operations" table for S3)."""
    if service == "s3":
        return "s3", S3_RENAMED.get(operation, operation)
    return iam_prefix(service), operation


def checks_for(request: Request, lookup: Lookup) -> list[Check]:
    """Every authorization IAM makes for `request`, in the order AWS reports the first denial."""
    if (request.service, request.operation) in NO_AUTHORIZATION:
        return []
    prefix, name = action_name(request.service, request.operation)
    facts = action_facts(prefix, name)
    named = resources_of(request, lookup)
    checks = [
        Check(facts.action, arn, _context(facts, prefix, n, request))
        for n, arn in _arns(facts, prefix, named, request)
    ]
    checks += _pass_role(request, lookup, named)
    checks += _tag_on_create(request, prefix, named)
    return checks


def _arns(
    facts: ActionFacts, prefix: str, named: list[Named], request: Request
) -> list[tuple[Named | None, str]]:
    if not facts.resources:  # on `*`; what the request creates still gives its tags
        return [(next((n for n in named if n.created), None), "*")]
    kept = [n for n in named if n.resource_type in facts.resources]
    missing = [
        use.name
        for use in facts.resources.values()
        if use.required and not any(n.resource_type == use.name for n in kept)
    ]
    if missing:
        raise UnmappedRequest(
            f"{facts.action}: the sandbox cannot tell the {', '.join(missing)} ARN(s) of "
            f"{request.service} {request.operation} {sorted(request.params)}"
        )
    if not kept:
        return [(None, "*")]
    return [(n, _arn(prefix, n, request)) for n in kept]


def _arn(prefix: str, named: Named, request: Request) -> str:
    account = request.account if named.in_account else ""
    service = named.prefix or prefix
    return arn_of(service, named.resource_type, request.region, account, *named.values)


def _context(facts: ActionFacts, prefix: str, named: Named | None, request: Request) -> Context:
    kind = named.resource_type if named else None
    wanted: Context = {}
    if named is not None and named.request_tags is not None:
        for key, value in named.request_tags.items():
            wanted[f"aws:RequestTag/{key}"] = value
        wanted["aws:TagKeys"] = list(named.request_tags)
    if named is not None and named.tag_keys is not None:
        wanted["aws:TagKeys"] = list(named.tag_keys)
    for key, value in (named.extra if named else {}).items():
        wanted[key] = value
    context: Context = {
        k: v for k, v in wanted.items() if facts.supports(k, kind, request_key=True)
    }
    for key, value in ((named.resource_tags or {}) if named else {}).items():
        for form in ("aws:ResourceTag", _OWN_RESOURCE_TAG.get(prefix)):
            if form and facts.supports(f"{form}/{key}", kind, request_key=False):
                context[f"{form}/{key}"] = value
    return context


def _pass_role(request: Request, lookup: Lookup, named: list[Named]) -> list[Check]:
    """iam:PassRole on the role an instance profile hands to EC2 (or takes in)."""
    op, params = request.operation, request.params
    if request.service == "ec2" and op in ("RunInstances", "AssociateIamInstanceProfile"):
        profile = params.get("IamInstanceProfile") or {}
        key = profile.get("Arn") or profile.get("Name")
        if not key:
            return []
        role = lookup.profile_role(str(key))
        if role is None:
            return []  # no such profile, or no role in it: EC2 refuses it anyway
        service: Context = {"iam:PassedToService": "ec2.amazonaws.com"}
        return [_role_check(request, lookup, role, service)]
    if request.service == "iam" and op == "AddRoleToInstanceProfile":
        return [_role_check(request, lookup, str(params["RoleName"]), {})]
    return []


def _role_check(request: Request, lookup: Lookup, role: str, context: Context) -> Check:
    from amazonei_sandbox.iam_resources import role_value

    facts = action_facts("iam", "PassRole")
    found = lookup.role(role)
    value = role_value(role, found[0] if found else None)
    arn = arn_of("iam", "role", request.region, request.account, value)
    kept = {k: v for k, v in context.items() if facts.supports(k, "role", request_key=True)}
    return Check(facts.action, arn, kept)


def _tag_on_create(request: Request, prefix: str, named: list[Named]) -> list[Check]:
    """The tagging authorization a create with tags adds, on each resource it tags."""
    tagging = {"ec2": ("CreateTags", "ec2:CreateAction"),
               "cloudformation": ("TagResource", "cloudformation:CreateAction")}  # fmt: skip
    if prefix not in tagging or not request.operation.startswith(("Create", "Run", "Import")):
        return []
    action, create_key = tagging[prefix]
    facts = action_facts(prefix, action)
    checks = []
    for n in named:
        if not n.created or not n.request_tags or n.resource_type not in facts.resources:
            continue
        tags = Named(n.resource_type, n.values, request_tags=n.request_tags, prefix=n.prefix,
                     in_account=n.in_account, extra={create_key: request.operation})  # fmt: skip
        checks.append(
            Check(facts.action, _arn(prefix, tags, request), _context(facts, prefix, tags, request))
        )
    return checks
