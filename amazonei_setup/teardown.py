"""Teardown: remove everything a deployment created, in reverse dependency order, and nothing
it did not create. Every step is idempotent, so an interrupted teardown finishes when re-run,
and a deployment whose record is lost is torn down from its tags alone."""

from __future__ import annotations

import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from amazonei_setup.aws import AwsClients
from amazonei_setup.errors import AwsFailure
from amazonei_setup.inventory import DeploymentResources, deployment_resources, endpoint_users
from amazonei_setup.ledger import Ledger
from amazonei_setup.resources import endpoint as endpoint_res
from amazonei_setup.resources import instance as instance_res
from amazonei_setup.resources import instance_profile as instance_profile_res
from amazonei_setup.resources import key_pair as key_pair_res
from amazonei_setup.resources import parameters as parameters_res
from amazonei_setup.resources import role as role_res
from amazonei_setup.resources import security_group as sg_res
from amazonei_setup.resources.naming import (
    TAG_DEPLOYMENT,
    TAG_MANAGED,
    endpoint_user_tag,
    report_parameter_prefix,
)

Verb = Literal["terminate", "delete", "leave", "keep"]
# ENIs of terminated instances and deleted endpoints release groups with a delay on AWS.
DEPENDENCY_DELAYS_S = (2, 4, 8, 15, 30, 30, 30)


@dataclass
class TeardownAction:
    verb: Verb
    kind: str
    name: str
    id: str
    reason: str = ""

    def to_dict(self) -> dict[str, str]:
        return dict(self.__dict__)


@dataclass
class TeardownPlan:
    name: str
    region: str
    found: DeploymentResources
    actions: list[TeardownAction]
    record_exists: bool
    key_files: list[Path] = field(default_factory=list)

    @property
    def changes(self) -> list[TeardownAction]:
        return [a for a in self.actions if a.verb != "keep"]

    @property
    def kept(self) -> list[TeardownAction]:
        return [a for a in self.actions if a.verb == "keep"]

    @property
    def nothing_to_do(self) -> bool:
        return not self.changes and not self.record_exists and not self.key_files

    def planned(self, verb: Verb, kind: str) -> list[TeardownAction]:
        return [a for a in self.actions if a.verb == verb and a.kind == kind]

    def to_dict(self) -> dict[str, Any]:
        return {
            "deployment": self.name,
            "region": self.region,
            "actions": [a.to_dict() for a in self.actions],
            "record": self.record_exists,
            "key_files": [str(p) for p in self.key_files],
        }


class TeardownReporter:
    """Progress hooks; the CLI renders them, tests may record them."""

    def action_started(self, action: TeardownAction) -> None:
        pass

    def action_finished(self, action: TeardownAction) -> None:
        pass

    def note(self, message: str) -> None:
        pass


def _other_users(endpoint: dict[str, Any], name: str, region: str, ledger: Ledger) -> set[str]:
    """Who else uses a shared endpoint: its user tags plus live records that name it."""
    users = endpoint_users(endpoint)
    for record in ledger.all():
        used = record.get("resources", {}).get("endpoint", {}).get("id")
        if record["region"] == region and used == endpoint["id"]:
            users.add(record["name"])
    return users - {name}


def plan_teardown(
    clients: AwsClients, ledger: Ledger, home: Path, name: str, region: str
) -> TeardownPlan:
    """What teardown would do, read-only: the eksctl-style list shown before acting."""
    found = deployment_resources(clients, name, region)
    record = ledger.load(region, name)
    actions: list[TeardownAction] = []
    for instance in found.instances:
        actions.append(
            TeardownAction("terminate", "ec2-instance", f"{name}-{instance.seat}", instance.id)
        )
    for endpoint in found.endpoints:
        others = _other_users(endpoint, name, region, ledger)
        managed = endpoint["tags"].get(TAG_MANAGED) == "true"
        if managed and not others:
            actions.append(
                TeardownAction("delete", "vpc-endpoint", endpoint["service"], endpoint["id"])
            )
        else:
            why = f"still used by {', '.join(sorted(others))}" if others else "not created by us"
            actions.append(
                TeardownAction(
                    "leave",
                    "vpc-endpoint",
                    endpoint["service"],
                    endpoint["id"],
                    f"{why}: our group and tag come off, the endpoint stays",
                )
            )
    # Endpoint groups first: their rules reference the instance group.
    for group in sorted(found.security_groups, key=lambda g: not g["name"].endswith("-endpoint")):
        actions.append(TeardownAction("delete", "security-group", group["name"], group["id"]))
    for pair in found.key_pairs:
        actions.append(TeardownAction("delete", "key-pair", pair["name"], pair["id"]))
    # The private key goes even when its key pair already went (an interrupted teardown).
    key_files = key_pair_res.private_key_files(home, region, name)
    if found.instance_profile:
        holder = found.instance_profile
        actions.append(
            TeardownAction("delete", "iam-instance-profile", holder["name"], holder["arn"])
        )
    if found.role:
        actions.append(TeardownAction("delete", "iam-role", found.role["name"], found.role["arn"]))
    for parameter in found.parameters:
        actions.append(TeardownAction("delete", "ssm-parameter", parameter, parameter))
    for key, entry in (record or {}).get("resources", {}).items():
        if not entry.get("owned") and key != "endpoint":
            actions.append(
                TeardownAction(
                    "keep", entry["kind"], entry["name"], entry["id"], "reused, not created by us"
                )
            )
    return TeardownPlan(
        name=name,
        region=region,
        found=found,
        actions=actions,
        record_exists=record is not None,
        key_files=key_files,
    )


