"""A benchmark run: the benchmark's own deployment (its bucket) made and recorded first, the
harness, model and jobs uploaded once, every candidate run at the same time (candidate.py),
each torn down as soon as its result is in, and the bucket and record removed at the end, on
a failure and on Ctrl-C (`keep`: all of it stays).

The record (`<home>/deployments/<region>/<name>.json`, `benchmark` key) is saved before
every step, with each candidate's state and, once read, its result: a run killed with -9 is
resumed by the same command (measured candidates are not measured again) or removed whole by
`teardown NAME`, which tears down the candidates' deployments the record names."""

from __future__ import annotations

import hashlib
import json
import threading
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any, Protocol

from amazonei_setup.agent.bundle import build_benchmark_file
from amazonei_setup.engines.benchmark import candidate as candidates
from amazonei_setup.engines.benchmark.candidate import (
    BENCHMARK_TAG,
    CandidateOutcome,
    Environment,
    Stopped,
)
from amazonei_setup.engines.benchmark.jobs import harness_key, job_document, job_key, model_key
from amazonei_setup.engines.benchmark.plan import BenchmarkPlan, CandidatePlan
from amazonei_setup.errors import InputError
from amazonei_setup.resources import model_bucket
from amazonei_setup.resources.naming import deployment_tags
from amazonei_setup.state.ledger import Edit, Ledger, new_record, utc_now
from amazonei_setup.state.record import RecordedResource

BUCKET_KEY = "model-bucket"
EXPIRE_DAYS = 2  # the bucket's lifecycle rule: objects a lost run leaves behind expire


class Reporter(candidates.CandidateReporter, Protocol):
    def stage(self, message: str) -> None: ...
    def uploaded(self, done: int, total: int) -> None: ...


@dataclass
class BenchmarkOutcome:
    plan: BenchmarkPlan
    outcomes: list[CandidateOutcome]
    bucket: str
    kept: bool
    removed: bool  # the bucket and record are gone


def run_benchmark(
    plan: BenchmarkPlan, env: Environment, reporter: Reporter, endpoint_url: str | None = None
) -> BenchmarkOutcome:
    """The whole benchmark under its deployment's lock. Raises Stopped after removing what
    was made (unless `keep`) when Ctrl-C is pressed; KeyboardInterrupt is turned into it."""
    request = plan.request
    ledger = Ledger(env.home)
    with ledger.edit(request.region, request.name, "a benchmark") as edit:
        clients = env.clients
        account_id = clients.sts.get_caller_identity()["Account"]
        bucket = model_bucket.bucket_name(account_id, request.region, request.name)
        _open_record(edit, plan, bucket, endpoint_url)
        try:
            harness_sha = _upload(env, plan, bucket, reporter, edit)
            outcomes = _run_all(env, plan, bucket, harness_sha, reporter, edit)
        except (Stopped, KeyboardInterrupt):
            env.stop.set()
            if not request.keep:
                reporter.stage("interrupted: removing every candidate and the bucket")
                _remove_all(env, plan, edit, reporter)
            raise Stopped() from None
        except BaseException:
            if not request.keep:
                _remove_all(env, plan, edit, reporter)
            raise
        removed = False
        if not request.keep:
            _remove_bucket(env, edit, bucket, reporter)
            removed = True
    return BenchmarkOutcome(plan, outcomes, bucket, request.keep, removed)


def _open_record(edit: Edit, plan: BenchmarkPlan, bucket: str, endpoint_url: str | None) -> None:
    """A new record, or the one a killed run left (resumed only with the same request)."""
    request = plan.request
    wanted = request.settings()
    record = edit.record
    if record is not None:
        if record.benchmark is None:
            raise InputError(
                f"'{request.name}' in {request.region} is a deployment, not a benchmark",
                "give the benchmark another --name",
            )
        if record.benchmark["settings"] != wanted:
            raise InputError(
                f"benchmark '{request.name}' was started with other settings "
                f"({json.dumps(record.benchmark['settings'])})",
                f"run it as it was to resume it, `amazonei-setup teardown {request.name} "
                f"--region {request.region}` to remove it, or give this one another --name",
            )
    else:
        profile: dict[str, object] = {
            "name": request.name,
            "region": request.region,
            "instance_type": "benchmark: " + ", ".join(c.label for c in request.candidates),
            "accelerator": None,
            "seats": len(request.candidates),
            "tags": {**request.tags, BENCHMARK_TAG: request.name},
        }
        record = new_record(request.name, request.region, profile, endpoint_url, utc_now())
        record.benchmark = {"settings": wanted, "bucket": bucket, "candidates": {}}
    states = record.benchmark.setdefault("candidates", {})
    for row in plan.candidates:
        states.setdefault(row.candidate.label, {"deployment": row.deployment, "state": "planned"})
    record.resources[BUCKET_KEY] = RecordedResource(
        kind="model-bucket", name=bucket, id=bucket, action="created", owned=True
    )
    edit.record = record
    edit.save()  # before the bucket exists: a kill now still leaves a record naming it


