"""What every command handler shares: the parsed flags, the terminal, the test seams, the
state home, and how to reach AWS (or the sandbox) for a region."""

from __future__ import annotations

import argparse
import os
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from amazonei_setup.cli.console import Terminal
from amazonei_setup.cli.seams import Hooks
from amazonei_setup.errors import InputError
from amazonei_setup.spec.inputs import ProfileInputs, parse_tags
from amazonei_setup.state.record import DeploymentRecord

if TYPE_CHECKING:
    from amazonei_setup.cli.wizard.context import WizardContext
    from amazonei_setup.engines.protocol import Environment

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
    "ttl": ("ttl",),
}
REQUIRED_FIELDS = {"name": "--name", "region": "--region", "instance_type": "--instance-type"}


@dataclass
class Context:
    args: argparse.Namespace
    terminal: Terminal
    hooks: Hooks
    home: Path
    clients: dict[str, Any] = field(default_factory=dict)  # by region: one session each


def profile_inputs(ctx: Context) -> ProfileInputs:
    """Read the profile file (if any) and collect the flags on top of it; validates nothing."""
    from amazonei_setup.spec.profile_file import read_profile_file

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
    tags = parse_tags(getattr(args, "tag", None) or [])
    if tags:
        base_tags = dict((source.document.get("tags") or {}) if source else {})
        overrides["tags"] = {**base_tags, **tags} if isinstance(base_tags, dict) else tags
        flags[("tags",)] = "--tag"
    document = {**(source.document if source else {}), **overrides}
    if document.get("region") in (None, "") and (region := default_region(ctx)):
        overrides["region"] = document["region"] = region  # as the AWS CLI resolves it
        flags[("region",)] = "the AWS configuration's region"
    missing = [flag for key, flag in REQUIRED_FIELDS.items() if document.get(key) in (None, "")]
    return ProfileInputs(source=source, overrides=overrides, flag_paths=flags, missing=missing)


def default_region(ctx: Context) -> str | None:
    """Without --region: AWS_REGION, AWS_DEFAULT_REGION or the named profile's region, as the
    AWS CLI takes it (never for the sandbox's own credentials' sake: it has no config)."""
    from amazonei_setup.aws.clients import configured_region

    return configured_region(ctx.args.aws_profile)


def missing_choices_error(ctx: Context, inputs: ProfileInputs) -> InputError:
    where = f" in {ctx.args.profile_file} or" if ctx.args.profile_file else ""
    return InputError(
        "missing required choice(s): "
        + ", ".join(f"{f[2:].replace('-', '_')} ({f})" for f in inputs.missing),
        f"set them{where} with the flags named, e.g. "
        "--name demo --region us-west-2 --instance-type m5.xlarge",
    )


def wizard_applies(ctx: Context, inputs: ProfileInputs) -> bool:
    """The wizard takes over when choices are missing, a person is at the terminal, and
    --yes (do not ask) was not given."""
    return bool(inputs.missing) and not ctx.args.yes and bool(ctx.hooks.stdin_is_tty())


def wizard_context(ctx: Context) -> WizardContext:
    """What the wizard needs of this command: its console, state home, clients and seams."""
    from amazonei_setup.cli.wizard.context import WizardContext
    from amazonei_setup.engines.discover import public_ip_lookup

    return WizardContext(
        console=ctx.terminal.err,
        home=ctx.home,
        clients_for=lambda region: clients_for(ctx, region),
        ip_lookup=ctx.hooks.ip_lookup or public_ip_lookup,
        sandbox=bool(ctx.args.sandbox),
        aws_profile=ctx.args.aws_profile,
    )


def profile_from_args(ctx: Context, inputs: ProfileInputs | None = None):
    """File first, then flags on top; exit 2 naming each missing choice and its flag."""
    from amazonei_setup.spec.profile_checks import validate_profile

    inputs = inputs or profile_inputs(ctx)
    if inputs.missing:
        raise missing_choices_error(ctx, inputs)
    return validate_profile(inputs.source, inputs.overrides, inputs.flag_paths)


def check_endpoint_url(url: str) -> None:
    from urllib.parse import urlsplit

    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname or " " in url:
        raise InputError(
            f"'{url}' is not an endpoint URL (--endpoint-url or AWS_ENDPOINT_URL)",
            "give one like https://ec2.us-west-2.amazonaws.com or http://127.0.0.1:5000",
        )


def target_for(ctx: Context, region: str):
    from amazonei_setup.aws.clients import AwsTarget

    args = ctx.args
    endpoint = args.endpoint_url or os.environ.get("AWS_ENDPOINT_URL")
    if endpoint and not args.sandbox:
        check_endpoint_url(endpoint)
    if args.sandbox:
        from amazonei_sandbox import control

        info = control.start(ctx.home)
        endpoint = info.endpoint
    return AwsTarget(region=region, profile_name=args.aws_profile, endpoint_url=endpoint)