def _delete_group_with_retry(
    clients: AwsClients, group_id: str, sleep: Callable[[float], None], note: Callable[[str], None]
) -> None:
    delays = list(DEPENDENCY_DELAYS_S)
    while True:
        try:
            sg_res.delete(clients, group_id)
            return
        except AwsFailure as exc:
            if exc.code != "DependencyViolation" or not delays:
                raise
            delay = delays.pop(0)
            note(f"{group_id} is still in use (network interfaces draining); retrying in {delay}s")
            sleep(delay)


def execute_teardown(
    plan: TeardownPlan,
    clients: AwsClients,
    ledger: Ledger,
    *,
    sleep: Callable[[float], None] = time.sleep,
    reporter: TeardownReporter | None = None,
    wait_timeout_s: float = 600,
) -> list[TeardownAction]:
    """Carry out the plan in order; returns what was done. Safe to run again after a failure."""
    with ledger.lock(plan.region, plan.name, f"a teardown of '{plan.name}'"):
        return _execute(
            plan, clients, ledger, sleep, reporter or TeardownReporter(), wait_timeout_s
        )


def _remove_network(
    plan: TeardownPlan,
    clients: AwsClients,
    ledger: Ledger,
    sleep: Callable[[float], None],
    reporter: TeardownReporter,
    run: Callable[[TeardownAction, Callable[[], None]], None],
    wait_timeout_s: float,
) -> None:
    """Endpoints (left or deleted), then the groups their network interfaces held."""

    our_groups = {a.id for a in plan.planned("delete", "security-group")}
    user_tag = endpoint_user_tag(plan.name)
    for action in plan.planned("leave", "vpc-endpoint"):
        endpoint = next(e for e in plan.found.endpoints if e["id"] == action.id)
        ours = [g for g in endpoint["groups"] if g in our_groups]
        others = sorted(_other_users(endpoint, plan.name, plan.region, ledger))
        hand_over = None
        if endpoint["tags"].get(TAG_DEPLOYMENT) == plan.name and others:
            hand_over = {TAG_DEPLOYMENT: others[0]}
        run(
            action,
            lambda e=endpoint, g=ours, h=hand_over: endpoint_res.leave(
                clients, e["id"], g, user_tag, h
            ),
        )
    for action in plan.planned("delete", "vpc-endpoint"):
        run(
            action,
            lambda a=action: endpoint_res.delete(
                clients, a.id, sleep=sleep, timeout_s=wait_timeout_s
            ),
        )
    for action in plan.planned("delete", "security-group"):
        run(action, lambda a=action: _delete_group_with_retry(clients, a.id, sleep, reporter.note))


def _execute(
    plan: TeardownPlan,
    clients: AwsClients,
    ledger: Ledger,
    sleep: Callable[[float], None],
    reporter: TeardownReporter,
    wait_timeout_s: float,
) -> list[TeardownAction]:
    record = ledger.load(plan.region, plan.name)
    if record is not None:
        record["status"] = "tearing-down"
        ledger.save(record)
    done: list[TeardownAction] = []

    def run(action: TeardownAction, step: Callable[[], None]) -> None:
        reporter.action_started(action)
        step()
        reporter.action_finished(action)
        done.append(action)

    instances = plan.planned("terminate", "ec2-instance")

    def key_pairs() -> None:
        """Need nothing else gone first: run while the instances shut down."""
        with ThreadPoolExecutor(max_workers=8, thread_name_prefix="key-pairs") as keys:
            for future in [
                keys.submit(run, a, lambda a=a: key_pair_res.delete(clients, a.name))
                for a in plan.planned("delete", "key-pair")
            ]:
                future.result()
        for key_file in plan.key_files:
            key_file.unlink(missing_ok=True)

    def reports() -> None:
        """Once the instances are gone, so an agent cannot publish after the listing."""
        parameters = plan.planned("delete", "ssm-parameter")
        if not parameters and not instances:
            return
        known = {a.id for a in parameters}
        if instances:
            late = parameters_res.find(clients, report_parameter_prefix(plan.name))
            parameters += [
                TeardownAction("delete", "ssm-parameter", name, name)
                for name in late
                if name not in known
            ]
        if parameters:
            parameters_res.delete(clients, [a.id for a in parameters])
            done.extend(parameters)

    def iam() -> None:
        """Once no instance holds them: the role out of the instance profile and the profile
        deleted while the role's policies go, then the role itself."""
        holder = plan.found.instance_profile
        roles = None if holder is None else list(holder.get("roles", []))
        with ThreadPoolExecutor(max_workers=2, thread_name_prefix="iam") as steps:
            futures = [
                steps.submit(
                    run, a, lambda a=a: instance_profile_res.delete(clients, a.name, roles)
                )
                for a in plan.planned("delete", "iam-instance-profile")
            ]
            futures += [
                steps.submit(role_res.delete_policies, clients, a.name)
                for a in plan.planned("delete", "iam-role")
            ]
            for future in futures:
                future.result()
        for action in plan.planned("delete", "iam-role"):
            run(action, lambda a=action: role_res.delete(clients, a.name, policies_gone=True))

    with ThreadPoolExecutor(max_workers=3, thread_name_prefix="teardown") as pool:
        if instances:
            ids = [a.id for a in instances]
            for action in instances:
                reporter.action_started(action)
            instance_res.terminate(clients, ids)
        early = pool.submit(key_pairs)
        if instances:
            instance_res.wait_terminated(clients, ids, sleep=sleep, timeout_s=wait_timeout_s)
            for action in instances:
                reporter.action_finished(action)
                done.append(action)
        late = [pool.submit(iam), pool.submit(reports)]
        try:
            _remove_network(plan, clients, ledger, sleep, reporter, run, wait_timeout_s)
        finally:
            early.result()
            for future in late:
                future.result()
    ledger.remove(plan.region, plan.name)
    return done
