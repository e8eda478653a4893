# PYTHON_ARGCOMPLETE_OK  (argcomplete looks for this in the entry point's module)
"""Command line: argument parsing, exit codes and the terminal. Everything else is a library.

Kept import-light: boto3, moto and rich load only when a command needs them, so `--help` is fast;
argcomplete only when the shell asks for completions (_ARGCOMPLETE set; see cli/completion.py).
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Callable, Sequence
from typing import Any

from amazonei_setup import __version__
from amazonei_setup.cli.seams import Hooks
from amazonei_setup.errors import (
    EXIT_INTERRUPTED,
    SetupError,
)

COMMANDS = (
    "launch",
    "plan",
    "status",
    "verify",
    "teardown",
    "connect",
    "sweep",
    "estimate",
    "benchmark",
    "iam-policy",
    "sandbox",
    "export",
)


# ---------------------------------------------------------------------------------------------
# Parsing


def _global_flags(parser: argparse.ArgumentParser, *, regions: bool = False) -> None:
    group = parser.add_argument_group("global options")
    sup = argparse.SUPPRESS
    if regions:  # commands that sweep several regions take --region more than once
        group.add_argument(
            "--region", dest="regions", action="append", default=sup, help="region (repeatable)"
        )
        group.add_argument(
            "--all-regions", action="store_true", default=sup, help="every enabled region"
        )
    else:
        group.add_argument("--region", default=sup, help="AWS region, e.g. us-west-2")
    group.add_argument(  # --profile as in the AWS CLI; never an abbreviation of --profile-file
        "--profile",
        "--aws-profile",
        dest="aws_profile",
        default=sup,
        help="named AWS credentials profile (as the AWS CLI's --profile)",
    )
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
    group.add_argument(
        "--debug",
        action="store_true",
        default=sup,
        help="log every AWS call (service, operation, region, time, retries, error) on stderr",
    )
    group.add_argument(
        "--quiet", "-q", action="store_true", default=sup, help="only results and errors"
    )


GLOBAL_DEFAULTS: dict[str, Any] = {
    "region": None,
    "aws_profile": None,
    "endpoint_url": None,
    "sandbox": False,
    "home": None,
    "output": "text",
    "yes": False,
    "debug": False,
    "quiet": False,
    "regions": None,
    "all_regions": False,
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
        "--ttl", help="time-to-live, e.g. 90m, 4h, 2d, 1h30m (or none); see sweep --expired"
    )
    parser.add_argument(
        "--tag", action="append", default=[], metavar="K=V", help="extra tag (repeatable)"
    )
    if launch:
        parser.add_argument("--dry-run", action="store_true", help="show the plan, change nothing")
        parser.add_argument(
            "--no-wait", action="store_true", help="return once launched; do not wait for the agent"
        )
        parser.add_argument("--save-profile", metavar="F", help="write the profile as YAML (0600)")
        parser.add_argument(
            "--engine",
            choices=("direct", "cloudformation", "stackset"),
            default="direct",
            help="direct (default): the tool makes each resource; cloudformation: one stack; "
            "stackset: a stack set into --accounts/--ou x --regions",
        )
        parser.add_argument("--force", action="store_true", help="overwrite --save-profile F")
        parser.add_argument(
            "--replace",
            action="store_true",
            help="terminate and relaunch instances whose type, accelerator, AMI, key or subnet "
            "changed (their disks go with them)",
        )
        parser.add_argument(
            "--handout",
            metavar="F",
            help="write F.md and F.csv: per seat, how to connect, key file, agent result",
        )
        _stackset_flags(parser)


def _stackset_flags(parser: argparse.ArgumentParser) -> None:
    """Where `launch --engine stackset` deploys: accounts or an OU, times regions (a
    service-managed CloudFormation stack set)."""
    parser.add_argument("--accounts", metavar="A,B", help="stackset: member account ids")
    parser.add_argument("--ou", metavar="ID", help="stackset: an OU id (ou-xxxx-yyyyyyyy)")
    parser.add_argument(
        "--regions", dest="regions_csv", metavar="R1,R2", help="stackset: target regions"
    )


def _benchmark_flags(parser: argparse.ArgumentParser) -> None:
    """`benchmark`'s flags (README, "Benchmark")."""
    add = parser.add_argument
    add("--model", required=True, metavar="M",
        help="an .onnx, .pt (TorchScript) or .pt2 (torch.export) file, or builtin:resnet50, "
        "builtin:resnet152, builtin:bert-base")
    add("--candidates", required=True, metavar="T[,T...]",
        help="instance types to compare, e.g. c5.xlarge,g5.xlarge,inf2.xlarge "
        "(TYPE+EIA for Elastic Inference)")
    add("--batch-sizes", default="1", metavar="1,8", help="batch sizes to measure (default 1)")
    add("--duration", type=float, default=30.0, metavar="S",
        help="seconds of single-stream queries per batch size, at least (default 30; at "
        "least 1,000 queries too)")
    add("--p99-target-ms", type=float, metavar="N", help="the p99 latency a candidate must meet")
    add("--max-cost", type=float, metavar="USD", help="refuse a plan that could cost more")
    add("--input-shape", metavar="NAME=1x3x224x224[,...]",
        help="input shapes (required for TorchScript; the first dimension is the batch)")
    add("--input-dtype", metavar="T", help="the inputs' dtype when --input-shape gives them")
    add("--name", metavar="NAME",
        help="the benchmark's deployment (default bench-<the model's SHA-256, 8 hex>)")
    add("--report-dir", metavar="DIR",
        help="where report.html, results.csv and results.json go (default: the state home)")
    add("--keep", action="store_true", help="keep the instances and bucket afterwards")
    add("--dry-run", action="store_true", help="show the plan and its cost; create nothing")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="amazonei-setup",
        allow_abbrev=False,
        description=(
            "Provision AWS inference hardware (Elastic Inference, Inferentia, NVIDIA GPUs) "
            "with a Deep Learning AMI, and remove it without a trace."
        ),
        epilog="With no command, `launch` runs (the 2019 amazonei_setup.py usage).",
    )
    parser.add_argument("--version", action="version", version=f"amazonei-setup {__version__}")
    _global_flags(parser)
    commands = parser.add_subparsers(dest="command", metavar="command")

    def sub(name: str, help_text: str, regions: bool = False) -> argparse.ArgumentParser:
        command = commands.add_parser(
            name, help=help_text, description=help_text, allow_abbrev=False
        )
        _global_flags(command, regions=regions)
        return command

    _launch_flags(sub("launch", "plan and create a deployment (the default command)"), launch=True)
    _launch_flags(sub("plan", "show what launch would do; changes nothing"), launch=False)
    sub("status", "deployments: hardware, instances, age, cost so far").add_argument(
        "name", nargs="?", type=deployment_name
    )
    verify = sub("verify", "read the agents' reports again; exit 3 when a check failed")
    verify.add_argument("name", type=deployment_name, help="the deployment")
    verify.add_argument(
        "--wait", type=float, default=0, metavar="S", help="wait up to S seconds for reports"
    )
    verify.add_argument("--handout", metavar="F", help="rewrite F.md and F.csv with the results")
    connect = sub(
        "connect",
        "a shell on a seat's instance: runs the ssh or Session Manager command (replacing "
        "this process); in the sandbox, whose instances are simulated, only prints it, marked "
        "simulated (exit 0)",
    )
    connect.add_argument("name", type=deployment_name, help="the deployment")
    connect.add_argument(
        "--seat", type=int, default=1, metavar="N", help="which seat's instance (default 1)"
    )
    connect.add_argument(
        "--print", action="store_true", help="print the command on stdout; run nothing"
    )
    teardown = sub("teardown", "remove everything a deployment created", regions=True)
    teardown.add_argument("name", nargs="?", type=deployment_name, help="the deployment to remove")
    teardown.add_argument("--all", action="store_true", help="every deployment found")
    teardown.add_argument(
        "--tag", action="append", default=[], metavar="K=V", help="deployments with this tag"
    )
    teardown.add_argument(
        "--dry-run", action="store_true", help="show what would go; change nothing"
    )
    sweep = sub(
        "sweep",
        "find tagged resources that no local record owns (--expired: those past their ttl)",
        regions=True,
    )
    sweep.add_argument("--delete", action="store_true", help="remove what was found")
    sweep.add_argument("--dry-run", action="store_true", help="with --delete: only show")
    sweep.add_argument(
        "--expired",
        action="store_true",
        help="deployments whose time-to-live has passed (recorded or found by tags)",
    )
    estimate = sub("estimate", "cost per 100k inferences for a hardware option")
    estimate.add_argument(
        "--instance-type", help="the hardware; with --report, for a report made outside EC2"
    )
    estimate.add_argument("--accelerator")
    estimate.add_argument("--latency-ms", type=float, help="latency per inference")
    estimate.add_argument("--report", metavar="F", help="an agent report: its hardware and p50")
    estimate.add_argument(
        "--model",
        metavar="M",
        help="with --rank: the latencies past `benchmark` runs measured for this model file "
        "(or builtin:NAME) join the ranking as measured",
    )
    estimate.add_argument(
        "--rank",
        action="store_true",
        help="list every catalog option beside it (a cost only where a latency is known)",
    )
    estimate.add_argument(
        "--spot",
        action="store_true",
        help="the current spot price beside on-demand (DescribeSpotPriceHistory; needs a region)",
    )
    _benchmark_flags(
        sub(
            "benchmark",
            "measure a model on several instance types at once and rank them by cost per "
            "100k inferences; everything is removed afterwards",
        )
    )
    export = sub("export", "write the deployment as a CloudFormation template; changes nothing")
    _launch_flags(export, launch=False)
    export.add_argument(
        "--format",
        default="cloudformation",
        choices=("cloudformation", "stackset"),
        help="template kind (stackset: fit for many accounts and regions, with its stack "
        "set's settings under Metadata)",
    )
    export.add_argument(
        "-o", dest="output_file", metavar="FILE", help="write here (.yaml/.yml: YAML; else JSON)"
    )
    export.add_argument("--force", action="store_true", help="overwrite -o FILE")
    sub("iam-policy", "print the least-privilege IAM policy this tool needs (JSON)").add_argument(
        "--engine",
        choices=("direct", "cloudformation", "stackset"),
        default="direct",
        help="the policy for launch --engine E (default direct)",
    )
    sandbox = sub("sandbox", "the embedded local AWS (moto on 127.0.0.1)")
    sandbox.add_argument(
        "action",
        choices=("start", "stop", "status", "env"),
        help="env: print the shell exports (endpoint, this home's keys, region) for the AWS CLI",
    )
    sandbox.add_argument(
        "--force",
        action="store_true",
        help="stop: even with deployments still in the sandbox (they are deleted with it)",
    )
    sandbox.add_argument(
        "--throttle",
        metavar="BURST:RATE",
        help="start: refuse API calls beyond these rates like AWS (RequestLimitExceeded); "
        "default $AMAZONEI_SANDBOX_THROTTLE, else off",
    )
    return parser


