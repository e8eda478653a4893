"""The handler permissions the stack policy grants are AWS's own (the resource provider
schemas cfn-lint ships), for every type the kinds make: stack_handlers.json is current, and
every action a schema lists is granted unless a property we never set is its only reason.
Regenerate on purpose: `AMAZONEI_REGENERATE_HANDLERS=1 pytest THIS_FILE`.
"""

from __future__ import annotations

import os

from amazonei_setup.resources import registry
from amazonei_setup.resources.stack_handlers import DATA, NOT_SET, data_json, derive


def _types() -> list[str]:
    return sorted({t for kind in registry.kinds() for t in kind.stack_handlers})


def test_the_handler_data_is_what_the_provider_schemas_say():
    wanted = data_json(derive(_types()))
    if os.environ.get("AMAZONEI_REGENERATE_HANDLERS") == "1":
        DATA.write_text(wanted)
    assert DATA.read_text() == wanted, "stack_handlers.json is stale: regenerate on purpose"


def test_each_kind_grants_what_its_types_handlers_call():
    """The review's misses: Instance read/delete, SecurityGroup egress, LaunchTemplate delete."""
    derived = derive(_types())
    for kind in registry.kinds():
        for name, actions in kind.stack_handlers.items():
            missing = set(derived[name]) - set(actions)
            assert not missing, (kind.kind, missing)
    instance = registry.kind_of("ec2-instance").stack_handlers["AWS::EC2::Instance"]
    for action in (
        "ec2:DescribeInstanceAttribute",
        "ec2:DescribeInstanceCreditSpecifications",
        "ec2:DescribeNetworkInterfaces",
        "ssm:DescribeAssociation",
        "ssm:ListAssociations",
    ):
        assert action in instance
    groups = registry.kind_of("security-group").stack_handlers["AWS::EC2::SecurityGroup"]
    assert "ec2:RevokeSecurityGroupEgress" in groups
    template = registry.kind_of("launch-template").stack_handlers["AWS::EC2::LaunchTemplate"]
    assert "ec2:DeleteLaunchTemplate" in template
    assert all(reason for reasons in NOT_SET.values() for reason in reasons.values())
