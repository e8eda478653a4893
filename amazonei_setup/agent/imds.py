"""IMDSv2 client: a session token first (PUT /latest/api/token), then GETs carrying it.
Never goes through an HTTP proxy; never puts the token in an error message."""

from __future__ import annotations

import http.client
import json
import os
import urllib.error
import urllib.request

IMDS_ENV = "AMAZONEI_AGENT_IMDS_ENDPOINT"
IMDS_DEFAULT = "http://169.254.169.254"
SIMULATED_KEY = "amazonei-setup-simulated"  # an association document that says it is simulated


class ImdsError(Exception):
    """IMDS could not answer (unreachable, no token, an unexpected HTTP status)."""


class ImdsClient:
    def __init__(self, endpoint: str | None = None, timeout: float = 1.0, ttl: int = 300):
        self.endpoint = (endpoint or os.environ.get(IMDS_ENV) or IMDS_DEFAULT).rstrip("/")
        self.timeout = timeout
        self.ttl = ttl
        self._token: str | None = None
        self._dead: str | None = None  # once unreachable, fail fast instead of timing out again
        self._opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))

    def secrets(self) -> list:
        return [self._token] if self._token else []

    def _call(self, method: str, path: str, headers: dict) -> tuple:
        if self._dead:
            raise ImdsError(self._dead)
        request = urllib.request.Request(self.endpoint + path, method=method, headers=headers)
        try:
            with self._opener.open(request, timeout=self.timeout) as answer:
                return answer.status, answer.read().decode("utf-8", "replace")
        except urllib.error.HTTPError as error:
            return error.code, ""
        except (OSError, ValueError, http.client.HTTPException) as error:
            why = getattr(error, "reason", None) or error
            self._dead = f"IMDS unreachable at {self.endpoint}: {why}"
            raise ImdsError(self._dead) from None

    def token(self) -> str:
        if self._token is None:
            headers = {"X-aws-ec2-metadata-token-ttl-seconds": str(self.ttl)}
            status, body = self._call("PUT", "/latest/api/token", headers)
            if status != 200 or not body:
                raise ImdsError(f"IMDSv2 session refused by {self.endpoint} (HTTP {status})")
            self._token = body.strip()
        return self._token

    def get(self, path: str, tree: str = "/latest/meta-data/") -> str | None:
        """The text at <tree><path>, or None when IMDS has no such item (404)."""
        for attempt in (1, 2):
            headers = {"X-aws-ec2-metadata-token": self.token()}
            status, body = self._call("GET", tree + path, headers)
            if status == 200:
                return body
            if status == 404:
                return None
            if status == 401 and attempt == 1:  # the session expired: one fresh token, once
                self._token = None
                continue
            raise ImdsError(f"IMDS GET {path} answered HTTP {status}")
        return None


def read_instance(client: ImdsClient) -> dict:
    """{id, type, region, availability_zone, reason}; values are None, with a reason, when IMDS
    cannot tell."""
    found = {"id": None, "type": None, "region": None, "availability_zone": None, "reason": None}
    try:
        found["id"] = client.get("instance-id")
        found["type"] = client.get("instance-type")
        found["availability_zone"] = client.get("placement/availability-zone")
        found["region"] = client.get("placement/region")
    except ImdsError as error:
        found["reason"] = str(error)
        return found
    if not found["region"] and found["availability_zone"]:
        found["region"] = found["availability_zone"][:-1]
    return found


def instance_arn(client: ImdsClient) -> str | None:
    """This instance's ARN from IMDS alone (the identity document and the partition), None
    outside EC2. Its account and region are the instance's own: a stack set's copy runs in its
    region and account, which no user data rendered elsewhere can know."""
    try:
        document = json.loads(client.get("instance-identity/document", "/latest/dynamic/"))
        parts = [client.get("services/partition")]
        parts += [document[key] for key in ("region", "accountId", "instanceId")]
    except Exception:  # unreachable, not found (None), not JSON, a field missing
        return None
    return "arn:{}:ec2:{}:{}:instance/{}".format(*parts) if all(parts) else None


def _find_key(document: object, key: str) -> object | None:
    if isinstance(document, dict):
        if key in document:
            return document[key]
        for value in document.values():
            hit = _find_key(value, key)
            if hit is not None:
                return hit
    return None


def read_associations(client: ImdsClient) -> list:
    """The Elastic Inference accelerators IMDS lists: [{id, type, simulated}]. Raises ImdsError."""
    listing = client.get("elastic-inference/associations")
    found = []
    for association in (listing or "").split():
        association = association.strip("/")
        text = client.get("elastic-inference/associations/" + association) or ""
        try:
            document = json.loads(text)
        except ValueError:
            document = {}
        found.append(
            {
                "id": association,
                # AWS nests it: {"version_2018_04_12": {"elastic-inference-accelerator-type": ..}}
                "type": _find_key(document, "elastic-inference-accelerator-type"),
                "simulated": bool(_find_key(document, SIMULATED_KEY)),
            }
        )
    return found
