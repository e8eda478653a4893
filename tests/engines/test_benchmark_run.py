"""The benchmark's run against in-process moto, the instances stood in for by a hook that
writes each candidate's result where its job says (the sandbox runs the real agent: see
tests/e2e/test_benchmark_sandbox.py). What a user sees: ranked rows, per-candidate failures
that leave the others' results, and nothing left afterwards."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import boto3
import pytest
from bench_samples import ISSUE_FIELDS, batch, result
from botocore.exceptions import ClientError
from support import REGION, leftovers, on_event

DEMO = str(Path(__file__).resolve().parents[2] / "templates" / "models" / "demo-cnn.onnx")
KINDS = {"c5.xlarge": "cpu", "g5.xlarge": "nvidia", "inf2.xlarge": "neuron"}
LATENCY_MS = {"c5.xlarge": 4.0, "g5.xlarge": 1.5, "inf2.xlarge": 1.0}


def _deployment_of(ec2: Any, instance_id: str) -> str:
    found = ec2.describe_instances(InstanceIds=[instance_id])["Reservations"][0]["Instances"][0]
    return {t["Key"]: t["Value"] for t in found["Tags"]}["amazonei-setup:deployment"]


def instances_answer(hooks: Any, silent: tuple[str, ...] = ()) -> list[dict[str, Any]]:
    """After each RunInstances, write the candidate's result (unless its type is `silent`:
    a hang); returns the jobs the instances were given."""
    jobs: list[dict[str, Any]] = []
    # Made once, here: the hook runs in the candidates' threads, and making a client from
    # boto3's default session in several threads at once races inside botocore.
    s3, ec2 = boto3.client("s3", region_name=REGION), boto3.client("ec2", region_name=REGION)

    def answer(model, http_response, parsed, **_):
        bucket = next(
            b["Name"] for b in s3.list_buckets()["Buckets"] if b["Name"].startswith("amazonei-")
        )
        for item in parsed.get("Instances", []):
            deployment = _deployment_of(ec2, item["InstanceId"])
            stored = s3.get_object(Bucket=bucket, Key=f"{deployment}/job.json")
            job = json.loads(stored["Body"].read())
            jobs.append(job)
            kind = KINDS[job["instance_type"]]
            if job["instance_type"] in silent:
                continue
            latency = LATENCY_MS[job["instance_type"]]
            rows = [batch(size, latency * size) for size in job["batch_sizes"]]
            done = result(job["instance_type"], kind, rows)
            key = job["result_uri"].split("/", 3)[3]
            s3.put_object(Bucket=bucket, Key=key, Body=json.dumps(done).encode())

    on_event(hooks, "after-call.ec2.RunInstances", answer)
    return jobs


def no_capacity_for(hooks: Any, instance_type: str) -> None:
    def refuse(params, **_):
        if params.get("InstanceType") == instance_type:
            raise ClientError(
                {"Error": {"Code": "InsufficientInstanceCapacity", "Message": "We currently do "
                           f"not have sufficient {instance_type} capacity"}},
                "RunInstances",
            )  # fmt: skip

    on_event(hooks, "before-parameter-build.ec2.RunInstances", refuse)


def nothing_of(name: str, deployments: list[str], home: Path) -> None:
    for deployment in [name, *deployments]:
        left = leftovers(deployment, home)
        assert not any(left.values()), (deployment, left)
    s3 = boto3.client("s3", region_name=REGION)
    assert [b["Name"] for b in s3.list_buckets()["Buckets"]] == []


CANDIDATES = "c5.xlarge,g5.xlarge,inf2.xlarge"
ARGS = ["--region", REGION, "--model", DEMO, "--candidates", CANDIDATES, "--batch-sizes", "1,8"]


def test_three_candidates_are_measured_ranked_and_removed(aws, run_cli, hooks, tmp_path):
    jobs = instances_answer(hooks)
    got = run_cli("--output", "json", "benchmark", *ARGS, "--p99-target-ms", "10", "--yes",
                  "--report-dir", str(tmp_path / "report"))  # fmt: skip
    assert got.code == 0, got.err
    document = json.loads(got.out)
    rows = document["results"]
    assert len(rows) == 6 and all(set(row) >= ISSUE_FIELDS for row in rows)
    assert {r["instance_type"] for r in rows} == set(KINDS)
    assert all(r["status"] == "ok" for r in rows)
    costs = [r["cost_per_100k_usd"] for r in rows]
    assert costs == sorted(costs)
    assert document["recommendation"]["instance_type"] in KINDS
    assert {job["instance_type"] for job in jobs} == set(KINDS)
    assert all(job["batch_sizes"] == [1, 8] and job["min_queries"] == 1000 for job in jobs)
    assert (tmp_path / "report" / "report.html").is_file()
    names = [job["result_uri"].split("/")[3] for job in jobs]
    nothing_of(document["benchmark"], names, run_cli.home)


def test_a_candidate_without_capacity_and_one_that_hangs_leave_the_third(
    aws, run_cli, hooks, tmp_path
):
    no_capacity_for(hooks, "g5.xlarge")
    jobs = instances_answer(hooks, silent=("inf2.xlarge",))
    got = run_cli("--output", "json", "benchmark", *ARGS, "--yes",
                  "--report-dir", str(tmp_path / "report"))  # fmt: skip
    assert got.code == 0, got.err
    rows = {(r["instance_type"], r["status"], r["batch_size"]): r
            for r in json.loads(got.out)["results"]}  # fmt: skip
    assert rows[("c5.xlarge", "ok", 1)]["p50_ms"] == 4.0
    assert rows[("c5.xlarge", "ok", 8)]["p50_ms"] == 32.0
    failed_gpu = rows[("g5.xlarge", "failed", None)]["reason"]
    assert "InsufficientInstanceCapacity" in failed_gpu
    assert "hung" in rows[("inf2.xlarge", "failed", None)]["reason"]
    names = [job["result_uri"].split("/")[3] for job in jobs] + ["bench-b1f91c21-g5-xlarge"]
    nothing_of(json.loads(got.out)["benchmark"], names, run_cli.home)


def test_a_rerun_after_a_kill_resumes_without_measuring_again(aws, run_cli, hooks, tmp_path):
    """The record a killed run left (one candidate measured, its deployment gone) is picked up:
    only the other candidates launch."""
    jobs = instances_answer(hooks)
    first = run_cli("benchmark", *ARGS, "--candidates", "c5.xlarge", "--yes", "--keep")
    assert first.code == 0, first.err
    home = run_cli.home
    record_path = next((home / "deployments").glob("*/bench-*.json"))
    record = json.loads(record_path.read_text())
    assert record["benchmark"]["candidates"]["c5.xlarge"]["state"] == "measured"
    # `--keep` left it all; the same request resumes and finishes the job (removing it)
    again = run_cli("--output", "json", "benchmark", *ARGS, "--candidates", "c5.xlarge", "--yes")
    assert again.code == 0, again.err
    assert len(jobs) == 1  # not launched again
    assert "resumed" in again.err
    nothing_of(record["name"], ["bench-b1f91c21-c5-xlarge"], home)


def test_teardown_of_the_benchmark_removes_its_candidates_too(aws, run_cli, hooks):
    instances_answer(hooks)
    two = ["--candidates", "c5.xlarge,inf2.xlarge"]
    kept = run_cli("benchmark", *ARGS, *two, "--yes", "--keep", "--name", "kept")
    assert kept.code == 0, kept.err
    assert leftovers("kept-c5-xlarge")["instances"] == 1
    gone = run_cli("teardown", "kept", "--region", REGION, "--yes")
    assert gone.code == 0, gone.err
    nothing_of("kept", ["kept-c5-xlarge", "kept-inf2-xlarge"], run_cli.home)


@pytest.mark.parametrize("settings", [["--duration", "5"], ["--batch-sizes", "1"]])
def test_a_rerun_with_other_settings_is_refused(aws, run_cli, hooks, settings):
    instances_answer(hooks)
    one = [*ARGS, "--candidates", "c5.xlarge"]
    assert run_cli("benchmark", *one, "--yes", "--keep", "--name", "mine").code == 0
    again = run_cli("benchmark", *one, *settings, "--yes", "--name", "mine")
    assert again.code == 2
    assert "was started with other settings" in again.err


def test_estimate_rank_shows_what_a_benchmark_measured_for_the_model(aws, run_cli, hooks):
    instances_answer(hooks)
    assert run_cli("benchmark", *ARGS, "--candidates", "c5.xlarge,g5.xlarge", "--yes").code == 0
    got = run_cli("--output", "json", "estimate", "--rank", "--model", DEMO)
    assert got.code == 0, got.err
    measured = {o["hardware"]: o for o in json.loads(got.out)["ranking"] if o["measured"]}
    assert set(measured) == {"c5.xlarge", "g5.xlarge"}
    assert measured["c5.xlarge"]["latency_ms"] == 4.0  # batch 1's mean, per inference
    other = run_cli("--output", "json", "estimate", "--rank", "--model", "builtin:resnet50")
    assert not any(o["measured"] for o in json.loads(other.out)["ranking"])
