"""An engine's policy as IAM managed policies: one when it fits IAM's 6,144 characters (white
space not counted), else parts split along statements, each within the limit, together the
whole policy."""

from __future__ import annotations

import pytest

from amazonei_setup.policy import managed
from amazonei_setup.policy.managed import MANAGED_POLICY_LIMIT, managed_policies, policy_size
from amazonei_setup.policy.stacks import ENGINES, policy_for


@pytest.mark.parametrize("engine", ENGINES)
def test_the_parts_are_the_whole_policy_each_within_the_limit(engine):
    for region in ("us-west-2", "cn-north-1", "us-gov-west-1"):
        parts = managed_policies(engine, region)
        whole = policy_for(engine, region)
        statements = [s for p in parts for s in p["PolicyDocument"]["Statement"]]
        assert sorted(statements, key=lambda s: s["Sid"]) == sorted(
            whole["Statement"], key=lambda s: s["Sid"]
        )
        assert all(policy_size(p["PolicyDocument"]) <= MANAGED_POLICY_LIMIT for p in parts)
        if policy_size(whole) <= MANAGED_POLICY_LIMIT:
            assert parts == [{"PolicyName": f"amazonei-setup-{engine}", "PolicyDocument": whole}]
        else:
            assert len(parts) >= 2 and len({p["PolicyName"] for p in parts}) == len(parts)


def test_a_part_still_too_big_is_cut_again_and_a_statement_too_big_is_an_error(monkeypatch):
    def statement(sid: str, size: int) -> dict:
        return {"Sid": sid, "Effect": "Allow", "Action": ["ec2:X" + "a" * size], "Resource": "*"}

    big = {"Version": "2012-10-17", "Statement": [statement(f"S{i}", 2500) for i in range(5)]}
    monkeypatch.setattr(managed, "policy_for", lambda engine, region=None: big)
    parts = managed_policies("direct")
    assert [p["PolicyName"] for p in parts] == [
        "amazonei-setup-direct-part",
        "amazonei-setup-direct-part-2",
        "amazonei-setup-direct-part-3",
    ]
    assert [[s["Sid"] for s in p["PolicyDocument"]["Statement"]] for p in parts] == [
        ["S0", "S1"],
        ["S2", "S3"],
        ["S4"],
    ]
    huge = {"Version": "2012-10-17", "Statement": [statement("Huge", MANAGED_POLICY_LIMIT)]}
    monkeypatch.setattr(managed, "policy_for", lambda engine, region=None: huge)
    with pytest.raises(ValueError, match="Huge alone exceeds"):
        managed_policies("direct")
