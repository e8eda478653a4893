"""The direct engine behind the engine protocol: discovery and the plan, the graph of API calls
(apply.py), the instances read back, and teardown by kind (teardown.py)."""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import partial
from typing import Any

from amazonei_setup.aws.clients import AwsClients
from amazonei_setup.aws.instance_types import catalog_for
from amazonei_setup.engines.direct.apply import (
    Outcome,
    Reporter,
    Runtime,
    SilentReporter,
    apply_plan,
)
from amazonei_setup.engines.direct.teardown import (
    SilentTeardownReporter,
    TeardownPlan,
    TeardownReporter,
    execute_teardown,
    plan_teardown,
)
from amazonei_setup.engines.discover import discover
from amazonei_setup.engines.expiry import plan_expiry
from amazonei_setup.engines.plan import Plan, build_plan
from amazonei_setup.engines.protocol import EngineName, EngineStatus, Environment
from amazonei_setup.resources import instance as instance_res
from amazonei_setup.spec.catalog import Catalog, load_catalog
from amazonei_setup.spec.hardware import accelerated
from amazonei_setup.spec.pricing import Price
from amazonei_setup.spec.profile import Profile
from amazonei_setup.spec.profile_checks import check_hardware
from amazonei_setup.state.ledger import Edit, Ledger
from amazonei_setup.state.record import DeploymentRecord


def plan_launch(env: Environment, profile: Profile, record: DeploymentRecord | None) -> Plan:
    """Discovery and the plan for `profile`, with the expiry it would set; `record` is the
    deployment's, loaded once by the caller (None for a new deployment)."""
    clients = env.clients(profile.region)
    with env.busy(f"looking at {profile.region} …"):
        # AWS's own figures for the type (DescribeInstanceTypes, cached in the state home).
        catalog = catalog_for(clients, env.home, load_catalog(), [profile.instance_type])
        check_hardware(profile, catalog)
        discovery = discover(clients, catalog, profile, env.home, env.ip_lookup, record=record)
        price = unlisted_price(env, catalog, profile)
    plan = build_plan(profile, discovery, catalog, price)
    plan_expiry(plan, record, env.now())
    return plan


def unlisted_price(env: Environment, catalog: Catalog, profile: Profile) -> Price | None:
    """The region's price-list price (with its source) of a type the catalog does not price;
    None for one it does (the plan shows the catalog's dated list price) or where neither the
    price list nor the catalog has a figure."""
    from amazonei_setup.aws.price_list import PRICE_LIST_REGION, region_prices

    name = profile.instance_type
    spec = catalog.instance(name)
    if catalog.price_per_hour(name, profile.accelerator) is not None or spec is None:
        return None
    if profile.accelerator:  # EI on a host the catalog does not price: no sum to make
        return None
    together = [name] if accelerated(spec) else []
    pricing = env.clients(PRICE_LIST_REGION)
    found = region_prices(pricing, env.home, catalog, profile.region, [name], accelerated=together)
    return found.get(name)


def clients_of(env: Environment, region: str, record: DeploymentRecord | None) -> AwsClients:
    """A recorded deployment's own clients; the region's for one known only by its tags."""
    return env.clients(region) if record is None else env.record_clients(record)


def live_instances(
    env: Environment, record: DeploymentRecord
) -> list[instance_res.LaunchedInstance]:
    clients = env.record_clients(record)
    with env.busy(f"looking at {record.name} in {record.region} …"):
        return instance_res.find(clients, record.name)


@dataclass
class DirectEngine:
    """Each resource by its own API calls, the record saved after every step."""

    env: Environment
    reporter: Reporter = field(default_factory=SilentReporter)
    teardown_reporter: TeardownReporter = field(default_factory=SilentTeardownReporter)
    name: EngineName = "direct"

    def check(self, profile: Profile) -> None:
        """Nothing the direct engine refuses beyond the profile's own checks."""

    def plan(self, profile: Profile, record: DeploymentRecord | None) -> Plan:
        return plan_launch(self.env, profile, record)

    def discard(self, plan: Plan) -> None:
        """Planning made nothing in AWS: nothing to discard."""

    def apply(self, plan: Plan, edit: Edit) -> Outcome:
        env = self.env
        runtime = Runtime(
            clients=env.clients(plan.profile.region),
            home=env.home,
            reporter=self.reporter,
            sleep=env.sleep,
            user_data_key=env.user_data_key(),
            now=env.now,
        )
        return apply_plan(plan, runtime, edit)

    def status(self, record: DeploymentRecord, detail: bool = False) -> EngineStatus:
        return EngineStatus(instances=live_instances(self.env, record))

    def verify_targets(self, record: DeploymentRecord) -> list[str]:
        return [i.id for i in instance_res.find(self.env.record_clients(record), record.name)]

    def plan_teardown(
        self, name: str, region: str, record: DeploymentRecord | None
    ) -> TeardownPlan:
        clients = clients_of(self.env, region, record)
        with self.env.busy(f"looking at {name} in {region} …"):
            return plan_teardown(clients, Ledger(self.env.home), self.env.home, name, region)

    def teardown(self, plan: TeardownPlan) -> dict[str, Any]:
        """Remove it in the graph's order; what went and what was kept (the JSON part)."""
        ledger = Ledger(self.env.home)
        clients = clients_of(self.env, plan.region, ledger.load(plan.region, plan.name))
        done = execute_teardown(
            plan,
            clients,
            ledger,
            sleep=self.env.sleep,
            reporter=self.teardown_reporter,
            replan=partial(plan_teardown, clients, ledger, self.env.home, plan.name, plan.region),
        )
        return {
            "deployment": plan.name,
            "region": plan.region,
            "done": [a.to_dict() for a in done],
            "kept": [a.to_dict() for a in plan.kept],
        }