def deployment_name(value: str) -> str:
    """A NAME argument: checked like a profile's name before it reaches a file path or an
    EC2 filter, where `*` and `?` are wildcards (`teardown 'eia-?'` must not match eia-b)."""
    from amazonei_setup.spec.profile import NAME_PATTERN

    if not NAME_PATTERN.fullmatch(value):
        raise argparse.ArgumentTypeError(
            f"'{value}' is not a deployment name: use 1-32 of a-z, 0-9 and '-', starting and "
            "ending with a letter or digit (the status command lists yours)"
        )
    return value


def parse_args(argv: Sequence[str]) -> argparse.Namespace:
    argv = list(argv)
    if not any(token in COMMANDS for token in argv) and not {"-h", "--help", "--version"} & set(
        argv
    ):
        argv.insert(0, "launch")
    parser = build_parser()
    if "_ARGCOMPLETE" in os.environ:  # a Tab press: answer and exit
        from amazonei_setup.cli.completion import autocomplete

        autocomplete(parser)
    args = parser.parse_args(argv)
    for key, value in GLOBAL_DEFAULTS.items():
        if not hasattr(args, key):
            setattr(args, key, value)
    if args.command is None:
        args.command = "launch"
        for flag in ("profile_file", "dry_run", "no_wait", "save_profile", "force", "handout"):
            setattr(args, flag, getattr(args, flag, None))
        for flag in ("accounts", "ou", "regions_csv"):
            setattr(args, flag, getattr(args, flag, None))
        args.engine = getattr(args, "engine", None) or "direct"
    return args


