"""The Elastic Inference endpoint's stack form (its kind is in endpoint.py, which is full):
the endpoint and the group it admits HTTPS through, listed after the launch template as
templates always have."""

from __future__ import annotations

from typing import Any

from amazonei_setup.resources.naming import endpoint_sg_name, tag_list
from amazonei_setup.resources.security_group import https_from_group, stack_group, stack_ingress
from amazonei_setup.resources.stack_form import (
    ENDPOINT,
    ENDPOINT_SG,
    INSTANCE_SG,
    REGION,
    StackInput,
    StackPart,
    sub,
)
from amazonei_setup.resources.stack_handlers import handlers_of

HANDLERS = handlers_of("AWS::EC2::VPCEndpoint")
RECORDS = {ENDPOINT: "endpoint"}


def part(given: StackInput, seat: int | None) -> StackPart:
    if seat is not None or not given.profile.has_eia:
        return StackPart()
    name = given.profile.name
    group = stack_group(
        endpoint_sg_name(name),
        f"amazonei-setup {name}: Elastic Inference endpoint (HTTPS from instances)",
        [stack_ingress(https_from_group(INSTANCE_SG), "HTTPS from the deployment's instances")],
        given.tags,
    )
    endpoint: dict[str, Any] = {
        "Type": "AWS::EC2::VPCEndpoint",
        "Properties": {
            "VpcEndpointType": "Interface",
            "ServiceName": sub(given.catalog.ei_endpoint_service_template.format(region=REGION)),
            "VpcId": {"Ref": "VpcId"},
            "SubnetIds": [{"Ref": "SubnetId"}],
            "SecurityGroupIds": [{"Ref": ENDPOINT_SG}],
            "PrivateDnsEnabled": True,
            "Tags": tag_list(given.tags),
        },
    }
    return StackPart({ENDPOINT_SG: group, ENDPOINT: endpoint})
