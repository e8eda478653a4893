"""The one executor launch and teardown share: order, concurrency bound, failure handling, and
the teardown graph as the launch graph reversed."""

from __future__ import annotations

import threading
from pathlib import Path

import pytest

from amazonei_setup.engines.direct.teardown import teardown_graph
from amazonei_setup.engines.graph import CycleError, Node, order, run_graph
from amazonei_setup.resources.instance import LaunchedInstance
from amazonei_setup.resources.kind import Found
from amazonei_setup.resources.registry import kinds


def test_order_puts_every_node_after_what_it_needs_and_ignores_unknown_names():
    nodes = [Node("c", 3, ("b",)), Node("b", 2, ("a", "gone")), Node("a", 1)]
    assert [n.key for n in order(nodes)] == ["a", "b", "c"]


def test_a_cycle_is_refused_before_anything_runs():
    ran: list[str] = []
    nodes = [Node("a", 1, ("b",)), Node("b", 2, ("a",))]
    with pytest.raises(CycleError, match="a, b"):
        run_graph(nodes, lambda node: ran.append(node.key))
    assert ran == []


def test_independent_steps_run_at_once_up_to_the_bound_and_never_beyond():
    bound = 3
    lock = threading.Lock()
    active = 0
    peak = 0
    full = threading.Event()

    def step(node: Node[int]) -> int:
        nonlocal active, peak
        with lock:
            active += 1
            peak = max(peak, active)
            if active == bound:
                full.set()
        full.wait(timeout=10)  # the first wave holds until the bound is reached
        with lock:
            active -= 1
        return node.item * 2

    results = run_graph([Node(str(i), i) for i in range(9)], step, max_parallel=bound)
    assert peak == bound
    assert results == {str(i): i * 2 for i in range(9)}


def test_a_failure_stops_what_depends_on_it_lets_running_steps_finish_and_is_raised():
    started: list[str] = []
    finished: list[str] = []
    release = threading.Event()

    def step(node: Node[str]) -> str:
        started.append(node.key)
        if node.key == "bad":
            release.set()
            raise RuntimeError("AWS said no")
        if node.key == "slow":
            release.wait(timeout=10)
        return node.key

    nodes = [Node("slow", "s"), Node("bad", "b"), Node("after-bad", "x", ("bad",))]
    with pytest.raises(RuntimeError, match="AWS said no"):
        run_graph(nodes, step, finished=lambda node, result: finished.append(node.key))
    assert "after-bad" not in started
    assert finished == ["slow"]  # in flight when the failure came: it finished and was reported


def test_instant_answers_need_no_thread_and_release_their_dependents():
    ran: list[str] = []
    nodes = [Node("reused", 1), Node("new", 2, ("reused",))]
    results = run_graph(
        nodes,
        lambda node: ran.append(node.key) or "made",
        instant=lambda node: "kept" if node.key == "reused" else None,
    )
    assert ran == ["new"]
    assert results == {"reused": "kept", "new": "made"}


def found_everything(tmp_path: Path) -> Found:
    found = Found("demo", "us-west-2")
    found.items = {
        "iam-role": [{"name": "r", "arn": "arn:r", "tags": {}}],
        "iam-instance-profile": [{"name": "r", "arn": "arn:p", "roles": ["r"], "tags": {}}],
        "security-group": [
            {"id": "sg-i", "name": "amazonei-setup-demo-instance", "tags": {}},
            {"id": "sg-e", "name": "amazonei-setup-demo-endpoint", "tags": {}},
        ],
        "vpc-endpoint": [
            {"id": "vpce-1", "service": "svc", "groups": ["sg-e"], "tags": {}, "subnets": []}
        ],
        "key-pair": [{"id": "key-1", "name": "amazonei-setup-demo", "tags": {}}],
        "ec2-instance": [LaunchedInstance("i-1", 1, "us-west-2a", "subnet-a", "running", "m5")],
        "ssm-parameter": ["/amazonei-setup/demo/i-1"],
    }
    return found


class NoRecords:
    def all(self) -> list:
        return []


def test_teardown_runs_the_launch_graph_backwards_with_each_kinds_waits(tmp_path):
    found = found_everything(tmp_path)
    steps = [s for kind in kinds() for s in kind.teardown(found, tmp_path, NoRecords())]
    nodes = {n.key: set(n.after) for n in teardown_graph(steps)}
    # Instances go first: everything they used waits for them...
    for key in ("instance_profile", "sg:sg-i", "sg:sg-e", "endpoint:vpce-1"):
        assert "instances" in nodes[key], key
    assert "instance_profile" in nodes["role"]  # ...the role leaves its profile first
    assert "endpoint:vpce-1" in nodes["sg:sg-e"]  # the endpoint's interfaces hold its group
    assert "sg:sg-e" in nodes["sg:sg-i"]  # the endpoint group's rule names the instance group
    assert "instances" in nodes["reports"]  # no agent can publish after the listing
    # ...but a key pair goes while the instances shut down: AWS does not need them gone.
    assert nodes["key:amazonei-setup-demo"] == set()


def test_the_teardown_plan_lists_what_goes_in_the_order_it_goes(tmp_path):
    found = found_everything(tmp_path)
    steps = [s for kind in kinds() for s in kind.teardown(found, tmp_path, NoRecords())]
    listed = [(a.verb, a.kind) for n in teardown_graph(steps) for a in n.item.actions]
    assert listed.index(("terminate", "ec2-instance")) < listed.index(("delete", "iam-role"))
    assert listed.index(("delete", "iam-instance-profile")) < listed.index(("delete", "iam-role"))
    assert listed.count(("delete", "security-group")) == 2
