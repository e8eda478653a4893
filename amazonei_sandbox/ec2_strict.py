"""RunInstances and the default VPC as EC2 answers them, where moto is kinder:

- **ClientToken**: EC2 keeps a token at least 24 hours after the instance terminates. The same
  token with the same parameters returns the first reservation, even a terminated one; other
  parameters with it answer `IdempotentParameterMismatch`. moto stores the token and ignores it.
- **User data** of at most 16 KB before base64; moto takes any size.
- **Elastic Inference accelerators**: one per instance, of a real type. moto accepts any type
  and any count (ten million cost 1.1 GB), and ignores them.
- **The default VPC** has an internet gateway and a main route `0.0.0.0/0` through it (EC2 User
  Guide, "Default VPCs"); moto's has neither, so the reachability of SSM could not be judged.

Installed once per process by `sandbox.seed.seed_region`, for the sandbox server and for
in-process tests alike.
"""

from __future__ import annotations

import json
import threading
from typing import Any

from moto.core.responses import ActionResult
from moto.ec2.exceptions import EC2ClientError, InvalidParameterValue
from moto.ec2.responses.instances import InstanceResponse

from amazonei_sandbox.patching import once

EIA_TYPES = {
    f"{family}.{size}"
    for family in ("eia1", "eia2", "eia")
    for size in ("medium", "large", "xlarge")
}
IGNORED_IN_FINGERPRINT = {"Action", "Version", "ClientToken", "DryRun"}

_LOCK = threading.Lock()
# (account, region, token) → (the request's fingerprint, the reservation it made)
_TOKENS: dict[tuple[str, str, str], tuple[str, Any]] = {}


class IdempotentParameterMismatch(EC2ClientError):
    def __init__(self, token: str) -> None:
        super().__init__(
            "IdempotentParameterMismatch",
            f"Arguments on this idempotent request are inconsistent with arguments used in "
            f"previous request(s) with the client token {token}.",
        )


@once
def install() -> None:
    """Wrap moto's RunInstances once per process (idempotent, thread-safe)."""
    original = InstanceResponse.run_instances

    def run_instances(self: Any) -> ActionResult:
        check_user_data(self._get_param("UserData"))
        check_accelerators(self.querystring)
        token = self._get_param("ClientToken")
        if not token or self._get_bool_param("DryRun", False):
            return original(self)
        key = (self.current_account, self.region, str(token))
        fingerprint = _fingerprint(self.querystring)
        with _LOCK:
            seen = _TOKENS.get(key)
        if seen is not None:
            if seen[0] != fingerprint:
                raise IdempotentParameterMismatch(str(token))
            return ActionResult(seen[1])  # the first reservation, even if terminated
        answer = original(self)
        with _LOCK:
            _TOKENS.setdefault(key, (fingerprint, answer.result))
        return answer

    InstanceResponse.run_instances = run_instances  # type: ignore[method-assign]


USER_DATA_LIMIT = 16 * 1024  # bytes, before base64 (EC2 User Guide, "Run commands at launch")


def check_user_data(encoded: str | None) -> None:
    """EC2 refuses user data over 16 KB (measured before base64) before doing anything."""
    if encoded and len(encoded) * 3 // 4 - encoded.count("=") > USER_DATA_LIMIT:
        raise InvalidParameterValue(f"User data is limited to {USER_DATA_LIMIT} bytes")


def check_accelerators(form: dict[str, list[str]]) -> None:
    """AWS's limits on ElasticInferenceAccelerator.N, checked before any work is done."""
    types = [v for k, vs in form.items() if k.endswith(".Type") and "Accelerator" in k for v in vs]
    counts = [
        v for k, vs in form.items() if k.endswith(".Count") and "Accelerator" in k for v in vs
    ]
    if len(types) > 1 or any(count != "1" for count in counts):
        raise InvalidParameterValue(
            "An instance can have at most one Elastic Inference accelerator."
        )
    for accelerator in types:
        if accelerator not in EIA_TYPES:
            raise InvalidParameterValue(
                f"The Elastic Inference accelerator type '{accelerator}' is not valid."
            )


def _fingerprint(form: dict[str, list[str]]) -> str:
    return json.dumps(
        {k: sorted(v) for k, v in form.items() if k not in IGNORED_IN_FINGERPRINT}, sort_keys=True
    )


def give_default_vpc_internet(ec2: Any) -> None:
    """An internet gateway on the default VPC and `0.0.0.0/0` through it in its main route
    table, as every default VPC has on AWS (idempotent)."""
    default = next((vpc for vpc in ec2.vpcs.values() if vpc.is_default), None)
    if default is None:
        return
    attached = [
        gateway
        for gateway in ec2.internet_gateways.values()
        if gateway.vpc is not None and gateway.vpc.id == default.id
    ]
    gateway = attached[0] if attached else ec2.create_internet_gateway()
    if not attached:
        ec2.attach_internet_gateway(gateway.id, default.id)
    for table in list(ec2.route_tables.values()):
        if table.vpc_id != default.id or table.main_association_id is None:
            continue
        routes = table.routes
        if not any(route.destination_cidr_block == "0.0.0.0/0" for route in routes):
            ec2.create_route(table.id, "0.0.0.0/0", gateway_id=gateway.id)
