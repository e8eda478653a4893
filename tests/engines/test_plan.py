"""The plan from a Discovery built by hand: each kind's diff (create / update / replace / reuse)
and its dependencies, without AWS. Milliseconds each: the behaviour tests prove the same through
the CLI and moto; these pin the core's decisions one by one."""

from __future__ import annotations

from pathlib import Path

import pytest

from amazonei_setup.aws.amis import ResolvedAmi
from amazonei_setup.aws.discovered import Discovery, Existing, SeatKey
from amazonei_setup.aws.subnets import Subnet
from amazonei_setup.engines.plan import build_plan
from amazonei_setup.resources.endpoint import EndpointFound
from amazonei_setup.resources.instance import LaunchedInstance
from amazonei_setup.resources.key_pair import KeyPairsFound
from amazonei_setup.resources.role import instance_policy
from amazonei_setup.resources.security_group import https_from_group, ssh_rule
from amazonei_setup.spec.catalog import load_catalog
from amazonei_setup.spec.profile import Profile

CATALOG = load_catalog()
SUBNET_A = Subnet("subnet-a", "us-west-2a", "vpc-1", True, True)
SUBNET_B = Subnet("subnet-b", "us-west-2b", "vpc-1", True, True)
AMI = ResolvedAmi("ami-12345678", "Deep Learning AMI", "ssm", "/dev/xvda", 100, "ec2-user")


def profile(**overrides) -> Profile:
    document = {
        "name": "demo",
        "region": "us-west-2",
        "instance_type": "m5.large",
        "accelerator": "eia1.large",
        "access": {"mode": "ssh", "key_pair": "create", "ssh_cidr": "auto"},
        **overrides,
    }
    return Profile.model_validate(document)


def discovery(given: Profile, tmp_path: Path, **found) -> Discovery:
    keys = {}
    if given.access.mode == "ssh":
        for seat in range(1, given.seats + 1):
            name = "amazonei-setup-demo" if seat == 1 else f"amazonei-setup-demo.seat{seat}"
            keys[seat] = SeatKey(name, tmp_path / f"{name}.pem")
    return Discovery(
        account_id="123456789012",
        caller_arn="arn:aws:iam::123456789012:user/me",
        region="us-west-2",
        vpc_id="vpc-1",
        vpc_is_default=True,
        offered_azs=["us-west-2a", "us-west-2b"],
        ei_azs=["us-west-2a", "us-west-2b"],
        subnets=[SUBNET_A, SUBNET_B],
        hidden_subnets=[],
        ami=AMI,
        ssh_cidr="198.51.100.7/32" if given.access.mode == "ssh" else None,
        existing=Existing(found),
        keys=keys,
    )


def seat_one(state: str, **changes) -> LaunchedInstance:
    """Seat 1 as launched for `profile()`: its type, key and AMI."""
    found = LaunchedInstance("i-1", 1, "us-west-2a", "subnet-a", state, "m5.large")
    found.key_name, found.image_id = "amazonei-setup-demo", AMI.id
    found.tags = {"amazonei-setup:accelerator": "eia1.large"}
    for name, value in changes.items():
        setattr(found, name, value)
    return found


def actions(plan) -> dict[str, str]:
    return {r.key: r.action for r in plan.resources}


def test_a_new_eia_deployment_creates_every_kind_in_dependency_order(tmp_path):
    given = profile()
    plan = build_plan(given, discovery(given, tmp_path), CATALOG)
    assert actions(plan) == {
        "claim": "create",
        "role": "create",
        "instance_profile": "create",
        "instance_sg": "create",
        "endpoint_sg": "create",
        "endpoint": "create",
        "key_pair:1": "create",
        "instance:1": "create",
    }
    by_key = {r.key: r for r in plan.resources}
    assert by_key["instance_profile"].depends_on == ("role",)
    assert by_key["endpoint_sg"].depends_on == ("instance_sg",)
    assert by_key["endpoint"].depends_on == ("endpoint_sg",)
    assert set(by_key["instance:1"].depends_on) == {
        "instance_profile",
        "instance_sg",
        "endpoint",
        "key_pair:1",
    }
    # the longest chain of calls: the name claimed, each group created then given its ingress,
    # the endpoint looked for then created, the instance run, then the look that sees it run
    assert plan.critical_path_calls() == 1 + 2 + 2 + 2 + 1 + 1


def test_ssm_access_without_an_accelerator_has_no_key_no_endpoint_and_no_ingress(tmp_path):
    given = profile(accelerator="none", access={"mode": "ssm"})
    plan = build_plan(given, discovery(given, tmp_path), CATALOG)
    assert set(actions(plan)) == {"claim", "role", "instance_profile", "instance_sg", "instance:1"}
    group = plan.get("instance_sg")
    assert group is not None and group.details.wanted == set()
    assert group.why == "no inbound access (SSM only)"


def test_everything_as_wanted_is_reused_and_costs_no_call(tmp_path):
    given = profile()
    (tmp_path / "amazonei-setup-demo.pem").write_text("key")
    policy = instance_policy("demo", "us-west-2", "123456789012", eia=True, ssm_access=False)
    name = "amazonei-setup-us-west-2-demo"
    found = {
        "deployment-claim": "this-home",
        "iam-role": {"arn": f"arn:aws:iam::1:role/{name}", "name": name, "policy": policy},
        "iam-instance-profile": {"arn": "arn:ip", "name": name, "roles": [name]},
        "security-group": {
            "amazonei-setup-demo-instance": {
                "id": "sg-i",
                "rules": {ssh_rule("198.51.100.7/32")},
            },
            "amazonei-setup-demo-endpoint": {"id": "sg-e", "rules": {https_from_group("sg-i")}},
        },
        "vpc-endpoint": EndpointFound(
            {
                "id": "vpce-1",
                "subnets": ["subnet-a", "subnet-b"],
                "groups": ["sg-e"],
                "tags": {"amazonei-setup:user:demo": "true"},
            }
        ),
        "key-pair": KeyPairsFound(
            {"amazonei-setup-demo": {"id": "key-1"}}, {"amazonei-setup-demo"}
        ),
        "ec2-instance": [seat_one("running")],
    }
    plan = build_plan(given, discovery(given, tmp_path, **found), CATALOG)
    assert set(actions(plan).values()) == {"reuse"}
    assert plan.changes == []
    assert plan.critical_path_depth() == 0


