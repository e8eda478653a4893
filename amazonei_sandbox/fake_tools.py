"""The simulated hardware of a sandbox instance: `bin/` tools and `dev/` nodes under its root.

- `bin/python3`: a shim that runs this very interpreter (so boto3 is importable by the agent).
- Neuron types (inf1/inf2/trn1): `bin/neuron-ls` printing `neuron-ls --json-output` for the
  catalog's device and NeuronCore counts, and `dev/neuron<N>` per device.
- NVIDIA types (g4dn/g5/p2/p3): `bin/nvidia-smi` answering the agent's `--query-gpu` with one CSV
  line per GPU (`Tesla T4, 15360 MiB, 535.183.01`), in the real format.
- The framework environments laid out as on the DLAMI (environments_for: a Neuron DLAMI's
  venvs by its SDK release, e.g. `opt/aws_neuronx_venv_jax_0_10` and
  `opt/aws_neuronx_venv_pytorch_inference_vllm_0_24_0_1_1_0` from 2.32, `opt/pytorch` on GPUs,
  `home/ec2-user/anaconda3/envs/amazonei_pytorch_latest_p37` with an EI accelerator) whose
  `bin/python` answers the agent's probe as the real environment would (what it imports, which
  device it sees) and its worker protocol with the reference model, on the simulated device,
  `"simulated": true`; to a benchmark job (agent/benchmark.py) it runs the real
  benchmark worker on this machine's CPU (backend `cpu`) and says `AMAZONEI-SETUP-SIMULATED`
  on stderr: nothing scales or invents an accelerator's speed.
- `dev/console`: a regular file standing in for the serial console.
Every simulated tool writes `AMAZONEI-SETUP-SIMULATED` on stderr, so the report says so.
"""

from __future__ import annotations

import json
import shlex
import site
import sys
from dataclasses import dataclass
from pathlib import Path

from amazonei_sandbox.dlami_releases import neuron_layout
from amazonei_setup.spec.catalog import InstanceSpec, load_catalog

SIMULATED_MARKER = "AMAZONEI-SETUP-SIMULATED"  # agent/probes.py looks for it on stderr
# Bytes of device memory per Neuron device, by family (Inferentia 8 GiB, Inferentia2 and
# Trainium 32 GiB), as neuron-ls reports `memory_size`.
_NEURON_DEVICE_MEMORY = {"inf1": 8 << 30, "inf2": 32 << 30, "trn1": 32 << 30}
# What `nvidia-smi --query-gpu=name,memory.total,driver_version` prints on each GPU model.
_GPU_NAMES = {
    "T4": ("Tesla T4", 15360, "535.183.01"),
    "A10G": ("NVIDIA A10G", 23028, "535.183.01"),
    "K80": ("Tesla K80", 11441, "470.256.02"),
    "V100": ("Tesla V100-SXM2-16GB", 16384, "535.183.01"),
}


@dataclass(frozen=True)
class Hardware:
    """What was installed: the kind (neuron, nvidia, cpu) and the tools written."""

    kind: str
    tools: tuple[str, ...]
    dev_nodes: tuple[str, ...]


