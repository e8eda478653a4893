"""Command line: argument parsing, exit codes and the terminal. Everything else is a library.

Kept import-light: boto3, moto and rich load only when a command needs them, so `--help` is fast.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from amazonei_setup import __version__
from amazonei_setup.errors import (
    EXIT_INTERRUPTED,
    EXIT_OK,
    InputError,
    SetupError,
)

COMMANDS = ("launch", "plan", "status", "estimate", "sandbox")
PROFILE_FLAGS: dict[str, tuple[str, ...]] = {
    # flag dest -> path in the profile document
    "name": ("name",),
    "region": ("region",),
    "instance_type": ("instance_type",),
    "accelerator": ("accelerator",),
    "os": ("os",),
    "ami": ("ami",),
    "vpc": ("network", "vpc"),
    "subnet": ("network", "subnet"),
    "access": ("access", "mode"),
    "key_pair": ("access", "key_pair"),
    "ssh_cidr": ("access", "ssh_cidr"),
    "seats": ("seats",),
}
REQUIRED_FIELDS = {"name": "--name", "region": "--region", "instance_type": "--instance-type"}
SANDBOX_CREDENTIALS = {"aws_access_key_id": "testing", "aws_secret_access_key": "testing"}


@dataclass
class Hooks:
    """Seams for tests: how sessions are made, the caller's IP, sleeping, and TTY detection."""

    session_factory: Callable[..., Any] | None = None
    ip_lookup: Callable[..., str] | None = None
    sleep: Callable[[float], None] | None = None
    stdin_is_tty: Callable[[], bool] = field(default=lambda: sys.stdin.isatty())


# ---------------------------------------------------------------------------------------------
# Parsing


def _global_flags(parser: argparse.ArgumentParser) -> None:
    group = parser.add_argument_group("global options")
    sup = argparse.SUPPRESS
    group.add_argument("--region", default=sup, help="AWS region, e.g. us-west-2")
    group.add_argument("--aws-profile", default=sup, help="named AWS credentials profile")
    group.add_argument(
        "--endpoint-url", default=sup, help="AWS endpoint override (also AWS_ENDPOINT_URL)"
    )
    group.add_argument(
        "--sandbox",
        action="store_true",
        default=sup,
        help="use the embedded local AWS on 127.0.0.1 (started if needed)",
    )
    group.add_argument(
        "--home",
        default=sup,
        help="state directory (default ~/.amazonei-setup, or $AMAZONEI_SETUP_HOME)",
    )
    group.add_argument("--output", choices=("text", "json"), default=sup, help="output format")
    group.add_argument("--yes", "-y", action="store_true", default=sup, help="do not ask")


GLOBAL_DEFAULTS: dict[str, Any] = {
    "region": None,
    "aws_profile": None,
    "endpoint_url": None,
    "sandbox": False,
    "home": None,
    "output": "text",
    "yes": False,
}


def _launch_flags(parser: argparse.ArgumentParser, *, launch: bool) -> None:
    parser.add_argument("--profile-file", metavar="F", help="YAML launch profile")
    parser.add_argument("--name", help="deployment name ([a-z0-9-], unique per region)")
    parser.add_argument("--instance-type", help="e.g. m5.xlarge, inf1.xlarge, g4dn.xlarge")
    parser.add_argument("--accelerator", help="eia1.*/eia2.* (CPU instances), or none")
    parser.add_argument("--os", choices=("amazon-linux", "ubuntu"))
    parser.add_argument("--ami", help="ami-... (default: find the Deep Learning AMI)")
    parser.add_argument("--vpc", help="vpc-... or default")
    parser.add_argument("--subnet", help="subnet-... or auto")
    parser.add_argument("--access", choices=("ssh", "ssm"))
    parser.add_argument("--key-pair", help="existing key pair name, or create")
    parser.add_argument("--ssh-cidr", help="SSH source CIDR (default: your IP /32)")
    parser.add_argument("--seats", type=int, help="number of instances")
    parser.add_argument(
        "--tag", action="append", default=[], metavar="K=V", help="extra tag (repeatable)"
    )
    if launch:
        parser.add_argument("--dry-run", action="store_true", help="show the plan, change nothing")
        parser.add_argument(
            "--no-wait", action="store_true", help="return once launched; do not wait for the agent"
        )
        parser.add_argument("--save-profile", metavar="F", help="write the profile as YAML (0600)")
        parser.add_argument("--force", action="store_true", help="overwrite --save-profile F")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="amazonei-setup",
        description=(
            "Provision AWS inference hardware (Elastic Inference, Inferentia, NVIDIA GPUs) "
            "with a Deep Learning AMI, and remove it without a trace."
        ),
        epilog="With no command, `launch` runs (the 2019 amazonei_setup.py usage).",
    )
    parser.add_argument("--version", action="version", version=f"amazonei-setup {__version__}")
    _global_flags(parser)
    commands = parser.add_subparsers(dest="command", metavar="command")

    def sub(name: str, help_text: str) -> argparse.ArgumentParser:
        command = commands.add_parser(name, help=help_text, description=help_text)
        _global_flags(command)
        return command

    _launch_flags(sub("launch", "plan and create a deployment (the default command)"), launch=True)
    _launch_flags(sub("plan", "show what launch would do; changes nothing"), launch=False)
    sub("status", "list deployments with their instances").add_argument("name", nargs="?")
    estimate = sub("estimate", "cost per 100k inferences for a hardware option")
    estimate.add_argument("--instance-type", required=True)
    estimate.add_argument("--accelerator")
    estimate.add_argument("--latency-ms", type=float, required=True, help="latency per inference")
    sandbox = sub("sandbox", "the embedded local AWS (moto on 127.0.0.1)")
    sandbox.add_argument("action", choices=("start", "stop", "status"))
    return parser