def clients_for(ctx: Context, region: str):
    """The region's clients, made once per command: botocore loads a service's model per
    session (EC2's takes a fifth of a second), so a second session would load it again."""
    if region not in ctx.clients:
        ctx.clients[region] = _new_clients(ctx, region)
    return ctx.clients[region]


def _new_clients(ctx: Context, region: str):
    target = target_for(ctx, region)
    factory = ctx.hooks.session_factory
    if factory is None and ctx.args.sandbox:
        factory = sandbox_sessions(ctx)
    return _logged_clients(ctx, target, factory)


def _logged_clients(ctx: Context, target: Any, factory: Callable[[Any], Any] | None):
    """Every client the CLI makes comes from here, so that --debug logs each call."""
    from amazonei_setup.aws.clients import AwsClients

    if ctx.terminal.debugging:
        from amazonei_setup.aws.clients import default_session
        from amazonei_setup.cli.call_log import log_calls

        make = factory or default_session
        debug = ctx.terminal.debug

        def logged(target):  # the same sessions, each call logged
            return log_calls(make(target), target.region, debug)

        factory = logged

    return AwsClients(target, factory)


class SandboxGone(InputError):
    """A deployment made in this home's sandbox, which has stopped since: nothing of it is left
    anywhere, and no call may go to real AWS in its stead."""


def sandbox_of(ctx: Context, record: DeploymentRecord) -> dict[str, Any] | None:
    """For a deployment made in this home's sandbox: whether that sandbox still runs there.
    None for a deployment in AWS, and for one at a loopback endpoint that something else
    answers (another home's sandbox reached with --endpoint-url, a moto server of your own):
    that is not ours to declare gone."""
    from amazonei_sandbox import control

    endpoint = record.endpoint_url
    if endpoint is None or not _on_loopback(endpoint):
        return None
    info = control.status(ctx.home)
    running = info is not None and info.running and info.endpoint == endpoint
    if not running and _answers(endpoint):
        return None
    return {"endpoint": endpoint, "running": running, "simulated": True}


def _answers(endpoint: str) -> bool:
    """Whether a server listens at a loopback endpoint (refused at once when none does)."""
    import socket
    from urllib.parse import urlsplit

    parts = urlsplit(endpoint)
    try:
        with socket.create_connection((parts.hostname, parts.port or 80), timeout=1):
            return True
    except OSError:
        return False


def clients_for_record(ctx: Context, record: DeploymentRecord):
    """The clients for a recorded deployment, wherever it lives: a sandbox deployment's go to
    its sandbox with this home's sandbox keys (with or without --sandbox, never to real AWS);
    raises SandboxGone when that sandbox has stopped. One made at another loopback endpoint
    goes back to that endpoint with the caller's own credentials."""
    sandbox = sandbox_of(ctx, record)
    if sandbox is None and not _on_loopback(record.endpoint_url):
        return clients_for(ctx, record.region)
    if sandbox is not None and not sandbox["running"]:
        raise sandbox_gone(ctx, record)
    key = f"{record.region} {record.endpoint_url}"
    if key not in ctx.clients:
        from amazonei_setup.aws.clients import AwsTarget

        target = AwsTarget(region=record.region, endpoint_url=record.endpoint_url)
        factory = ctx.hooks.session_factory
        if factory is None and sandbox is not None:
            factory = sandbox_sessions(ctx)
        ctx.clients[key] = _logged_clients(ctx, target, factory)
    return ctx.clients[key]


def _on_loopback(endpoint: str | None) -> bool:
    """A recorded endpoint on 127.0.0.1: a sandbox, this home's or another's."""
    from urllib.parse import urlsplit

    from amazonei_sandbox import control

    return bool(endpoint) and urlsplit(endpoint).hostname == control.LOOPBACK_HOST


def sandbox_gone(ctx: Context, record: DeploymentRecord) -> SandboxGone:
    """What to say of a deployment whose sandbox stopped: it went with it; how to clear it."""
    clear = followup(ctx, "teardown", record.name, region=record.region, sandbox=True)
    return SandboxGone(
        f"'{record.name}' ({record.region}) went with the stopped sandbox it was made in "
        "(simulated, nothing billed): nothing of it is left",
        f"`{clear}` clears its record",
    )


def sandbox_sessions(ctx: Context) -> Callable[[Any], Any]:
    """Sessions for the sandbox: never real credentials, only this state home's own."""
    from amazonei_sandbox.credentials import sandbox_credentials

    credentials = sandbox_credentials(ctx.home)

    def factory(target: Any) -> Any:
        import boto3

        return boto3.Session(region_name=target.region, **credentials.boto3_kwargs())

    return factory


