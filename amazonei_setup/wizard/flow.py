"""The wizard: asks, in the order of `questions.QUESTIONS`, only for what the flags and the
profile file left open, and returns a validated Profile with where each value came from.

It holds no AWS logic: choices come from discover.py's read-only helpers (and lookups.py),
values are checked by profile.validate_profile, and launch does the plan → confirm → apply.
"""

from __future__ import annotations

import ipaddress
import re
from dataclasses import dataclass, field
from typing import Any

from amazonei_setup.catalog import Catalog, load_catalog
from amazonei_setup.errors import InputError, ProfileError, SetupError
from amazonei_setup.wizard import lookups
from amazonei_setup.wizard.keys import PublicKey, imported_key_name, read_public_key
from amazonei_setup.wizard.prompts import Answer, Asker, Option
from amazonei_setup.wizard.provenance import (
    REVIEWED,
    Origin,
    dotted,
    lookup,
    origin_of,
    show_value,
)
from amazonei_setup.wizard.questions import (
    ACCESS_CHOICES,
    DEFAULT_ACCESS,
    DEFAULT_FAMILY,
    FAMILIES,
    PUBLIC_KEY_CANDIDATES,
    QUESTIONS,
    Family,
    family,
    question,
)

Path = tuple[str, ...]
PLACEHOLDERS = {"name": "wizard", "region": "us-east-1", "instance_type": "m5.large"}
ANSWER_LABEL = "your answer"
SSH_ONLY = (("access", "key_pair"), ("access", "ssh_cidr"))


@dataclass
class KeyImport:
    """A public key file to import as key pair `name` once the plan is confirmed."""

    key: PublicKey
    name: str
    exists: bool = False  # imported by an earlier run: used as it is


@dataclass
class WizardResult:
    profile: Any  # Profile
    inputs: Any  # ProfileInputs
    origins: dict[Path, Origin]
    key_import: KeyImport | None = None
    asker: Asker | None = field(default=None, repr=False)

    def confirm(self, prompt: str) -> bool:
        """The final question, asked after the review; raises prompts.Quit on q / Ctrl-C."""
        if self.asker is None:
            raise RuntimeError("the wizard's answers were not given through an Asker")
        return self.asker.confirm(prompt)

    def origin(self, path: Path) -> Origin:
        return origin_of(path, self.inputs, self.origins)

    @property
    def pending_import(self) -> KeyImport | None:
        return self.key_import if self.key_import and not self.key_import.exists else None

    def plan_profile(self) -> Any:
        """The profile to plan the review with: before the import, the key pair does not exist
        yet, so the review plans a new key in its place and `review_plan` relabels it."""
        if self.pending_import is None:
            return self.profile
        access = self.profile.access.model_copy(update={"key_pair": "create"})
        return self.profile.model_copy(update={"access": access})

    def review_plan(self, plan: Any) -> Any:
        pending = self.pending_import
        if pending is None:
            return plan
        from amazonei_setup.plan import PlannedResource

        # The review planned a created key per seat; the import is one key for every seat.
        first = next(i for i, r in enumerate(plan.resources) if r.kind == "key-pair")
        planned = [r for r in plan.resources if r.kind != "key-pair"]
        for resource in planned:
            if resource.kind == "ec2-instance":
                resource.depends_on = tuple(
                    "key_pair" if d.startswith("key_pair") else d for d in resource.depends_on
                )
        planned.insert(
            first,
            PlannedResource(
                "key_pair",
                "key-pair",
                pending.name,
                "create",
                details={"owned": False, "import": str(pending.key.path)},
                why=f"import of {pending.key.path} (after you confirm)",
            ),
        )
        plan.resources = planned
        return plan

    def rows(self, plan: Any = None) -> list[tuple[str, str, str]]:
        """(setting, value, where it came from) for the review."""
        document = self.profile.to_document()
        discovery = plan.discovery if plan is not None else None
        rows = []
        for path in REVIEWED:
            value = lookup(document, path)[1]
            if self.profile.access.mode == "ssm" and path in SSH_ONLY:
                continue  # no key pair, no open port: nothing to show
            shown = show_value(path, value)
            if discovery is not None:
                shown += _resolved(path, value, discovery)
            rows.append((dotted(path), shown, str(self.origin(path))))
        return rows


