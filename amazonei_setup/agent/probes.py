"""Accelerator probes. Each returns {found, simulated, checks}; every check carries a reason, and
a probe that cannot decide says why (tool missing, timed out, unreadable output)."""

from __future__ import annotations

import glob
import json
import os
import re
import shutil
import subprocess

from .catalog import NEURON_CORES, NVIDIA_GPUS, normalize_eia_type
from .imds import ImdsClient, ImdsError, read_associations
from .report import check

# A probed tool (neuron-ls, nvidia-smi) that prints this line on stderr is a stand-in (the
# sandbox's simulated instance): the report then says accelerator.simulated = true.
SIMULATED_MARKER = "AMAZONEI-SETUP-SIMULATED"
DEV_DIR_ENV = "AMAZONEI_AGENT_DEV_DIR"
NEURON_BIN = "/opt/aws/neuron/bin"  # where aws-neuronx-tools installs, often not on PATH
PROBE_TIMEOUT_S = 20.0
NEURON_LS_JSON_FLAGS = (["--output-format", "json"], ["--json-output"])


def _tail(text: str, limit: int = 400) -> str:
    text = (text or "").strip()
    return text if len(text) <= limit else "..." + text[-limit:]


def run_tool(argv: list, timeout: float = PROBE_TIMEOUT_S) -> dict:
    """Run a tool found on PATH: {path, rc, stdout, stderr, simulated, reason}; `reason` is set
    when it could not run at all."""
    name = argv[0]
    path = shutil.which(name) or (shutil.which(name, path=NEURON_BIN) if "neuron" in name else None)
    result = {"path": path, "rc": None, "stdout": "", "stderr": "", "simulated": False}
    result["reason"] = None if path else f"{name} not found on PATH"
    if not path:
        return result
    try:
        done = subprocess.run([path, *argv[1:]], capture_output=True, text=True, timeout=timeout)
    except subprocess.TimeoutExpired:
        result["reason"] = f"{name} did not answer within {timeout:g} s"
        return result
    except OSError as error:
        result["reason"] = f"{name} could not run: {error}"
        return result
    lines = done.stderr.splitlines()
    result.update(rc=done.returncode, stdout=done.stdout)
    result["simulated"] = any(line.strip() == SIMULATED_MARKER for line in lines)
    result["stderr"] = _tail("\n".join(x for x in lines if x.strip() != SIMULATED_MARKER))
    return result


def probe_eia(client: ImdsClient, eia_type: str | None) -> dict:
    """An Elastic Inference association exists in IMDS and, when given, has the type launched."""
    try:
        associations = read_associations(client)
    except ImdsError as error:
        reason = f"cannot read Elastic Inference associations: {error}"
        return {
            "found": None,
            "simulated": False,
            "checks": [check("eia_association", False, reason)],
        }
    for association in associations:
        association["type"] = normalize_eia_type(association["type"] or "unknown")
    types = [a["type"] for a in associations]
    if associations:
        listed = ", ".join(f"{a['id']} ({a['type']})" for a in associations)
        checks = [check("eia_association", True, "associated: " + listed)]
    else:
        reason = (
            "no Elastic Inference accelerator is associated with this instance (IMDS lists none)"
        )
        checks = [check("eia_association", False, reason)]
    if eia_type and associations:
        ok = eia_type in types
        checks.append(check("eia_type", ok, f"expected {eia_type}, found {', '.join(types)}"))
    found = {"associations": associations}
    simulated = any(a["simulated"] for a in associations)
    return {"found": found, "simulated": simulated, "checks": checks}


def parse_neuron_ls(text: str) -> list:
    """`neuron-ls --output-format json` (or the older `--json-output`) -> [{index, cores,
    memory_bytes}]; ValueError when unreadable."""
    data = json.loads(text)
    if isinstance(data, dict):  # tolerate a wrapping object around the device list
        data = data.get("neuron_devices", data.get("devices"))
    if not isinstance(data, list):
        raise ValueError("expected a JSON list of Neuron devices")
    devices = []
    for item in data:
        if not isinstance(item, dict):
            raise ValueError(f"not a device: {item!r}")
        cores = item.get("nc_count")
        if cores is None:
            cores = len(item.get("neuroncore_ids") or [])
        memory = item.get("memory_size")
        devices.append(
            {"index": item.get("neuron_device"), "cores": int(cores), "memory_bytes": memory}
        )
    return devices


