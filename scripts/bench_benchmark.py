"""Do `benchmark`'s candidates run in parallel? Each candidate benchmarked alone, then all of
them at once, against the sandbox on 127.0.0.1 with a fixed latency added to every AWS call
the tool makes (after one discarded warm-up run); prints each run's seconds and the ratio
all-at-once ÷ slowest-alone (issue 22: at most 1.3). The simulated instances run the real
harness on this machine's CPU, so the candidates also share its cores: the ratio includes that
contention, it does not hide it.

    python scripts/bench_benchmark.py [--delay-ms 50] [--duration 2]
        [--candidates c5.xlarge,g5.xlarge,inf2.xlarge]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import tempfile
import time
from datetime import datetime, timezone
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(REPO / "scripts"))

from bench_engines import Calls, hooks_for  # noqa: E402

from amazonei_sandbox import control  # noqa: E402
from amazonei_setup.cli.main import main  # noqa: E402

MODEL = REPO / "templates" / "models" / "demo-cnn.onnx"


def benchmark(home: Path, calls: Calls, candidates: str, duration: float) -> tuple[float, int]:
    """(seconds, AWS calls) of one whole `benchmark` run: plan, launch, measure, teardown."""
    import contextlib
    import io

    out, err = io.StringIO(), io.StringIO()
    argv = ["--sandbox", "--home", str(home), "--output", "json", "benchmark", "--region",
            "us-west-2", "--model", str(MODEL), "--candidates", candidates, "--duration",
            str(duration), "--yes", "--report-dir", str(home / "report" / candidates)]  # fmt: skip
    calls.take()
    began = time.perf_counter()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        code = main(argv, hooks_for(calls, home))
    seconds = time.perf_counter() - began
    if code != 0:
        raise SystemExit(f"benchmark {candidates} exited {code}:\n{err.getvalue()[-3000:]}")
    failed = [r for r in json.loads(out.getvalue())["results"] if r["status"] != "ok"]
    if failed:
        raise SystemExit(f"benchmark {candidates}: {failed[0]['reason']}")
    return seconds, calls.take()


def main_bench(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n\n")[0])
    parser.add_argument("--delay-ms", type=float, default=50.0, help="latency added per call")
    parser.add_argument("--duration", type=float, default=2.0, help="--duration of each run")
    parser.add_argument("--candidates", default="c5.xlarge,g5.xlarge,inf2.xlarge")
    args = parser.parse_args(argv)
    candidates = args.candidates.split(",")
    calls = Calls(args.delay_ms / 1000)
    with tempfile.TemporaryDirectory(prefix="bench-benchmark-") as folder:
        home = Path(folder)
        control.start(home)
        try:
            benchmark(home, calls, candidates[0], args.duration)  # warm-up, discarded
            alone = {c: benchmark(home, calls, c, args.duration) for c in candidates}
            together = benchmark(home, calls, args.candidates, args.duration)
        finally:
            control.stop(home)
    when = datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    print(
        f"amazonei-setup benchmark, {len(candidates)} candidates, {when}: {platform.system()} "
        f"{platform.machine()}, {os.cpu_count()} CPUs, Python {platform.python_version()}; "
        f"the sandbox on 127.0.0.1, {args.delay_ms:.0f} ms added per call, --duration "
        f"{args.duration:g}"
    )
    print()
    print(f"{'run':40} {'seconds':>8} {'AWS calls':>10}")
    for candidate, (seconds, count) in alone.items():
        print(f"{candidate + ' alone':40} {seconds:8.1f} {count:10d}")
    print(f"{'all ' + str(len(candidates)) + ' at once':40} {together[0]:8.1f} {together[1]:10d}")
    slowest = max(seconds for seconds, _ in alone.values())
    print()
    print(f"all at once ÷ slowest alone: {together[0] / slowest:.2f} (issue 22: at most 1.3)")
    return 0


if __name__ == "__main__":
    sys.exit(main_bench())
