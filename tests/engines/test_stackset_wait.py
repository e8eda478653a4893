"""Following a stack set operation: moto ends every operation within the call, so QUEUED and
RUNNING are played here by a scripted client; the wait backs off, reports each instance's
change once, and gives up at its deadline with the command that shows where it stands."""

from __future__ import annotations

import pytest

from amazonei_setup.engines.stackset import operations as ops
from amazonei_setup.errors import AwsFailure


class ScriptedCfn:
    """DescribeStackSetOperation answers the scripted states in turn (the last one repeats);
    ListStackInstances answers the instance states scripted with them."""

    def __init__(self, states: list[tuple[str, str]]) -> None:
        self.states = states
        self.calls = 0

    def _now(self) -> tuple[str, str]:
        """The state of the latest DescribeStackSetOperation (listed right after it)."""
        return self.states[min(max(self.calls - 1, 0), len(self.states) - 1)]

    def describe_stack_set_operation(self, **_: str) -> dict:
        self.calls += 1
        return {"StackSetOperation": {"Status": self._now()[0]}}

    def get_paginator(self, name: str):
        assert name == "list_stack_instances"
        detailed = self._now()[1]
        page = {
            "Summaries": [
                {
                    "Account": "111122223333",
                    "Region": "us-east-1",
                    "Status": "OUTDATED" if detailed != "SUCCEEDED" else "CURRENT",
                    "StackInstanceStatus": {"DetailedStatus": detailed},
                }
            ]
        }

        class Pages:
            def paginate(self, **_: str):
                return [page]

        return Pages()


def test_wait_backs_off_and_reports_each_change_once():
    cfn = ScriptedCfn(
        [
            ("QUEUED", "PENDING"),
            ("RUNNING", "RUNNING"),
            ("RUNNING", "RUNNING"),
            ("SUCCEEDED", "SUCCEEDED"),
        ]
    )
    slept: list[float] = []
    now = [0.0]

    def sleep(seconds: float) -> None:
        slept.append(seconds)
        now[0] += seconds

    seen: list[str] = []
    status = ops.wait(
        cfn,
        "set",
        "op-1",
        sleep=sleep,
        clock=lambda: now[0],
        on_progress=lambda rows: seen.append(rows[0].detailed),
    )
    assert status == "SUCCEEDED"
    assert seen == ["PENDING", "RUNNING", "SUCCEEDED"]  # RUNNING twice, reported once
    assert slept == sorted(slept) and slept[0] < slept[-1]  # backing off


def test_wait_gives_up_at_its_deadline():
    cfn = ScriptedCfn([("RUNNING", "RUNNING")])
    now = [0.0]

    def sleep(seconds: float) -> None:
        now[0] += seconds

    with pytest.raises(AwsFailure) as failure:
        ops.wait(cfn, "set", "op-9", sleep=sleep, clock=lambda: now[0], timeout_s=120)
    assert "did not end in 120s" in failure.value.message
    assert "describe-stack-set-operation --stack-set-name set --operation-id op-9" in (
        failure.value.hint or ""
    )
    assert now[0] == pytest.approx(120)
