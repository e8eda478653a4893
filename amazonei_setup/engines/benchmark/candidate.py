"""One benchmark candidate's life: its own deployment (role, instance profile, security group,
instance: the direct engine, unchanged), launched with the benchmark's job in its agent's
config; its result read from the bucket; the deployment torn down as soon as it is in.

A candidate that cannot launch (no capacity, a quota), whose instance dies, or that gives no
result within its time limit fails alone: its row says why, and what was made is removed."""

from __future__ import annotations

import math
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

from amazonei_setup.aws.clients import AwsClients, error_code
from amazonei_setup.engines.benchmark.jobs import access, result_key
from amazonei_setup.engines.benchmark.plan import BOOT_MIN, CandidatePlan, time_limit_s
from amazonei_setup.engines.direct.apply import Runtime, apply_plan
from amazonei_setup.engines.direct.teardown import execute_teardown, plan_teardown
from amazonei_setup.engines.discover import discover
from amazonei_setup.engines.plan import build_plan
from amazonei_setup.errors import SetupError
from amazonei_setup.resources import model_bucket
from amazonei_setup.resources.instance import describe
from amazonei_setup.spec.benchmark import BenchmarkRequest
from amazonei_setup.spec.catalog import Catalog
from amazonei_setup.spec.profile import Access, Agent, Profile
from amazonei_setup.state.ledger import Ledger

BENCHMARK_TAG = "benchmark"  # a user tag on every candidate: `teardown --tag benchmark=NAME`
CAPACITY_CODES = ("InsufficientInstanceCapacity", "Unsupported", "InstanceLimitExceeded",
                  "VcpuLimitExceeded", "MaxSpotInstanceCountExceeded")  # fmt: skip


class Stopped(Exception):
    """The person pressed Ctrl-C: every candidate stops waiting and is removed."""


class CandidateReporter(Protocol):
    def candidate(self, label: str, state: str, detail: str = "") -> None: ...


@dataclass
class Environment:
    """What running candidates needs from outside: the state home, the region's clients (one
    set for every candidate's thread: AwsClients makes each client under a lock, and a
    client is thread-safe; a set per call loaded botocore's models again each time), clocks,
    the sandbox's signing key."""

    home: Path
    clients: AwsClients
    catalog: Catalog
    clock: Callable[[], float]
    now: Callable[[], Any]
    user_data_key: bytes | None = None
    poll_s: float = 10.0
    stop: threading.Event = field(default_factory=threading.Event)
    sleep_impl: Callable[[float], None] | None = None

    def sleep(self, seconds: float) -> None:
        """Sleep unless Ctrl-C was pressed (then raise Stopped at once)."""
        if self.sleep_impl is not None:
            self.sleep_impl(seconds)
            if self.stop.is_set():
                raise Stopped()
        elif self.stop.wait(seconds):
            raise Stopped()


@dataclass
class CandidateOutcome:
    plan: CandidatePlan
    result: dict[str, Any] | None = None
    reason: str | None = None  # why there is no result, when the tool knows
    minutes_used: float = 0.0
    removed: bool = False


def candidate_profile(
    request: BenchmarkRequest, plan: CandidatePlan, bucket: str, harness_sha256: str
) -> Profile:
    """The candidate's deployment: Session Manager access only (no key pair, no SSH port),
    no smoke test (the benchmark measures), and a time-to-live past its time limit so `sweep
    --expired` removes it even if this machine is lost."""
    hours = math.ceil((BOOT_MIN * 60 + time_limit_s(request)) / 3600) + 1
    return Profile(
        name=plan.deployment,
        region=request.region,
        instance_type=plan.candidate.instance_type,
        accelerator=plan.candidate.accelerator,
        access=Access(mode="ssm"),
        tags={**request.tags, BENCHMARK_TAG: request.name},
        agent=Agent(
            smoke_test=False,
            benchmark=access(request, bucket, harness_sha256, plan.deployment),
        ),
        ttl=f"{hours}h",
    )