def parse_args(argv: Sequence[str]) -> argparse.Namespace:
    argv = list(argv)
    if not any(token in COMMANDS for token in argv) and not {"-h", "--help", "--version"} & set(
        argv
    ):
        argv.insert(0, "launch")
    args = build_parser().parse_args(argv)
    for key, value in GLOBAL_DEFAULTS.items():
        if not hasattr(args, key):
            setattr(args, key, value)
    if args.command is None:
        args.command = "launch"
        for flag in ("profile_file", "dry_run", "no_wait", "save_profile", "force"):
            setattr(args, flag, getattr(args, flag, None))
    return args


# ---------------------------------------------------------------------------------------------
# Terminal


class Terminal:
    """stderr for people (progress, tables, prompts); stdout only for --output json."""

    def __init__(self, output: str):
        from rich.console import Console

        self.json = output == "json"
        self.err = Console(stderr=True, highlight=False, soft_wrap=False)

    def say(self, *renderables: Any) -> None:
        self.err.print(*renderables)

    def emit_json(self, document: Any) -> None:
        sys.stdout.write(json.dumps(document, indent=2, sort_keys=True, default=str) + "\n")
        sys.stdout.flush()

    def fail(self, lines: list[str]) -> None:
        from rich.text import Text

        first, *rest = lines
        # soft_wrap: messages hold commands and ids that must survive copy and paste intact
        self.err.print(Text(f"error: {first}", style="bold red"), soft_wrap=True)
        for line in rest:
            self.err.print(Text(line), soft_wrap=True)


class RichReporter:
    """Apply's progress as lines on stderr, and a spinner while instances boot."""

    def __init__(self, terminal: Terminal):
        self.console = terminal.err
        self._status: Any = None

    def step_started(self, resource: Any) -> None:
        from rich.text import Text

        self.console.print(Text(f"  … {resource.action} {resource.kind} {resource.name}", "dim"))

    def step_finished(self, resource: Any, resource_id: str | None) -> None:
        from rich.text import Text

        verb = {"create": "created", "update": "updated", "reuse": "reused", "replace": "replaced"}
        style = "green" if resource.action != "reuse" else "dim"
        text = Text("  ✓ ", style=style)
        text.append(f"{verb[resource.action]} {resource.kind} {resource.name}")
        if resource_id and resource_id != resource.name:
            text.append(f" ({resource_id})", style="dim")
        self.console.print(text)

    def note(self, message: str) -> None:
        from rich.text import Text

        self.console.print(Text(f"  ! {message}", style="yellow"))

    def instances_polled(self, instances: list[Any]) -> None:
        states = ", ".join(f"{i.id} {i.state}" for i in instances)
        if self._status is None:
            self._status = self.console.status(f"waiting for instances: {states}")
            self._status.start()
        else:
            self._status.update(f"waiting for instances: {states}")
        if all(i.state == "running" for i in instances):
            self.close()

    def close(self) -> None:
        if self._status is not None:
            self._status.stop()
            self._status = None


