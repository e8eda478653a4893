"""SSM as AWS answers an instance's role credentials, where moto lets anyone write anything:
PutParameter and AddTagsToResource signed by a simulated instance (identities.py) are decided by
the instance role's policies, read from moto's IAM backend, with the policy variables and
condition keys IAM gives that instance's requests (`ec2:SourceInstanceARN`, `aws:userid` =
`ROLE-ID:INSTANCE-ID`, the request's and the parameter's tags, `ssm:Overwrite`). What they do
not allow answers `AccessDeniedException`, as SSM does. PutParameter with Tags needs
ssm:AddTagsToResource as well. Requests with any other credentials (the owner's) pass as before.

Installed once per process by `sandbox.seed.seed_region`, next to ec2_strict.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any
from urllib.parse import unquote

from moto.ssm.exceptions import AccessDeniedException
from moto.ssm.responses import SimpleSystemManagerResponse

from amazonei_sandbox.identities import InstanceIdentity, identity_of
from amazonei_sandbox.patching import once
from amazonei_sandbox.policy_eval import allowed
from amazonei_setup.aws.arns import partition_of


@once
def install() -> None:
    """Wrap moto's PutParameter and AddTagsToResource once per process (thread-safe)."""
    put, tag = (
        SimpleSystemManagerResponse.put_parameter,
        SimpleSystemManagerResponse.add_tags_to_resource,
    )

    def put_parameter(self: Any) -> Any:
        tags = self._get_param("Tags") or []
        actions = ["ssm:PutParameter"] + (["ssm:AddTagsToResource"] if tags else [])
        overwrite = bool(self._get_param("Overwrite", False))
        _authorize(self, actions, self._get_param("Name"), tags, overwrite)
        return put(self)

    def add_tags_to_resource(self: Any) -> Any:
        if self._get_param("ResourceType") == "Parameter":
            name, tags = self._get_param("ResourceId"), self._get_param("Tags") or []
            _authorize(self, ["ssm:AddTagsToResource"], name, tags, None)
        return tag(self)

    SimpleSystemManagerResponse.put_parameter = put_parameter  # type: ignore[method-assign]
    SimpleSystemManagerResponse.add_tags_to_resource = add_tags_to_resource  # type: ignore[method-assign]


def _authorize(
    response: Any, actions: list[str], name: str, tags: list[dict], overwrite: bool | None
) -> None:
    identity = identity_of(response.get_access_key())
    if identity is None:
        return
    role = role_of(identity)
    # The parameter lives in the region the request went to, not necessarily the instance's:
    # a role scoped to its own region's reports denies a write anywhere else, as on AWS.
    region = getattr(response, "region", None) or identity.region
    resource = parameter_arn(region, identity.account_id, str(name))
    existing = _parameter_tags(response.ssm_backend, str(name))
    context = request_context(identity, role, tags, existing, overwrite)
    policies = role_policies(role)
    for action in actions:
        if not allowed(policies, action, resource, context):
            raise AccessDeniedException(denial(identity, action, resource))


def parameter_arn(region: str, account_id: str, name: str) -> str:
    """A parameter's ARN: `parameter/` then its name without the leading slash."""
    return f"arn:{partition_of(region)}:ssm:{region}:{account_id}:parameter/{name.lstrip('/')}"


def request_context(
    identity: InstanceIdentity,
    role: Any,
    tags: list[dict],
    existing: dict[str, str] | None,
    overwrite: bool | None,
) -> dict[str, str | list[str]]:
    """The condition keys IAM puts in the request context of an instance role's SSM call."""
    partition = partition_of(identity.region)
    context: dict[str, str | list[str]] = {
        "ec2:SourceInstanceARN": (
            f"arn:{partition}:ec2:{identity.region}:{identity.account_id}:"
            f"instance/{identity.instance_id}"
        ),
        "aws:userid": f"{getattr(role, 'id', '')}:{identity.instance_id}",
        "aws:PrincipalArn": str(getattr(role, "arn", "")),
    }
    if tags:
        context["aws:TagKeys"] = [str(tag["Key"]) for tag in tags]
        for tag in tags:
            context[f"aws:RequestTag/{tag['Key']}"] = str(tag["Value"])
    for key, value in (existing or {}).items():
        context[f"ssm:resourceTag/{key}"] = context[f"aws:ResourceTag/{key}"] = value
    if overwrite is not None:
        context["ssm:Overwrite"] = "true" if overwrite else "false"
    return context


def role_policies(role: Any) -> list[dict[str, Any]]:
    """The role's inline policies and the default versions of its attached ones."""
    documents = list((getattr(role, "policies", None) or {}).values())
    for policy in (getattr(role, "managed_policies", None) or {}).values():
        version = getattr(policy, "default_version", None)
        documents.append(getattr(version, "document", None) or getattr(policy, "document", "{}"))
    return [_document(document) for document in documents]


def assumed_role_arn(identity: InstanceIdentity) -> str:
    """The caller an instance's role session is, as AWS names it in a denial."""
    partition = partition_of(identity.region)
    return (
        f"arn:{partition}:sts::{identity.account_id}:assumed-role/"
        f"{identity.role_name}/{identity.instance_id}"
    )


def denial(identity: InstanceIdentity, action: str, resource: str) -> str:
    """SSM's words for an identity policy that does not allow the call."""
    caller = assumed_role_arn(identity)
    return (
        f"User: {caller} is not authorized to perform: {action} on resource: {resource} "
        f"because no identity-based policy allows the {action} action"
    )


def role_of(identity: InstanceIdentity) -> Any:
    from moto.iam.models import iam_backends

    try:
        backend = iam_backends[identity.account_id][partition_of(identity.region)]
        return backend.get_role(identity.role_name)
    except Exception:
        return None  # the role is gone: nothing allows anything


def _parameter_tags(backend: Any, name: str) -> dict[str, str] | None:
    """The parameter's tags, or None when it does not exist (yet)."""
    lookup: Callable[[str], Any] = backend.get_parameter
    try:
        if lookup(name) is None:
            return None
        return dict(backend.list_tags_for_resource("Parameter", name))
    except Exception:
        return None


def _document(document: Any) -> dict[str, Any]:
    if isinstance(document, dict):
        return document
    text = str(document)
    try:
        return dict(json.loads(text))
    except ValueError:
        return dict(json.loads(unquote(text)))
