"""Exported templates pass checkov with no failed check; each finding we cannot avoid is
suppressed in the resource's own Metadata (`checkov.skip`) with its reason.

The templates scanned are the golden files (test_golden_templates.py holds every export to
them byte for byte). checkov is not a test dependency: it pins boto3/botocore far below the
versions the product and moto need, so it runs from its own environment
(`pipx install checkov`, or AMAZONEI_CHECKOV=/path/to/checkov; `.ci/run` makes one); without
it this test skips, except in CI (CI set), where it fails.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path

import pytest
from support import child_env

GOLDEN = Path(__file__).parent / "golden" / "templates"
CHECKOV = os.environ.get("AMAZONEI_CHECKOV") or shutil.which("checkov")


@pytest.mark.skipif(
    not CHECKOV and not os.environ.get("CI"),
    reason="checkov is not installed (it conflicts with the product's boto3: install it apart, "
    "e.g. pipx install checkov, or point AMAZONEI_CHECKOV at one)",
)
def test_exported_templates_pass_checkov():
    assert CHECKOV, "CI is set but no checkov: .ci/run installs one in .checkov-venv"
    command = [str(CHECKOV), "-d", str(GOLDEN), "--framework", "cloudformation", "-o", "json"]
    result = subprocess.run(
        [*command, "--skip-download", "--compact"],
        capture_output=True,
        text=True,
        timeout=300,
        env=child_env(BC_SKIP_MAPPING="TRUE"),
    )
    reports = json.loads(result.stdout)
    reports = reports if isinstance(reports, list) else [reports]
    failed = [
        f"{check['file_path']}: {check['check_id']} {check['resource']} ({check['check_name']})"
        for report in reports
        for check in report["results"]["failed_checks"]
    ]
    assert failed == [], "\n".join(failed)
    passed = sum(report["summary"]["passed"] for report in reports)
    assert passed > 0, result.stdout[:2000]  # it really scanned the templates


def test_every_suppression_says_why():
    for path in sorted(GOLDEN.glob("*.json")):
        for name, resource in json.loads(path.read_text())["Resources"].items():
            for skip in resource.get("Metadata", {}).get("checkov", {}).get("skip", []):
                assert skip["id"].startswith("CKV") and len(skip["comment"]) > 20, (path, name)
