"""CloudFormation in the sandbox, where moto 5 falls short of AWS for our templates:

- **AWS::EC2::KeyPair** is missing: added here on the same EC2 backend; like AWS, it keeps the
  private key in SSM as the SecureString `/ec2/keypair/<key-pair-id>` and deletes it with the
  key. `Ref` gives the key name, `Fn::GetAtt` KeyPairId and KeyFingerprint.
- **AWS::EC2::Instance from a LaunchTemplate**: moto requires ImageId and ignores the template,
  IAM profile, metadata options and accelerators. Here the instance is launched from the
  template's version like RunInstances does (image, type, groups, user data, IMDS options,
  block devices, tags), with the same user-data and accelerator limits as the sandbox's
  RunInstances (ec2_strict).
- **AWS::IAM::Role inline policies**: moto stores the document as a Python dict's repr, which
  GetRolePolicy then returns; AWS returns JSON (URL-encoded). Stored as JSON here.
- **AWS::EC2::VPCEndpoint**: moto drops the `Tags` property and never deletes the endpoint
  with its stack; here it carries them and is deleted, as on AWS (the caller policy's deletes
  need our tag on it).
- **Outputs** of a stack made by a change set: moto keeps none; here, the template's.
- **Drift detection**: moto has none; cfn_drift.py compares with the state the stack last set.
- **Events**: moto reports only the stack's own; here each resource created or deleted too.
- **A failed resource**: moto raises out of ExecuteChangeSet and leaves what it made. AWS answers
  the call, then marks the resource CREATE_FAILED with the reason and rolls the stack back
  (ROLLBACK_COMPLETE): so does this.

Installed once per process by `sandbox.seed.seed_region` (server and in-process tests alike).
The server's simulated-instance runner watches RunInstances answers; a stack's instances reach
it through `watch` instead (launched, with their accelerators, and deleted).
"""

from __future__ import annotations

import json
import threading
from collections.abc import Callable
from typing import Any

from moto.cloudformation import parsing
from moto.cloudformation.models import CloudFormationBackend, Stack
from moto.core.common_models import CloudFormationModel
from moto.ec2.exceptions import InvalidParameterValue
from moto.ec2.models import ec2_backends
from moto.ec2.models.instances import Instance
from moto.ec2.models.vpcs import VPCEndPoint
from moto.iam.models import Role
from moto.ssm.models import ssm_backends

from amazonei_sandbox import cfn_drift
from amazonei_sandbox.ec2_strict import EIA_TYPES, check_user_data
from amazonei_sandbox.patching import once

KEY_PARAMETER_PREFIX = "/ec2/keypair/"
_LOCK = threading.Lock()
# (account, region, instance id, EIA types, instance profile) for each launch; instance ids
# for each deletion
Launched = Callable[[str, str, str, tuple[str, ...], str | None], None]
Deleted = Callable[[list[str]], None]
_WATCHERS: list[tuple[Launched, Deleted]] = []


def watch(launched: Launched, deleted: Deleted) -> None:
    """Be told of every instance a stack launches or deletes (the server's simulated runner)."""
    with _LOCK:
        _WATCHERS.append((launched, deleted))


def _tell(event: int, *args: Any) -> None:
    for watcher in list(_WATCHERS):
        try:
            watcher[event](*args)
        except Exception:  # a watcher never fails the stack
            continue


