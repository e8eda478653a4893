"""The benchmark harness (issue 22): one job in, one result JSON out. It fetches the model and
checks its SHA-256, runs the benchmark worker (bench_worker.py and what it takes) in each
framework environment environments.survey() finds for the accelerator until one measures it
(a failing environment falls to the next; every attempt is recorded), and writes the result to
the job's result_uri (S3 PutObject, or a local path). Runs as `python3 -m
amazonei_setup.agent.benchmark --job JOB` and as the one file bundle.build_benchmark_file()
makes, which the shipped agent fetches and runs (launch.py). Exit status: 0 measured, 1 failed
(the result says why), 2 a job it cannot run. Job and result: amazonei_setup/agent/README.md."""

from __future__ import annotations

import argparse
import json
import os
import signal
import subprocess
import sys
import time
from datetime import datetime, timezone

from .bench_job import JobError, ModelError, check_job, fetch_model, read_job
from .environments import PROBE_S, agent_root, survey
from .frameworks import INSTALL_HINTS, _answer, cache_dir
from .probes import SIMULATED_MARKER, _tail, run_tool
from .report import PublishError, publish_with_retry, report_json, scrub
from .s3 import s3_upload

RESULT_SCHEMA = 1
BENCH_WORKER_SOURCE = ""  # bundle.py puts the worker's source here in the one-file harness
BENCH_WORKER_MODULES = ("loadgen", "bench_inputs", "bench_torch", "bench_worker")
RESERVE_S = 20.0  # of the job's time limit, kept to write the result
MIN_ENVIRONMENT_S = 10.0
ACCELERATORS = {
    "inf1": "Inferentia",
    "inf2": "Inferentia2",
    "trn1": "Trainium",
    "trn1n": "Trainium",
    "trn2": "Trainium2",
    "trn3": "Trainium3",
}
# Which failure says most about a candidate: the one its row reports when all environments fail.
_SPECIFIC = (
    "wrong answer",
    "compile failed",
    "out of memory",
    "shape mismatch",
    "bad model",
    "hung",
    "crashed",
    "unusable",
    "not installed",
)


def _log(message: str) -> None:
    sys.stderr.write(f"amazonei-benchmark: {message}\n")
    sys.stderr.flush()


def bench_worker_source() -> str:
    """loadgen.py, bench_inputs.py, bench_torch.py and bench_worker.py as one source (their
    relative imports dropped: `python -c` has no package)."""
    if BENCH_WORKER_SOURCE:
        return BENCH_WORKER_SOURCE
    here, parts = os.path.dirname(os.path.abspath(__file__)), []
    for module in BENCH_WORKER_MODULES:
        with open(os.path.join(here, module + ".py")) as source:
            lines, skipping = [], False
            for line in source.read().splitlines():
                if line.startswith("from ."):
                    skipping = line.rstrip().endswith("(")
                    continue
                if skipping:
                    skipping = not line.startswith(")")
                    continue
                lines.append(line)
            parts.append("\n".join(lines))
    return "\n\n".join(parts) + "\n"


def environments(kind: str, instance_type: str | None, timeout: float = PROBE_S) -> tuple:
    """([{backend, env, python}] to try, best first; the environments found of no use). CPU:
    the framework environments a DLAMI has, then the agent's own Python, all on the CPU."""
    found, skipped = survey(kind, instance_type, timeout=timeout)
    for jax in [c for c in found if c["backend"] == "jax-neuron"]:  # the smoke test's only
        found.remove(jax)
        said = "JAX: the benchmark runs ONNX and PyTorch models"
        skipped.append({"environment": jax["env"], "framework": "jax", "reason": said})
        skipped[-1]["outcome"] = "skipped"
    own = {"backend": "cpu", "env": sys.prefix, "python": sys.executable}
    if kind == "none" and all(c["python"] != own["python"] for c in found):
        found.append(own)
    return found, skipped