def _upload(
    env: Environment, plan: BenchmarkPlan, bucket: str, reporter: Reporter, edit: Edit
) -> str:
    """The bucket, the harness, the model (once; a resumed run keeps what is there) and each
    candidate's job. Returns the harness's SHA-256, which the user data pins."""
    request = plan.request
    clients = env.clients
    user_tags = {**request.tags, BENCHMARK_TAG: request.name}
    tags = deployment_tags(request.name, request.region, user_tags)
    reporter.stage(f"creating the bucket {bucket}")
    model_bucket.create(clients, bucket, request.region, tags, EXPIRE_DAYS)
    harness = build_benchmark_file().encode()
    sha = hashlib.sha256(harness).hexdigest()
    model_bucket.put_bytes(clients, bucket, harness_key(sha), harness)
    key = model_key(request)
    if key is not None and not model_bucket.exists(clients, bucket, key):
        reporter.stage(f"uploading {request.model.name} ({request.model.bytes:,} bytes)")
        total = request.model.bytes
        done = [0]

        def progress(sent: int) -> None:
            done[0] += sent
            reporter.uploaded(done[0], total)

        assert request.model.path is not None
        model_bucket.upload_file(clients, bucket, key, request.model.path, progress)
    for row in plan.candidates:
        document = job_document(request, row, bucket, sha)
        model_bucket.put_bytes(
            clients, bucket, job_key(row.deployment), json.dumps(document).encode()
        )
    assert edit.record is not None
    edit.record.status = "ready"
    edit.save()
    return sha


def _run_all(
    env: Environment,
    plan: BenchmarkPlan,
    bucket: str,
    harness_sha: str,
    reporter: Reporter,
    edit: Edit,
) -> list[CandidateOutcome]:
    """Every candidate at once; a candidate already measured (a resumed run) is not run."""
    request = plan.request
    assert edit.record is not None and edit.record.benchmark is not None
    states: dict[str, dict[str, Any]] = edit.record.benchmark["candidates"]
    lock = threading.Lock()

    def one(row: CandidatePlan) -> CandidateOutcome:
        state = states[row.candidate.label]
        if state.get("state") in ("measured", "failed"):
            reporter.candidate(row.candidate.label, "resumed", "measured by an earlier run")
            done = CandidateOutcome(row, state.get("result"), state.get("reason"))
            done.minutes_used = float(state.get("minutes_used") or 0.0)
            if not request.keep:
                done.removed = candidates.remove_reported(env, request, row, reporter)
            return done
        with lock:
            state.update(state="running", started_at=utc_now())
            edit.save()
        outcome = candidates.run_candidate(env, request, row, bucket, harness_sha, reporter)
        with lock:
            state.update(
                state="measured" if outcome.result is not None else "failed",
                result=outcome.result,
                reason=outcome.reason,
                minutes_used=round(outcome.minutes_used, 3),
                removed=outcome.removed,
                finished_at=utc_now(),
            )
            edit.save()
        return outcome

    pool = ThreadPoolExecutor(max_workers=len(plan.candidates), thread_name_prefix="candidate")
    futures = [pool.submit(one, row) for row in plan.candidates]
    try:
        results = [future.result() for future in futures]
    except BaseException:
        env.stop.set()  # the others stop waiting; their deployments are removed by the caller
        pool.shutdown(wait=True, cancel_futures=True)
        raise
    pool.shutdown(wait=True)
    return results


def _remove_all(env: Environment, plan: BenchmarkPlan, edit: Edit, reporter: Reporter) -> None:
    """Every candidate's deployment, then the bucket and the record: nothing left."""
    request = plan.request
    with ThreadPoolExecutor(max_workers=len(plan.candidates)) as pool:
        list(
            pool.map(
                lambda row: candidates.remove_reported(env, request, row, reporter),
                plan.candidates,
            )
        )
    assert edit.record is not None and edit.record.benchmark is not None
    _remove_bucket(env, edit, edit.record.benchmark["bucket"], reporter)


def _remove_bucket(env: Environment, edit: Edit, bucket: str, reporter: Reporter) -> None:
    count = model_bucket.empty_and_delete(env.clients, bucket)
    reporter.stage(f"removed the bucket {bucket} ({count} object(s))")
    edit.remove()
