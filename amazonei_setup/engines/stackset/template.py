"""The deployment's CloudFormation template made fit for a stack set: one body that must
deploy unchanged into accounts and regions the tool has never looked at.

- Nothing account- or region-specific may stay: the VPC and subnet parameters give way to a
  small public VPC each stack builds for itself (DNS on, for the EI endpoint's private DNS),
  since the tool never looked at the target accounts (many organizations delete default
  VPCs), and the stack's deletion takes it away again; an `ami-` default is dropped (AMI ids
  are regional: `launch` gives each region its own), the SSM public parameter is kept.
- Every parameter stays overridable per account and region (ParameterOverrides).
- Key pairs stay `AWS::EC2::KeyPair`: CloudFormation creates one in each target account and
  region and keeps its private key in that account's SSM (`/ec2/keypair/<key-pair-id>`).
- `Metadata.AmazonEiSetup::StackSet` describes the stack set the body is meant for
  (permission model, auto-deployment, CallAs, operation preferences, capabilities), so the
  one file is both what CreateStackSet receives and the notes on how to create it.
"""

from __future__ import annotations

import copy
import re
from typing import Any

from amazonei_setup.engines.stackset.operations import CAPABILITIES, PREFERENCES
from amazonei_setup.errors import InputError

VPC_TYPES = {"AWS::EC2::VPC::Id"}
SUBNET_TYPES = {"AWS::EC2::Subnet::Id", "List<AWS::EC2::Subnet::Id>"}
NO_DEFAULT_TYPES = {"AWS::EC2::KeyPair::KeyName", "AWS::EC2::SecurityGroup::Id"}
VPC = "StackSetVpc"
SUBNET = "StackSetSubnet"
METADATA_KEY = "AmazonEiSetup::StackSet"
_ACCOUNT_LITERAL = re.compile(r"(?<![\d])\d{12}(?![\d])")


def stackset_template(
    template: dict[str, Any], deployment: str, tags: dict[str, str], auto_deployment: bool
) -> dict[str, Any]:
    """A copy of `template` that any account and region of the stack set can take."""
    body = copy.deepcopy(template)
    parameters: dict[str, Any] = body.setdefault("Parameters", {})
    vpcs, subnets = _network_parameters(parameters)
    for spec in parameters.values():
        if spec.get("Type") == "AWS::EC2::Image::Id":  # AMI ids are regional
            spec.pop("Default", None)
            spec["Description"] = "the Deep Learning AMI of this region (give it per region)"
        if spec.get("Type") in NO_DEFAULT_TYPES:
            spec.pop("Default", None)
    if vpcs or subnets:
        _own_network(body, vpcs, subnets, tags)
    _refuse_account_literals(body)
    body.setdefault("Metadata", {})[METADATA_KEY] = describe_stack_set(deployment, auto_deployment)
    return body


def describe_stack_set(deployment: str, auto_deployment: bool) -> dict[str, Any]:
    """How the tool creates the stack set; the same as the API calls it makes."""
    from amazonei_setup.engines.stackset.operations import stack_set_name

    name = stack_set_name(deployment)
    return {
        "StackSetName": name,
        "PermissionModel": "SERVICE_MANAGED",
        "AutoDeployment": {"Enabled": auto_deployment, "RetainStacksOnAccountRemoval": False},
        "CallAs": "SELF",
        "Capabilities": CAPABILITIES,
        "OperationPreferences": PREFERENCES,
        "Create": [
            f"aws cloudformation create-stack-set --stack-set-name {name} --template-body "
            "file://THIS_FILE --permission-model SERVICE_MANAGED --auto-deployment "
            f"Enabled={str(auto_deployment).lower()} --capabilities CAPABILITY_NAMED_IAM",
            f"aws cloudformation create-stack-instances --stack-set-name {name} "
            "--deployment-targets OrganizationalUnitIds=ou-xxxx-yyyyyyyy --regions us-west-2",
        ],
        "PerRegionValues": "ImageId, where it is a plain AMI id rather than the public SSM "
        "parameter: one create-stack-instances call per region with --parameter-overrides "
        "ParameterKey=ImageId,ParameterValue=ami-...",
        "PerAccountValues": "any parameter: create-stack-instances or update-stack-instances "
        "--parameter-overrides ParameterKey=K,ParameterValue=V for the accounts and regions "
        "named in that call",
        "PrivateKeys": "each target account and region keeps its key pair's private key in "
        "SSM: aws ssm get-parameter --name /ec2/keypair/<key-pair-id> --with-decryption "
        "(in that account)",
    }


