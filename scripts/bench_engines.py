"""The three engines side by side: the same profile launched and torn down with the direct
engine, one CloudFormation stack, and a service-managed stack set (one member account, then
three), in one run against the sandbox on 127.0.0.1 only. Prints seconds, AWS calls made by
the tool, and each engine's time as a ratio of the direct engine's (direct = 1.0).

    python scripts/bench_engines.py [--delay-ms 0] [--profile templates/profiles/eia-workshop.yaml]

`--delay-ms` adds that latency to every call the tool makes (a botocore `before-send` hook), to
weigh the tool's own round trips as AWS would; CloudFormation's work inside the sandbox is
not delayed (moto creates a stack's resources synchronously, where AWS takes minutes).
"""

from __future__ import annotations

import argparse
import contextlib
import io
import os
import platform
import shutil
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import yaml

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from amazonei_sandbox import control  # noqa: E402
from amazonei_sandbox.credentials import sandbox_credentials  # noqa: E402
from amazonei_setup.cli.main import Hooks, build_parser, main  # noqa: E402


class Calls:
    """Counts the tool's requests and adds the latency of a real round trip to each."""

    def __init__(self, delay_s: float) -> None:
        self.delay_s = delay_s
        self.count = 0
        self.lock = threading.Lock()

    def before_send(self, **_: Any) -> None:
        with self.lock:
            self.count += 1
        if self.delay_s:
            time.sleep(self.delay_s)

    def take(self) -> int:
        with self.lock:
            taken, self.count = self.count, 0
        return taken


def hooks_for(calls: Calls, home: Path) -> Hooks:
    import boto3

    credentials = sandbox_credentials(home).boto3_kwargs()  # the sandbox answers no other

    def session_factory(target: Any) -> Any:
        if not target.is_loopback:  # never anything but the sandbox
            raise SystemExit(f"refusing a non-loopback endpoint: {target.endpoint_url}")
        session = boto3.Session(region_name=target.region, **credentials)
        session.events.register("before-send", calls.before_send)
        return session

    return Hooks(session_factory=session_factory, stdin_is_tty=lambda: False)


def cli(home: Path, hooks: Hooks, *argv: str) -> None:
    err = io.StringIO()
    with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(err):
        code = main(["--sandbox", "--home", str(home), *argv], hooks)
    if code != 0:
        raise SystemExit(f"`{' '.join(argv)}` exited {code}:\n{err.getvalue()[-3000:]}")


def organization(endpoint: str, home: Path, accounts: int) -> list[str]:
    """An organization in the sandbox with `accounts` member accounts (the attendees)."""
    import boto3

    org = boto3.client(
        "organizations",
        region_name="us-east-1",
        endpoint_url=endpoint,
        **sandbox_credentials(home).boto3_kwargs(),
    )
    org.create_organization(FeatureSet="ALL")
    made = [
        org.create_account(Email=f"seat{n}@example.com", AccountName=f"seat{n}")
        for n in range(accounts)
    ]
    return [m["CreateAccountStatus"]["AccountId"] for m in made]


def engines_known() -> set[str]:
    for action in build_parser()._subparsers._group_actions[0].choices["launch"]._actions:  # type: ignore[union-attr]
        if action.dest == "engine":
            return set(action.choices or ())
    return {"direct"}


def measure(calls: Calls, action: Callable[[], None]) -> tuple[float, int]:
    calls.take()
    started = time.perf_counter()
    action()
    return time.perf_counter() - started, calls.take()


def bench(profile_file: Path, delay_s: float) -> list[dict[str, Any]]:
    folder = Path(tempfile.mkdtemp(prefix="amazonei-bench-engines-"))
    home = folder / "home"
    document = yaml.safe_load(profile_file.read_text())
    document["agent"] = {"enabled": False, "smoke_test": False}  # AWS calls only, not the agent
    document.pop("ttl", None)
    rows: list[dict[str, Any]] = []
    try:
        info = control.start(home)
        if not info.endpoint.startswith("http://127.0.0.1:"):
            raise SystemExit(f"the sandbox is not on loopback: {info.endpoint}")
        members = organization(info.endpoint, home, 3)
        calls = Calls(delay_s)
        hooks = hooks_for(calls, home)
        known = engines_known()
        cases: list[tuple[str, list[str]]] = [("direct", [])]
        if "cloudformation" in known:
            cases.append(("cloudformation (1 stack)", ["--engine", "cloudformation"]))
        region = document["region"]
        for count in (1, 3):
            cases.append(
                (
                    f"stackset ({count} account{'s' if count > 1 else ''})",
                    [
                        "--engine",
                        "stackset",
                        "--accounts",
                        ",".join(members[:count]),
                        "--regions",
                        region,
                    ],
                )
            )
        for index, (label, flags) in enumerate(cases):
            name = f"bench-{index}"
            path = folder / f"{name}.yaml"
            path.write_text(yaml.safe_dump({**document, "name": name}))
            launch = ["launch", "--profile-file", str(path), "--yes", "--no-wait", *flags]
            up_s, up_calls = measure(calls, lambda a=launch: cli(home, hooks, *a))
            down = ["teardown", name, "--region", region, "--yes"]
            down_s, down_calls = measure(calls, lambda a=down: cli(home, hooks, *a))
            rows.append(
                {
                    "engine": label,
                    "launch_s": up_s,
                    "teardown_s": down_s,
                    "calls": up_calls + down_calls,
                }
            )
    finally:
        control.stop(home)
        shutil.rmtree(folder, ignore_errors=True)
    return rows


def table(rows: list[dict[str, Any]]) -> str:
    base = rows[0]["launch_s"] + rows[0]["teardown_s"]
    lines = [
        "| engine | launch s | teardown s | total s | tool's AWS calls | total ÷ direct |",
        "|---|---:|---:|---:|---:|---:|",
    ]
    for row in rows:
        total = row["launch_s"] + row["teardown_s"]
        lines.append(
            f"| {row['engine']} | {row['launch_s']:.2f} | {row['teardown_s']:.2f} | "
            f"{total:.2f} | {row['calls']} | {total / base:.2f} |"
        )
    return "\n".join(lines)


def main_bench(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n\n")[0])
    parser.add_argument("--delay-ms", type=float, default=0.0, help="latency added per call")
    parser.add_argument(
        "--profile", default=str(REPO / "templates/profiles/eia-workshop.yaml"), type=Path
    )
    args = parser.parse_args(argv)
    rows = bench(args.profile, args.delay_ms / 1000)
    when = datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    print(
        f"amazonei-setup engines, {args.profile.name}, {when}: {platform.system()} "
        f"{platform.machine()}, {os.cpu_count()} CPUs, Python {platform.python_version()}; "
        f"the sandbox on 127.0.0.1, {args.delay_ms:.0f} ms added per call"
    )
    print()
    print(table(rows))
    return 0


if __name__ == "__main__":
    sys.exit(main_bench())
