"""Every kind of resource a deployment has, in the order a plan lists them. Plan, apply,
inventory, teardown and expiry iterate over this list: a new kind is added here and nowhere else.
"""

from __future__ import annotations

from amazonei_setup.resources import (
    claim,
    endpoint,
    instance,
    instance_profile,
    key_pair,
    launch_template,
    model_bucket,
    parameters,
    role,
    security_group,
    vpc_dns,
)
from amazonei_setup.resources.kind import ResourceKind

REGISTRY: list[ResourceKind] = [
    claim.KIND,
    role.KIND,
    instance_profile.KIND,
    security_group.KIND,
    launch_template.KIND,
    vpc_dns.KIND,
    endpoint.KIND,
    key_pair.KIND,
    instance.KIND,
    parameters.KIND,
    model_bucket.KIND,
]


def kinds() -> list[ResourceKind]:
    return list(REGISTRY)


def kind_of(name: str) -> ResourceKind:
    return next(kind for kind in REGISTRY if kind.kind == name)
