"""User data: a shell script carrying the bundled agent and its config, gzip'd (cloud-init
inflates it) and checked against EC2's 16 KB limit.

For the local sandbox the script is also signed with a key kept in the state home, so the
sandbox runs only user data that this tool rendered (docs/DESIGN.md, "Sandbox safety").
"""

from __future__ import annotations

import gzip
import hashlib
import hmac
import json
import secrets
import zlib
from pathlib import Path
from string import Template

from amazonei_setup.errors import InputError
from amazonei_setup.resources.naming import report_parameter_prefix
from amazonei_setup.spec.profile import Profile
from amazonei_setup.state.paths import templates_dir, write_private

USER_DATA_LIMIT_BYTES = 16 * 1024
SIGNATURE_PREFIX = "# amazonei-setup-signature: "
GZIP_MAGIC = b"\x1f\x8b"


def agent_config(profile: Profile) -> dict[str, object]:
    """What the instance needs to know. No credentials, ever: the instance role provides them.
    No account either: the agent reads its account, region and ARN from IMDS (the instance
    identity document), so one rendering serves any account and region (exported templates,
    stack sets). `region` is only its fallback outside EC2."""
    config: dict[str, object] = {
        "deployment": profile.name,
        "region": profile.region,
        "instance_type": profile.instance_type,
        "expect": profile.accelerator or profile.instance_type,
        "report_parameter_prefix": report_parameter_prefix(profile.name),
        "agent": {"smoke_test": profile.agent.smoke_test},
    }
    work = profile.agent.benchmark
    if work is not None:  # agent/launch.py: fetch the harness, check it, run the job
        config["benchmark"] = {
            "harness": f"s3://{work.bucket}/{work.harness_key}",
            "sha256": work.harness_sha256,
            "job": f"s3://{work.bucket}/{work.job_key}",
        }
    return config


def render_script(profile: Profile) -> str:
    """The bootstrap script with the agent inlined (no agent at all when it is disabled)."""
    from amazonei_setup.agent.bundle import build_single_file
    from amazonei_setup.agent.catalog import kind_of_instance

    if not profile.agent.enabled:
        return "#!/bin/bash\n# amazonei-setup: the agent is disabled for this deployment\n"
    template = Template((templates_dir() / "user-data" / "bootstrap.sh").read_text())
    agent = build_single_file(
        "eia" if profile.accelerator else kind_of_instance(profile.instance_type)
    )
    return template.substitute(
        deployment=profile.name,
        expect=profile.accelerator or profile.instance_type,
        config_json=json.dumps(agent_config(profile), indent=2, sort_keys=True),
        agent_source=agent.rstrip("\n"),
    )


def sign(script: str, key: bytes) -> str:
    """Insert an HMAC line after the shebang; verify() recomputes it over the other lines."""
    first, _, rest = script.partition("\n")
    digest = hmac.new(key, (first + "\n" + rest).encode(), hashlib.sha256).hexdigest()
    return f"{first}\n{SIGNATURE_PREFIX}{digest}\n{rest}"


def verify(script: str, key: bytes) -> bool:
    first, _, rest = script.partition("\n")
    line, _, body = rest.partition("\n")
    if not line.startswith(SIGNATURE_PREFIX):
        return False
    expected = hmac.new(key, (first + "\n" + body).encode(), hashlib.sha256).hexdigest()
    return hmac.compare_digest(expected, line[len(SIGNATURE_PREFIX) :].strip())


def render_user_data(profile: Profile, signing_key: bytes | None = None) -> bytes:
    """The gzip'd user data for RunInstances (boto3 base64-encodes it on the wire)."""
    script = render_script(profile)
    if signing_key is not None:
        script = sign(script, signing_key)
    payload = gzip.compress(script.encode(), compresslevel=9, mtime=0)
    if len(payload) > USER_DATA_LIMIT_BYTES:
        raise InputError(
            f"the user data is {len(payload)} bytes gzip'd; EC2 accepts at most "
            f"{USER_DATA_LIMIT_BYTES}",
            "shorten the tags or disable the agent (agent.enabled: false)",
        )
    return payload


MAX_SCRIPT_BYTES = 1024 * 1024  # ours is ~60 KB unzipped; a gzip bomb stops here


def decode_user_data(payload: bytes) -> str:
    """The script inside user data as EC2 returns it (after base64): gunzip when gzip'd, at
    most MAX_SCRIPT_BYTES of it (16 KB of gzip can unpack to gigabytes)."""
    if payload.startswith(GZIP_MAGIC):
        inflate = zlib.decompressobj(wbits=16 + zlib.MAX_WBITS)
        payload = inflate.decompress(payload, MAX_SCRIPT_BYTES)
        if inflate.unconsumed_tail:
            raise ValueError(f"the user data unpacks to more than {MAX_SCRIPT_BYTES} bytes")
    return payload.decode("utf-8")


def sandbox_signing_key(home: Path) -> bytes:
    """The sandbox's user-data key (created 0600 on first use) in the state home."""
    path = home / "sandbox" / "user-data.key"
    if not path.exists():
        write_private(path, secrets.token_hex(32))
    return path.read_text().strip().encode()
