"""The caller policy grants what the hardware and price reads need (issue 21): the three
actions have no resource types in the Service Authorization Reference, so "*"."""

from __future__ import annotations

from amazonei_setup.policy.caller import caller_policy

NEEDED = ("ec2:DescribeInstanceTypes", "ec2:DescribeSpotPriceHistory", "pricing:GetProducts")


def test_hardware_and_price_reads_are_granted_on_any_resource():
    statements = caller_policy("eu-west-1")["Statement"]
    for action in NEEDED:
        granting = [s for s in statements if action in s["Action"]]
        assert granting and all(s["Resource"] == "*" and "Condition" not in s for s in granting)