# ---------------------------------------------------------------------------------------------
# Commands


@dataclass
class Context:
    args: argparse.Namespace
    terminal: Terminal
    hooks: Hooks
    home: Path


def _parse_tags(pairs: list[str]) -> dict[str, str]:
    tags = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep or not key:
            raise InputError(f"--tag '{pair}' is not KEY=VALUE", "e.g. --tag workshop=reinvent")
        tags[key] = value
    return tags


def _profile_from_args(ctx: Context):
    """File first, then flags on top; exit 2 naming each missing choice and its flag."""
    from amazonei_setup.profile import read_profile_file, validate_profile

    args = ctx.args
    source = read_profile_file(args.profile_file) if args.profile_file else None
    overrides: dict[str, Any] = {}
    flags: dict[tuple[str, ...], str] = {}
    for dest, path in PROFILE_FLAGS.items():
        value = getattr(args, dest, None)
        if value is None:
            continue
        node = overrides
        for part in path[:-1]:
            node = node.setdefault(part, {})
        node[path[-1]] = value
        flags[path] = "--" + dest.replace("_", "-")
    tags = _parse_tags(args.tag or [])
    if tags:
        base_tags = dict((source.document.get("tags") or {}) if source else {})
        overrides["tags"] = {**base_tags, **tags} if isinstance(base_tags, dict) else tags
        flags[("tags",)] = "--tag"
    document = {**(source.document if source else {}), **overrides}
    missing = [flag for key, flag in REQUIRED_FIELDS.items() if document.get(key) in (None, "")]
    if missing:
        where = f" in {args.profile_file} or" if args.profile_file else ""
        raise InputError(
            "missing required choice(s): "
            + ", ".join(f"{f[2:].replace('-', '_')} ({f})" for f in missing),
            f"set them{where} with the flags named, e.g. "
            "--name demo --region us-west-2 --instance-type m5.xlarge",
        )
    return validate_profile(source, overrides, flags)


def _target(ctx: Context, region: str):
    from amazonei_setup.aws import AwsTarget

    args = ctx.args
    endpoint = args.endpoint_url or os.environ.get("AWS_ENDPOINT_URL")
    if args.sandbox:
        from amazonei_setup.sandbox import control

        info = control.start(ctx.home)
        endpoint = info.endpoint
    return AwsTarget(region=region, profile_name=args.aws_profile, endpoint_url=endpoint)


def _clients(ctx: Context, region: str):
    from amazonei_setup.aws import AwsClients

    target = _target(ctx, region)
    factory = ctx.hooks.session_factory
    if factory is None and ctx.args.sandbox:

        def factory(target):  # the sandbox never sees real credentials
            import boto3

            return boto3.Session(region_name=target.region, **SANDBOX_CREDENTIALS)

    return AwsClients(target, factory)


def _discover_and_plan(ctx: Context, profile: Any):
    from amazonei_setup.catalog import load_catalog
    from amazonei_setup.discover import discover, public_ip_lookup
    from amazonei_setup.plan import build_plan

    catalog = load_catalog()
    clients = _clients(ctx, profile.region)
    with ctx.terminal.err.status(f"looking at {profile.region} …"):
        discovery = discover(
            clients, catalog, profile, ctx.home, ctx.hooks.ip_lookup or public_ip_lookup
        )
    return clients, build_plan(profile, discovery, catalog)


def _teardown_hint(ctx: Context, profile: Any) -> str:
    sandbox = " --sandbox" if ctx.args.sandbox else ""
    return f"amazonei-setup{sandbox} teardown {profile.name} --region {profile.region}"


def cmd_plan(ctx: Context) -> int:
    from amazonei_setup.render import plan_table

    profile = _profile_from_args(ctx)
    _, plan = _discover_and_plan(ctx, profile)
    if ctx.terminal.json:
        ctx.terminal.emit_json(plan.to_dict())
    else:
        ctx.terminal.say(plan_table(plan))
    return EXIT_OK


def _confirm(ctx: Context, question: str) -> bool:
    if ctx.args.yes:
        return True
    if not ctx.hooks.stdin_is_tty():
        raise InputError(
            "launch creates resources that bill by the hour and needs confirmation",
            "pass --yes to confirm when not on a terminal (or --dry-run to only look)",
        )
    from rich.prompt import Confirm

    return Confirm.ask(question, console=ctx.terminal.err, default=False)