# ---------------------------------------------------------------------------------------------
# Dispatch: handlers are imported only when their command runs (keeps --help import-light).

HANDLERS = {
    "launch": ("amazonei_setup.cli.commands.launch", "cmd_launch"),
    "plan": ("amazonei_setup.cli.commands.launch", "cmd_plan"),
    "status": ("amazonei_setup.cli.commands.status", "cmd_status"),
    "teardown": ("amazonei_setup.cli.commands.teardown", "cmd_teardown"),
    "sweep": ("amazonei_setup.cli.commands.teardown", "cmd_sweep"),
    "verify": ("amazonei_setup.cli.commands.verify", "cmd_verify"),
    "connect": ("amazonei_setup.cli.commands.connect", "cmd_connect"),
    "estimate": ("amazonei_setup.cli.commands.estimate", "cmd_estimate"),
    "benchmark": ("amazonei_setup.cli.commands.benchmark", "cmd_benchmark"),
    "iam-policy": ("amazonei_setup.cli.commands.iam_policy", "cmd_iam_policy"),
    "sandbox": ("amazonei_setup.cli.commands.sandbox", "cmd_sandbox"),
    "export": ("amazonei_setup.cli.commands.export", "cmd_export"),
}


def _handler(command: str) -> Callable[..., int]:
    import importlib

    module, name = HANDLERS[command]
    return getattr(importlib.import_module(module), name)


