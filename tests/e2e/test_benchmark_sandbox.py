"""`benchmark` end to end on the sandbox (issue 22's acceptance): a real ONNX model uploaded to
a real (moto) bucket, three simulated candidates of three kinds whose instances run the real
agent, which fetches the harness and the model with its instance role and measures the model
with ONNX Runtime on this machine's CPU; the results read back, ranked, charted; and nothing
of the deployment left. Then a kill -9 midway, and a Ctrl-C."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from pathlib import Path

import boto3
import pytest
from bench_samples import ISSUE_FIELDS
from support import child_env, poll, sandbox_keys

from amazonei_sandbox import control

REPO = Path(__file__).resolve().parents[2]
DEMO = REPO / "templates" / "models" / "demo-cnn.onnx"
ARGS = ["--region", "us-west-2", "--model", str(DEMO), "--candidates",
        "c5.xlarge,g5.xlarge,inf2.xlarge", "--duration", "1"]  # fmt: skip


@pytest.fixture(scope="module")
def home(tmp_path_factory):
    home = tmp_path_factory.mktemp("bench-home")
    control.start(home)
    yield home
    control.stop(home)


# A suite started in the background by a script (`cmd &` without job control) hands its
# children SIGINT ignored, and Python then installs no KeyboardInterrupt handler: the Ctrl-C
# test's child puts Ctrl-C's usual meaning back, as a terminal has it.
CTRL_C_AS_A_TERMINAL_HAS_IT = (
    "import runpy, signal, sys; signal.signal(signal.SIGINT, signal.default_int_handler); "
    "sys.argv[0] = 'amazonei-setup'; runpy.run_module('amazonei_setup', run_name='__main__')"
)


def cli(home: Path, *argv: str, ctrl_c: bool = False, **popen: object) -> subprocess.Popen[str]:
    start = ["-c", CTRL_C_AS_A_TERMINAL_HAS_IT] if ctrl_c else ["-m", "amazonei_setup"]
    return subprocess.Popen(
        [sys.executable, *start, "--home", str(home), "--sandbox", *argv],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=child_env(),
        **popen,  # type: ignore[arg-type]
    )


def client(home: Path, service: str):
    info = control.status(home)
    assert info is not None
    return boto3.client(service, region_name="us-west-2", endpoint_url=info.endpoint,
                        **sandbox_keys(home))  # fmt: skip


def what_is_left(home: Path, name: str) -> dict[str, list[str]]:
    """Everything in the sandbox whose name or tags carry the benchmark's name, by kind."""
    ec2, iam, s3 = client(home, "ec2"), client(home, "iam"), client(home, "s3")
    ssm = client(home, "ssm")
    reservations = ec2.describe_instances()["Reservations"]
    tagged = {"Name": "tag:benchmark", "Values": [name]}
    return {
        "instances": [i["InstanceId"] for r in reservations for i in r["Instances"]
                      if i["State"]["Name"] != "terminated"],
        "buckets": [b["Name"] for b in s3.list_buckets()["Buckets"]],
        "roles": [r["RoleName"] for r in iam.list_roles()["Roles"] if name in r["RoleName"]],
        "instance_profiles": [p["InstanceProfileName"] for p in
                              iam.list_instance_profiles()["InstanceProfiles"]
                              if name in p["InstanceProfileName"]],
        "security_groups": [g["GroupId"] for g in
                            ec2.describe_security_groups(Filters=[tagged])["SecurityGroups"]],
        "parameters": [p["Name"] for p in ssm.get_parameters_by_path(
            Path="/amazonei-setup", Recursive=True)["Parameters"] if name in p["Name"]],
        "records": [str(p) for p in (home / "deployments").glob(f"*/{name}*.json")],
    }  # fmt: skip


