"""`sandbox start|stop|status`: the embedded local AWS."""

from __future__ import annotations

from amazonei_setup.commands.context import Context
from amazonei_setup.errors import EXIT_OK


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