# Per simulated framework environment: (default path under the root, framework, device, what
# its Python answers the agent's probe, as the real environment would on a Neuron instance).
_XLA: dict[str, object] = {
    "found": ["torch", "torch_neuronx"],
    "torch": "2.9.0+cpu",
    "torch_device": "privateuseone",
}
_NATIVE: dict[str, object] = {
    "found": ["torch", "torch_neuronx"],
    "torch": "2.11.0",
    "torch_device": "neuron",
}
FRAMEWORK_ENVS: dict[str, tuple[str, str, str, dict[str, object]]] = {
    "inf1": (
        "opt/aws_neuron_venv_pytorch",
        "torch-neuron",
        "neuron",
        {"found": ["torch", "torch_neuron"], "torch": "1.13.1", "torch_neuron": "1.13.1.2.11.13.0"},
    ),
    "neuron": ("opt/aws_neuronx_venv_pytorch_2_5", "torch-neuronx", "neuron", _XLA),
    # TorchNeuron (PyTorch 2.10+, a private preview): in a venv the user made; no DLAMI lists one
    "torchneuron": (
        "home/ubuntu/aws_neuron_venv_pytorch",
        "torchneuron",
        "neuron",
        dict(_NATIVE, neuron_devices=2),
    ),
    "jax": (
        "opt/aws_neuronx_venv_jax_0_10",
        "jax-neuronx",
        "neuron",
        {"found": ["jax_neuronx"], "jax": "0.10.0", "jax_platforms": ["neuron"]},
    ),
    # vLLM 0.24 (SDK 2.32): torch 2.11 with vllm-neuron, Trn2/Trn3 only (Neuron DLAMI guide)
    "vllm": (
        "opt/aws_neuronx_venv_pytorch_inference_vllm_0_24_0_1_1_0",
        "torchneuron",
        "neuron",
        dict(_NATIVE, found=["torch", "torch_neuronx", "vllm"], neuron_devices=0),
    ),
    "vllm-trn": (  # the same on Trn2/Trn3, where its TorchNeuron sees the NeuronCores
        "opt/aws_neuronx_venv_pytorch_inference_vllm_0_24_0_1_1_0",
        "torchneuron",
        "neuron",
        dict(_NATIVE, found=["torch", "torch_neuronx", "vllm"], neuron_devices=2),
    ),
    "vllm-xla": (  # vLLM 0.16 with NxD Inference on torch-neuronx 2.9 (SDK 2.31)
        "opt/aws_neuronx_venv_pytorch_inference_vllm_0_16",
        "torch-neuronx",
        "neuron",
        dict(_XLA, found=["torch", "torch_neuronx", "vllm"]),
    ),
    "tensorflow": (
        "opt/aws_neuronx_venv_tensorflow_2_10",
        "tensorflow-neuronx",
        "neuron",
        {"found": ["tensorflow"]},
    ),
    "nvidia": (
        "opt/pytorch",
        "pytorch",
        "cuda:0",
        {"found": ["torch"], "torch": "2.7.0+cu128", "cuda": True},
    ),
    "eia": (
        "home/ec2-user/anaconda3/envs/amazonei_pytorch_latest_p37",
        "pytorch-ei",
        "eia:0",
        {"found": ["torch"], "torch": "1.5.1"},
    ),
}
BEHAVIOURS = ("correct", "wrong", "crash", "hang", "unusable", "probe-hang")


def framework_python(
    framework: str, device: str, behaviour: str = "correct", probe: dict | None = None
) -> str:
    """A stand-in `bin/python` for a framework environment: to the agent's probe (`-c SOURCE
    probe KIND`) it answers `probe` (what it imports, which device it sees); it reads the
    agent's worker job on stdin and answers with the reference model's output and timings,
    `simulated: true`; or it answers wrongly, crashes, hangs, says it cannot use the device, or
    hangs when probed (`behaviour`)."""
    if behaviour not in BEHAVIOURS:
        raise ValueError(f"behaviour {behaviour!r}; known: {', '.join(BEHAVIOURS)}")
    package_parent = str(Path(__file__).resolve().parents[1])
    answer = json.dumps(dict({"python": "3.12.3", "found": []}, **(probe or {})))
    return f"""#!{sys.executable}
import json, sys, time
behaviour = {behaviour!r}
if sys.argv[1:2] == ["-c"] and sys.argv[3:4] == ["probe"]:
    print("{SIMULATED_MARKER}", file=sys.stderr)
    if behaviour == "probe-hang":
        time.sleep(3600)
    print("AMAZONEI-WORKER " + {answer!r})
    sys.exit(0)
sys.path.insert(0, {package_parent!r})
from amazonei_setup.agent.model import reference_forward
text = sys.stdin.read()
job = json.loads(text)
if "batch_sizes" in job and len(sys.argv) >= 3 and sys.argv[1] == "-c":
    # a benchmark job (agent/benchmark.py): the real worker, on this machine's CPU, said so
    import subprocess
    print("{SIMULATED_MARKER}", file=sys.stderr, flush=True)
    if behaviour == "hang":
        time.sleep(3600)
    if behaviour == "crash":
        print("Segmentation fault (simulated)", file=sys.stderr)
        sys.exit(139)
    sys.exit(subprocess.run([sys.executable, "-c", sys.argv[2], "cpu"], input=text,
                            text=True).returncode)
if behaviour == "hang":
    time.sleep(3600)
if behaviour == "crash":
    sys.stderr.write("Segmentation fault (simulated)\\n")
    sys.exit(139)
if behaviour == "unusable":
    answer = {{"ok": False, "unusable": "the simulated device is busy"}}
else:
    start = time.perf_counter()
    output = reference_forward(job["weights"], job["x"])
    if behaviour == "wrong":
        output = [value + 1.0 for value in output]
    load_s = time.perf_counter() - start

    def timed():
        samples = []
        for _ in range(job["runs"]):
            start = time.perf_counter()
            reference_forward(job["weights"], job["x"])
            samples.append((time.perf_counter() - start) * 1000.0)
        return samples

    answer = {{"ok": True, "framework": {framework!r}, "framework_version": "0.0-simulated",
              "device": {device!r}, "device_name": {device!r} + " (simulated)",
              "simulated": True, "output": output, "load_s": load_s,
              "samples_ms": timed(), "cpu_samples_ms": timed(), "cpu_framework": "python"}}
print("{SIMULATED_MARKER}")
print("AMAZONEI-WORKER " + json.dumps(answer))
"""


