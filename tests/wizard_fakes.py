"""Fakes for unit tests of the wizard's questions and walk: AWS answers as plain data (no moto),
a console that records what it was told, and a prompter that types scripted answers."""

from __future__ import annotations

import io
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from rich.console import Console

from amazonei_setup.aws.subnets import Subnet
from amazonei_setup.cli.wizard.context import WizardContext
from amazonei_setup.cli.wizard.lookups import Vpc
from amazonei_setup.cli.wizard.prompts import Asker, Quit
from amazonei_setup.cli.wizard.questions import State
from amazonei_setup.cli.wizard.sheet import Sheet
from amazonei_setup.spec.catalog import InstanceSpec, load_catalog
from amazonei_setup.spec.inputs import ProfileInputs
from amazonei_setup.spec.pricing import Price, offline_price
from amazonei_setup.spec.profile_file import ProfileSource

REGION = "us-west-2"
AZS = ["us-west-2a", "us-west-2b", "us-west-2c"]
DEFAULT_VPC = Vpc("vpc-default", "172.31.0.0/16", "", True)
OTHER_VPC = Vpc("vpc-other", "10.0.0.0/16", "lab", False)


def _subnets(vpc: str, zones: list[str]) -> list[Subnet]:
    return [Subnet(f"subnet-{vpc[4:]}-{z[-1]}", z, vpc, True, True) for z in zones]


@dataclass
class FakeAws:
    """What Lookups would read from AWS, as data; `calls` counts the reads."""

    ei: list[str] | None = field(default_factory=lambda: list(AZS))
    vpc_list: list[Vpc] = field(default_factory=lambda: [DEFAULT_VPC, OTHER_VPC])
    subnets_of: dict[str, list[Subnet]] = field(
        default_factory=lambda: {
            "vpc-default": _subnets("vpc-default", AZS),
            "vpc-other": _subnets("vpc-other", AZS),
        }
    )
    keys: list[dict[str, Any]] = field(default_factory=list)
    names_recorded: set[str] = field(default_factory=set)
    ip: str | None = "198.51.100.7"
    calls: list[str] = field(default_factory=list)
    aws_types: dict[str, InstanceSpec] = field(default_factory=dict)
    listed: dict[str, Price] = field(default_factory=dict)

    def identity(self, region: str) -> tuple[str, str]:
        self.calls.append("identity")
        return "123456789012", "arn:aws:iam::123456789012:user/me"

    def endpoint(self, region: str) -> str | None:
        return "http://127.0.0.1:4566"

    def ei_azs(self, region: str) -> list[str] | None:
        return self.ei

    def offers(self, region: str) -> dict[str, list[str]]:
        catalog = load_catalog()
        offers = {t: ([] if t.startswith("p") else list(AZS)) for t in catalog.instances}
        return {**offers, **{t: list(AZS) for t in self.aws_types}}

    def accelerated(self, region: str) -> dict[str, InstanceSpec]:
        """AWS's accelerated types offered here beyond the catalog's (`aws_types`)."""
        return dict(self.aws_types)

    def prices(self, region: str, instance_types: list[str]) -> dict[str, Price]:
        """The catalog's offline list prices, or `listed` (a price-list answer) where given."""
        self.calls.append("prices")
        catalog = load_catalog()
        found = {t: offline_price(catalog, t) for t in instance_types}
        found.update({t: p for t, p in self.listed.items() if t in instance_types})
        return {t: p for t, p in found.items() if p is not None}

    def offered(self, region: str, instance_type: str) -> list[str]:
        return self.offers(region).get(instance_type, list(AZS))

    def vpcs(self, region: str) -> list[Vpc]:
        return self.vpc_list

    def vpc_id(self, region: str, wanted: str) -> str:
        return "vpc-default" if wanted == "default" else wanted

    def subnets(self, region: str, vpc_id: str) -> list[Subnet]:
        return self.subnets_of[vpc_id]

    def key_pairs(self, region: str) -> list[dict[str, Any]]:
        return self.keys

    def key_pair_exists(self, region: str, name: str) -> bool:
        return False

    def my_cidr(self, region: str) -> tuple[str | None, str | None]:
        return (f"{self.ip}/32", None) if self.ip else (None, "no network")

    def recorded(self, region: str, name: str) -> bool:
        return name in self.names_recorded


def inputs(flags: dict[str, Any] | None = None, document: dict[str, Any] | None = None):
    """ProfileInputs as the commands make them: `flags` like {'region': 'us-west-2'}."""
    overrides: dict[str, Any] = {}
    flag_paths: dict[tuple[str, ...], str] = {}
    for dotted, value in (flags or {}).items():
        path = tuple(dotted.split("."))
        node = overrides
        for part in path[:-1]:
            node = node.setdefault(part, {})
        node[path[-1]] = value
        flag_paths[path] = "--" + path[-1].replace("_", "-")
    source = None
    if document is not None:
        lines = {(key,): number for number, key in enumerate(document, 1)}
        source = ProfileSource(document=document, label="p.yaml", lines=lines)
    return ProfileInputs(source, overrides, flag_paths, missing=[])


def context(home: Path) -> WizardContext:
    def no_clients(region: str) -> Any:
        raise AssertionError("a unit test reached for AWS")

    console = Console(file=io.StringIO(), width=80, highlight=False, color_system=None)
    return WizardContext(console, home, no_clients, lambda target: "198.51.100.7")


def state(home: Path, profile_inputs: ProfileInputs | None = None, aws: FakeAws | None = None):
    catalog = load_catalog()
    sheet = Sheet(profile_inputs or inputs({"region": REGION}))
    return State(sheet, catalog, aws or FakeAws(), context(home))


@dataclass
class Typist:
    """A person at the terminal typing `answers` in turn; the end of the script quits."""

    answers: list[str]
    prompts: list[str] = field(default_factory=list)

    def ask(self, message: str) -> str:
        self.prompts.append(message)
        if not self.answers:
            raise Quit
        return self.answers.pop(0)


def asker(st: State, answers: list[str]) -> tuple[Asker, Typist]:
    typist = Typist(list(answers))
    return Asker(st.ctx.console, typist), typist


def told(st: State) -> str:
    """Everything said on the console so far, wrapped lines joined."""
    return " ".join(st.ctx.console.file.getvalue().split())  # type: ignore[attr-defined]
