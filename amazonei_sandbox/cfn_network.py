"""A stack's own network in the sandbox, made and deleted as CloudFormation does on AWS, where
moto 5 falls short (the stack set template builds a VPC per stack, engines/stackset/template.py):

- **AWS::EC2::VPC** ignores `EnableDnsSupport` and `EnableDnsHostnames`; AWS sets them, and an
  interface endpoint with private DNS (Elastic Inference) needs both.
- **AWS::EC2::RouteTable**, **AWS::EC2::InternetGateway** and **AWS::EC2::VPCGatewayAttachment**
  have no delete: moto leaves them behind when the stack goes, and the VPC then cannot be
  deleted (DependencyViolation). On AWS the stack's deletion removes all three.

Installed once per process by `sandbox.seed.seed_region`.
"""

from __future__ import annotations

from typing import Any

from moto.ec2.exceptions import DependencyViolationError
from moto.ec2.models import ec2_backends
from moto.ec2.models.internet_gateways import InternetGateway
from moto.ec2.models.route_tables import RouteTable
from moto.ec2.models.vpcs import VPC
from moto.ec2.models.vpn_gateway import VPCGatewayAttachment

from amazonei_sandbox.patching import once


@once
def install() -> None:
    """Patch moto's network models once per process (idempotent, thread-safe)."""
    original_vpc = VPC.create_from_cloudformation_json.__func__  # type: ignore[attr-defined]

    def create_vpc(cls: Any, name: str, template: Any, account: str, region: str, **kw: Any):
        vpc = original_vpc(cls, name, template, account, region, **kw)
        properties = template.get("Properties", {})
        backend = ec2_backends[account][region]
        for key, attribute in (
            ("EnableDnsSupport", "enable_dns_support"),
            ("EnableDnsHostnames", "enable_dns_hostnames"),
        ):
            if key in properties:
                value = str(properties[key]).lower() == "true"
                # moto annotates the value str, but stores a bool (as its ModifyVpcAttribute does)
                backend.modify_vpc_attribute(vpc.id, attribute, value)  # type: ignore[arg-type]
        return vpc

    VPC.create_from_cloudformation_json = classmethod(create_vpc)  # type: ignore[method-assign,assignment]
    RouteTable.delete = _delete_route_table  # type: ignore[attr-defined]
    InternetGateway.delete = _delete_gateway  # type: ignore[attr-defined]
    VPCGatewayAttachment.delete = _detach  # type: ignore[attr-defined]


def _delete_route_table(self: RouteTable, account_id: str, region_name: str) -> None:
    backend = ec2_backends[account_id][region_name]
    if self.id in backend.route_tables:
        backend.delete_route_table(self.id)


def _delete_gateway(self: InternetGateway, account_id: str, region_name: str) -> None:
    """Like AWS, only once detached (the stack deletes the attachment first, by dependency)."""
    backend = ec2_backends[account_id][region_name]
    if self.id not in backend.internet_gateways:
        return
    if self.vpc is not None:
        raise DependencyViolationError(f"{self.id} is being utilized by {self.vpc.id}")
    backend.delete_internet_gateway(self.id)


def _detach(self: VPCGatewayAttachment, account_id: str, region_name: str) -> None:
    backend = ec2_backends[account_id][region_name]
    gateway = backend.internet_gateways.get(self.gateway_id or "")
    if gateway is not None and gateway.vpc is not None and gateway.vpc.id == self.vpc_id:
        backend.detach_internet_gateway(gateway.id, self.vpc_id)