def install_framework(
    root: Path, key: str, behaviour: str = "correct", env: str | None = None
) -> Path:
    """A simulated framework environment for `key` (inf1, neuron, nvidia, eia) under `root`;
    returns its `bin/python`."""
    default_env, framework, device, probe = FRAMEWORK_ENVS[key]
    python = root / (env or default_env) / "bin" / "python"
    python.parent.mkdir(parents=True, exist_ok=True)
    _write_tool(python, framework_python(framework, device, behaviour, probe))
    return python


def environments_for(
    instance_type: str, eia: bool = False, neuron_sdk: str | None = None
) -> list[tuple[str, str]]:
    """[(path under the root, FRAMEWORK_ENVS key)] of the DLAMI an instance boots: a Neuron
    image's by its SDK release (dlami_releases.NEURON_LAYOUTS); with no SDK named, the newest
    release that runs PyTorch on the family (Inf1: 2.26, the last with Inf1; Inf2/Trn1: 2.31, the
    last with torch-neuronx; later families: the newest)."""
    family = instance_type.split(".")[0]
    spec = load_catalog().instance(instance_type)
    kind = spec.kind if spec is not None else "cpu"
    if eia:
        return [(FRAMEWORK_ENVS["eia"][0], "eia")]
    if kind == "neuron" or family.startswith(("inf", "trn")):
        default = {"inf1": "2.26.0", "inf2": "2.31.0", "trn1": "2.31.0"}.get(family, "9")
        layout = list(neuron_layout(neuron_sdk or default))
        if family in ("trn2", "trn3"):  # where vLLM's TorchNeuron sees the NeuronCores
            layout = [(env, "vllm-trn" if key == "vllm" else key) for env, key in layout]
        return layout
    if kind == "nvidia":
        return [(FRAMEWORK_ENVS["nvidia"][0], "nvidia")]
    return []


def install(
    root: Path, instance_type: str, eia: bool = False, neuron_sdk: str | None = None
) -> Hardware:
    """Write the instance's tools into `root/bin`, its devices into `root/dev` and its
    framework environments where the DLAMI has them (environments_for)."""
    bin_dir, dev_dir = root / "bin", root / "dev"
    bin_dir.mkdir(parents=True, exist_ok=True)
    dev_dir.mkdir(parents=True, exist_ok=True)
    (dev_dir / "console").touch()
    _write_tool(bin_dir / "python3", _python_shim())
    spec = load_catalog().instance(instance_type)
    kind = spec.kind if spec is not None else "cpu"
    tools, nodes = ["python3"], []
    if spec is not None and spec.kind == "neuron":
        _write_tool(bin_dir / "neuron-ls", _neuron_ls(spec))
        tools.append("neuron-ls")
        for index in range(spec.neuron_devices):
            (dev_dir / f"neuron{index}").touch()
            nodes.append(f"neuron{index}")
    elif spec is not None and spec.kind == "nvidia":
        _write_tool(bin_dir / "nvidia-smi", _nvidia_smi(spec))
        tools.append("nvidia-smi")
    for env, key in environments_for(instance_type, eia, neuron_sdk):
        install_framework(root, key, env=env)
        tools.append(env + "/bin/python")
    return Hardware(kind=kind, tools=tuple(tools), dev_nodes=tuple(nodes))