class StackKeyPair(CloudFormationModel):
    """An AWS::EC2::KeyPair: the EC2 key pair plus its private key in SSM."""

    def __init__(self, account_id: str, region: str, key: Any) -> None:
        self.account_id, self.region, self.key = account_id, region, key

    @staticmethod
    def cloudformation_type() -> str:
        return "AWS::EC2::KeyPair"

    @staticmethod
    def cloudformation_name_type() -> str:
        return "KeyName"

    @classmethod
    def has_cfn_attr(cls, attr: str) -> bool:
        return attr in ("KeyPairId", "KeyFingerprint")

    def get_cfn_attribute(self, attribute_name: str) -> str:
        if attribute_name == "KeyPairId":
            return str(self.key.id)
        return str(self.key.key_fingerprint)

    @property
    def physical_resource_id(self) -> str:
        return str(self.key.key_name)

    @classmethod
    def create_from_cloudformation_json(
        cls, resource_name: str, cloudformation_json: Any, account_id: str, region_name: str,
        **kwargs: Any,
    ) -> StackKeyPair:  # fmt: skip
        properties = cloudformation_json.get("Properties", {})
        name = properties.get("KeyName") or resource_name
        tags = {t["Key"]: t["Value"] for t in properties.get("Tags", [])}
        if "PublicKeyMaterial" in properties:
            key = ec2_backends[account_id][region_name].import_key_pair(
                name, properties["PublicKeyMaterial"].encode(), tags
            )
        else:
            key = ec2_backends[account_id][region_name].create_key_pair(
                name, properties.get("KeyType", "rsa"), tags
            )
            ssm_backends[account_id][region_name].put_parameter(
                name=KEY_PARAMETER_PREFIX + key.id,
                description=f"private key of {name}",
                value=key.key_material,
                parameter_type="SecureString",
                allowed_pattern="",
                keyid="",
                overwrite=True,
                tags=[],
                data_type="text",
                tier=None,
                policies=None,
            )
        return cls(account_id, region_name, key)

    def delete(self, account_id: str, region_name: str) -> None:
        ec2_backends[account_id][region_name].delete_key_pair(self.key.key_name)
        ssm = ssm_backends[account_id][region_name]
        if KEY_PARAMETER_PREFIX + self.key.id in ssm._parameters:
            ssm.delete_parameter(KEY_PARAMETER_PREFIX + self.key.id)


def check_accelerators(accelerators: list[dict[str, Any]]) -> None:
    """The RunInstances limits (ec2_strict) for an instance's ElasticInferenceAccelerators."""
    if len(accelerators) > 1 or any(str(a.get("Count", 1)) != "1" for a in accelerators):
        raise InvalidParameterValue(
            "An instance can have at most one Elastic Inference accelerator."
        )
    for accelerator in accelerators:
        if accelerator.get("Type") not in EIA_TYPES:
            raise InvalidParameterValue(
                f"The Elastic Inference accelerator type '{accelerator.get('Type')}' is not valid."
            )


def launch_from_template(
    original: Any, resource_name: str, cloudformation_json: Any, account_id: str, region: str,
    **kwargs: Any,
) -> Any:  # fmt: skip
    """An AWS::EC2::Instance: from its LaunchTemplate as RunInstances would, else moto's way."""
    properties = cloudformation_json["Properties"]
    if "LaunchTemplate" not in properties:
        return original(resource_name, cloudformation_json, account_id, region, **kwargs)
    ec2 = ec2_backends[account_id][region]
    given = properties["LaunchTemplate"]
    template_arg = (
        {"LaunchTemplateId": given.get("LaunchTemplateId")}
        if given.get("LaunchTemplateId")
        else {"LaunchTemplateName": given.get("LaunchTemplateName")}
    )
    if given.get("Version") is not None:
        template_arg["Version"] = str(given["Version"])
    data: Any = ec2._get_template_from_args(template_arg).data  # the template's JSON, as given
    user_data = properties.get("UserData") or data.get("UserData")
    check_user_data(user_data.as_bytes().decode() if hasattr(user_data, "as_bytes") else user_data)
    check_accelerators(properties.get("ElasticInferenceAccelerators", []))
    tags = {t["Key"]: t["Value"] for t in properties.get("Tags", [])}
    reservation = ec2.run_instances(
        image_id=properties.get("ImageId") or data.get("ImageId"),
        count=1,
        user_data=properties.get("UserData"),
        security_group_names=[],
        launch_template=template_arg,
        instance_type=properties.get("InstanceType") or data.get("InstanceType"),
        is_instance_type_default=False,
        subnet_id=properties.get("SubnetId"),
        key_name=properties.get("KeyName") or data.get("KeyName"),
        metadata_options=data.get("MetadataOptions", {}),
        region_name=region,
        tags={"instance": tags},
    )
    instance = reservation.instances[0]
    holder = data.get("IamInstanceProfile") or {}
    if holder:
        ec2.associate_iam_instance_profile(
            instance_id=instance.id,
            iam_instance_profile_name=holder.get("Name"),
            iam_instance_profile_arn=holder.get("Arn"),
        )
    eias = tuple(a.get("Type", "") for a in properties.get("ElasticInferenceAccelerators", []))
    _tell(0, account_id, region, instance.id, eias, holder.get("Arn") or holder.get("Name"))
    return instance