def test_three_kinds_measured_on_the_local_cpu_charted_and_gone(home, tmp_path):
    report = tmp_path / "report"
    process = cli(home, "--output", "json", "benchmark", *ARGS, "--yes",
                  "--report-dir", str(report))  # fmt: skip
    out, err = process.communicate(timeout=400)
    assert process.returncode == 0, err
    document = json.loads(out)
    rows = document["results"]
    assert sorted((r["instance_type"], r["batch_size"]) for r in rows) == [
        ("c5.xlarge", 1), ("g5.xlarge", 1), ("inf2.xlarge", 1)]  # fmt: skip
    for row in rows:
        assert set(row) >= ISSUE_FIELDS
        assert row["status"] == "ok", row["reason"]
        assert row["simulated"] is True
        assert row["device"] == "cpu"  # measured here, and said so
        assert row["framework"].startswith("onnxruntime")
        assert row["queries"] >= 1000
        assert row["p50_ms"] <= row["p90_ms"] <= row["p99_ms"]
    assert document["simulated"] is True
    assert "CPU" in document["measured_on"]
    html = (report / "report.html").read_text()
    assert "<svg" in html and "local CPU" in html
    assert (report / "results.csv").is_file() and (report / "results.json").is_file()
    left = what_is_left(home, document["benchmark"])
    assert not any(left.values()), left


def still_running_on(home: Path) -> list[str]:
    """This machine's processes that run a simulated instance's work (in its folder, or
    started from it): a terminated candidate's measurement must end with it."""
    instances = str(home / "sandbox" / "instances")
    found = []
    for proc in Path("/proc").glob("[0-9]*"):
        try:
            cwd = os.readlink(proc / "cwd")
            command = (proc / "cmdline").read_bytes().replace(b"\0", b" ").decode()
        except OSError:
            continue
        if cwd.startswith(instances) or instances in command:
            found.append(f"{proc.name}: {command[:120]}")
    return found


def _record(home: Path) -> dict | None:
    found = [p for p in (home / "deployments").glob("us-west-2/kill*.json") if p.stem == "kill"]
    return json.loads(found[0].read_text()) if found else None


def _measuring(home: Path) -> bool:
    record = _record(home)
    states = (record or {}).get("benchmark", {}).get("candidates", {})
    return bool(states) and all(s.get("state") == "running" for s in states.values())


ONE = [*ARGS[:-3], "inf2.xlarge", "--duration", "1"]  # one candidate: the record is the point


def test_kill_9_midway_then_teardown_removes_everything(home):
    process = cli(home, "benchmark", *ONE, "--name", "kill", "--yes")
    try:
        assert poll(lambda: _measuring(home), timeout_s=120), process.stderr
    finally:
        os.kill(process.pid, signal.SIGKILL)
        process.communicate()
    assert _record(home) is not None  # the record says what there is
    gone = subprocess.run(
        [sys.executable, "-m", "amazonei_setup", "--home", str(home), "--sandbox", "teardown",
         "kill", "--region", "us-west-2", "--yes"],
        capture_output=True, text=True, env=child_env(), timeout=300,
    )  # fmt: skip
    assert gone.returncode == 0, gone.stderr
    left = what_is_left(home, "kill")
    assert not any(left.values()), left


def test_ctrl_c_during_the_measurement_removes_everything(home):
    # A measurement long enough that the interrupt surely lands in it (it ends the run): with
    # ONE's second, a loaded machine saw it measured and removed before the signal came.
    long = [*ONE[:-1], "120"]
    process = cli(home, "benchmark", *long, "--name", "ctrlc", "--yes", ctrl_c=True)
    record = home / "deployments" / "us-west-2" / "ctrlc.json"

    def measuring() -> bool:
        if not record.exists():
            return False
        states = json.loads(record.read_text()).get("benchmark", {}).get("candidates", {})
        return bool(states) and all(s.get("state") == "running" for s in states.values())

    assert poll(measuring, timeout_s=120)
    process.send_signal(signal.SIGINT)
    _, err = process.communicate(timeout=300)
    assert process.returncode == 130, err
    assert "interrupted; everything was removed" in " ".join(err.split())
    left = what_is_left(home, "ctrlc")
    assert not any(left.values()), left
    if Path("/proc/self/cwd").exists():  # the measurement ended with its instance
        assert poll(lambda: not still_running_on(home), timeout_s=10), still_running_on(home)