def run_worker(candidate: dict, job: str, timeout: float) -> tuple:
    """(answer or None, outcome, reason, simulated): the worker killed with its process group
    at `timeout` (hung). A stand-in environment says so on stderr (SIMULATED_MARKER)."""
    argv = [candidate["python"], "-c", bench_worker_source(), candidate["backend"]]
    env = dict(os.environ, PYTHONDONTWRITEBYTECODE="1")
    env["PATH"] = os.path.dirname(candidate["python"]) + os.pathsep + env.get("PATH", "")
    try:
        process = subprocess.Popen(
            argv,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env=env,
            start_new_session=True,
        )
    except OSError as error:
        return None, "crashed", f"cannot start {candidate['python']}: {error}", False
    try:
        stdout, stderr = process.communicate(job, timeout=timeout)
    except subprocess.TimeoutExpired:
        try:
            os.killpg(process.pid, signal.SIGKILL)
        except OSError:
            process.kill()
        process.communicate()
        return None, "hung", f"no answer within {timeout:.1f} s (the time limit): killed", False
    simulated = any(line.strip() == SIMULATED_MARKER for line in (stderr or "").splitlines())
    answer = _answer(stdout)
    if answer is None:
        said = _tail(stderr or stdout) or "no output"
        return None, "crashed", f"exited {process.returncode} without an answer: {said}", simulated
    if not answer.get("ok"):
        outcome = answer.get("outcome") or "crashed"
        return answer, outcome, str(answer.get("error") or "no reason given")[:600], simulated
    if not isinstance(answer.get("batches"), list) or not answer["batches"]:
        return None, "crashed", "a malformed answer (no measurements)", simulated
    return answer, "ok", "", simulated or bool(answer.get("simulated"))


def accelerator_name(spec: dict, instance_type: str | None, answer: dict | None) -> str | None:
    """The EIA type, the Neuron chip of the family, the GPU's name; None for a CPU."""
    if spec["kind"] == "eia":
        return spec["eia_type"] or "eia"
    if spec["kind"] == "neuron":
        return ACCELERATORS.get((instance_type or "").split(".")[0], "Neuron")
    if spec["kind"] == "nvidia":
        name = (answer or {}).get("device_name")
        if name and (answer or {}).get("device") == "cuda:0":
            return name
        found = run_tool(["nvidia-smi", "--query-gpu=name", "--format=csv,noheader"])
        lines = (found["stdout"] or "").strip().splitlines()
        return lines[0].strip() if found["rc"] == 0 and lines else None
    return None


def _worker_job(job: dict, model_path: str | None, deadline_s: float) -> str:
    model = {k: job["model"][k] for k in ("format", "sha256", "inputs", "name")}
    model.update(path=model_path, builtin=job["model"].get("builtin"))
    keys = ("batch_sizes", "duration_s", "min_queries", "p99_target_ms", "warmup_queries")
    work = {k: job[k] for k in (*keys, "warmup_s", "step_s")}
    work.update(model=model, cache=cache_dir(), deadline_s=deadline_s)
    return json.dumps(work)


def _failure(attempts: list, kind: str, skipped: list | None = None) -> tuple:
    """(outcome, reason) of a candidate no environment could measure."""
    if not attempts:
        hint = INSTALL_HINTS.get(kind, "install onnxruntime (or torch) for the agent's python3")
        said = f"no framework environment found under {agent_root()}: {hint}"
        if skipped:
            said += (
                " (found of no use: "
                + "; ".join(
                    f"{s['environment']} ({s['framework']}): {s['reason']}" for s in skipped
                )
                + ")"
            )
        return "not installed", said
    ranked = sorted(
        attempts, key=lambda a: _SPECIFIC.index(a["outcome"]) if a["outcome"] in _SPECIFIC else 99
    )
    worst = ranked[0]
    said = f"{worst['outcome']}: {worst['reason']} ({worst['environment']} {worst['backend']})"
    if len(attempts) > 1:
        said += f"; {len(attempts) - 1} other environment(s) failed too (see attempts)"
    return worst["outcome"], said


