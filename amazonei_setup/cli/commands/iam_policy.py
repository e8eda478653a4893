"""`iam-policy`: the least-privilege IAM policy the caller needs, as JSON on stdout."""

from __future__ import annotations

from amazonei_setup.cli.context import Context
from amazonei_setup.errors import EXIT_OK


def cmd_iam_policy(ctx: Context) -> int:
    from amazonei_setup.policy.stacks import NOTES, policy_for

    engine = getattr(ctx.args, "engine", None) or "direct"
    ctx.terminal.emit_json(policy_for(engine, getattr(ctx.args, "region", None)))
    if not ctx.terminal.json:
        for note in NOTES[engine]:
            ctx.terminal.say(note)
    return EXIT_OK
