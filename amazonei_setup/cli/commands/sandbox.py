"""`sandbox start|stop|status|env`: the embedded local AWS, and how its owner reaches it.

The sandbox answers only this state home's own credentials: `status --output json` gives them
with the endpoint, `env` prints them as shell exports for the AWS CLI and boto3. `stop` with
deployments still living in the sandbox names them and asks first (they vanish with it).
"""

from __future__ import annotations

import argparse
import shlex
import sys
from pathlib import Path

from rich.text import Text

from amazonei_sandbox import control
from amazonei_sandbox.credentials import sandbox_credentials
from amazonei_setup.cli.context import Context, confirm, default_region, followup
from amazonei_setup.cli.followup import command_line
from amazonei_setup.errors import EXIT_OK, InputError
from amazonei_setup.state.ledger import Ledger
from amazonei_setup.state.record import DeploymentRecord

DEFAULT_REGION = "us-west-2"  # the sandbox seeds any region on first use; this one by default


def cmd_sandbox(ctx: Context) -> int:
    action = ctx.args.action
    throttle = getattr(ctx.args, "throttle", None)
    if throttle is not None and action != "start":
        raise InputError(
            f"--throttle goes with `sandbox start`, not `sandbox {action}`",
            "amazonei-setup sandbox start --throttle BURST:RATE",
        )
    if getattr(ctx.args, "force", False) and action != "stop":
        raise InputError(
            f"--force goes with `sandbox stop`, not `sandbox {action}`",
            "amazonei-setup sandbox stop --force",
        )
    if action == "stop":
        return _stop(ctx)
    if action == "env":
        return _env(ctx)
    if action == "start":
        info = control.start(ctx.home, throttle=throttle)
    else:
        found = control.status(ctx.home)
        if found is None:
            document = {"endpoint": None, "running": False}
            if ctx.terminal.json:
                ctx.terminal.emit_json(document)
            else:
                ctx.terminal.result(
                    Text(f"sandbox not started; `{sandbox_command(ctx, 'start')}` starts it"),
                    soft_wrap=True,
                )
            return EXIT_OK
        info = found
    counts = control.throttle_counts(info) if info.running else None
    if ctx.terminal.json:
        ctx.terminal.emit_json({**info.to_dict(), **_access(ctx), "throttle_counts": counts})
    else:
        state = "running" if info.running else "not running"
        ctx.terminal.result(f"sandbox {state} at {info.endpoint} (pid {info.pid})")
        if info.throttle is not None:
            ctx.terminal.result(_throttle_line(info.throttle, counts))
        ctx.terminal.say(
            "It answers only this state home's credentials; for the AWS CLI or boto3: "
            f'eval "$({sandbox_command(ctx, "env")})"',
            soft_wrap=True,
        )
    return EXIT_OK


def _access(ctx: Context) -> dict[str, str]:
    """What a client needs besides the endpoint: this home's keys and a region."""
    credentials = sandbox_credentials(ctx.home)
    return {
        "access_key_id": credentials.access_key_id,
        "secret_access_key": credentials.secret_access_key,
        "region": _region(ctx),
    }


def _region(ctx: Context) -> str:
    return ctx.args.region or default_region(ctx) or DEFAULT_REGION


def _env(ctx: Context) -> int:
    """The shell exports that point the AWS CLI and boto3 at this home's running sandbox."""
    info = control.status(ctx.home)
    if info is None or not info.running:
        raise InputError(
            f"the sandbox of {ctx.home} is not running",
            f"start it first: {sandbox_command(ctx, 'start')}",
        )
    access = _access(ctx)
    variables = {
        "AWS_ENDPOINT_URL": info.endpoint,
        "AWS_ACCESS_KEY_ID": access["access_key_id"],
        "AWS_SECRET_ACCESS_KEY": access["secret_access_key"],
        "AWS_DEFAULT_REGION": access["region"],
        "AWS_REGION": access["region"],
    }
    if ctx.terminal.json:
        ctx.terminal.emit_json(variables)
        return EXIT_OK
    lines = [
        f"# the amazonei-setup sandbox of {ctx.home} (simulated AWS on 127.0.0.1)",
        "unset AWS_SESSION_TOKEN AWS_SECURITY_TOKEN",  # a stale token would void these keys
        *(f"export {name}={shlex.quote(value)}" for name, value in variables.items()),
    ]
    sys.stdout.write("\n".join(lines) + "\n")
    sys.stdout.flush()
    return EXIT_OK


def _stop(ctx: Context) -> int:
    live = sandbox_deployments(ctx.home)
    if live and not _stop_agreed(ctx, live):
        ctx.terminal.say("sandbox left running")
        return EXIT_OK
    was_running = control.stop(ctx.home)
    document = {"running": False, "stopped": was_running, "deployments_lost": _names(live)}
    if ctx.terminal.json:
        ctx.terminal.emit_json(document)
    else:
        ctx.terminal.result("sandbox stopped" if was_running else "sandbox was not running")
    return EXIT_OK


def _stop_agreed(ctx: Context, live: list[DeploymentRecord]) -> bool:
    """Warn, naming them; ask on a terminal; off one, only --force or --yes goes on (exit 2)."""
    names = ", ".join(_names(live))
    why = (
        f"{_count(live)} recorded in {ctx.home} live in the sandbox: {names}; stopping it "
        "deletes them with everything else in it, and their records stay behind"
    )
    ctx.terminal.err.print(f"warning: {why}", soft_wrap=True, markup=False)
    if ctx.args.yes or getattr(ctx.args, "force", False):
        return True
    return confirm(
        ctx,
        "Stop the sandbox anyway?",
        f"`sandbox stop` would delete {_count(live)}: {names}",
        f"tear them down first ({_teardowns(ctx, live)}), or stop anyway: "
        f"{sandbox_command(ctx, 'stop')} --force",
    )


def sandbox_deployments(home: Path) -> list[DeploymentRecord]:
    """The records of this home whose deployment lives in its running sandbox."""
    info = control.status(home)
    if info is None or not info.running:
        return []
    return [r for r in Ledger(home).all() if r.endpoint_url == info.endpoint]


def sandbox_command(ctx: Context, action: str) -> str:
    """`amazonei-setup sandbox ACTION` as it works pasted (program as invoked, --home when
    this is not the default home)."""
    return command_line(_without_sandbox(ctx.args), ctx.home, "sandbox", action)


def _teardowns(ctx: Context, records: list[DeploymentRecord]) -> str:
    """`amazonei-setup --sandbox teardown NAME --region R` for each deployment in the sandbox."""
    return "; ".join(
        followup(ctx, "teardown", r.name, region=r.region, sandbox=True) for r in records
    )


def _without_sandbox(args: argparse.Namespace) -> argparse.Namespace:
    """`sandbox ACTION` names the sandbox already: no `--sandbox` in front of it."""
    return argparse.Namespace(**{**vars(args), "sandbox": False})


def _names(records: list[DeploymentRecord]) -> list[str]:
    return [f"{r.name} ({r.region})" for r in records]


def _count(records: list[DeploymentRecord]) -> str:
    return "1 deployment" if len(records) == 1 else f"{len(records)} deployments"


def _throttle_line(setting: str, counts: dict[str, int] | None) -> str:
    line = f"throttling API calls at {setting} (BURST:RATE)"
    if counts:
        line += f": {counts.get('throttled', 0)} of {counts.get('requests', 0)} calls refused"
    return line
