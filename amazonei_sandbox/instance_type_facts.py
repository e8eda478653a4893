"""moto's DescribeInstanceTypes data, mended where it disagrees with AWS's documents, so the
hardware the tool reads in the sandbox is the hardware AWS describes (docs/DESIGN.md,
"Hardware and prices"):

- Trainium2: moto gives each device 512 GiB (524288 MiB); a Trainium2 chip has 96 GiB of HBM
  (AWS Neuron docs, "Trainium2 Architecture"; trn2.48xlarge: 16 chips, 1.5 TiB).
- trn2u.48xlarge (the UltraServer's node) has no NeuronInfo in moto; it carries the same 16
  Trainium2 chips as trn2.48xlarge (EC2 accelerated computing instance types).

moto shares these dicts between its JSON data and the `InstanceType` objects it answers
from, so the mends are made in place, once per process.
"""

from __future__ import annotations

import copy
from typing import Any

from amazonei_sandbox.patching import once

TRAINIUM2_MIB = 96 * 1024


def _mend_trainium2(info: dict[str, Any]) -> None:
    total = 0
    for device in info.get("NeuronDevices") or []:
        if device.get("Name") == "Trainium2":
            device["MemoryInfo"] = {"SizeInMiB": TRAINIUM2_MIB}
        total += int(device.get("Count") or 0) * int(device["MemoryInfo"]["SizeInMiB"])
    info["TotalNeuronDeviceMemoryInMiB"] = total


@once
def install() -> None:
    from moto.ec2.models import instance_types as moto_types

    data: dict[str, Any] = moto_types.INSTANCE_TYPES
    for entry in data.values():
        if entry.get("NeuronInfo"):
            _mend_trainium2(entry["NeuronInfo"])
    donor = data.get("trn2.48xlarge", {}).get("NeuronInfo")
    if donor and "trn2u.48xlarge" in data and not data["trn2u.48xlarge"].get("NeuronInfo"):
        data["trn2u.48xlarge"]["NeuronInfo"] = copy.deepcopy(donor)
    for served in moto_types.InstanceTypeBackend.instance_types:
        name = served.get("InstanceType")
        if name in data and "NeuronInfo" in data[name]:
            served["NeuronInfo"] = data[name]["NeuronInfo"]
