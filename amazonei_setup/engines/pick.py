"""Which engine a deployment goes through, decided once: for a launch from `--engine` (the
profile's way in), for everything after from the record (`record.engine`)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Literal, Protocol, Union, overload

from amazonei_setup.engines.cloudformation.engine import StackEngine
from amazonei_setup.engines.direct.apply import Reporter, SilentReporter
from amazonei_setup.engines.direct.engine import DirectEngine
from amazonei_setup.engines.direct.teardown import SilentTeardownReporter, TeardownReporter
from amazonei_setup.engines.protocol import (
    ENGINES,
    EngineName,
    Environment,
    SilentStackReporter,
    StackReporter,
)
from amazonei_setup.engines.stackset.engine import StackSetEngine, is_stackset
from amazonei_setup.engines.stackset.targets import Targets
from amazonei_setup.errors import InputError
from amazonei_setup.state.record import DeploymentRecord

AnyEngine = Union[DirectEngine, StackEngine, StackSetEngine]  # noqa: UP007 (a runtime alias)


def engine_name(value: str | None) -> EngineName:
    """`--engine`'s value as an engine's name (the direct engine when none is given)."""
    for name in ENGINES:
        if (value in (None, "") and name == "direct") or value == name:
            return name
    raise InputError(f"--engine {value}: no such engine", "choose " + ", ".join(ENGINES))


def engine_of(record: DeploymentRecord) -> EngineName:
    """The engine that made a recorded deployment: a stack set's, a stack's, else direct
    (older records name none)."""
    if is_stackset(record):
        return "stackset"
    if record.stack is not None:
        return "cloudformation"
    return "direct"


class ReportsTo(Protocol):
    """Where each engine's progress goes: `Reporters`, or the terminal's own set
    (`cli.console.ConsoleReporters`, typed as its own so the command can close them)."""

    @property
    def apply(self) -> Reporter: ...
    @property
    def teardown(self) -> TeardownReporter: ...
    @property
    def stack(self) -> StackReporter: ...


@dataclass
class Reporters:
    """Where each engine's progress goes (nowhere by default)."""

    apply: Reporter = field(default_factory=SilentReporter)
    teardown: TeardownReporter = field(default_factory=SilentTeardownReporter)
    stack: StackReporter = field(default_factory=SilentStackReporter)


@overload
def pick(
    name: Literal["direct"],
    env: Environment,
    reporters: ReportsTo | None = ...,
    *,
    targets: None = ...,
    endpoint_url: str | None = ...,
) -> DirectEngine: ...
@overload
def pick(
    name: Literal["cloudformation"],
    env: Environment,
    reporters: ReportsTo | None = ...,
    *,
    targets: None = ...,
    endpoint_url: str | None = ...,
) -> StackEngine: ...
@overload
def pick(
    name: Literal["stackset"],
    env: Environment,
    reporters: ReportsTo | None = ...,
    *,
    targets: Targets | None = ...,
    endpoint_url: str | None = ...,
) -> StackSetEngine: ...
@overload
def pick(
    name: EngineName,
    env: Environment,
    reporters: ReportsTo | None = ...,
    *,
    targets: Targets | None = ...,
    endpoint_url: str | None = ...,
) -> AnyEngine: ...
def pick(
    name: EngineName,
    env: Environment,
    reporters: ReportsTo | None = None,
    *,
    targets: Targets | None = None,
    endpoint_url: str | None = None,
) -> AnyEngine:
    """The engine of that name, reporting to `reporters`; the one place an engine is made.
    A stack set launch also takes its `targets` (--accounts/--ou x --regions) and the
    `endpoint_url` it records; every other call leaves them out."""
    to = reporters or Reporters()
    if name == "cloudformation":
        return StackEngine(env, reporter=to.stack)
    if name == "stackset":
        return StackSetEngine(env, targets=targets, endpoint_url=endpoint_url, reporter=to.stack)
    return DirectEngine(env, reporter=to.apply, teardown_reporter=to.teardown)


def for_record(
    record: DeploymentRecord, env: Environment, reporters: ReportsTo | None = None
) -> AnyEngine:
    """The engine that made a recorded deployment."""
    return pick(engine_of(record), env, reporters)


if TYPE_CHECKING:  # the type checker holds each engine to the protocol
    from amazonei_setup.engines.cloudformation.engine import StackTeardown
    from amazonei_setup.engines.cloudformation.launch import StackOutcome, StackPlan
    from amazonei_setup.engines.direct.apply import Outcome
    from amazonei_setup.engines.direct.teardown import TeardownPlan
    from amazonei_setup.engines.plan import Plan
    from amazonei_setup.engines.protocol import Engine
    from amazonei_setup.engines.stackset.engine import StackSetTeardown
    from amazonei_setup.engines.stackset.launch import StackSetOutcome
    from amazonei_setup.engines.stackset.plan import StackSetPlan

    _direct: type[Engine[Plan, Outcome, TeardownPlan, dict[str, Any]]] = DirectEngine
    _stack: type[Engine[StackPlan, StackOutcome, StackTeardown, None]] = StackEngine
    _stackset: type[
        Engine[StackSetPlan, StackSetOutcome, StackSetTeardown, list[dict[str, str]]]
    ] = StackSetEngine