def probe_neuron(instance_type: str | None, timeout: float = PROBE_TIMEOUT_S) -> dict:
    """neuron-ls lists devices; their NeuronCores match the catalog; /dev/neuron* exist."""
    expected = NEURON_CORES.get(instance_type or "")
    checks, found = [], None
    for flag in NEURON_LS_JSON_FLAGS:  # Neuron 2.34 dropped --json-output: newest first
        tool = run_tool(["neuron-ls", *flag], timeout)
        if tool["reason"] or (tool["rc"] == 0 and tool["stdout"].lstrip().startswith(("[", "{"))):
            break
    if tool["reason"]:
        checks.append(check("neuron_ls", False, tool["reason"]))
    elif tool["rc"] != 0 or not tool["stdout"].strip():
        said = tool["stderr"] or "no error text"
        checks.append(
            check("neuron_ls", False, f"neuron-ls exited {tool['rc']}, no devices: {said}")
        )
    else:
        try:
            devices = parse_neuron_ls(tool["stdout"])
        except ValueError as error:
            devices = None
            checks.append(check("neuron_ls", False, f"neuron-ls output unreadable: {error}"))
        if devices is not None:
            cores = sum(d["cores"] for d in devices)
            memory = sum(d["memory_bytes"] or 0 for d in devices)
            found = {"devices": len(devices), "neuron_cores": cores, "memory_bytes": memory}
            found["device_list"] = devices
            said = f"{len(devices)} Neuron device(s), {cores} NeuronCores"
            checks.append(check("neuron_ls", bool(devices), said))
            if expected is None:
                said = (
                    f"{cores} NeuronCores; no catalog figure for {instance_type or 'this instance'}"
                )
                checks.append(check("neuron_core_count", cores > 0, said))
            else:
                said = f"found {cores} NeuronCores; {instance_type} has {expected}"
                checks.append(check("neuron_core_count", cores == expected, said))
    dev_dir = os.environ.get(DEV_DIR_ENV) or "/dev"
    nodes = [p for p in glob.glob(os.path.join(dev_dir, "neuron*")) if re.search(r"neuron\d+$", p)]
    nodes.sort(key=lambda p: (len(p), p))
    said = (
        ", ".join(nodes) if nodes else f"no {dev_dir}/neuron* device (is the neuron driver loaded?)"
    )
    checks.append(check("neuron_dev_nodes", bool(nodes), said))
    if found is not None:
        found["dev_nodes"] = nodes
    return {"found": found, "simulated": tool["simulated"], "checks": checks}


def parse_nvidia_smi(text: str) -> list:
    """`nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv,noheader`."""
    gpus = []
    for line in text.splitlines():
        parts = [part.strip() for part in line.split(",")]
        if len(parts) < 3:
            if line.strip():
                raise ValueError(f"unexpected nvidia-smi line {line.strip()!r}")
            continue
        memory = re.match(r"(\d+)\s*MiB", parts[-2])
        gpus.append(
            {
                "name": ", ".join(parts[:-2]),
                "memory_mib": int(memory.group(1)) if memory else None,
                "driver_version": parts[-1],
            }
        )
    return gpus


def probe_nvidia(instance_type: str | None, timeout: float = PROBE_TIMEOUT_S) -> dict:
    """nvidia-smi answers with at least one GPU; count and model match the catalog."""
    argv = ["nvidia-smi", "--query-gpu=name,memory.total,driver_version", "--format=csv,noheader"]
    tool = run_tool(argv, timeout)
    checks, found, gpus = [], None, []
    if tool["reason"]:
        checks.append(check("nvidia_smi", False, tool["reason"]))
    elif tool["rc"] != 0:
        said = _tail(tool["stderr"] or tool["stdout"]) or "no error text"
        checks.append(check("nvidia_smi", False, f"nvidia-smi exited {tool['rc']}: {said}"))
    else:
        try:
            gpus = parse_nvidia_smi(tool["stdout"])
            said = "; ".join(f"{g['name']} {g['memory_mib']} MiB" for g in gpus) or "no GPU listed"
            checks.append(check("nvidia_smi", bool(gpus), said))
        except ValueError as error:
            checks.append(check("nvidia_smi", False, f"nvidia-smi output unreadable: {error}"))
    if gpus:
        found = {"gpus": gpus, "count": len(gpus), "driver_version": gpus[0]["driver_version"]}
        expected = NVIDIA_GPUS.get(instance_type or "")
        if expected:
            count, model = expected
            said = f"found {len(gpus)} GPU(s); {instance_type} has {count}"
            checks.append(check("gpu_count", len(gpus) == count, said))
            ok = all(model.lower() in g["name"].lower() for g in gpus)
            checks.append(check("gpu_model", ok, f"expected {model}, found {gpus[0]['name']}"))
    return {"found": found, "simulated": tool["simulated"], "checks": checks}
