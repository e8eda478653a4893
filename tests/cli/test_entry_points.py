"""The command line's contract: entry points, lazy imports, exit codes."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from amazonei_setup.cli.main import parse_args


def test_help_does_not_import_boto3():
    probe = (
        "import sys\n"
        "from amazonei_setup.cli.main import main\n"
        "try:\n    main(['--help'])\nexcept SystemExit as e:\n    code = e.code\n"
        "print(code, 'boto3' in sys.modules, 'botocore' in sys.modules, 'moto' in sys.modules)"
    )
    done = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True)
    assert done.stdout.strip().splitlines()[-1] == "0 False False False"
    assert "launch" in done.stdout and "teardown" not in done.stdout.split("usage")[0]


def test_python_dash_m_runs_the_same_program():
    done = subprocess.run(
        [sys.executable, "-m", "amazonei_setup", "--version"], capture_output=True, text=True
    )
    assert done.returncode == 0
    assert done.stdout.startswith("amazonei-setup ")


def test_2019_usage_defaults_to_launch():
    args = parse_args(["--region", "us-west-2", "--instance-type", "m5.xlarge"])
    assert args.command == "launch"
    assert args.region == "us-west-2" and args.instance_type == "m5.xlarge"


def test_global_flags_work_before_and_after_the_command():
    before = parse_args(["--region", "eu-west-1", "--output", "json", "plan", "--name", "x"])
    after = parse_args(["plan", "--name", "x", "--region", "eu-west-1", "--output", "json"])
    for args in (before, after):
        assert (args.command, args.region, args.output) == ("plan", "eu-west-1", "json")


def test_2019_usage_without_a_name_explains_what_is_missing(run_cli, recorder):
    result = run_cli("--region", "us-west-2", "--instance-type", "m5.xlarge")
    assert result.code == 2
    assert "name (--name)" in result.err
    assert "Traceback" not in result.err
    assert recorder.sessions == 0  # nothing touched AWS


def test_estimate_matches_the_2019_workshop_arithmetic(run_cli):
    # m5.large + eia1.large at 222.78 ms: (0.096 + 0.26) $/h × 0.22278 s × 100000 / 3600 = $2.20
    result = run_cli(
        "estimate",
        "--instance-type",
        "m5.large",
        "--accelerator",
        "eia.large",
        "--latency-ms",
        "222.78",
        "--output",
        "json",
    )
    assert result.code == 0
    document = json.loads(result.out)
    assert document["price_per_hour_usd"] == pytest.approx(0.356)
    assert round(document["cost_per_100k_usd"], 2) == 2.20
    assert document["accelerator"] == "eia1.large"


def test_estimate_rejects_unknown_hardware(run_cli):
    result = run_cli("estimate", "--instance-type", "m9.huge", "--latency-ms", "10")
    assert result.code == 2
    assert "not in the catalog" in result.err


def _installed_script(name: str):
    import shutil
    from pathlib import Path

    folder = Path(sys.executable).parent
    found = shutil.which(name, path=str(folder))
    if found is None:
        pytest.skip(f"{name} is not installed beside {sys.executable} (pip install -e .)")
    return found


@pytest.mark.parametrize("name", ["amazonei-setup", "amazonei_setup.py"])
def test_installed_console_scripts_run(name, tmp_path):
    """Both names work as installed, each beside the other (a script named amazonei_setup.py
    in the same folder must not shadow the package for `amazonei-setup`)."""
    script = _installed_script(name)
    done = subprocess.run([script, "--version"], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith("amazonei-setup ")
    usage = subprocess.run(
        [script, "--home", str(tmp_path), "--region", "us-west-2", "--instance-type", "m5.large"],
        capture_output=True,
        text=True,
        timeout=60,
        stdin=subprocess.DEVNULL,
    )
    assert usage.returncode == 2
    assert "name (--name)" in usage.stderr and "Traceback" not in usage.stderr
