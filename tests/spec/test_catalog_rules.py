"""Catalog rules checked against AWS's documents: which hosts take an Elastic Inference
accelerator (EC2 User Guide: any instance type), and which Deep Learning AMI serves which
hardware (DLAMI release notes, Neuron DLAMI guide)."""

from __future__ import annotations

import copy

import yaml

from amazonei_setup.spec.catalog import Catalog
from amazonei_setup.state.paths import templates_dir


def _catalog_data() -> tuple[dict, dict, dict]:
    folder = templates_dir() / "catalog"
    return tuple(
        yaml.safe_load((folder / f"{name}.yaml").read_text())
        for name in ("hardware", "prices", "amis")
    )


def test_any_cpu_family_takes_an_accelerator_not_only_m5_and_c5():
    """The EC2 guide: EI accelerators "are available to all EC2 instance types"."""
    hardware, prices, amis = _catalog_data()
    hardware = copy.deepcopy(hardware)
    hardware["families"]["r5"] = {
        "kind": "cpu",
        "label": "Memory optimised (Intel Xeon)",
        "sizes": {"r5.large": {"vcpus": 2, "memory_gib": 16}},
    }
    catalog = Catalog(hardware, prices, amis)
    assert catalog.accepts_accelerator("r5.large")
    assert catalog.accepts_accelerator("m5.large") and catalog.accepts_accelerator("c5.xlarge")
    assert not catalog.accepts_accelerator("g4dn.xlarge")
    assert "r5" in catalog.ei_host_families


def test_an_accelerator_on_a_gpu_host_says_why_it_is_refused(aws, run_cli, recorder):
    result = run_cli(
        "plan", "--name", "demo", "--region", "us-west-2",
        "--instance-type", "g4dn.xlarge", "--accelerator", "eia2.medium",
    )  # fmt: skip
    assert result.code == 2
    text = " ".join(result.err.split())
    assert "carries its own accelerator" in text and "use a CPU instance (m5, c5)" in text
    assert recorder.calls == []