def wall_clock(ctx: Context) -> Callable[[], datetime]:
    """The UTC wall clock: the hooks' (a frozen one in tests), else the real one."""
    from amazonei_setup.spec.ttl import utc_clock

    return getattr(ctx.hooks, "now", None) or utc_clock


def environment(ctx: Context) -> Environment:
    """What the engines need of this command: its clients (the sandbox's for a sandbox run or
    deployment), the seams' clocks and sleep, the sandbox's signing key, a spinner."""
    import time

    from amazonei_setup.engines.discover import public_ip_lookup
    from amazonei_setup.engines.protocol import Environment

    def key() -> bytes | None:  # the sandbox runs only user data signed with the home's key
        from amazonei_setup.seats.userdata import sandbox_signing_key

        return sandbox_signing_key(ctx.home) if ctx.args.sandbox else None

    return Environment(
        home=ctx.home,
        clients=lambda region: clients_for(ctx, region),
        record_clients=lambda record: clients_for_record(ctx, record),
        ip_lookup=ctx.hooks.ip_lookup or public_ip_lookup,
        now=wall_clock(ctx),
        sleep=ctx.hooks.sleep or time.sleep,
        clock=ctx.hooks.clock or time.monotonic,
        user_data_key=key,
        busy=ctx.terminal.status,
    )


def followup(
    ctx: Context, command: str, *words: str, region: str | None = None, sandbox: bool = False
) -> str:
    """A command for the person to run next, as it works pasted (see cli/followup.py);
    `sandbox`: it acts on a sandbox deployment, so it carries --sandbox whatever this run had."""
    from amazonei_setup.cli.followup import command_line

    return command_line(ctx.args, ctx.home, command, *words, region=region, sandbox=sandbox)


def sandbox_run(ctx: Context) -> bool:
    """Whether this run talks to this home's sandbox (--sandbox, or its endpoint given)."""
    from amazonei_setup.cli.followup import talks_to_sandbox

    return talks_to_sandbox(ctx.args, ctx.home)


def pasteable(ctx: Context, text: str) -> str:
    """`text` with each quoted `amazonei-setup ...` command completed for this run."""
    from amazonei_setup.cli.followup import pasteable as complete

    return complete(ctx.args, ctx.home, text)


def teardown_hint(ctx: Context, profile: Any) -> str:
    """The exact teardown command for the deployment, as it works pasted."""
    return followup(ctx, "teardown", profile.name, region=profile.region)


def verify_hint(ctx: Context, profile: Any) -> str:
    """The exact verify command for the deployment (reads the agents' reports), pasteable."""
    return followup(ctx, "verify", profile.name, region=profile.region)


def confirm(ctx: Context, question: str, why: str, flag_hint: str) -> bool:
    """Ask on a terminal, as the wizard asks (Asker.confirm: y/yes/n/no, Enter is no); off a
    terminal only --yes proceeds (exit 2 otherwise). q or Ctrl-C there is an interrupt (130)."""
    if ctx.args.yes:
        return True
    if not ctx.hooks.stdin_is_tty():
        raise InputError(f"{why} and needs confirmation", flag_hint)
    from amazonei_setup.cli.wizard.prompts import Asker, Quit, terminal_prompter

    console = ctx.terminal.err
    try:
        return Asker(console, terminal_prompter(console)).confirm(question)
    except Quit:
        raise KeyboardInterrupt from None


def approved(ctx: Context, discard: Callable[[], None], question: str, why: str) -> bool:
    """`confirm`, and when the answer is no, or none comes (not a terminal, Ctrl-C), what
    the engine's plan left in AWS is discarded first (a stack's change set)."""
    try:
        yes = confirm(
            ctx,
            question,
            why,
            "pass --yes to confirm when not on a terminal (or --dry-run to only look)",
        )
    except BaseException:
        discard()
        raise
    if not yes:
        discard()
    return yes


def recorded(ctx: Context, name: str | None) -> list[DeploymentRecord]:
    """The records in this state home, narrowed by --region and NAME; exit 2 when NAME is
    given but not recorded."""
    from amazonei_setup.state.ledger import Ledger

    ledger = Ledger(ctx.home)
    records = ledger.all()
    if ctx.args.region:
        records = [r for r in records if r.region == ctx.args.region]
    if name:
        records = [r for r in records if r.name == name]
        damaged = [f for f in ledger.damaged() if f"/{name}.json " in f.message]
        if not records and damaged:
            raise damaged[0]
        if not records:
            from amazonei_setup.spec.profile import did_you_mean

            known = sorted({r.name for r in ledger.all()})
            hint = did_you_mean(name, known)
            raise InputError(
                f"no deployment named '{name}' is recorded in {ctx.home}",
                (f"{hint} " if hint else "")
                + "`amazonei-setup status` lists them (add --region R if there are several)",
            )
    return records
