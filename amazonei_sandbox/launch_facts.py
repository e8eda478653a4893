"""What a RunInstances request tells that moto does not keep (its Elastic Inference
accelerators) or keeps for the first instance only (its instance profile), read from the query
form and the response on their way through the sandbox."""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from collections.abc import Mapping
from dataclasses import dataclass

_EIA_TYPE = re.compile(r"^ElasticInferenceAccelerator\.(\d+)\.Type$")
INSTANCE_ID = re.compile(r"^i-[0-9a-f]{8,17}$")


@dataclass(frozen=True)
class LaunchFacts:
    """What RunInstances asked for that moto does not keep: the Elastic Inference accelerators,
    and the instance profile (moto associates it with the first instance of a launch only)."""

    eia_types: tuple[str, ...] = ()
    instance_profile: str | None = None  # IamInstanceProfile.Arn, else .Name

    @classmethod
    def from_form(cls, form: Mapping[str, list[str]]) -> LaunchFacts:
        """From the query form (`ElasticInferenceAccelerator.1.Type=eia1.large&...1.Count=1`)."""
        found = []
        for key, values in form.items():
            match = _EIA_TYPE.match(key)
            if not match or not values or not values[0].strip():
                continue
            index = match.group(1)
            try:
                count = int((form.get(f"ElasticInferenceAccelerator.{index}.Count") or ["1"])[0])
            except ValueError:
                count = 1
            found.append((int(index), [values[0].strip().lower()] * max(count, 1)))
        profile = (
            form.get("IamInstanceProfile.Arn") or form.get("IamInstanceProfile.Name") or [""]
        )[0]
        return cls(
            eia_types=tuple(t for _, types in sorted(found) for t in types),
            instance_profile=profile.strip() or None,
        )


def form_list(form: Mapping[str, list[str]], name: str) -> list[str]:
    """`InstanceId.1=..&InstanceId.2=..` -> the values, in order."""
    pattern = re.compile(rf"^{re.escape(name)}\.(\d+)$")
    indexed = [(int(m.group(1)), v[0]) for k, v in form.items() if (m := pattern.match(k)) and v]
    return [value for _, value in sorted(indexed)]


def instance_ids_in(response_xml: bytes) -> list[str]:
    """The ids of `instancesSet/item/instanceId` in a RunInstances response (any namespace)."""
    try:
        document = ET.fromstring(response_xml)
    except ET.ParseError:
        return []
    found = []
    for element in document.iter():
        if _local(element.tag) != "instancesSet":
            continue
        for item in element:
            for child in item:
                if _local(child.tag) == "instanceId" and INSTANCE_ID.match(child.text or ""):
                    found.append(child.text or "")
    return found


def _local(tag: str) -> str:
    return tag.rpartition("}")[2]
