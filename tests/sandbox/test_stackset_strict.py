"""The sandbox answers StackSets as AWS does where moto 5 does not
(amazonei_sandbox/stackset_strict.py): service-managed targets filtered by AccountFilterType
through the whole OU tree and never the management account, DeleteStackInstances by
DeploymentTargets, DeleteStackSet's errors."""

from __future__ import annotations

import json

import boto3
import pytest
from botocore.exceptions import ClientError

GROUP_ONLY = json.dumps(
    {
        "Resources": {
            "Group": {
                "Type": "AWS::EC2::SecurityGroup",
                "Properties": {"GroupDescription": "stack set probe"},
            }
        }
    }
)


@pytest.fixture
def tree(aws):
    """root → ou (a, b) → child ou (c); d stays at the root."""
    org = boto3.client("organizations", region_name="us-east-1")
    org.create_organization(FeatureSet="ALL")
    root = org.list_roots()["Roots"][0]["Id"]
    ou = org.create_organizational_unit(ParentId=root, Name="top")["OrganizationalUnit"]["Id"]
    child = org.create_organizational_unit(ParentId=ou, Name="inner")["OrganizationalUnit"]["Id"]
    ids = {}
    for name, parent in (("a", ou), ("b", ou), ("c", child), ("d", root)):
        made = org.create_account(Email=f"{name}@example.com", AccountName=name)
        ids[name] = made["CreateAccountStatus"]["AccountId"]
        if parent != root:
            org.move_account(AccountId=ids[name], SourceParentId=root, DestinationParentId=parent)
    cfn = boto3.client("cloudformation", region_name="us-west-2")
    cfn.create_stack_set(
        StackSetName="probe",
        TemplateBody=GROUP_ONLY,
        PermissionModel="SERVICE_MANAGED",
        AutoDeployment={"Enabled": False},
    )
    return {"root": root, "ou": ou, "ids": ids, "cfn": cfn}


def _accounts(cfn) -> list[str]:
    return sorted(i["Account"] for i in cfn.list_stack_instances(StackSetName="probe")["Summaries"])


def _groups(account: str) -> int:
    from moto.ec2.models import ec2_backends

    groups = ec2_backends[account]["us-west-2"].describe_security_groups()
    return sum(g.description == "stack set probe" for g in groups)


def test_an_ou_reaches_nested_accounts_and_never_the_management_account(tree):
    cfn, ids = tree["cfn"], tree["ids"]
    cfn.create_stack_instances(
        StackSetName="probe",
        DeploymentTargets={"OrganizationalUnitIds": [tree["ou"]]},
        Regions=["us-west-2"],
    )
    assert _accounts(cfn) == sorted([ids["a"], ids["b"], ids["c"]])
    assert _groups(ids["c"]) == 1 and _groups(ids["d"]) == 0  # resources in the target account
    cfn.create_stack_instances(  # the root: d joins, the management account does not
        StackSetName="probe",
        DeploymentTargets={"OrganizationalUnitIds": [tree["root"]]},
        Regions=["us-west-2"],
    )
    assert "123456789012" not in _accounts(cfn) and ids["d"] in _accounts(cfn)


def test_intersection_deploys_to_the_listed_accounts_only(tree):
    cfn, ids = tree["cfn"], tree["ids"]
    targets = {"OrganizationalUnitIds": [tree["root"]], "Accounts": [ids["a"], ids["c"]]}
    with pytest.raises(ClientError, match="AccountFilterType"):
        cfn.create_stack_instances(
            StackSetName="probe", DeploymentTargets=targets, Regions=["us-west-2"]
        )
    with pytest.raises(ClientError, match="OrganizationalUnit"):  # top-level Accounts: self-managed
        cfn.create_stack_instances(StackSetName="probe", Accounts=[ids["a"]], Regions=["us-west-2"])
    targets["AccountFilterType"] = "INTERSECTION"
    cfn.create_stack_instances(
        StackSetName="probe", DeploymentTargets=targets, Regions=["us-west-2"]
    )
    assert _accounts(cfn) == sorted([ids["a"], ids["c"]])


def test_delete_by_deployment_targets_then_the_set_is_gone(tree):
    cfn, ids = tree["cfn"], tree["ids"]
    targets = {"OrganizationalUnitIds": [tree["ou"]]}
    cfn.create_stack_instances(
        StackSetName="probe", DeploymentTargets=targets, Regions=["us-west-2"]
    )
    with pytest.raises(cfn.exceptions.StackSetNotEmptyException):
        cfn.delete_stack_set(StackSetName="probe")
    cfn.delete_stack_instances(
        StackSetName="probe", DeploymentTargets=targets, Regions=["us-west-2"], RetainStacks=False
    )
    assert _accounts(cfn) == [] and _groups(ids["a"]) == 0  # moto alone deleted nothing here
    cfn.delete_stack_set(StackSetName="probe")
    with pytest.raises(cfn.exceptions.StackSetNotFoundException):
        cfn.delete_stack_set(StackSetName="probe")  # moto alone: silent success


def test_a_failed_instance_is_reported_and_kept_until_deleted(tree):
    cfn, ids = tree["cfn"], tree["ids"]
    broken = {
        "Resources": {
            "Box": {
                "Type": "AWS::EC2::Instance",
                "Properties": {"ImageId": "ami-00000000deadbeef0"},
            }
        }
    }
    cfn.create_stack_set(
        StackSetName="broken",
        TemplateBody=json.dumps(broken),
        PermissionModel="SERVICE_MANAGED",
        AutoDeployment={"Enabled": False},
    )
    targets = {
        "OrganizationalUnitIds": [tree["root"]],
        "Accounts": [ids["d"]],
        "AccountFilterType": "INTERSECTION",
    }
    operation = cfn.create_stack_instances(
        StackSetName="broken", DeploymentTargets=targets, Regions=["us-west-2"]
    )["OperationId"]
    answer = cfn.describe_stack_set_operation(StackSetName="broken", OperationId=operation)
    assert answer["StackSetOperation"]["Status"] == "FAILED"
    (row,) = cfn.list_stack_instances(StackSetName="broken")["Summaries"]
    assert row["Status"] == "OUTDATED" and "ami-00000000deadbeef0" in row["StatusReason"]
    with pytest.raises(cfn.exceptions.StackSetNotEmptyException):
        cfn.delete_stack_set(StackSetName="broken")
    cfn.delete_stack_instances(
        StackSetName="broken", DeploymentTargets=targets, Regions=["us-west-2"], RetainStacks=False
    )
    cfn.delete_stack_set(StackSetName="broken")


def test_a_name_in_use_is_refused(tree):
    with pytest.raises(ClientError, match="NameAlreadyExists"):
        tree["cfn"].create_stack_set(
            StackSetName="probe", TemplateBody=GROUP_ONLY, PermissionModel="SERVICE_MANAGED"
        )