def _base(job: dict, started: str) -> dict:
    spec = job["expect"]
    model = {k: job["model"].get(k) for k in ("name", "format", "sha256", "bytes")}
    settings = {k: job[k] for k in ("batch_sizes", "duration_s", "min_queries", "p99_target_ms")}
    settings["time_limit_s"] = job["time_limit_s"]
    kind = {"none": "cpu"}.get(spec["kind"], spec["kind"])
    result = {"schema": RESULT_SCHEMA, "instance_type": job["instance_type"], "kind": kind}
    result.update(accelerator=accelerator_name(spec, job["instance_type"], None), device=None)
    result.update(framework=None, status="failed", reason=None, outcome=None, simulated=False)
    result.update(load_s=None, compile_s=None, download_s=None, check_s=None, warmup=None)
    result.update(batches=[], max_abs_error=None, tolerance=None, model=model, attempts=[])
    result.update(settings=settings, started_at=started)
    return result


def _measured(result: dict, answer: dict, candidate: dict, spec: dict, job: dict) -> None:
    for key in ("device", "device_name", "framework", "provider", "compiler", "precision"):
        result[key] = answer.get(key)
    for key in ("load_s", "compile_s", "check_s", "max_abs_error", "tolerance", "batches"):
        result[key] = answer.get(key)
    result.update(status="ok", environment=candidate["env"], backend=candidate["backend"])
    result["accelerator"] = accelerator_name(spec, job["instance_type"], answer)
    warm = [row.get("warmup") or {} for row in answer["batches"]]
    result["warmup"] = {
        "queries": sum(w.get("queries", 0) for w in warm),
        "s": round(sum(w.get("s", 0.0) for w in warm), 3),
    }
    result["settings"].update(step_s=answer.get("step_s"), warmup_s=answer.get("warmup_s"))
    invalid = [f"batch {r['batch_size']}: {r['why']}" for r in answer["batches"] if not r["valid"]]
    where = f"{result['framework']} in {candidate['env']} on {result['device']}"
    result["reason"] = where + (" (not valid: " + "; ".join(invalid) + ")" if invalid else "")


def run_job(
    job: dict, region: str | None = None, clock=time.monotonic, tried: list | None = None
) -> dict:
    """The result of a checked job (check_job): the first environment that measures the model,
    or status failed with the most telling attempt's outcome and reason. `tried`: the
    environments [{backend, env, python}] to use instead of those found (scripts/)."""
    began, started = clock(), datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
    result, spec = _base(job, started), job["expect"]
    try:
        fetched = fetch_model(job["model"], region, clock)
        result["download_s"], result["model"]["cached"] = fetched["download_s"], fetched["cached"]
    except ModelError as error:
        result.update(outcome="bad model", reason=str(error))
        return _finish(result, began, clock, job)
    skipped: list = []
    if tried is None:
        probe_s = min(PROBE_S, max(job["time_limit_s"] - RESERVE_S, 1.0))
        tried, skipped = environments(spec["kind"], job["instance_type"], probe_s)
    for failed in [s for s in skipped if s["outcome"] in ("crashed", "hung")]:  # probes
        result["attempts"].append(dict(failed, backend="probe"))
    for candidate in tried:
        left = job["time_limit_s"] - (clock() - began) - RESERVE_S
        attempt = {"environment": candidate["env"], "backend": candidate["backend"]}
        if left < MIN_ENVIRONMENT_S:
            attempt.update(outcome="hung", reason="not tried: the job's time limit was spent")
            result["attempts"].append(attempt)
            continue
        _log(f"running the model in {candidate['env']} ({candidate['backend']})")
        work = _worker_job(job, fetched["path"], max(left - 5.0, 1.0))
        answer, outcome, reason, simulated = run_worker(candidate, work, left)
        result["simulated"] = result["simulated"] or simulated
        if outcome == "ok":
            _measured(result, answer, candidate, spec, job)
            break
        attempt.update(outcome=outcome, reason=reason)
        if answer and answer.get("framework_name"):
            attempt["framework"] = f"{answer['framework_name']} {answer.get('framework_version')}"
        result["attempts"].append(attempt)
    if result["status"] != "ok":
        result["outcome"], result["reason"] = _failure(result["attempts"], spec["kind"], skipped)
    return _finish(result, began, clock, job)