def _network_parameters(parameters: dict[str, Any]) -> tuple[list[str], list[str]]:
    """The VPC and subnet parameters, removed: each stack builds its own network."""
    vpcs = [n for n, s in parameters.items() if s.get("Type") in VPC_TYPES]
    subnets = [n for n, s in parameters.items() if s.get("Type") in SUBNET_TYPES]
    for name in vpcs + subnets:
        del parameters[name]
    return vpcs, subnets


def _own_network(
    body: dict[str, Any], vpcs: list[str], subnets: list[str], tags: dict[str, str]
) -> None:
    """A public VPC with one subnet in the region's first zone, in place of the parameters."""
    tag_list = [{"Key": k, "Value": v} for k, v in tags.items()]
    gateway_attached = "StackSetGatewayAttachment"
    network = {
        VPC: {
            "Type": "AWS::EC2::VPC",
            "Properties": {
                "CidrBlock": "10.192.0.0/16",
                "EnableDnsSupport": True,
                "EnableDnsHostnames": True,
                "Tags": tag_list,
            },
        },
        "StackSetGateway": {"Type": "AWS::EC2::InternetGateway", "Properties": {"Tags": tag_list}},
        gateway_attached: {
            "Type": "AWS::EC2::VPCGatewayAttachment",
            "Properties": {"VpcId": {"Ref": VPC}, "InternetGatewayId": {"Ref": "StackSetGateway"}},
        },
        SUBNET: {
            "Type": "AWS::EC2::Subnet",
            "Properties": {
                "VpcId": {"Ref": VPC},
                "CidrBlock": "10.192.0.0/20",
                "AvailabilityZone": {"Fn::Select": [0, {"Fn::GetAZs": ""}]},
                "MapPublicIpOnLaunch": True,
                "Tags": tag_list,
            },
        },
        "StackSetRouteTable": {
            "Type": "AWS::EC2::RouteTable",
            "Properties": {"VpcId": {"Ref": VPC}, "Tags": tag_list},
        },
        "StackSetDefaultRoute": {
            "Type": "AWS::EC2::Route",
            "DependsOn": gateway_attached,
            "Properties": {
                "RouteTableId": {"Ref": "StackSetRouteTable"},
                "DestinationCidrBlock": "0.0.0.0/0",
                "GatewayId": {"Ref": "StackSetGateway"},
            },
        },
        "StackSetSubnetRoutes": {
            "Type": "AWS::EC2::SubnetRouteTableAssociation",
            "Properties": {
                "SubnetId": {"Ref": SUBNET},
                "RouteTableId": {"Ref": "StackSetRouteTable"},
            },
        },
    }
    replacements: dict[str, Any] = {name: {"Ref": VPC} for name in vpcs}
    replacements.update({name: {"Ref": SUBNET} for name in subnets})
    for key in ("Resources", "Outputs"):
        if key in body:
            body[key] = _replace_refs(body[key], replacements)
    body.setdefault("Resources", {}).update(network)


def _replace_refs(node: Any, replacements: dict[str, Any]) -> Any:
    if isinstance(node, dict):
        if set(node) == {"Ref"} and node["Ref"] in replacements:
            return copy.deepcopy(replacements[node["Ref"]])
        return {k: _replace_refs(v, replacements) for k, v in node.items()}
    if isinstance(node, list):
        return [_replace_refs(item, replacements) for item in node]
    return node


def _refuse_account_literals(body: dict[str, Any]) -> None:
    """An account id written into the body would point every target at one account."""
    for key in ("Resources", "Outputs"):
        found = _ACCOUNT_LITERAL.search(str(body.get(key, "")))
        if found:
            raise InputError(
                f"the template names account {found.group(0)} in its {key}; a stack set "
                "deploys into many accounts",
                "this is a bug in amazonei-setup's template: it should use ${AWS::AccountId}",
            )