def _resolved(path: Path, value: Any, discovery: Any) -> str:
    if path == ("network", "vpc") and value == "default":
        return f" ({discovery.vpc_id})"
    if path == ("network", "subnet") and value == "auto":
        return f" ({discovery.subnets[0].id})"
    if path == ("ami",) and value == "auto":
        return f" ({discovery.ami.id})"
    if path == ("access", "ssh_cidr") and value == "auto" and discovery.ssh_cidr:
        return f" ({discovery.ssh_cidr})"
    return ""


def _nested(path: Path, value: Any) -> dict[str, Any]:
    node: dict[str, Any] = {path[-1]: value}
    for part in reversed(path[:-1]):
        node = {part: node}
    return node


@dataclass
class Wizard:
    ctx: Any
    inputs: Any
    asker: Asker
    catalog: Catalog = field(default_factory=load_catalog)
    answers: dict[str, Any] = field(default_factory=dict)
    origins: dict[Path, Origin] = field(default_factory=dict)
    family: Family | None = None
    key_file: PublicKey | None = None
    _clients: Any = None
    _ei_azs: Any = ()  # () = not looked up yet; None = the region has no EI endpoint service
    _offers: dict[str, list[str]] | None = None
    _vpc_id: str | None = None

    # -- values -----------------------------------------------------------------------------

    def get(self, path: Path) -> Any:
        for document in (self.answers, self.inputs.overrides, self._source_document()):
            found, value = lookup(document, path)
            if found:
                return value
        return None

    def _source_document(self) -> dict[str, Any]:
        return self.inputs.source.document if self.inputs.source else {}

    def fixed(self, path: Path) -> bool:
        return self.inputs.fixed(path)

    def set(self, path: Path, value: Any, origin: Origin) -> None:
        from amazonei_setup.profile import merge_documents

        self.answers = merge_documents(self.answers, _nested(path, value))
        self.origins[path] = origin

    def take(self, path: Path, answer: Answer, detail: str = "") -> None:
        self.set(path, answer.value, Origin("answer" if answer.typed else "default", detail))

    def document(self) -> dict[str, Any]:
        from amazonei_setup.profile import merge_documents

        return merge_documents(
            merge_documents(self._source_document(), self.answers), self.inputs.overrides
        )

    def problem(self, path: Path, value: Any) -> str | None:
        """What validate_profile says about `value` at `path` (None: nothing), judged with the
        rest of the profile as it stands and placeholders for what is not chosen yet."""
        from amazonei_setup.profile import merge_documents, validate_profile

        document = merge_documents(self.document(), _nested(path, value))
        for key, placeholder in PLACEHOLDERS.items():
            if document.get(key) in (None, "") and path != (key,):
                document[key] = placeholder
        try:
            validate_profile(None, document, catalog=self.catalog)
        except ProfileError as exc:
            messages = [
                issue.message + (f" {issue.suggestion}" if issue.suggestion else "")
                for issue in exc.issues
                if issue.field == dotted(path) or issue.field.startswith(dotted(path) + ".")
            ]
            return " ".join(messages) or None
        return None

    # -- AWS (read-only), looked up once ----------------------------------------------------

    @property
    def region(self) -> str:
        return str(self.get(("region",)))

    @property
    def clients(self) -> Any:
        if self._clients is None:
            from amazonei_setup.commands.context import clients_for

            self._clients = clients_for(self.ctx, self.region)
        return self._clients

    def ei_azs(self) -> list[str] | None:
        if self._ei_azs == ():
            from amazonei_setup.discover import ei_service_azs

            self._ei_azs = ei_service_azs(self.clients, self.catalog, self.region)
        return self._ei_azs

    def offers(self) -> dict[str, list[str]]:
        if self._offers is None:
            with self.ctx.terminal.err.status(f"looking at what {self.region} offers …"):
                self._offers = lookups.offerings(self.clients, sorted(self.catalog.instances))
        return self._offers

    # -- the walk ---------------------------------------------------------------------------

    def run(self) -> WizardResult:
        from amazonei_setup.profile import validate_profile

        say = self.asker.say
        say("amazonei-setup: launch wizard", "bold")
        say("Answer with a number or a name; Enter takes the [default]; q quits.")
        say("Nothing is created before you confirm the plan at the end.")
        fixed = []
        for path in REVIEWED:
            if self.fixed(path):
                origin = origin_of(path, self.inputs, {})
                value = show_value(path, self.get(path))
                fixed.append(f"{dotted(path)}={value} ({origin.detail or origin.kind})")
        if fixed:
            say("Already chosen: " + ", ".join(fixed), "dim")
        for q in QUESTIONS:
            if any(self.fixed(path) for path in q.skip_when_fixed):
                if q.key == "region":
                    self._introduce_account()
                continue
            getattr(self, f"_ask_{q.key}")(q)
        self._name_imported_key()
        answer_paths = dict.fromkeys(self.origins, ANSWER_LABEL)
        from amazonei_setup.profile import merge_documents

        profile = validate_profile(
            self.inputs.source,
            merge_documents(self.answers, self.inputs.overrides),
            {**answer_paths, **self.inputs.flag_paths},
            catalog=self.catalog,
        )
        key_import = None
        if self.key_file is not None:
            from amazonei_setup.resources import key_pair as key_pair_res

            name = profile.access.key_pair
            exists = key_pair_res.find(self.clients, name) is not None
            key_import = KeyImport(self.key_file, name, exists)
            if exists:
                say(f"Key pair {name} exists already (an earlier import): it is used as it is.")
        return WizardResult(profile, self.inputs, dict(self.origins), key_import, self.asker)

    def _introduce_account(self) -> None:
        from amazonei_setup.discover import caller_identity

        with self.ctx.terminal.err.status(f"checking your AWS credentials for {self.region} …"):
            account, arn = caller_identity(self.clients)
        where = f" (sandbox {self.clients.target.endpoint_url})" if self.ctx.args.sandbox else ""
        self.asker.say(f"Account {account} as {arn}, region {self.region}{where}.", "dim")

    # -- one step per question --------------------------------------------------------------

    def _ask_region(self, q) -> None:
        default = _configured_region(self.ctx) or "us-east-1"
        self.asker.heading("Region", "Where to launch: e.g. us-west-2, us-east-1, eu-west-1.")

        def check(text: str) -> tuple[str, str | None]:
            return text, self.problem(("region",), text)

        value, typed = self.asker.text(q.prompt, default, check)
        self.set(("region",), value, Origin("answer" if typed else "default"))
        self._introduce_account()

    def _ask_family(self, q) -> None:
        accelerator = self.get(("accelerator",))
        if self.fixed(("accelerator",)) and self.catalog.accelerator(str(accelerator)):
            self.family = family("eia")  # --accelerator eia2.large: the hardware is EI
            return
        ei = self.ei_azs()
        offers = self.offers()
        options = []
        for fam in FAMILIES:
            if fam.key == "eia" and (ei is None or self.fixed(("accelerator",))):
                continue
            types = self._family_types(fam)
            offered = [t for t in types if offers.get(t)]
            detail = fam.detail
            if fam.key == "eia":
                detail = f"retired by AWS; still in {len(ei or [])} AZs here"
            disabled = None if offered else f"not offered in {self.region}"
            options.append(Option(fam.key, (fam.key, fam.label, detail), disabled, (fam.label,)))
        note = "What runs your model."
        if ei is None:
            note += f" Elastic Inference is not offered in {self.region}: "
            note += self.catalog.ei_retirement_note
        else:
            note += " Elastic Inference: " + self.catalog.ei_retirement_note
        self.asker.heading("Hardware family", note)
        enabled = [o.value for o in options if not o.disabled]
        if not enabled:
            raise InputError(
                f"{self.region} offers none of the catalog's instance types",
                "choose another region (--region)",
            )
        default = DEFAULT_FAMILY if DEFAULT_FAMILY in enabled else enabled[0]
        answer = self.asker.choose(q.prompt, options, default)
        self.family = family(answer.value)
        if self.family.key == "cpu":
            self.set(("accelerator",), "none", Origin("answer", "CPU only"))

    def _family_types(self, fam: Family) -> list[str]:
        families = fam.instance_families or self.catalog.ei_host_families
        return [t for t, spec in self.catalog.instances.items() if spec.family in families]

    def _ask_size(self, q) -> None:
        fam = self.family or family(DEFAULT_FAMILY)
        offers = self.offers()
        options = []
        for instance_type in self._family_types(fam):
            spec = self.catalog.instances[instance_type]
            azs = offers.get(instance_type) or []
            if spec.kind == "neuron":
                accelerator = f"{spec.neuron_cores} NeuronCores"
            elif spec.kind == "nvidia":
                accelerator = f"{spec.gpus}× {spec.gpu_model} {spec.gpu_memory_gib:g} GiB"
            else:
                accelerator = "+ EI accelerator" if fam.key == "eia" else "none"
            price = f"{spec.price_per_hour:.3f}" if spec.price_per_hour is not None else "?"
            options.append(
                Option(
                    instance_type,
                    (
                        instance_type,
                        f"{spec.vcpus}",
                        f"{spec.memory_gib:g} GiB",
                        accelerator,
                        price,
                        f"{len(azs)} AZs" if azs else "",
                    ),
                    None if azs else f"not offered in {self.region}",
                )
            )
        enabled = [o.value for o in options if not o.disabled]
        self.asker.heading(
            f"Size ({fam.label})",
            f"On-demand list prices, {self.catalog.prices_region}, "
            f"as of {self.catalog.prices_as_of}.",
        )
        default = fam.default_size if fam.default_size in enabled else enabled[0]
        headers = ("type", "vCPU", "memory", "accelerator", "$/hour", "offered")
        answer = self.asker.choose(q.prompt, options, default, headers)
        self.take(("instance_type",), answer)

    def _ask_accelerator(self, q) -> None:
        instance_type = str(self.get(("instance_type",)))
        if not self.catalog.accepts_accelerator(instance_type):
            return  # Inferentia and GPUs carry their own
        if self.family is not None and self.family.key == "cpu":
            return
        ei = self.ei_azs()
        if ei is None:
            self.asker.heading("Accelerator")
            self.asker.say(
                f"Elastic Inference is not offered in {self.region}: "
                f"{self.catalog.ei_retirement_note} {instance_type} runs without an accelerator; "
                "for one, choose Inferentia or an NVIDIA GPU (--instance-type inf2.xlarge, "
                "g4dn.xlarge).",
                "yellow",
            )
            self.set(("accelerator",), "none", Origin("default", f"no EI in {self.region}"))
            return
        accelerators = sorted(
            self.catalog.accelerators.values(), key=lambda a: (-int(a.generation[-1]), a.memory_gib)
        )
        options = []
        for acc in accelerators:
            sold = self.region in acc.regions
            price = f"{acc.price_per_hour:.2f}" if acc.price_per_hour is not None else "?"
            options.append(
                Option(
                    acc.name,
                    (
                        acc.name,
                        f"{acc.memory_gib:g} GiB",
                        f"{acc.fp32_tflops:g} / {acc.fp16_tflops:g}",
                        price,
                    ),
                    None if sold else f"{acc.generation} was never sold in {self.region}",
                )
            )
        if self.family is None:  # the type came from a flag: CPU only is a choice too
            options.append(Option("none", ("none", "CPU only", "", ""), aliases=("cpu",)))
        self.asker.heading(
            "Elastic Inference accelerator",
            f"Attached to {instance_type} over PrivateLink; the endpoint service is in "
            f"{len(ei)} AZs of {self.region}. Retired by AWS: no new customers since 2023-04-15.",
        )
        enabled = [o.value for o in options if not o.disabled]
        default = "eia2.medium" if "eia2.medium" in enabled else enabled[0]
        answer = self.asker.choose(
            q.prompt, options, default, ("type", "memory", "TFLOPS fp32/16", "$/hour")
        )
        self.take(("accelerator",), answer)

    def _ask_os(self, q) -> None:
        options = [
            Option(name, (name, f"SSH user {self.catalog.ssh_user(name)}"))
            for name in self.catalog.os_names
        ]
        self.asker.heading("Operating system", "The Deep Learning AMI is found for it.")
        self.take(("os",), self.asker.choose(q.prompt, options, "amazon-linux"))

    def _ask_vpc(self, q) -> None:
        vpcs = lookups.list_vpcs(self.clients)
        if not vpcs:
            raise InputError(
                f"{self.region} has no VPC", "create one (or the default VPC) and run again"
            )
        options = [
            Option(
                vpc.id,
                (vpc.id, vpc.cidr, vpc.name, "default VPC" if vpc.is_default else ""),
                aliases=("default",) if vpc.is_default else (),
            )
            for vpc in vpcs
        ]
        self.asker.heading("VPC")
        answer = self.asker.choose(q.prompt, options, vpcs[0].id)
        chosen = next(v for v in vpcs if v.id == answer.value)
        self._vpc_id = chosen.id
        value = "default" if chosen.is_default else chosen.id
        self.take(("network", "vpc"), Answer(value, answer.typed))

    def _ask_subnet(self, q) -> None:
        from amazonei_setup.discover import choose_subnets, offered_azs, resolve_vpc, vpc_subnets

        while True:
            if self._vpc_id is None:
                wanted = str(self.get(("network", "vpc")) or "default")
                self._vpc_id = resolve_vpc(self.clients, wanted, self.region)[0]
            instance_type = str(self.get(("instance_type",)))
            offered = (self._offers or {}).get(instance_type)
            if offered is None:
                offered = offered_azs(self.clients, instance_type)
            has_eia = self._has_eia(instance_type)
            ei = self.ei_azs() if has_eia else None
            subnets = vpc_subnets(self.clients, self._vpc_id)
            eligible, hidden = choose_subnets(subnets, offered, ei, "auto", instance_type)
            if eligible:
                break
            reasons = sorted({reason for _, reason in hidden}) or ["the VPC has no subnets"]
            message = f"no subnet of {self._vpc_id} can run {instance_type}" + (
                " with Elastic Inference" if has_eia else ""
            )
            if self.fixed(("network", "vpc")):
                raise InputError(
                    f"{message}: {'; '.join(reasons)}",
                    "choose another VPC or instance type, or add a subnet in an AZ that offers it",
                )
            self.asker.problem(f"{message}: {'; '.join(reasons)}; choose another VPC")
            self._ask_vpc(question("vpc"))
        options = [Option("auto", ("auto", "the first that works,", "in this order"))]
        options += [
            Option(
                s.id,
                (s.id, s.availability_zone, "public IP" if s.maps_public_ip else "no public IP"),
            )
            for s in eligible
        ]
        note = "Only AZs that offer " + instance_type
        note += " and the Elastic Inference endpoint." if has_eia else "."
        if hidden:
            note += f" {len(hidden)} subnet(s) hidden: " + "; ".join(
                sorted({reason for _, reason in hidden})
            )
        self.asker.heading("Subnet", note)
        self.take(("network", "subnet"), self.asker.choose(q.prompt, options, "auto"))

    def _has_eia(self, instance_type: str) -> bool:
        accelerator = self.get(("accelerator",))
        if accelerator is None:  # the profile's default for hosts that take one
            return self.catalog.accepts_accelerator(instance_type)
        return str(accelerator).lower() != "none"

    def _ask_access(self, q) -> None:
        mode_fixed = self.fixed(("access", "mode"))
        if mode_fixed and self.get(("access", "mode")) == "ssm":
            return
        keys = lookups.key_pairs(self.clients)
        options = []
        for choice in ACCESS_CHOICES:
            if mode_fixed and choice.mode != "ssh":
                continue
            disabled = None
            if choice.key == "ssh-existing" and not keys:
                disabled = "you have none here"
            options.append(Option(choice.key, (choice.key, choice.label), disabled))
        self.asker.heading(
            "Access", "How you reach the instance. SSM needs no key and opens no port."
        )
        answer = self.asker.choose(q.prompt, options, DEFAULT_ACCESS)
        chosen = next(c for c in ACCESS_CHOICES if c.key == answer.value)
        if not mode_fixed:
            self.take(("access", "mode"), Answer(chosen.mode, answer.typed))
        if chosen.key == "ssh-new":
            self.take(("access", "key_pair"), Answer("create", answer.typed))
        elif chosen.key == "ssh-existing":
            key = self.asker.choose(
                "Key pair",
                [Option(k["name"], (k["name"], k["id"])) for k in keys],
                keys[0]["name"],
            )
            self.take(("access", "key_pair"), key)
        elif chosen.key == "ssh-import":
            self._ask_public_key()

    def _ask_public_key(self) -> None:
        from pathlib import Path as FilePath

        default = next(
            (c for c in PUBLIC_KEY_CANDIDATES if FilePath(c).expanduser().is_file()), None
        )

        def check(text: str) -> tuple[PublicKey | None, str | None]:
            try:
                return read_public_key(text), None
            except ValueError as exc:
                return None, str(exc)

        self.asker.say(
            "The key is imported (and tagged for teardown) only after you confirm the plan.", "dim"
        )
        key, _ = self.asker.text("Public key file", default, check)
        self.key_file = key

    def _name_imported_key(self) -> None:
        if self.key_file is not None:
            name = imported_key_name(str(self.get(("name",))))
            self.set(
                ("access", "key_pair"), name, Origin("answer", f"import of {self.key_file.path}")
            )

    def _ask_ssh_cidr(self, q) -> None:
        if (self.get(("access", "mode")) or "ssh") != "ssh":
            return
        from amazonei_setup.discover import public_ip_lookup

        lookup_ip = self.ctx.hooks.ip_lookup or public_ip_lookup
        try:
            mine = f"{lookup_ip(self.clients.target)}/32"
        except SetupError as exc:
            self.asker.say(f"Your public IP address is unknown ({exc.message}).", "yellow")
            mine = None
        self.asker.heading(
            "SSH source", "Who may connect on port 22: your address only, unless you say otherwise."
        )

        def check(text: str) -> tuple[str, str | None]:
            if text in (mine, "auto"):
                return "auto", None
            problem = self.problem(("access", "ssh_cidr"), text)
            if problem:
                return text, problem
            return str(ipaddress.ip_network(text, strict=False)), None

        value, typed = self.asker.text(q.prompt, mine, check)
        detail = "your IP" if value == "auto" else ""
        self.set(("access", "ssh_cidr"), value, Origin("answer" if typed else "default", detail))

    def _ask_name(self, q) -> None:
        from amazonei_setup.ledger import Ledger

        ledger = Ledger(self.ctx.home)
        base = f"{self._name_prefix()}-demo"
        default = base
        for number in range(2, 100):
            if ledger.load(self.region, default) is None:
                break
            default = f"{base}-{number}"
        self.asker.heading(
            "Deployment name",
            "Names every resource (a-z, 0-9, '-'); teardown uses it to remove them all.",
        )

        def check(text: str) -> tuple[str, str | None]:
            if text == default:  # derived from a valid pattern: no need to ask the validator
                return text, None
            return text, self.problem(("name",), text)

        value, typed = self.asker.text(q.prompt, default, check)
        if ledger.load(self.region, value) is not None:
            self.asker.say(
                f"'{value}' exists in {self.region}: launching resumes it (the plan shows what "
                "changes).",
                "yellow",
            )
        self.set(("name",), value, Origin("answer" if typed else "default"))

    def _name_prefix(self) -> str:
        instance_type = str(self.get(("instance_type",)))
        if self._has_eia(instance_type):
            return "eia"
        if self.family is not None and self.family.default_name:
            return self.family.default_name
        spec = self.catalog.instance(instance_type)
        if spec is None or spec.kind == "cpu":
            return "cpu"
        return spec.family

    def _ask_tags(self, q) -> None:
        from amazonei_setup.commands.context import parse_tags

        self.asker.heading("Tags", "Added to every resource, e.g. team=ml, workshop=reinvent.")

        def check(text: str) -> tuple[dict[str, str], str | None]:
            if text.lower() == "none":
                return {}, None
            try:
                tags = parse_tags([p for p in re.split(r"[,\s]+", text) if p])
            except InputError as exc:
                return {}, exc.message.replace("--tag ", "") + " (e.g. team=ml)"
            return tags, self.problem(("tags",), tags)

        tags, _ = self.asker.text(q.prompt, "none", check)
        if tags:
            self.set(("tags",), tags, Origin("answer"))


def _configured_region(ctx: Any) -> str | None:
    """The region of the AWS configuration (AWS_REGION, AWS_DEFAULT_REGION, the profile)."""
    try:
        import botocore.session

        session = botocore.session.Session(profile=ctx.args.aws_profile)
        return session.get_config_variable("region")
    except Exception:  # an unknown --aws-profile is reported when AWS is first called
        return None


def run_wizard(ctx: Any, inputs: Any, asker: Asker | None = None) -> WizardResult:
    """Ask for what is missing; raises prompts.Quit when the person leaves."""
    if asker is None:
        from amazonei_setup.wizard.prompts import terminal_prompter

        asker = Asker(ctx.terminal.err, terminal_prompter(ctx.terminal.err))
    return Wizard(ctx=ctx, inputs=inputs, asker=asker).run()