def launch(env: Environment, profile: Profile) -> list[str]:
    """The candidate's deployment, as `launch` makes one; its instance ids."""
    clients = env.clients
    ledger = Ledger(env.home)
    with ledger.edit(profile.region, profile.name, "a benchmark's launch") as edit:
        discovery = discover(
            clients, env.catalog, profile, env.home, _no_ip_lookup, record=edit.record
        )
        plan = build_plan(profile, discovery, env.catalog)
        runtime = Runtime(clients=clients, home=env.home, user_data_key=env.user_data_key)
        runtime.sleep, runtime.now = env.sleep, env.now
        outcome = apply_plan(plan, runtime, edit)
    return [instance["id"] for instance in outcome.instances]


def _no_ip_lookup(*_: Any) -> str:
    raise RuntimeError("a benchmark candidate uses Session Manager: no SSH address to look up")


def wait_for_result(
    env: Environment, bucket: str, deployment: str, instance_ids: list[str], limit_s: float
) -> dict[str, Any]:
    """The candidate's result once its instance wrote it; SetupError when the instance
    stops, or when `limit_s` passes without one (a hang: the harness's own limit is less)."""
    clients = env.clients
    key = result_key(deployment)
    began = env.clock()
    delay = min(1.0, env.poll_s)
    while True:
        found = model_bucket.get_json(clients, bucket, key)
        if found is not None:
            return found
        gone = [i for i in describe(clients, instance_ids) if i.state != "running"]
        if gone:
            raise SetupError(
                f"its instance {gone[0].id} went to '{gone[0].state}' before writing a result"
            )
        if env.clock() - began > limit_s:
            raise SetupError(f"no result within {limit_s:.0f} s (hung): the instance was stopped")
        env.sleep(delay)
        delay = min(delay * 2, env.poll_s)


def remove(env: Environment, name: str, region: str) -> None:
    """Tear the candidate's deployment down (nothing left, record gone); SetupError when it
    cannot be (remove_reported says so, and `teardown` finishes it). Real sleeps: it runs
    after Ctrl-C too, when env.sleep would stop at once."""
    clients, ledger = env.clients, Ledger(env.home)
    plan = plan_teardown(clients, ledger, env.home, name, region)
    if plan.nothing_to_do and not plan.record_exists:
        return
    execute_teardown(plan, clients, ledger, sleep=time.sleep)


def reason_of(exc: SetupError) -> str:
    """A launch failure as the row says it: capacity and quotas by name."""
    code = getattr(exc, "code", None) or error_code(exc)
    said = str(exc.args[0]) if exc.args else type(exc).__name__
    if code in CAPACITY_CODES:
        return f"no capacity or quota ({code}): {said}"
    return said


def run_candidate(
    env: Environment,
    request: BenchmarkRequest,
    plan: CandidatePlan,
    bucket: str,
    harness_sha256: str,
    reporter: CandidateReporter,
) -> CandidateOutcome:
    """Launch, wait, read, remove; every failure becomes this row's reason."""
    label = plan.candidate.label
    outcome = CandidateOutcome(plan)
    began = env.clock()
    try:
        reporter.candidate(label, "launching")
        profile = candidate_profile(request, plan, bucket, harness_sha256)
        ids = launch(env, profile)
        reporter.candidate(label, "measuring", ", ".join(ids))
        limit = BOOT_MIN * 60 + time_limit_s(request)
        outcome.result = wait_for_result(env, bucket, plan.deployment, ids, limit)
        if outcome.result.get("status") == "ok":
            reporter.candidate(label, "measured", str(outcome.result.get("reason") or ""))
        else:
            reporter.candidate(label, "failed", str(outcome.result.get("reason") or ""))
    except SetupError as exc:
        outcome.reason = reason_of(exc)
        reporter.candidate(label, "failed", outcome.reason)
    finally:
        outcome.minutes_used = (env.clock() - began) / 60
    if not request.keep:
        outcome.removed = remove_reported(env, request, plan, reporter)
        outcome.minutes_used = (env.clock() - began) / 60  # billed until it is gone
    return outcome


def remove_reported(
    env: Environment, request: BenchmarkRequest, plan: CandidatePlan, reporter: CandidateReporter
) -> bool:
    label = plan.candidate.label
    try:
        remove(env, plan.deployment, request.region)
    except SetupError as exc:
        reporter.candidate(label, "not removed", f"{exc}; `teardown {plan.deployment}` removes it")
        return False
    reporter.candidate(label, "removed")
    return True
