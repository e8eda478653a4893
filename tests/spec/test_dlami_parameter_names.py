"""Every Deep Learning AMI public parameter in the catalog follows AWS's naming rule against the
DLAMI names its rule searches for (docs/DESIGN.md, "arm64"): `/aws/service/deeplearning/ami/
$architecture/$ami_type/latest/ami-id`, the type being the DLAMI's name less "Deep Learning"
and "AMI" (DLAMI Developer Guide, "Finding the ID of a DLAMI"), lower case, hyphens for
spaces, the OS without brackets; the architecture is its own path segment, not repeated in
the type (as AWS's parameters resolve: docs/DESIGN.md)."""

from __future__ import annotations

import re

from amazonei_setup.spec.catalog import load_catalog

PREFIX = "/aws/service/deeplearning/ami/"


def _ami_type(dlami_name: str, architecture: str) -> str:
    """The documented rule applied to a DLAMI name with its release as `X.Y`."""
    words = [w for w in re.sub(r"[()]", "", dlami_name).split() if w.lower() not in
             {"deep", "learning", "ami", architecture.lower()}]  # fmt: skip
    return "-".join(words).lower()


def test_every_dlami_parameter_is_named_by_aws_rule_from_its_own_name_patterns() -> None:
    checked = 0
    for rule in load_catalog().all_ami_rules():
        for parameter in rule.ssm_parameters:
            if not parameter.startswith(PREFIX):
                continue
            found = re.fullmatch(rf"{PREFIX}([^/]+)/([^/]+)/latest/ami-id", parameter)
            assert found, parameter
            architecture, ami_type = found.groups()
            assert architecture == rule.architecture, parameter
            version = re.search(r"pytorch-(\d+\.\d+)-", ami_type)
            names = {
                _ami_type(p.rstrip(" *").replace("2.*", version.group(1) if version else "2.*"),
                          architecture)
                for p in rule.name_patterns
            }  # fmt: skip
            assert ami_type in names, (parameter, names)
            checked += 1
    assert checked >= 6  # x86_64 GPU (2 OS x 2 releases) and arm64 GPU (2 releases)
