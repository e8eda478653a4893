"""Who signed a sandbox request: the credentials each simulated instance gets from its role.

On EC2 an instance with an instance profile gets temporary credentials of the profile's role from
IMDS (`/latest/meta-data/iam/security-credentials/<role-name>`): an access key id starting `ASIA`,
a secret and a session token. The sandbox does the same for each simulated instance it runs
(instances.py serves them through the instance's IMDS emulator) and keeps them here, in the server
process, so that the server can check a request's signature against the instance's secret and a
strictness layer can ask which instance signed it: `identity_of(access_key_id)`.

An instance without an instance profile (or whose profile holds no role) gets no credentials, as on
AWS. Credentials are forgotten when their instance is terminated or the sandbox is reset.
"""

from __future__ import annotations

import secrets
import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from typing import Any

from amazonei_sandbox.credentials import random_access_key_id, random_secret
from amazonei_setup.resources.naming import TAG_DEPLOYMENT

ACCESS_KEY_PREFIX = "ASIA"  # what AWS gives temporary (role session) credentials
CREDENTIAL_LIFETIME = timedelta(hours=6)  # EC2 role credentials last about six hours


@dataclass(frozen=True)
class InstanceIdentity:
    """Which simulated instance holds a set of credentials, and as which role."""

    instance_id: str
    role_name: str
    region: str
    deployment: str | None  # the instance's `amazonei-setup:deployment` tag, if any
    account_id: str
    instance_profile_arn: str | None = None


@dataclass(frozen=True)
class InstanceCredentials:
    """Temporary credentials of an instance's role, as IMDS hands them out."""

    access_key_id: str
    secret_access_key: str
    session_token: str
    last_updated: datetime
    expiration: datetime

    def imds_document(self) -> dict[str, str]:
        """The JSON body of `/latest/meta-data/iam/security-credentials/<role-name>`."""
        return {
            "Code": "Success",
            "LastUpdated": _iso(self.last_updated),
            "Type": "AWS-HMAC",
            "AccessKeyId": self.access_key_id,
            "SecretAccessKey": self.secret_access_key,
            "Token": self.session_token,
            "Expiration": _iso(self.expiration),
        }


def new_credentials(now: datetime | None = None) -> InstanceCredentials:
    """Fresh random role-session credentials (`ASIA` + 16 characters, a 40-character secret)."""
    issued = (now or datetime.now(timezone.utc)).replace(microsecond=0)
    return InstanceCredentials(
        access_key_id=random_access_key_id(ACCESS_KEY_PREFIX),
        secret_access_key=random_secret(),
        session_token=secrets.token_urlsafe(96),
        last_updated=issued,
        expiration=issued + CREDENTIAL_LIFETIME,
    )


class IdentityRegistry:
    """Credentials issued to simulated instances, by access key id; thread-safe."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._by_key: dict[str, tuple[InstanceIdentity, InstanceCredentials]] = {}

    def issue(self, identity: InstanceIdentity) -> InstanceCredentials:
        """New credentials for `identity` (an instance keeps the ones it already has)."""
        with self._lock:
            for known, credentials in self._by_key.values():
                if known == identity:
                    return credentials
            credentials = new_credentials()
            self._by_key[credentials.access_key_id] = (identity, credentials)
            return credentials

    def identity_of(self, access_key_id: str) -> InstanceIdentity | None:
        with self._lock:
            found = self._by_key.get(access_key_id)
        return found[0] if found else None

    def credentials_of(self, access_key_id: str) -> InstanceCredentials | None:
        """The secret and session token behind an access key id (to check a signature)."""
        with self._lock:
            found = self._by_key.get(access_key_id)
        return found[1] if found else None

    def forget(self, instance_ids: Any) -> None:
        """The instances were terminated: their credentials stop working."""
        gone = set(instance_ids)
        with self._lock:
            for key, (identity, _) in list(self._by_key.items()):
                if identity.instance_id in gone:
                    del self._by_key[key]

    def clear(self) -> None:
        with self._lock:
            self._by_key.clear()


REGISTRY = IdentityRegistry()  # the server process's one registry


def identity_of(access_key_id: str) -> InstanceIdentity | None:
    """The simulated instance whose role credentials carry this access key id, or None (the
    owner's sandbox credentials, or anything unknown)."""
    return REGISTRY.identity_of(access_key_id)


# (account id, region, instance id, profile name or ARN from the launch) -> (role, profile ARN)
RoleLookup = Callable[[str, str, str, "str | None"], "tuple[str, str | None] | None"]


def profile_role(
    account_id: str, region: str, instance_id: str, profile: str | None
) -> tuple[str, str | None] | None:
    """(role name, instance profile ARN) of the profile the instance was launched with (`profile`:
    its name or ARN, else moto's association), or None: no profile, or no role in it."""
    try:
        from moto.ec2.models import ec2_backends
        from moto.iam.models import iam_backends
        from moto.utilities.utils import get_partition

        iam = iam_backends[account_id][get_partition(region)]
        if profile is None:
            associations = ec2_backends[account_id][region].iam_instance_profile_associations
            association = associations.get(instance_id)
            found = association.iam_instance_profile if association is not None else None
        elif profile.startswith("arn:"):
            found = iam.get_instance_profile_by_arn(profile)
        else:
            found = iam.get_instance_profile(profile)
    except Exception:
        return None
    roles = getattr(found, "roles", None) or []
    return (str(roles[0].name), getattr(found, "arn", None)) if roles else None


def deployment_tag(tags: Any) -> str | None:
    """The `amazonei-setup:deployment` value in moto's tag list ({key, value} or {Key, Value})."""
    for tag in tags or []:
        if not isinstance(tag, Mapping):
            continue
        key = tag.get("key", tag.get("Key"))
        if key == TAG_DEPLOYMENT:
            value = tag.get("value", tag.get("Value"))
            return str(value) if value else None
    return None


def _iso(moment: datetime) -> str:
    return moment.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
