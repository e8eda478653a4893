"""`sandbox start|stop|status`: the embedded local AWS."""

from __future__ import annotations

from typing import Any

from rich.text import Text

from amazonei_setup.commands.context import Context, followup
from amazonei_setup.errors import EXIT_OK, InputError


def cmd_sandbox(ctx: Context) -> int:
    from amazonei_setup.sandbox import control

    action = ctx.args.action
    throttle = getattr(ctx.args, "throttle", None)
    if throttle is not None and action != "start":
        raise InputError(
            f"--throttle goes with `sandbox start`, not `sandbox {action}`",
            "amazonei-setup sandbox start --throttle BURST:RATE",
        )
    if action == "start":
        info = control.start(ctx.home, throttle=throttle)
    elif action == "stop":
        was_running = control.stop(ctx.home)
        document = {"running": False, "stopped": was_running}
        if ctx.terminal.json:
            ctx.terminal.emit_json(document)
        else:
            ctx.terminal.result("sandbox stopped" if was_running else "sandbox was not running")
        return EXIT_OK
    else:
        found = control.status(ctx.home)
        if found is None:
            document = {"endpoint": None, "running": False}
            if ctx.terminal.json:
                ctx.terminal.emit_json(document)
            else:
                start = followup(ctx, "sandbox", "start")
                ctx.terminal.result(
                    Text(f"sandbox not started; `{start}` starts it"), soft_wrap=True
                )
            return EXIT_OK
        info = found
    counts = control.throttle_counts(info) if info.running else None
    if ctx.terminal.json:
        ctx.terminal.emit_json({**info.to_dict(), "throttle_counts": counts})
    else:
        state = "running" if info.running else "not running"
        ctx.terminal.result(f"sandbox {state} at {info.endpoint} (pid {info.pid})")
        if info.throttle is not None:
            ctx.terminal.result(_throttle_line(info.throttle, counts))
    return EXIT_OK


def _throttle_line(setting: str, counts: dict[str, Any] | None) -> str:
    line = f"throttling API calls at {setting} (BURST:RATE)"
    if counts:
        line += f": {counts.get('throttled', 0)} of {counts.get('requests', 0)} calls refused"
    return line
