"""The Deep Learning AMI releases the sandbox seeds, dated like AWS's.

A public AMI is deprecated two years after its creation by default (EC2 User Guide, "Deprecate
an AMI"), and a line AWS stopped publishing is modelled as deprecated when it stopped, so the
sandbox hides exactly what AWS hides from DescribeImages: every Elastic Inference-era DLAMI, the
Neuron multi-framework DLAMIs of Amazon Linux 2023 (last listed early 2026) and Ubuntu 22.04
(frozen at SDK 2.30), and the proprietary-driver GPU DLAMIs. Neuron images name their SDK in
the description, as AWS's do ("Neuron SDK 2.26.0"). Patterns not listed here get two generic
releases (seed.py).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

PUBLIC_AMI_LIFETIME = timedelta(days=730)


@dataclass(frozen=True)
class Release:
    created: datetime  # naive UTC, like moto's timestamps
    label: str  # what fills a "Version *" or "PyTorch 2.*" star
    neuron_sdk: str | None = None


@dataclass(frozen=True)
class Line:
    releases: tuple[Release, ...]
    ended: datetime | None = None  # when AWS stopped publishing (deprecated from then)

    def deprecation(self, release: Release) -> datetime:
        lifetime = release.created + PUBLIC_AMI_LIFETIME
        return min(lifetime, self.ended) if self.ended else lifetime


def _r(day: str, label: str = "", sdk: str | None = None) -> Release:
    return Release(datetime.fromisoformat(day).replace(hour=18, minute=30), label, sdk)


_NEURON_AL2023 = Line(
    (
        _r("2025-07-31", sdk="2.25.0"),
        _r("2025-09-18", sdk="2.26.0"),
        _r("2025-12-19", sdk="2.27.0"),
        _r("2026-01-27", sdk="2.28.0"),
    ),
    ended=datetime(2026, 2, 26),
)
_NEURON_U22 = Line(
    (
        _r("2025-07-31", sdk="2.25.0"),
        _r("2025-09-18", sdk="2.26.0"),
        _r("2026-04-09", sdk="2.30.0"),
    ),
    ended=datetime(2026, 4, 9, 20),
)

LINES: dict[str, Line] = {
    "Deep Learning AMI (Amazon Linux 2) Version *": Line(
        (_r("2022-05-20", "69.1"), _r("2022-10-12", "70.0"))
    ),
    "Deep Learning AMI (Amazon Linux) Version *": Line(
        (_r("2021-06-02", "48.0"), _r("2021-11-10", "49.0"))
    ),
    "Deep Learning AMI (Ubuntu 18.04) Version *": Line(
        (_r("2022-05-20", "69.1"), _r("2022-10-12", "70.0"))
    ),
    "Deep Learning AMI (Ubuntu 16.04) Version *": Line(
        (_r("2021-06-02", "48.0"), _r("2021-11-10", "49.0"))
    ),
    "Deep Learning AMI Neuron (Amazon Linux 2023) *": _NEURON_AL2023,
    "Deep Learning AMI Neuron (Ubuntu 22.04) *": _NEURON_U22,
    "Deep Learning AMI Neuron (Ubuntu 24.04) *": Line(
        (_r("2026-08-17", sdk="2.32.0"), _r("2026-10-15", sdk="2.34.0"))
    ),
    "Deep Learning OSS Nvidia Driver AMI GPU PyTorch 2.* (Amazon Linux 2023) *": Line(
        (_r("2026-09-19", "12"), _r("2026-10-03", "13"))
    ),
    "Deep Learning OSS Nvidia Driver AMI GPU PyTorch 2.* (Ubuntu 24.04) *": Line(
        (_r("2026-09-19", "12"), _r("2026-10-03", "13"))
    ),
    "Deep Learning OSS Nvidia Driver AMI GPU PyTorch 2.* (Ubuntu 22.04) *": Line(
        (_r("2025-06-20", "7"),), ended=datetime(2026, 6, 30)
    ),
    "Deep Learning Proprietary Nvidia Driver AMI GPU PyTorch 2.* (Amazon Linux 2) *": Line(
        (_r("2024-09-04", "3"), _r("2025-01-15", "4")), ended=datetime(2025, 6, 30)
    ),
    "Deep Learning Proprietary Nvidia Driver AMI GPU PyTorch 2.* (Ubuntu 20.04) *": Line(
        (_r("2024-09-04", "3"), _r("2025-01-15", "4")), ended=datetime(2025, 6, 30)
    ),
}


def description(name: str, neuron_sdk: str | None, mark: str) -> str:
    sdk = f", Neuron SDK {neuron_sdk}" if neuron_sdk else ""
    return f"{name}{sdk} ({mark})"


def iso(moment: datetime) -> str:
    """DescribeImages' DeprecationTime format."""
    return moment.strftime("%Y-%m-%dT%H:%M:%S.000Z")


# The framework environments of the Neuron multi-framework DLAMI from each release on, as the
# Neuron DLAMI guide lists them (aws-neuron-sdk: dlami/index.rst at 2.26.0,
# deploy/environments/dlami.rst at 2.31.0 and 2.32.0): (path under /, what it carries; the keys
# of fake_tools.FRAMEWORK_ENVS). From 2.32.0 no PyTorch environment is published but vLLM's.
NEURON_LAYOUTS: dict[str, tuple[tuple[str, str], ...]] = {
    "2.26.0": (
        ("opt/aws_neuronx_venv_pytorch_2_8", "neuron"),
        ("opt/aws_neuronx_venv_pytorch_2_8_nxd_training", "neuron"),
        ("opt/aws_neuronx_venv_pytorch_2_8_nxd_inference", "neuron"),
        ("opt/aws_neuronx_venv_jax_0_6", "jax"),
        ("opt/aws_neuronx_venv_tensorflow_2_10", "tensorflow"),
        ("opt/aws_neuron_venv_tensorflow_2_10_inf1", "tensorflow"),
        ("opt/aws_neuron_venv_pytorch_1_13_inf1", "inf1"),
    ),
    "2.31.0": (
        ("opt/aws_neuronx_venv_pytorch_2_9", "neuron"),
        ("opt/aws_neuronx_venv_pytorch_2_9_nxd_inference", "neuron"),
        ("opt/aws_neuronx_venv_jax_0_9", "jax"),
        ("opt/aws_neuronx_venv_pytorch_inference_vllm_0_16", "vllm-xla"),
    ),
    "2.32.0": (
        ("opt/aws_neuronx_venv_jax_0_10", "jax"),
        ("opt/aws_neuronx_venv_pytorch_inference_vllm_0_24_0_1_1_0", "vllm"),
    ),
}


def neuron_layout(sdk: str) -> tuple[tuple[str, str], ...]:
    """The environments of the newest listed release at or before `sdk` (`2.30.0` -> 2.26's)."""

    def key(version: str) -> tuple[int, ...]:
        return tuple(int(part) for part in version.split("."))

    known = [v for v in NEURON_LAYOUTS if key(v) <= key(sdk)] or [min(NEURON_LAYOUTS, key=key)]
    return NEURON_LAYOUTS[max(known, key=key)]