def neuron_devices(spec: InstanceSpec) -> list[dict[str, object]]:
    """`neuron-ls --json-output` of the instance type (cores split evenly over its devices)."""
    per_device = spec.neuron_cores // max(spec.neuron_devices, 1)
    memory = _NEURON_DEVICE_MEMORY.get(spec.family, 32 << 30)
    return [
        {
            "neuron_device": index,
            "bdf": f"0000:00:{0x1E - index % 0x1E:02x}.0",
            "cpu_affinity": f"0-{spec.vcpus - 1}",
            "numa_node": "-1",
            "connected_to": None,
            "nc_count": per_device,
            "memory_size": memory,
            "neuroncore_ids": list(range(index * per_device, (index + 1) * per_device)),
            "neuron_processes": [],
        }
        for index in range(spec.neuron_devices)
    ]


def gpu_lines(spec: InstanceSpec) -> list[str]:
    """`name, memory.total, driver_version` per GPU, as nvidia-smi's CSV without header."""
    model = spec.gpu_model or "GPU"
    name, memory_mib, driver = _GPU_NAMES.get(
        model, (f"NVIDIA {model}", int(spec.gpu_memory_gib * 1024), "535.183.01")
    )
    return [f"{name}, {memory_mib} MiB, {driver}"] * max(spec.gpus, 1)


# --- the executables ----------------------------------------------------------------------


def _write_tool(path: Path, text: str) -> None:
    path.write_text(text)
    path.chmod(0o755)


def _python_shim() -> str:
    """`exec` this interpreter by its own path (a symlink would lose a virtualenv's packages).

    With HOME pointing into the instance, a user-site install (~/.local) is found again only
    through PYTHONUSERBASE, which the shim sets for Python alone.
    """
    lines = ["#!/bin/sh"]
    user_site = site.getusersitepackages() if site.ENABLE_USER_SITE else None
    if user_site and Path(user_site).is_dir():
        lines.append(f"PYTHONUSERBASE={shlex.quote(site.getuserbase())}; export PYTHONUSERBASE")
    lines.append(f'exec {shlex.quote(sys.executable)} "$@"')
    return "\n".join(lines) + "\n"


def _neuron_ls(spec: InstanceSpec) -> str:
    devices = neuron_devices(spec)
    table = "\n".join(
        f"| {d['neuron_device']} | {d['nc_count']} | {d['memory_size']} bytes |" for d in devices
    )
    listing = json.dumps(devices, indent=4)
    return f"""#!/bin/sh
# neuron-ls of a simulated {spec.instance_type} (amazonei-setup sandbox)
echo {SIMULATED_MARKER} >&2
for arg in "$@"; do
  if [ "$arg" = "json" ] || [ "$arg" = "-j" ] || [ "$arg" = "--json-output" ]; then
    cat <<'NEURON_LS_JSON'
{listing}
NEURON_LS_JSON
    exit 0
  fi
done
cat <<'NEURON_LS_TABLE'
instance-type: {spec.instance_type}
| NEURON DEVICE | NEURON CORES | NEURON MEMORY |
{table}
NEURON_LS_TABLE
"""


def _nvidia_smi(spec: InstanceSpec) -> str:
    csv = "\n".join(gpu_lines(spec))
    return f"""#!/bin/sh
# nvidia-smi of a simulated {spec.instance_type} (amazonei-setup sandbox)
echo {SIMULATED_MARKER} >&2
case " $* " in
  *--query-gpu=*)
    cat <<'NVIDIA_SMI_CSV'
{csv}
NVIDIA_SMI_CSV
    ;;
  *)
    echo "NVIDIA-SMI (simulated by the amazonei-setup sandbox)"
    cat <<'NVIDIA_SMI_CSV'
{csv}
NVIDIA_SMI_CSV
    ;;
esac
"""
