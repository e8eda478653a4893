"""The benchmark mode of the shipped agent (launch.py): with a `benchmark` key in its config,
after its report the agent fetches the harness from S3 (moto, in this process), runs it only if
its SHA-256 is the one the user data names, and passes on its exit status. And the S3 helpers'
AWS CLI path, for a Python without boto3."""

from __future__ import annotations

import hashlib
import json
import sys
from pathlib import Path

import boto3
import pytest
from moto import mock_aws
from test_agent_benchmark import make_job

from amazonei_setup.agent.bundle import build_benchmark_file, build_single_file
from amazonei_setup.agent.cli import main
from amazonei_setup.agent.s3 import s3_download, s3_upload

HARNESS_KEY = "deployments/bench/benchmark.py"


@pytest.fixture
def bucket(tmp_path, monkeypatch):
    """A moto bucket holding the one-file harness; (s3 client, the harness's sha256)."""
    monkeypatch.setenv("AMAZONEI_AGENT_ROOT", str(tmp_path / "root"))
    monkeypatch.setenv("AMAZONEI_AGENT_CACHE_DIR", str(tmp_path / "cache"))
    harness = build_benchmark_file().encode()
    with mock_aws():
        s3 = boto3.client("s3", region_name="us-west-2")
        s3.create_bucket(
            Bucket="bench", CreateBucketConfiguration={"LocationConstraint": "us-west-2"}
        )
        s3.put_object(Bucket="bench", Key=HARNESS_KEY, Body=harness)
        yield s3, hashlib.sha256(harness).hexdigest()


def agent_config(tmp_path: Path, sha256: str, key: str = HARNESS_KEY) -> str:
    job = tmp_path / "job.json"
    job.write_text(json.dumps(make_job(tmp_path, batch_sizes=[1])))
    spec = {"harness": f"s3://bench/{key}", "sha256": sha256, "job": str(job)}
    config = tmp_path / "config.json"
    config.write_text(json.dumps({"expect": "none", "region": "us-west-2", "benchmark": spec}))
    return str(config)


def test_the_agent_fetches_checks_and_runs_the_harness(bucket, tmp_path, capsys):
    _, sha256 = bucket
    assert main(["--config", agent_config(tmp_path, sha256), "--no-smoke-test"]) == 0
    result = json.loads((tmp_path / "result.json").read_text())
    assert result["status"] == "ok" and result["kind"] == "cpu"
    assert "no report parameter: nothing published" in capsys.readouterr().err


def test_a_harness_that_is_not_the_one_the_user_data_names_is_never_run(bucket, tmp_path, capsys):
    _, sha256 = bucket
    assert main(["--config", agent_config(tmp_path, "0" * 64), "--no-smoke-test"]) == 1
    said = f"has SHA-256 {sha256}, not {'0' * 64}: not run"
    assert said in capsys.readouterr().err
    assert not (tmp_path / "result.json").exists()


def test_a_harness_that_cannot_be_fetched_fails_the_agent(bucket, tmp_path, capsys):
    _, sha256 = bucket
    config = agent_config(tmp_path, sha256, key="deployments/bench/missing.py")
    assert main(["--config", config, "--no-smoke-test"]) == 1
    assert "benchmark: cannot fetch the harness:" in capsys.readouterr().err


def test_the_shipped_agent_carries_the_benchmark_mode(bucket, tmp_path):
    _, sha256 = bucket
    shipped: dict = {"__name__": "shipped_agent"}
    exec(compile(build_single_file("none"), "agent.py", "exec"), shipped)
    assert shipped["main"](["--config", agent_config(tmp_path, sha256), "--no-smoke-test"]) == 0
    assert json.loads((tmp_path / "result.json").read_text())["status"] == "ok"


@pytest.fixture
def aws_cli(tmp_path, monkeypatch):
    """No boto3; an `aws` on PATH that serves s3api get-object / put-object from a folder."""
    store = tmp_path / "s3"
    (store / "bench").mkdir(parents=True)
    calls = tmp_path / "aws.calls"
    script = tmp_path / "bin" / "aws"
    script.parent.mkdir()
    script.write_text(
        f"#!{sys.executable}\n"
        "import json, shutil, sys\n"
        f"open({str(calls)!r}, 'a').write(json.dumps(sys.argv[1:]) + '\\n')\n"
        "a = sys.argv[1:]\n"
        "arg = lambda name: a[a.index(name) + 1]\n"
        f"obj = {str(store)!r} + '/' + arg('--bucket') + '/' + arg('--key').replace('/', '_')\n"
        "if a[1] == 'get-object':\n"
        "    try:\n"
        "        shutil.copy(obj, a[a.index('--key') + 2])\n"
        "    except OSError:\n"
        "        sys.stderr.write('An error occurred (NoSuchKey) when calling GetObject')\n"
        "        sys.exit(254)\n"
        "else:\n"
        "    shutil.copy(arg('--body'), obj)\n"
    )
    script.chmod(0o755)
    monkeypatch.setenv("PATH", f"{script.parent}:/usr/bin:/bin")
    monkeypatch.setitem(sys.modules, "boto3", None)  # `import boto3` raises ImportError
    return store, calls


def test_without_boto3_the_aws_cli_moves_the_objects(aws_cli, tmp_path):
    store, calls = aws_cli
    assert s3_upload("s3://bench/results/r.json", b'{"ok": 1}', "eu-west-1") == "aws-cli"
    assert (store / "bench" / "results_r.json").read_bytes() == b'{"ok": 1}'
    target = tmp_path / "r.json"
    assert s3_download("s3://bench/results/r.json", str(target), "eu-west-1") == "aws-cli"
    assert target.read_bytes() == b'{"ok": 1}'
    argv = [json.loads(line) for line in calls.read_text().splitlines()]
    assert argv[1][:6] == ["s3api", "get-object", "--bucket", "bench", "--key", "results/r.json"]
    assert argv[1][-2:] == ["--region", "eu-west-1"] and "--body" in argv[0]


def test_an_aws_cli_failure_says_what_s3_said(aws_cli, tmp_path):
    with pytest.raises(OSError, match=r"get-object s3://bench/none: An error occurred \(NoSuchKey"):
        s3_download("s3://bench/none", str(tmp_path / "x"))