def _stack_of(account_id: str, region: str, stack_id: str) -> Any:
    from moto.cloudformation.models import cloudformation_backends

    return cloudformation_backends[account_id][region].stacks.get(stack_id)


def _named_failure(create: Any) -> Any:
    """parse_and_create_resource that reports each resource as a stack event (moto reports
    only the stack's own), and marks an error with the resource that failed."""

    def wrapped(
        logical_id: str, resource_json: dict[str, Any], resources: Any, account_id: str,
        region_name: str,
    ) -> Any:  # fmt: skip
        region = region_name
        try:
            made = create(logical_id, resource_json, resources, account_id, region)
        except Exception as exc:
            if not hasattr(exc, "stack_resource"):
                exc.stack_resource = (logical_id, resource_json.get("Type", ""))  # type: ignore[attr-defined]
            raise
        stack = _stack_of(account_id, region, resources.stack_id)
        if made is not None and stack is not None:
            physical = str(getattr(made, "physical_resource_id", "") or "")
            kind = resource_json.get("Type", "")
            _resource_event(stack, logical_id, kind, "CREATE_COMPLETE", "", physical)
        return made

    return wrapped


def _deleted_events(delete: Any) -> Any:
    """ResourceMap._delete_resource that reports each deleted resource as a stack event."""

    def wrapped(self: Any, parsed_resource: Any, resource_json: dict[str, Any]) -> None:
        delete(self, parsed_resource, resource_json)
        if resource_json.get("Type") == "AWS::EC2::Instance":
            _tell(1, [str(getattr(parsed_resource, "id", ""))])
        # DeleteStack takes the stack out of the backend's list first: it names itself (install)
        stack = getattr(self, "deleting_stack", None) or _stack_of(
            self._account_id, self._region_name, self.stack_id
        )
        if stack is not None:
            logical_id = getattr(parsed_resource, "logical_resource_id", "")
            physical = str(getattr(parsed_resource, "physical_resource_id", "") or "")
            kind = resource_json.get("Type", "")
            _resource_event(stack, logical_id, kind, "DELETE_COMPLETE", "", physical)

    return wrapped


def _reason(exc: Exception) -> str:
    message = getattr(exc, "message", None) or str(exc) or type(exc).__name__
    code = getattr(exc, "error_type", None)
    return f"{message} (Service: ec2, Error Code: {code})" if code else str(message)


def _rolled_back(execute: Any) -> Any:
    """ExecuteChangeSet that answers, then fails the resource and rolls back, as AWS does."""

    def wrapped(self: CloudFormationBackend, change_set_name: str, stack_name: str | None = None):
        try:
            answer = execute(self, change_set_name, stack_name)
        except Exception as exc:
            logical_id, kind = getattr(exc, "stack_resource", ("", ""))
            change_set = self.change_sets.get(change_set_name) or next(
                c for c in self.change_sets.values() if c.change_set_name == change_set_name
            )
            stack = self.stacks[change_set.stack_id]
            verb = change_set.change_set_type  # CREATE | UPDATE (moto said IN_PROGRESS)
            _resource_event(stack, logical_id, kind, f"{verb}_FAILED", _reason(exc))
            stack._add_stack_event(
                "ROLLBACK_IN_PROGRESS" if verb == "CREATE" else "UPDATE_ROLLBACK_IN_PROGRESS",
                resource_status_reason=f"The following resource(s) failed to "
                f"{verb.lower()}: [{logical_id}]. Rollback requested by user.",
            )
            if verb == "CREATE":  # moto's maps are lazy: emptied, nothing is made again
                stack.resource_map.delete()
                stack.resource_map._resource_json_map = {}
                stack.output_map._output_json_map = {}
            stack.status = "ROLLBACK_COMPLETE" if verb == "CREATE" else "UPDATE_ROLLBACK_COMPLETE"
            stack._add_stack_event(stack.status)
            change_set.execution_status = "EXECUTE_FAILED"
            return None
        _refresh_outputs(self, change_set_name)
        return answer

    return wrapped