def cmd_launch(ctx: Context) -> int:
    from amazonei_setup.apply import Runtime, apply_plan
    from amazonei_setup.render import command_lines, outcome_panel, plan_table

    args = ctx.args
    profile = _profile_from_args(ctx)
    if args.save_profile:
        _save_profile(profile, Path(args.save_profile), force=bool(args.force))
    clients, plan = _discover_and_plan(ctx, profile)
    if args.dry_run:
        if ctx.terminal.json:
            ctx.terminal.emit_json(plan.to_dict())
        else:
            ctx.terminal.say(plan_table(plan))
            ctx.terminal.say("Dry run: nothing was created.")
        return EXIT_OK
    ctx.terminal.say(plan_table(plan))
    if plan.changes and not _confirm(ctx, "Create these resources?"):
        ctx.terminal.say("Nothing was created.")
        return EXIT_OK
    reporter = RichReporter(ctx.terminal)
    runtime = Runtime(clients=clients, home=ctx.home, reporter=reporter)
    if ctx.hooks.sleep is not None:
        runtime.sleep = ctx.hooks.sleep
    try:
        outcome = apply_plan(plan, runtime)
    except KeyboardInterrupt:
        reporter.close()
        ctx.terminal.fail(
            [
                "interrupted; the deployment record is up to date",
                f"resume: run the same command again; remove: {_teardown_hint(ctx, profile)}",
            ]
        )
        return EXIT_INTERRUPTED
    except SetupError as exc:
        reporter.close()
        exc.hint = (exc.hint + "; " if exc.hint else "") + (
            f"what was created is recorded: run the same command to resume, "
            f"or `{_teardown_hint(ctx, profile)}` to remove it"
        )
        raise
    finally:
        reporter.close()
    if ctx.terminal.json:
        ctx.terminal.emit_json(
            {
                "deployment": profile.name,
                "region": profile.region,
                "status": "ready",
                "resources": outcome.resources,
                "instances": outcome.instances,
                "cost": plan.cost.to_dict(),
                "record": str(outcome.record_path),
            }
        )
    else:
        ctx.terminal.say(outcome_panel(profile, outcome, plan.cost))
        for line in command_lines(outcome, _teardown_hint(ctx, profile)):
            ctx.terminal.err.print(line, soft_wrap=True)
    return EXIT_OK


def _save_profile(profile: Any, path: Path, force: bool) -> None:
    import yaml

    from amazonei_setup.paths import write_private

    if path.exists() and not force:
        raise InputError(f"{path} exists", "pass --force to overwrite it, or choose another file")
    write_private(path, yaml.safe_dump(profile.to_document(), sort_keys=False))


def cmd_status(ctx: Context) -> int:
    from amazonei_setup.catalog import load_catalog
    from amazonei_setup.ledger import Ledger
    from amazonei_setup.render import deployments_table
    from amazonei_setup.resources import instance as instance_res

    catalog = load_catalog()
    records = Ledger(ctx.home).all()
    if ctx.args.region:
        records = [r for r in records if r["region"] == ctx.args.region]
    if ctx.args.name:
        records = [r for r in records if r["name"] == ctx.args.name]
        if not records:
            raise InputError(
                f"no deployment named '{ctx.args.name}' is recorded in {ctx.home}",
                "`amazonei-setup status` lists them",
            )
    rows = []
    for record in records:
        profile = record["profile"]
        clients = _clients(ctx, record["region"])
        live = instance_res.find(clients, record["name"])
        accelerator = profile.get("accelerator")
        accelerator = None if accelerator in (None, "none") else accelerator
        rows.append(
            {
                "name": record["name"],
                "region": record["region"],
                "hardware": profile["instance_type"] + (f" + {accelerator}" if accelerator else ""),
                "seats": profile.get("seats", 1),
                "status": record.get("status", "unknown"),
                "instances": [{"id": i.id, "state": i.state, "seat": i.seat} for i in live],
                "price_per_hour_usd": catalog.price_per_hour(profile["instance_type"], accelerator),
                "resources": record.get("resources", {}),
                "created_at": record.get("created_at"),
            }
        )
    if ctx.terminal.json:
        ctx.terminal.emit_json({"deployments": rows})
    elif rows:
        ctx.terminal.say(deployments_table(rows))
    else:
        ctx.terminal.say(f"No deployments recorded in {ctx.home}.")
    return EXIT_OK


