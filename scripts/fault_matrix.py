#!/usr/bin/env python3
"""The fault matrix: for every mutating AWS call that `launch` (and `teardown`) makes, inject
(a) an AWS error at that call and (b) an interrupt right after it, then show that running the
same command again completes, and that `teardown` leaves zero resources.

Runs on in-process moto (no AWS, no network). Prints the matrix as a table:

    python scripts/fault_matrix.py            # launch and teardown matrices
"""

from __future__ import annotations

import os
import sys
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(REPO), str(REPO / "tests")]
from hermetic import make_hermetic  # noqa: E402

make_hermetic(os.environ)  # as the test suite: nothing of the shell's AWS settings, moto's keys

import boto3  # noqa: E402
from moto import mock_aws  # noqa: E402
from support import (  # noqa: E402
    REGION,
    AwsRecorder,
    FakeClock,
    leftovers,
    reset_moto_without_rebuilding,
    share_botocore_models,
)

from amazonei_sandbox.seed import seed_region  # noqa: E402
from amazonei_setup.cli.main import Hooks, main  # noqa: E402

PROFILE = str(REPO / "templates" / "profiles" / "eia-workshop.yaml")
NAME = "eia-workshop"
LAUNCH = ["launch", "--yes", "--no-wait", "--profile-file", PROFILE]
TEARDOWN = ["teardown", NAME, "--region", REGION, "--yes"]
share_botocore_models()
reset_moto_without_rebuilding()


@dataclass(frozen=True)
class Step:
    operation: str
    occurrence: int  # the nth call of this operation in the run (1-based)

    def __str__(self) -> str:
        return self.operation + (f" #{self.occurrence}" if self.occurrence > 1 else "")


@dataclass
class Row:
    command: str
    step: Step
    fault: str  # "error" | "interrupt"
    first_exit: int
    resumed_exit: int
    leftover: int

    @property
    def ok(self) -> bool:
        expected = 1 if self.fault == "error" else 130
        return self.first_exit == expected and self.resumed_exit == 0 and self.leftover == 0


class _Run:
    """One fresh account: a seeded in-process moto, a state home, and a CLI runner."""

    def __init__(self) -> None:
        self.recorder = AwsRecorder()
        self.clock = FakeClock()
        self.home = Path(tempfile.mkdtemp(prefix="fault-matrix-"))
        self.extra: list[Callable[[object], None]] = []

    def hooks(self) -> Hooks:
        def factory(target):
            session = self.recorder.session_factory(target)
            for register in self.extra:
                register(session)
            return session

        return Hooks(
            session_factory=factory,
            ip_lookup=lambda target: "198.51.100.7",
            sleep=self.clock.sleep,
            clock=self.clock,
            stdin_is_tty=lambda: False,
        )

    def cli(self, argv: list[str]) -> int:
        devnull = open(os.devnull, "w")  # noqa: SIM115 - closed below
        saved = sys.stdout, sys.stderr
        sys.stdout = sys.stderr = devnull
        try:
            return main(["--home", str(self.home), *argv], self.hooks())
        finally:
            sys.stdout, sys.stderr = saved
            devnull.close()

    def inject(self, step: Step, fault: str) -> None:
        seen = {"count": 0}

        def hook(model, params=None, parsed=None, **_):
            dry_run = (params or {}).get("DryRun") or (parsed or {}).get("Error", {}).get(
                "Code"
            ) == "DryRunOperation"
            if model.name != step.operation or dry_run:  # a dry run changes nothing
                return
            seen["count"] += 1
            if seen["count"] != step.occurrence:
                return
            if fault == "interrupt":
                raise KeyboardInterrupt
            from botocore.exceptions import ClientError

            raise ClientError(
                {"Error": {"Code": "InternalError", "Message": "injected"}}, step.operation
            )

        event = "after-call.*.*" if fault == "interrupt" else "before-parameter-build.*.*"
        self.extra = [lambda session: session.events.register(event, hook)]

    def clear_faults(self) -> None:
        self.extra = []

    def left(self) -> int:
        return sum(leftovers(NAME, self.home).values())


def _steps(operations: list[str]) -> list[Step]:
    counts: dict[str, int] = {}
    steps = []
    for operation in operations:
        counts[operation] = counts.get(operation, 0) + 1
        steps.append(Step(operation, counts[operation]))
    return steps


def mutating_steps(command: str) -> list[Step]:
    """The mutating calls of a clean run of `command`, in order (discovered, not hard-coded)."""
    with mock_aws():
        seed_region(REGION)
        run = _Run()
        assert run.cli(LAUNCH) == 0
        if command == "teardown":
            _agent_report()
            run.recorder.clear()
            assert run.cli(TEARDOWN) == 0
        return _steps(run.recorder.operations(mutating_only=True))


def _agent_report() -> None:
    """What the agent would have published (moto runs no user data)."""
    boto3.client("ssm", region_name=REGION).put_parameter(
        Name=f"/amazonei-setup/{NAME}/i-0/report", Value="{}", Type="String"
    )


def launch_row(step: Step, fault: str, resume_with: str) -> Row:
    """Fault during launch; then either re-run launch and tear down, or tear down at once."""
    with mock_aws():
        seed_region(REGION)
        run = _Run()
        run.inject(step, fault)
        first = run.cli(LAUNCH)
        run.clear_faults()
        resumed = run.cli(LAUNCH) if resume_with == "launch" else 0
        teardown = run.cli(TEARDOWN)
        left = run.left()
        return Row(f"launch→{resume_with}", step, fault, first, max(resumed, teardown), left)


def teardown_row(step: Step, fault: str) -> Row:
    with mock_aws():
        seed_region(REGION)
        run = _Run()
        assert run.cli(LAUNCH) == 0
        _agent_report()
        run.inject(step, fault)
        first = run.cli(TEARDOWN)
        run.clear_faults()
        again = run.cli(TEARDOWN)
        return Row("teardown", step, fault, first, again, run.left())


def matrix() -> list[Row]:
    rows = []
    for step in mutating_steps("launch"):
        for fault in ("error", "interrupt"):
            rows.append(launch_row(step, fault, "launch"))
            rows.append(launch_row(step, fault, "teardown"))
    for step in mutating_steps("teardown"):
        for fault in ("error", "interrupt"):
            rows.append(teardown_row(step, fault))
    return rows


def table(rows: list[Row]) -> str:
    header = (
        f"{'command':<18} {'step':<32} {'fault':<9} {'1st exit':>8} {'rerun':>5} {'left':>4}  ok"
    )
    lines = [header, "-" * len(header)]
    for row in rows:
        lines.append(
            f"{row.command:<18} {row.step!s:<32} {row.fault:<9} {row.first_exit:>8} "
            f"{row.resumed_exit:>5} {row.leftover:>4}  {'yes' if row.ok else 'NO'}"
        )
    good = sum(row.ok for row in rows)
    lines.append(f"{good} of {len(rows)} scenarios resumed and tore down clean")
    return "\n".join(lines)


if __name__ == "__main__":
    result = matrix()
    print(table(result))
    sys.exit(0 if all(row.ok for row in result) else 1)
