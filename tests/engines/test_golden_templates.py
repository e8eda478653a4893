"""Exported templates pinned byte for byte: every shipped profile (and the two variants the
export tests use) as a CloudFormation template and as a stack-set template. A change to what a
template says shows up here as a diff to review, never silently. Regenerate on purpose with
`AMAZONEI_REGENERATE_GOLDEN=1 pytest tests/engines/test_golden_templates.py`."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
PROFILES = sorted((ROOT / "templates" / "profiles").glob("*.yaml"))
GOLDEN = Path(__file__).parent / "golden" / "templates"
CASES = [(path.stem, path, []) for path in PROFILES] + [
    ("eia-2-seats", PROFILES[0], ["--seats", "2"]),
    ("ssh-own-key", PROFILES[-1], ["--access", "ssh", "--key-pair", "mine", "--name", "own"]),
]


@pytest.mark.parametrize("fmt", ["cloudformation", "stackset"])
@pytest.mark.parametrize(("label", "profile", "extra"), CASES, ids=[c[0] for c in CASES])
def test_exported_template_is_byte_identical_to_its_golden_file(
    aws, run_cli, tmp_path, fmt, label, profile, extra
):
    out = tmp_path / "template.json"
    result = run_cli(
        "export", "--format", fmt, "--profile-file", str(profile), "-o", str(out), *extra
    )
    assert result.code == 0, result.err
    golden = GOLDEN / f"{label}.{fmt}.json"
    if os.environ.get("AMAZONEI_REGENERATE_GOLDEN") == "1":
        golden.write_text(out.read_text())
    assert golden.exists(), f"no golden file {golden.name}: regenerate on purpose"
    assert out.read_text() == golden.read_text(), f"{golden.name} changed"