def _finish(result: dict, began: float, clock, job: dict) -> dict:
    total = clock() - began
    result["duration_s"] = round(total, 3)
    if result["status"] == "ok":
        planned = job["duration_s"] * len(job["batch_sizes"])
        spent = total - (result["download_s"] or 0.0) - (result["compile_s"] or 0.0)
        result["overhead_s"] = round(spent - planned, 3)
    return scrub(result)


def write_result(result: dict, uri: str, region: str | None = None, sleep=time.sleep) -> str:
    """The result to `s3://...` (retried while the role's credentials are not there yet) or to
    a local path (atomically). Returns where it went."""
    text = report_json(result, pretty=True) + "\n"
    if not uri.startswith("s3://"):
        os.makedirs(os.path.dirname(os.path.abspath(uri)), exist_ok=True)
        with open(uri + ".tmp", "w") as out:
            out.write(text)
        os.replace(uri + ".tmp", uri)
        return uri

    def put() -> str:
        try:
            return s3_upload(uri, text.encode("utf-8"), region)
        except Exception as error:
            raise PublishError(f"s3 put-object {uri}: {error}") from None

    means = publish_with_retry(put, sleep, time.monotonic, _log)
    return f"{uri} ({means})"


def _refused(raw: dict, reason: str, region: str | None) -> None:
    """A job that cannot run still answers where it asked to be answered, so the tool stops
    waiting: status failed, outcome bad job."""
    uri = raw.get("result_uri")
    if not isinstance(uri, str) or not uri:
        return
    result = {"schema": RESULT_SCHEMA, "status": "failed", "outcome": "bad job", "reason": reason}
    result.update(instance_type=raw.get("instance_type"), simulated=False, batches=[])
    try:
        write_result(scrub(result), uri, region)
    except (OSError, PublishError) as error:
        _log(f"cannot write the result: {error}")


def _summary(result: dict) -> list:
    lines = [f"{result['status']}: {result['reason']}"]
    for row in result["batches"]:
        lines.append(
            f"batch {row['batch_size']}: p50 {row['p50_ms']} / p90 {row['p90_ms']} / p99 "
            f"{row['p99_ms']} ms over {row['queries']} queries (cv {row['cv']}), "
            f"{row['throughput_per_s']}/s at {row['streams']} stream(s)"
            + ("" if row["valid"] else f" NOT VALID: {row['why']}")
        )
    return lines


def main(argv: list | None = None) -> int:
    parser = argparse.ArgumentParser(prog="amazonei-benchmark")
    parser.add_argument("--job", required=True, help="the job: a JSON file or s3://bucket/key")
    parser.add_argument("--region", help="region of the job's S3 objects (default: boto3's)")
    args = parser.parse_args(argv)
    region = args.region or None
    try:
        raw = read_job(args.job, region)
    except JobError as error:
        _log(f"bad job: {error}")
        return 2
    try:
        job = check_job(raw)
    except JobError as error:
        _log(f"bad job: {error}")
        _refused(raw, str(error), region)
        return 2
    result = run_job(job, region)
    for line in _summary(result):
        _log(line)
    try:
        _log(f"result written to {write_result(result, job['result_uri'], region)}")
    except (OSError, PublishError) as error:
        _log(f"cannot write the result: {error}")
        return 1
    sys.stdout.write(report_json(result, pretty=True) + "\n")
    return 0 if result["status"] == "ok" else 1


if __name__ == "__main__":
    sys.exit(main())
