"""Each simulated instance gets its own role credentials from its IMDS, as on EC2, and the server
can tell which instance signed a request: `identities.identity_of(access_key_id)`."""

from __future__ import annotations

import base64
import json
import time
from pathlib import Path
from types import SimpleNamespace
from typing import Any

from amazonei_sandbox import identities
from amazonei_sandbox.identities import IdentityRegistry, InstanceIdentity, new_credentials
from amazonei_sandbox.instances import FINAL_STATES, LaunchFacts, SimulatedInstances
from amazonei_setup.resources.naming import TAG_DEPLOYMENT
from amazonei_setup.seats.userdata import sign

REGION = "us-west-2"
ACCOUNT = "123456789012"
PROFILE_ARN = f"arn:aws:iam::{ACCOUNT}:instance-profile/app-profile"
KEY = b"in-process signing key"
# What boto3 finds on the instance, as JSON: the credentials' source, key, secret and token.
SCRIPT = """#!/bin/bash
python3 - > "$AMAZONEI_SETUP_ROOT/creds.json" <<'PY'
import json, boto3
found = boto3.Session().get_credentials()
frozen = found.get_frozen_credentials() if found else None
print(json.dumps(frozen and {"method": found.method, "key": frozen.access_key,
                             "secret": frozen.secret_key, "token": frozen.token}))
PY
"""


def _backend(deployments: dict[str, str | None]) -> Any:
    """moto's instance as the runner reads it, tagged with its deployment."""

    def find(account_id: str, region: str, instance_id: str) -> Any:
        tags = [{"key": TAG_DEPLOYMENT, "value": deployments[instance_id]}]
        return SimpleNamespace(
            instance_type="m5.large",
            user_data=base64.b64encode(sign(SCRIPT, KEY).encode()).decode(),
            image_id="ami-0123456789abcdef0",
            placement=f"{region}a",
            get_tags=lambda: tags,
        )

    return find


def _roles(account: str, region: str, instance_id: str, profile: str | None) -> Any:
    return ("app-role", PROFILE_ARN) if profile == "app-profile" else None


def _creds(home: Path, instance_id: str) -> dict[str, Any] | None:
    """What the instance's script found, once it finished (bounded polling, no fixed sleep)."""
    folder = home / "sandbox" / "instances" / instance_id
    deadline, pause = time.monotonic() + 30, 0.02
    while time.monotonic() < deadline:
        try:
            status = json.loads((folder / "status.json").read_text())
        except (FileNotFoundError, ValueError):
            status = {}
        if status.get("state") in FINAL_STATES:
            assert status["exit_code"] == 0, Path(status["output_log"]).read_text()
            return json.loads((folder / "root" / "creds.json").read_text())
        time.sleep(pause)
        pause = min(pause * 1.5, 0.5)
    raise AssertionError(f"{instance_id} did not finish: {status}")


def test_each_instance_gets_its_own_role_credentials_and_identity_of_names_it(
    tmp_path: Path,
) -> None:
    first, second, bare = "i-0000000000000000a", "i-0000000000000000b", "i-0000000000000000c"
    registry = IdentityRegistry()
    runner = SimulatedInstances(
        tmp_path,
        "http://127.0.0.1:9",
        signing_key=KEY,
        backend=_backend({first: "demo", second: "other", bare: None}),
        identities=registry,
        roles=_roles,
    )
    try:
        runner.launched(
            ACCOUNT, REGION, [first, second], LaunchFacts(instance_profile="app-profile")
        )
        runner.launched(ACCOUNT, REGION, [bare], LaunchFacts())
        found = {
            instance_id: _creds(tmp_path, instance_id) for instance_id in (first, second, bare)
        }
    finally:
        runner.shutdown()
    assert found[bare] is None  # no instance profile: no credentials at all, as on EC2
    one, two = found[first], found[second]
    assert one is not None and two is not None
    assert one["method"] == two["method"] == "iam-role"  # from IMDS, not the environment
    assert one["key"] != two["key"] and one["secret"] != two["secret"]
    for creds in (one, two):
        assert creds["key"].startswith("ASIA") and len(creds["key"]) == 20 and creds["token"]
    assert registry.identity_of(one["key"]) == InstanceIdentity(
        instance_id=first,
        role_name="app-role",
        region=REGION,
        deployment="demo",
        account_id=ACCOUNT,
        instance_profile_arn=PROFILE_ARN,
    )
    issued = registry.credentials_of(two["key"])
    assert issued is not None and issued.secret_access_key == two["secret"]
    assert issued.session_token == two["token"]
    assert registry.identity_of("testing") is None
    runner.terminated([first])  # a terminated instance's credentials stop working
    assert registry.identity_of(one["key"]) is None
    assert registry.identity_of(two["key"]) == registry.identity_of(two["key"])
    assert registry.identity_of(two["key"]).instance_id == second  # type: ignore[union-attr]
    runner.reset()
    assert registry.identity_of(two["key"]) is None


def test_credentials_look_like_aws_role_credentials_and_the_module_registry_answers() -> None:
    credentials = new_credentials()
    document = credentials.imds_document()
    assert document["Code"] == "Success" and document["Type"] == "AWS-HMAC"
    assert document["Expiration"] > document["LastUpdated"]
    assert len(credentials.secret_access_key) == 40
    identity = InstanceIdentity("i-0123456789abcdef0", "r", REGION, None, ACCOUNT)
    issued = identities.REGISTRY.issue(identity)
    try:
        assert identities.identity_of(issued.access_key_id) == identity
        assert identities.REGISTRY.issue(identity) == issued  # one set per instance
    finally:
        identities.REGISTRY.forget([identity.instance_id])
    assert identities.identity_of(issued.access_key_id) is None
