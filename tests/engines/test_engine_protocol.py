"""Each engine driven through the engine protocol alone, as a library (no CLI, nothing
printed): plan → apply (the record saved) → status → verify targets → plan_teardown →
teardown leaves nothing and no record; picking goes by --engine and by the record."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from support import leftovers, nothing_left

from amazonei_setup.aws.clients import AwsClients, AwsTarget
from amazonei_setup.engines.cloudformation.engine import StackEngine
from amazonei_setup.engines.direct.engine import DirectEngine
from amazonei_setup.engines.pick import Reporters, engine_name, engine_of, pick
from amazonei_setup.engines.protocol import Environment
from amazonei_setup.engines.stackset.engine import StackSetEngine
from amazonei_setup.engines.stackset.targets import parse_targets
from amazonei_setup.errors import InputError
from amazonei_setup.spec.profile import known_regions
from amazonei_setup.spec.profile_checks import validate_profile
from amazonei_setup.spec.profile_file import read_profile_file
from amazonei_setup.state.ledger import Ledger

PROFILES = Path(__file__).resolve().parents[2] / "templates" / "profiles"


class Heard:
    """A stack reporter that remembers what it was told."""

    def __init__(self) -> None:
        self.lines: list[str] = []

    def stage(self, message: str) -> None:
        self.lines.append(message)

    def stack_event(self, event: dict[str, Any]) -> None:
        self.lines.append(f"{event.get('ResourceStatus')} {event['LogicalResourceId']}")

    def target_state(self, account: str, region: str, state: str) -> None:
        self.lines.append(f"{account} {region}: {state}")


def _env(home: Path, hooks: Any) -> Environment:
    made: dict[str, AwsClients] = {}

    def clients(region: str) -> AwsClients:
        if region not in made:
            made[region] = AwsClients(AwsTarget(region=region), hooks.session_factory)
        return made[region]

    return Environment(
        home=home,
        clients=clients,
        record_clients=lambda record: clients(record.region),
        ip_lookup=hooks.ip_lookup,
        sleep=hooks.sleep,
        clock=hooks.clock,
    )


def _profile(name: str, **overrides: Any) -> Any:
    document = {"agent": {"enabled": False}, **overrides}
    return validate_profile(read_profile_file(PROFILES / name), document)


def _launch(engine: Any, profile: Any, home: Path) -> Any:
    plan = engine.plan(profile, None)
    with Ledger(home).edit(profile.region, profile.name, "a test launch") as edit:
        outcome = engine.apply(plan, edit)
    record = Ledger(home).load(profile.region, profile.name)
    assert record is not None and record.status == "ready"
    assert engine_of(record) == engine.name
    return outcome, record


def _remove(engine: Any, record: Any, home: Path) -> Any:
    plan = engine.plan_teardown(record.name, record.region, record)
    removed = engine.teardown(plan)
    assert Ledger(home).load(record.region, record.name) is None
    return removed


@pytest.mark.parametrize("name", ["direct", "cloudformation"])
def test_an_account_engine_through_the_protocol(aws, hooks, tmp_path, name):
    home = tmp_path / "home"
    heard = Heard()
    engine = pick(engine_name(name), _env(home, hooks))
    if name == "cloudformation":
        engine.reporter = heard  # type: ignore[assignment]
    profile = _profile("eia-workshop.yaml")
    engine.check(profile)
    _, record = _launch(engine, profile, home)
    (seat,) = record.instances
    status = engine.status(record, detail=True)
    assert [i.id for i in status.instances] == [seat.id]
    assert engine.verify_targets(record) == [seat.id]
    if name == "cloudformation":
        assert status.stack is not None and status.stack.status == "CREATE_COMPLETE"
        assert "CREATE_COMPLETE InstanceSeat1" in heard.lines
    _remove(engine, record, home)
    assert nothing_left(profile.name, home), leftovers(profile.name, home)


def test_declined_stack_plan_is_discarded(aws, hooks, tmp_path):
    import boto3

    engine = pick("cloudformation", _env(tmp_path / "home", hooks))
    plan = engine.plan(_profile("eia-workshop.yaml"), None)
    assert plan.changes and plan.change_set.kind == "CREATE"
    engine.discard(plan)  # what the CLI does on "no" or Ctrl-C
    cfn = boto3.client("cloudformation", region_name="us-west-2")
    live = [s for s in cfn.list_stacks()["StackSummaries"] if s["StackStatus"] != "DELETE_COMPLETE"]
    assert live == []


def test_stack_engine_refuses_a_ttl_before_any_call(hooks, recorder, tmp_path):
    engine = pick("cloudformation", _env(tmp_path / "home", hooks))
    with pytest.raises(InputError, match="time-to-live"):
        engine.check(_profile("eia-workshop.yaml", ttl="2h"))
    assert recorder.operations() == []


def test_the_stackset_engine_through_the_protocol(org, hooks, tmp_path):
    home = tmp_path / "home"
    heard = Heard()
    targets = parse_targets(",".join(org["accounts"]), None, "us-east-1", known_regions())
    engine = pick("stackset", _env(home, hooks), Reporters(stack=heard), targets=targets)
    profile = _profile("inf2.yaml")
    engine.check(profile)
    outcome, record = _launch(engine, profile, home)
    assert outcome.status == "SUCCEEDED" and len(outcome.rows) == 3
    assert any(line.endswith("us-east-1: SUCCEEDED") for line in heard.lines)
    rows = engine.status(record).stack_instances
    assert sorted(r["account"] for r in rows or []) == sorted(org["accounts"])
    with pytest.raises(InputError, match="already recorded"):
        engine.plan(profile, record)  # a stack set launch does not update one
    assert _remove(engine, record, home) == []
    assert engine.status(record).stack_instances == []


def test_picking_by_flag_and_by_record(tmp_path):
    assert engine_name(None) == "direct" and engine_name("stackset") == "stackset"
    with pytest.raises(InputError, match="no such engine"):
        engine_name("terraform")


def test_pick_makes_each_engine_with_the_reporters_given(hooks, tmp_path):
    """`pick` is the one place an engine is made (tests/test_architecture.py holds the CLI
    to it): each name gives its engine, reporting where it was told."""
    heard, env = Heard(), _env(tmp_path / "home", hooks)
    to = Reporters(stack=heard)
    targets = parse_targets("111111111111", None, "us-east-1", known_regions())
    direct, stack = pick("direct", env, to), pick("cloudformation", env, to)
    stackset = pick("stackset", env, to, targets=targets, endpoint_url="http://127.0.0.1:1")
    assert isinstance(direct, DirectEngine) and direct.teardown_reporter is to.teardown
    assert isinstance(stack, StackEngine) and stack.reporter is heard
    assert isinstance(stackset, StackSetEngine) and stackset.reporter is heard
    assert (stackset.targets, stackset.endpoint_url) == (targets, "http://127.0.0.1:1")
    assert [e.name for e in (direct, stack, stackset)] == ["direct", "cloudformation", "stackset"]
