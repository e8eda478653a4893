"""`iam-policy`: the least-privilege IAM policy the caller needs, as JSON on stdout."""

from __future__ import annotations

from amazonei_setup.commands.context import Context
from amazonei_setup.errors import EXIT_OK


def cmd_iam_policy(ctx: Context) -> int:
    from amazonei_setup.iam_policy import caller_policy

    ctx.terminal.emit_json(caller_policy(getattr(ctx.args, "region", None)))
    if not ctx.terminal.json:
        ctx.terminal.say(
            "Attach this to the user or role that runs amazonei-setup "
            "(launch, status, verify, teardown, sweep)."
        )
    return EXIT_OK
