"""`connect NAME [--seat N] [--print]`: a shell on a seat's instance, by the ssh or Session
Manager command the launch printed (shell_access builds both), from the local record alone.

The process is replaced by ssh / aws (os.execvp, or the hooks' stand-in in tests), so the
terminal, signals and exit status are theirs. The sandbox's instances are simulated: there is
no host to reach, so the command is shown, marked simulated, and nothing runs (exit 0).
"""

from __future__ import annotations

import os
import shutil
import sys
from pathlib import Path

from amazonei_sandbox import control
from amazonei_setup.cli.context import (
    Context,
    followup,
    recorded,
    sandbox_gone,
    sandbox_of,
)
from amazonei_setup.errors import EXIT_OK, InputError, SetupError
from amazonei_setup.seats.shell_access import INSTALL_HINTS, SeatCommand, seat_command, seats_of
from amazonei_setup.state.record import DeploymentRecord


def cmd_connect(ctx: Context) -> int:
    args = ctx.args
    command = _command(ctx)
    if ctx.terminal.json:
        ctx.terminal.emit_json(
            {
                "deployment": args.name,
                "seat": command.seat,
                "argv": command.argv,
                "command": command.line,
                "simulated": command.simulated,
                "notes": list(command.notes),
            }
        )
        return EXIT_OK
    for note in command.notes:
        ctx.terminal.err.print(f"note: {note}", soft_wrap=True, markup=False)
    if args.print or command.simulated:
        sys.stdout.write(command.line + "\n")
        sys.stdout.flush()
        if command.simulated:
            ctx.terminal.err.print(
                f"simulated: seat {command.seat} of '{args.name}' runs in the sandbox, where "
                "there is no host to connect to, so nothing was run; on AWS the command above "
                "opens the shell",
                soft_wrap=True,
                markup=False,
            )
        return EXIT_OK
    _check_runnable(command)
    ctx.terminal.err.print(f"connecting: {command.line}", soft_wrap=True, markup=False)
    sys.stdout.flush()
    sys.stderr.flush()
    replace = ctx.hooks.replace_process or _execvp
    try:
        replace(command.argv)
    except OSError as exc:
        raise SetupError(f"could not run {command.argv[0]}: {exc}") from None
    return EXIT_OK  # only a stand-in for exec returns


def _execvp(argv: list[str]) -> None:
    os.execvp(argv[0], argv)


def _command(ctx: Context) -> SeatCommand:
    """The seat's command; exit 2 for a deployment with no record, no instance or no such seat."""
    args = ctx.args
    records = recorded(ctx, args.name)
    if len(records) > 1:
        regions = ", ".join(sorted(r.region for r in records))
        raise InputError(
            f"'{args.name}' is recorded in several regions ({regions})",
            f"pass --region R, e.g. connect {args.name} --region {records[0].region}",
        )
    record = records[0]
    sandbox = sandbox_of(ctx, record)
    if sandbox is not None and not sandbox["running"]:
        gone = sandbox_gone(ctx, record)
        raise InputError(f"seat {args.seat} of {gone.message}", gone.hint)
    seats = seats_of(record)
    if not seats:
        raise InputError(
            f"'{args.name}' has no running instance recorded (status: {record.status})",
            "launch it again to resume it; `amazonei-setup status` shows what runs",
        )
    if args.seat not in seats:
        raise InputError(
            f"'{args.name}' has no seat {args.seat}",
            f"its seats: {', '.join(str(s) for s in seats)}; e.g. "
            f"`{_connect_command(ctx, record, seats[0])}`",
        )
    endpoint = args.endpoint_url
    if sandbox is not None:  # the sandbox's, with or without --sandbox: simulated
        endpoint = record.endpoint_url
    elif args.sandbox:
        info = control.status(ctx.home)
        endpoint = info.endpoint if info is not None and info.running else record.endpoint_url
    command = seat_command(record, args.seat, args.aws_profile, endpoint)
    if (args.sandbox or sandbox is not None) and not command.simulated:
        command = SeatCommand(command.seat, command.argv, command.notes, simulated=True)
    return command


def _connect_command(ctx: Context, record: DeploymentRecord, seat: int) -> str:
    """`connect NAME --seat N`, pasteable, with --region when the name is in several."""
    region = record.region if ctx.args.region else None
    return followup(ctx, "connect", ctx.args.name, "--seat", str(seat), region=region)


def _check_runnable(command: SeatCommand) -> None:
    """The program is on PATH and the key file is there, before the process is given away."""
    program = command.argv[0]
    if shutil.which(program) is None:
        raise InputError(
            f"`{program}` is not on your PATH, so connect cannot run it",
            f"{INSTALL_HINTS[program]}; `connect --print` shows the command without running it",
        )
    if "-i" in command.argv:
        key = Path(command.argv[command.argv.index("-i") + 1])
        if not key.is_file():
            raise InputError(
                f"the private key {key} is missing",
                "it was saved there at launch; restore it, or teardown and launch again",
            )