def main(argv: Sequence[str] | None = None, hooks: Hooks | None = None) -> int:
    """Entry point of `amazonei-setup`, `amazonei_setup.py` and `python -m amazonei_setup`."""
    args = parse_args(sys.argv[1:] if argv is None else argv)
    from amazonei_setup.cli.console import Terminal

    terminal = Terminal(args.output, quiet=args.quiet, debug=args.debug)
    try:
        from amazonei_setup.cli.context import Context, pasteable
        from amazonei_setup.state.paths import state_home

        ctx = Context(
            args=args, terminal=terminal, hooks=hooks or Hooks(), home=state_home(args.home)
        )
        terminal.complete_commands = lambda text: pasteable(ctx, text)
        return _handler(args.command)(ctx)
    except SetupError as exc:
        terminal.fail(exc.lines())
        return exc.exit_code
    except KeyboardInterrupt:
        terminal.fail(["interrupted; nothing more was done"])
        return EXIT_INTERRUPTED
    except Exception as exc:  # a bug: one line for the user, the traceback on request
        if os.environ.get("AMAZONEI_SETUP_DEBUG"):
            raise
        terminal.fail(internal_error_lines(exc))
        return 1


def internal_error_lines(exc: Exception) -> list[str]:
    """What a user sees when the tool hits a bug: one line naming it, and how to see more."""
    return [
        f"internal error: {type(exc).__name__}: {exc}",
        "this is a bug in amazonei-setup; AMAZONEI_SETUP_DEBUG=1 shows the traceback",
    ]


if __name__ == "__main__":  # pragma: no cover
    raise SystemExit(main())