def cmd_estimate(ctx: Context) -> int:
    from amazonei_setup.catalog import load_catalog

    args = ctx.args
    catalog = load_catalog()
    accelerator = args.accelerator if args.accelerator not in (None, "none") else None
    if catalog.instance(args.instance_type) is None:
        raise InputError(
            f"'{args.instance_type}' is not in the catalog",
            "supported: " + ", ".join(sorted(catalog.instances)),
        )
    if accelerator and catalog.accelerator(accelerator) is None:
        raise InputError(
            f"'{accelerator}' is not an Elastic Inference accelerator",
            "use one of " + ", ".join(sorted(catalog.accelerators)),
        )
    if not args.latency_ms > 0:
        raise InputError("--latency-ms must be a positive number of milliseconds")
    price = catalog.price_per_hour(args.instance_type, accelerator)
    if price is None:
        raise InputError(f"the catalog has no price for {args.instance_type}")
    cost = price * (args.latency_ms / 1000) * 100_000 / 3600
    document = {
        "instance_type": args.instance_type,
        "accelerator": catalog.canonical_accelerator(accelerator) if accelerator else None,
        "latency_ms": args.latency_ms,
        "price_per_hour_usd": price,
        "cost_per_100k_usd": round(cost, 4),
        "prices_as_of": catalog.prices_as_of,
    }
    if ctx.terminal.json:
        ctx.terminal.emit_json(document)
    else:
        hardware = args.instance_type + (f" + {document['accelerator']}" if accelerator else "")
        ctx.terminal.say(
            f"{hardware}: ${price:.4f}/hour at {args.latency_ms:g} ms per inference → "
            f"${cost:.2f} per 100k inferences (prices as of {catalog.prices_as_of})"
        )
    return EXIT_OK


def cmd_sandbox(ctx: Context) -> int:
    from amazonei_setup.sandbox import control

    action = ctx.args.action
    if action == "start":
        info = control.start(ctx.home)
    elif action == "stop":
        was_running = control.stop(ctx.home)
        document = {"running": False, "stopped": was_running}
        if ctx.terminal.json:
            ctx.terminal.emit_json(document)
        else:
            ctx.terminal.say("sandbox stopped" if was_running else "sandbox was not running")
        return EXIT_OK
    else:
        found = control.status(ctx.home)
        if found is None:
            document = {"endpoint": None, "running": False}
            if ctx.terminal.json:
                ctx.terminal.emit_json(document)
            else:
                ctx.terminal.say("sandbox not started; `amazonei-setup sandbox start` starts it")
            return EXIT_OK
        info = found
    if ctx.terminal.json:
        ctx.terminal.emit_json(info.to_dict())
    else:
        state = "running" if info.running else "not running"
        ctx.terminal.say(f"sandbox {state} at {info.endpoint} (pid {info.pid})")
    return EXIT_OK


HANDLERS: dict[str, Callable[[Context], int]] = {
    "launch": cmd_launch,
    "plan": cmd_plan,
    "status": cmd_status,
    "estimate": cmd_estimate,
    "sandbox": cmd_sandbox,
}


def main(argv: Sequence[str] | None = None, hooks: Hooks | None = None) -> int:
    """Entry point of `amazonei-setup`, `amazonei_setup.py` and `python -m amazonei_setup`."""
    args = parse_args(sys.argv[1:] if argv is None else argv)
    terminal = Terminal(args.output)
    try:
        from amazonei_setup.paths import state_home

        ctx = Context(
            args=args, terminal=terminal, hooks=hooks or Hooks(), home=state_home(args.home)
        )
        return HANDLERS[args.command](ctx)
    except SetupError as exc:
        terminal.fail(exc.lines())
        return exc.exit_code
    except KeyboardInterrupt:
        terminal.fail(["interrupted; nothing more was done"])
        return EXIT_INTERRUPTED
    except Exception as exc:  # a bug: one line for the user, the traceback on request
        if os.environ.get("AMAZONEI_SETUP_DEBUG"):
            raise
        terminal.fail(
            [
                f"internal error: {type(exc).__name__}: {exc}",
                "this is a bug in amazonei-setup; AMAZONEI_SETUP_DEBUG=1 shows the traceback",
            ]
        )
        return 1


if __name__ == "__main__":  # pragma: no cover
    raise SystemExit(main())
