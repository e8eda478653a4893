"""The subnet/AZ rule that discovery plans with and the wizard lists from: pure, no AWS."""

from __future__ import annotations

import pytest

from amazonei_setup.aws.subnets import Subnet, usable_subnets
from amazonei_setup.errors import InputError

VPC = "vpc-1"
AZS = ["us-west-2a", "us-west-2b", "us-west-2c", "us-west-2d"]


def subnet(sid: str, zone: str, default: bool = True) -> Subnet:
    return Subnet(sid, zone, VPC, default_for_az=default, maps_public_ip=default)


SUBNETS = [
    subnet("subnet-d", "us-west-2d"),
    subnet("subnet-b", "us-west-2b"),
    subnet("subnet-a2", "us-west-2a", default=False),
    subnet("subnet-a1", "us-west-2a"),
    subnet("subnet-c", "us-west-2c"),
]


def ids(subnets: list[Subnet]) -> list[str]:
    return [s.id for s in subnets]


def test_one_subnet_per_az_in_az_order_default_for_az_first():
    choice = usable_subnets(VPC, SUBNETS, AZS, None, "m5.large")
    assert ids(choice.usable) == ["subnet-a1", "subnet-b", "subnet-c", "subnet-d"]
    assert [(s.id, why) for s, why in choice.hidden] == [
        ("subnet-a2", "another subnet already serves us-west-2a")
    ]
    assert not choice.with_ei and choice.unusable() is None


def test_azs_that_do_not_offer_the_type_are_hidden_with_the_reason():
    choice = usable_subnets(VPC, SUBNETS, ["us-west-2b", "us-west-2c"], None, "inf1.xlarge")
    assert ids(choice.usable) == ["subnet-b", "subnet-c"]
    assert choice.reasons() == [
        "us-west-2a does not offer inf1.xlarge",
        "us-west-2d does not offer inf1.xlarge",
    ]
    assert choice.hidden_note() == (
        "3 subnet(s) hidden: us-west-2a does not offer inf1.xlarge; "
        "us-west-2d does not offer inf1.xlarge"
    )


def test_ei_azs_filter_only_when_an_accelerator_is_attached():
    with_ei = usable_subnets(VPC, SUBNETS, AZS, AZS[:3], "m5.large")
    assert ids(with_ei.usable) == ["subnet-a1", "subnet-b", "subnet-c"]
    assert ("subnet-d", "us-west-2d has no Elastic Inference endpoint") in [
        (s.id, why) for s, why in with_ei.hidden
    ]
    assert with_ei.with_ei
    without = usable_subnets(VPC, SUBNETS, AZS, None, "m5.large")
    assert "subnet-d" in ids(without.usable)


def test_nothing_usable_says_why_and_what_to_do():
    choice = usable_subnets(VPC, SUBNETS, AZS, ["us-east-1a"], "m5.large")
    assert choice.usable == []
    assert choice.unusable() == (
        "no subnet of vpc-1 can run m5.large with Elastic Inference: us-west-2a has no Elastic "
        "Inference endpoint; us-west-2b has no Elastic Inference endpoint; us-west-2c has no "
        "Elastic Inference endpoint; us-west-2d has no Elastic Inference endpoint"
    )
    error = choice.unusable_error()
    assert error.message == choice.unusable() and "choose another VPC" in str(error.hint)

    empty = usable_subnets(VPC, [], AZS, None, "g4dn.xlarge")
    assert empty.unusable() == "no subnet of vpc-1 can run g4dn.xlarge: the VPC has no subnets"


def test_a_wanted_subnet_comes_first_and_the_others_stay_for_failover():
    choice = usable_subnets(VPC, SUBNETS, AZS, None, "m5.large", wanted="subnet-c")
    assert ids(choice.usable) == ["subnet-c", "subnet-a1", "subnet-b", "subnet-d"]


def test_a_wanted_subnet_that_cannot_be_used_names_the_reason():
    with pytest.raises(InputError) as hidden:
        usable_subnets(VPC, SUBNETS, AZS, AZS[:3], "m5.large", wanted="subnet-d")
    assert hidden.value.message == (
        "subnet subnet-d cannot be used: us-west-2d has no Elastic Inference endpoint"
    )
    with pytest.raises(InputError) as elsewhere:
        usable_subnets(VPC, SUBNETS, AZS, None, "m5.large", wanted="subnet-zz")
    assert elsewhere.value.message == "subnet subnet-zz is not in the chosen VPC"
