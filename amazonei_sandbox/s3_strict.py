"""S3 as AWS answers it, where moto answers otherwise, for the tool's model buckets.

- **Bucket policies** are evaluated as IAM evaluates them (policy_eval.py), in a request context
  where `aws:SecureTransport` is true. moto skips a condition operator it does not know
  (`Bool`), so the TLS-only Deny every model bucket carries (resources/model_bucket.py) would
  refuse every object request. The tool only talks to S3 over HTTPS on AWS; the sandbox's
  loopback HTTP stands in for that, so the Deny applies to none of its requests, as on AWS. A
  policy this evaluator does not read (principals other than everyone, operators it does not
  know) is left to moto.
- **Requests signed by a simulated instance** (identities.py) are decided by the instance role's
  policies, like ssm_strict: the request's IAM action (moto's own mapping of method and
  subresource, so HeadObject is s3:GetObject and each part of an upload s3:PutObject) on the
  object's ARN (`arn:PARTITION:s3:::bucket/key`) or the bucket's. What they do not allow answers
  AccessDenied (403) with S3's words. The owner's credentials pass as before.

Installed once per process by `sandbox.seed.seed_region`, next to ssm_strict.
"""

from __future__ import annotations

import json
import re
from typing import Any

from moto.iam.access_control import PermissionResult
from moto.s3.exceptions import S3AccessDeniedError
from moto.s3.models import FakeBucket
from moto.s3.responses import S3Response

from amazonei_sandbox.identities import InstanceIdentity, identity_of
from amazonei_sandbox.patching import once
from amazonei_sandbox.policy_eval import UnsupportedPolicy, allowed, decision
from amazonei_sandbox.ssm_strict import (
    assumed_role_arn,
    request_context,
    role_of,
    role_policies,
)
from amazonei_setup.aws.arns import partition_of

TLS = {"aws:SecureTransport": "true"}
# moto's names for a few requests that IAM authorizes under another action.
_IAM_NAMES = {
    "HeadBucket": "ListBucket",
    "GetPublicAccessBlock": "GetBucketPublicAccessBlock",
    "PutPublicAccessBlock": "PutBucketPublicAccessBlock",
    "DeletePublicAccessBlock": "PutBucketPublicAccessBlock",
}
_PRESIGNED_KEY = re.compile(r"^([^/]+)/")


class RoleAccessDenied(S3AccessDeniedError):
    """S3's answer to a request its signer's identity policies do not allow."""

    def __init__(self, message: str) -> None:
        super().__init__()
        self.message = message


@once
def install() -> None:
    """Wrap moto's bucket policy check and its S3 authorization hook (thread-safe, once)."""
    permission = FakeBucket.get_permission
    authorize = S3Response._authenticate_and_authorize_s3_action

    def get_permission(self: Any, action: str, resource: str) -> Any:
        return bucket_permission(
            self.policy, action, resource, lambda: permission(self, action, resource)
        )

    def authorize_s3(self: Any, bucket_name: str | None = None, key_name: str | None = None):
        _authorize_instance(self, bucket_name, key_name)
        return authorize(self, bucket_name=bucket_name, key_name=key_name)

    FakeBucket.get_permission = get_permission  # type: ignore[method-assign]
    S3Response._authenticate_and_authorize_s3_action = authorize_s3  # type: ignore[method-assign]


def bucket_permission(policy: Any, action: str, resource: str, moto_says: Any) -> Any:
    """What the bucket policy says of `action` on `resource` over TLS: denied, permitted, or
    neutral (nothing in it applies); moto's own answer for a policy not read here."""
    if policy is None:
        return PermissionResult.NEUTRAL
    try:
        document = json.loads(policy.decode() if isinstance(policy, bytes) else str(policy))
        if not _for_everyone(document):
            return moto_says()
        said = decision([document], action, resource, TLS)
    except (UnsupportedPolicy, ValueError, AttributeError, TypeError):
        return moto_says()
    if said == "Deny":
        return PermissionResult.DENIED
    return PermissionResult.PERMITTED if said == "Allow" else PermissionResult.NEUTRAL


def _for_everyone(document: dict[str, Any]) -> bool:
    found = document.get("Statement", [])
    statements = [found] if isinstance(found, dict) else list(found)
    return all(s.get("Principal") in ("*", {"AWS": "*"}) for s in statements)


def _access_key(response: Any) -> str:
    """The signer's access key: the Authorization header's, or a presigned URL's."""
    credential = (response.querystring.get("X-Amz-Credential") or [""])[0]
    found = _PRESIGNED_KEY.match(credential)
    return found.group(1) if found else str(response.get_access_key())


def _authorize_instance(response: Any, bucket: str | None, key: str | None) -> None:
    identity = identity_of(_access_key(response))
    if identity is None:
        return
    operation = str(response.data.get("Action") or "")
    action = f"s3:{_IAM_NAMES.get(operation, operation)}"
    partition = partition_of(getattr(response, "region", None) or identity.region)
    if bucket and key:
        resource = f"arn:{partition}:s3:::{bucket}/{key}"
    else:
        resource = f"arn:{partition}:s3:::{bucket}" if bucket else "*"
    role = role_of(identity)
    context = {**request_context(identity, role, [], None, None), **TLS}
    if not allowed(role_policies(role), action, resource, context):
        raise RoleAccessDenied(denial(identity, action, resource))


def denial(identity: InstanceIdentity, action: str, resource: str) -> str:
    """S3's words for an identity policy that does not allow the request."""
    caller = assumed_role_arn(identity)
    return (
        f'User: {caller} is not authorized to perform: {action} on resource: "{resource}" '
        f"because no identity-based policy allows the {action} action"
    )
