"""`iam-policy`: the least-privilege IAM policy the caller needs, as JSON on stdout.

One policy document when the engine's policy fits one IAM managed policy; otherwise a JSON
list of {"PolicyName", "PolicyDocument"}, every one of which must be attached (the NOTES on
stderr say so)."""

from __future__ import annotations

from amazonei_setup.cli.context import Context
from amazonei_setup.errors import EXIT_OK


def cmd_iam_policy(ctx: Context) -> int:
    from amazonei_setup.policy.managed import MANAGED_POLICY_LIMIT, managed_policies
    from amazonei_setup.policy.stacks import NOTES

    engine = getattr(ctx.args, "engine", None) or "direct"
    policies = managed_policies(engine, getattr(ctx.args, "region", None))
    if len(policies) == 1:
        ctx.terminal.emit_json(policies[0]["PolicyDocument"])
    else:
        ctx.terminal.emit_json(policies)
    if not ctx.terminal.json:
        if len(policies) > 1:
            names = ", ".join(p["PolicyName"] for p in policies)
            ctx.terminal.say(
                f"This is {len(policies)} managed policies ({names}), as IAM holds one managed "
                f"policy to {MANAGED_POLICY_LIMIT:,} characters: create each from its "
                "PolicyDocument and attach ALL of them (with one missing, launches are denied), "
                "e.g. `aws iam create-policy --policy-name NAME --policy-document "
                "\"$(jq -c '.[N].PolicyDocument' FILE)\"` for N = 0, 1, ..."
            )
        for note in NOTES[engine]:
            ctx.terminal.say(note)
    return EXIT_OK