def _refresh_outputs(backend: CloudFormationBackend, change_set_name: str) -> None:
    """moto keeps the outputs of the template the stack was made with (none, for a stack made
    by a change set): read them from the template the change set applied."""
    change_set = backend.change_sets.get(change_set_name) or next(
        c for c in backend.change_sets.values() if c.change_set_name == change_set_name
    )
    stack = backend.stacks[change_set.stack_id]
    stack._parse_template()
    stack.output_map = stack._create_output_map()
    cfn_drift.remember(stack)  # what drift detection compares with


def _resource_event(
    stack: Any, logical_id: str, kind: str, status: str, reason: str, physical: str = ""
) -> None:
    from moto.cloudformation.models import Event

    stack.events.append(
        Event(
            stack_id=stack.stack_id,
            stack_name=stack.name,
            logical_resource_id=logical_id,
            physical_resource_id=physical,
            resource_type=kind,
            resource_status=status,
            resource_status_reason=reason or None,
            resource_properties=None,
        )
    )


@once
def install() -> None:
    """Register the models and the failure handling once per process (idempotent)."""
    # moto marks "no update / no delete by CloudFormation" by leaving those abstract methods
    # unimplemented (parsing checks `__isabstractmethod__`), as StackKeyPair does on purpose
    models = parsing.get_model_map()
    models[StackKeyPair.cloudformation_type()] = StackKeyPair  # type: ignore[type-abstract]
    parsing.get_name_type_map()[StackKeyPair.cloudformation_type()] = "KeyName"
    original = Instance.create_from_cloudformation_json

    def create(cls: Any, resource_name: str, cloudformation_json: Any, *args: Any, **kw: Any):
        return launch_from_template(original, resource_name, cloudformation_json, *args, **kw)

    Instance.create_from_cloudformation_json = classmethod(create)  # type: ignore[method-assign,assignment]
    role_create = Role.create_from_cloudformation_json

    def role(cls: Any, resource_name: str, cloudformation_json: Any, *args: Any, **kw: Any):
        for policy in cloudformation_json.get("Properties", {}).get("Policies", []):
            if not isinstance(policy.get("PolicyDocument"), str):
                policy["PolicyDocument"] = json.dumps(policy["PolicyDocument"])
        return role_create(resource_name, cloudformation_json, *args, **kw)

    Role.create_from_cloudformation_json = classmethod(role)  # type: ignore[method-assign,assignment]
    endpoint_create = VPCEndPoint.create_from_cloudformation_json

    def endpoint(cls: Any, resource_name: str, cloudformation_json: Any, *args: Any, **kw: Any):
        made = endpoint_create(resource_name, cloudformation_json, *args, **kw)
        for tag in cloudformation_json.get("Properties", {}).get("Tags", []):
            made.add_tag(tag["Key"], tag["Value"])
        return made

    VPCEndPoint.create_from_cloudformation_json = classmethod(endpoint)  # type: ignore[method-assign,assignment]

    def endpoint_delete(self: VPCEndPoint, account_id: str, region_name: str) -> None:
        ec2_backends[account_id][region_name].delete_vpc_endpoints([self.id])

    VPCEndPoint.delete = endpoint_delete  # type: ignore[attr-defined]
    parsing.parse_and_create_resource = _named_failure(parsing.parse_and_create_resource)
    parsing.ResourceMap._delete_resource = _deleted_events(  # type: ignore[method-assign]
        parsing.ResourceMap._delete_resource
    )
    stack_delete = Stack.delete

    def delete(self: Stack) -> None:  # Stack.delete, so named as the method's
        self.resource_map.deleting_stack = self  # type: ignore[attr-defined]
        stack_delete(self)

    Stack.delete = delete  # type: ignore[method-assign]
    CloudFormationBackend.execute_change_set = _rolled_back(  # type: ignore[method-assign]
        CloudFormationBackend.execute_change_set
    )
    cfn_drift.install()