@pytest.mark.parametrize(
    ("found", "key", "action", "why"),
    [
        (
            {"iam-role": {"arn": "arn:r", "name": "r", "policy": {"Statement": []}}},
            "role",
            "update",
            "policy differs",
        ),
        (
            {"iam-instance-profile": {"arn": "arn:ip", "name": "n", "roles": []}},
            "instance_profile",
            "update",
            "role not attached yet",
        ),
        (
            {"security-group": {"amazonei-setup-demo-instance": {"id": "sg-i", "rules": set()}}},
            "instance_sg",
            "update",
            "ingress differs",
        ),
        (
            {"key-pair": KeyPairsFound({"amazonei-setup-demo": {"id": "key-1"}}, set())},
            "key_pair:1",
            "replace",
            "the private key is not in the state home",
        ),
        (
            {"ec2-instance": [seat_one("stopped")]},
            "instance:1",
            "update",
            "stopped: will be started",
        ),
    ],
)
def test_each_kind_diffs_what_exists_against_what_is_wanted(tmp_path, found, key, action, why):
    given = profile()
    plan = build_plan(given, discovery(given, tmp_path, **found), CATALOG)
    resource = plan.get(key)
    assert resource is not None
    assert (resource.action, resource.why) == (action, why)


def test_another_deployments_endpoint_is_joined_with_our_subnet_group_and_tag(tmp_path):
    given = profile()
    endpoint = {"id": "vpce-9", "subnets": ["subnet-b"], "groups": ["sg-x"], "tags": {}}  # 2b only
    found = {"vpc-endpoint": EndpointFound(endpoint)}
    plan = build_plan(given, discovery(given, tmp_path, **found), CATALOG)
    joined = plan.get("endpoint")
    assert joined is not None and joined.action == "update"
    assert joined.details.shared and joined.details.subnets == ["subnet-a"]
    assert joined.why == (
        "shared endpoint of the VPC: add subnet subnet-a, add our endpoint group, "
        "record this deployment as a user"
    )


def test_vpc_dns_is_switched_on_before_the_endpoint_when_it_is_off(tmp_path):
    given = profile()
    found = {"vpc-endpoint": EndpointFound(None, ["EnableDnsHostnames"])}
    plan = build_plan(given, discovery(given, tmp_path, **found), CATALOG)
    dns = plan.get("vpc_dns")
    assert dns is not None and dns.kind == "vpc-attribute" and dns.details == ["EnableDnsHostnames"]
    endpoint = plan.get("endpoint")
    assert endpoint is not None and "vpc_dns" in endpoint.depends_on


def test_seats_get_their_own_key_and_surplus_seats_are_named(tmp_path):
    given = profile(seats=3)
    surplus = LaunchedInstance("i-9", 5, "us-west-2a", "subnet-a", "running", "m5.large")
    plan = build_plan(given, discovery(given, tmp_path, **{"ec2-instance": [surplus]}), CATALOG)
    seats = [r for r in plan.resources if r.kind == "ec2-instance"]
    assert [r.key for r in seats] == ["instance:1", "instance:2", "instance:3"]
    assert "key_pair:3" in seats[2].depends_on and "key_pair:1" not in seats[2].depends_on
    assert any("1 instance(s) beyond seat 3" in note for note in plan.notes)


def test_a_named_key_pair_is_reused_never_created(tmp_path):
    given = profile(access={"mode": "ssh", "key_pair": "mine", "ssh_cidr": "203.0.113.9/32"})
    found = discovery(given, tmp_path)
    found.keys = {1: SeatKey("mine", None)}
    plan = build_plan(given, found, CATALOG)
    key = plan.get("key_pair")
    assert key is not None and (key.action, key.details.owned) == ("reuse", False)
    assert key.why == "your existing key pair (never modified)"


@pytest.mark.parametrize(
    ("changes", "why"),
    [
        ({"instance_type": "m5.xlarge"}, "instance type m5.xlarge → m5.large"),
        ({"tags": {"amazonei-setup:accelerator": "none"}}, "accelerator none → eia1.large"),
        ({"image_id": "ami-00000000"}, f"AMI ami-00000000 → {AMI.id}"),
        ({"key_name": "other"}, "key pair other → amazonei-setup-demo"),
    ],
)
def test_what_a_running_instance_cannot_take_in_place_is_a_replace(tmp_path, changes, why):
    given = profile()
    found = {"ec2-instance": [seat_one("running", **changes)]}
    plan = build_plan(given, discovery(given, tmp_path, **found), CATALOG)
    seat = plan.get("instance:1")
    assert seat is not None and (seat.action, seat.id, seat.why) == ("replace", "i-1", why)


def test_session_manager_access_replaces_an_instance_launched_with_a_key(tmp_path):
    given = profile(access={"mode": "ssm"})
    found = {"ec2-instance": [seat_one("running")]}
    seat = build_plan(given, discovery(given, tmp_path, **found), CATALOG).get("instance:1")
    assert seat is not None and seat.why == "key pair amazonei-setup-demo → none"
