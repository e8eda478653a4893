"""`status` and `teardown` of stack set deployments on the terminal: a table per set, a row per
account and region; removal (the engine's: the stack instances, waited for, then the set)
shown, asked for and summarised."""

from __future__ import annotations

from collections.abc import Callable

from rich.console import RenderableType

from amazonei_setup.cli.console import JsonDocument
from amazonei_setup.cli.context import Context, approved
from amazonei_setup.cli.render.stacks import stackset_status_table
from amazonei_setup.engines.stackset.engine import StackSetEngine, StackSetTeardown
from amazonei_setup.errors import EXIT_AWS, EXIT_OK

__all__ = ["show_status", "teardown"]


def show_status(
    ctx: Context, documents: list[JsonDocument], show: Callable[..., None] | None = None
) -> None:
    """A table per stack set: the answer of `status` (stdout) unless `show` says otherwise."""
    for document in documents:
        (show or ctx.terminal.result)(stackset_status_table(document))


def teardown(
    ctx: Context, engine: StackSetEngine, plans: list[StackSetTeardown]
) -> tuple[int, JsonDocument]:
    """The engine's teardown plans shown, (dry-run | confirm), then the engine deletes each
    set's instances, waits, deletes the set, drops the record. The exit code, and the JSON
    part (the caller emits it or joins it to its own: `--output json` prints one document)."""
    documents = [plan.document for plan in plans]
    if ctx.terminal.json and ctx.args.dry_run:
        return EXIT_OK, {"dry_run": True, "stack_sets": documents}
    if not ctx.terminal.json:

        def show(*renderables: RenderableType) -> None:  # dry-run: the answer; else the question's
            ctx.terminal.plan(*renderables, dry_run=ctx.args.dry_run, asking=not ctx.args.yes)

        show_status(ctx, documents, show)
        for document in documents:
            show(
                f"would delete {len(document['stack_instances'])} stack instance(s) "
                f"(RetainStacks=False), then stack set {document['stack_set']}"
            )
    if ctx.args.dry_run:
        ctx.terminal.say("Dry run: nothing was changed.")
        return EXIT_OK, {"dry_run": True, "stack_sets": documents}
    count = sum(len(d["stack_instances"]) for d in documents)
    question = f"Delete {count} stack instance(s) and {len(plans)} stack set(s)?"
    if not approved(ctx, lambda: None, question, "teardown deletes resources in other accounts"):
        ctx.terminal.say("Nothing was changed.")
        return EXIT_OK, {"dry_run": False, "stack_sets": []}
    summaries = []
    for plan in plans:
        record, document = plan.record, plan.document
        left = engine.teardown(plan)
        summaries.append({**document, "stack_instances_left": left})
        if left:
            ctx.terminal.fail(
                [
                    f"{len(left)} stack instance(s) of {document['stack_set']} are still there "
                    "(reasons above); the stack set was kept",
                    f"run `amazonei-setup teardown {record.name} --region {record.region}` again",
                ]
            )
            return EXIT_AWS, {"dry_run": False, "stack_sets": summaries}
        ctx.terminal.result(f"Removed {record.name}: stack set {document['stack_set']} deleted.")
    return EXIT_OK, {"dry_run": False, "stack_sets": summaries}
