"""Every mutating call of launch and teardown × {AWS error, interrupt right after}: the same
command run again completes, and teardown leaves zero resources (scripts/fault_matrix.py
prints the same matrix as a table)."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

import pytest

SCRIPT = Path(__file__).resolve().parents[2] / "scripts" / "fault_matrix.py"
spec = importlib.util.spec_from_file_location("fault_matrix", SCRIPT)
fault_matrix = importlib.util.module_from_spec(spec)
sys.modules["fault_matrix"] = fault_matrix  # dataclasses look their module up there
spec.loader.exec_module(fault_matrix)
Step = fault_matrix.Step

LAUNCH_STEPS = [
    Step("PutParameter", 1),  # the name's claim, before anything else
    Step("CreateRole", 1),
    Step("CreateSecurityGroup", 1),
    Step("CreateKeyPair", 1),
    Step("PutRolePolicy", 1),
    Step("AuthorizeSecurityGroupIngress", 1),
    Step("CreateInstanceProfile", 1),
    Step("CreateSecurityGroup", 2),
    Step("AddRoleToInstanceProfile", 1),
    Step("AuthorizeSecurityGroupIngress", 2),
    Step("CreateVpcEndpoint", 1),
    Step("RunInstances", 1),
]
TEARDOWN_STEPS = [
    Step("TerminateInstances", 1),
    Step("DeleteVpcEndpoints", 1),
    Step("DeleteSecurityGroup", 1),
    Step("DeleteSecurityGroup", 2),
    Step("DeleteKeyPair", 1),
    Step("RemoveRoleFromInstanceProfile", 1),
    Step("DeleteInstanceProfile", 1),
    Step("DeleteRolePolicy", 1),
    Step("DeleteRole", 1),
    Step("DeleteParameters", 1),
    Step("DeleteParameter", 1),  # the name's claim, last
]


@pytest.mark.parametrize("command", ["launch", "teardown"])
def test_the_matrix_covers_every_mutating_call(command):
    """The lists below are what the runs really do: a new mutating call must join the matrix."""
    expected = LAUNCH_STEPS if command == "launch" else TEARDOWN_STEPS
    assert sorted(map(str, fault_matrix.mutating_steps(command))) == sorted(map(str, expected))


@pytest.mark.parametrize("resume_with", ["launch", "teardown"])
@pytest.mark.parametrize("fault", ["error", "interrupt"])
@pytest.mark.parametrize("step", LAUNCH_STEPS, ids=str)
def test_launch_fault_resumes_and_tears_down_clean(step, fault, resume_with):
    row = fault_matrix.launch_row(step, fault, resume_with)
    assert row.first_exit == (1 if fault == "error" else 130)
    assert row.resumed_exit == 0
    assert row.leftover == 0


@pytest.mark.parametrize("fault", ["error", "interrupt"])
@pytest.mark.parametrize("step", TEARDOWN_STEPS, ids=str)
def test_teardown_fault_finishes_when_run_again(step, fault):
    row = fault_matrix.teardown_row(step, fault)
    assert row.first_exit == (1 if fault == "error" else 130)
    assert row.resumed_exit == 0
    assert row.leftover == 0
