"""A loopback instance metadata service (IMDS) for one simulated instance, IMDSv2 only.

`PUT /latest/api/token` with `X-aws-ec2-metadata-token-ttl-seconds` (1..21600) returns a session
token; every GET must carry it in `X-aws-ec2-metadata-token`, or gets 401 as on an instance with
`HttpTokens=required`. Served: `/latest/meta-data/<key>` for each key given (directory listings
included, `services/partition` among them), and `/latest/dynamic/instance-identity/document` in
EC2's shape (the agent takes its account, region and ARN from these two). Binds 127.0.0.1 on
a free port.
An instance with a role also serves `iam/info` and `iam/security-credentials/<role-name>`
(`iam_metadata`), where boto3 and the AWS CLI look for credentials on EC2.
"""

from __future__ import annotations

import json
import secrets
import threading
import time
from collections.abc import Mapping
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from amazonei_setup.aws.arns import partition_of

LOOPBACK = "127.0.0.1"
TOKEN_PATH = "/latest/api/token"
TOKEN_TTL_HEADER = "X-aws-ec2-metadata-token-ttl-seconds"
TOKEN_HEADER = "X-aws-ec2-metadata-token"
META_DATA = "/latest/meta-data/"
IDENTITY_DOCUMENT = "/latest/dynamic/instance-identity/document"
MAX_TTL_S = 21600
SIMULATED_KEY = "amazonei-setup-simulated"  # agent/imds.py reads it from association documents
DOMAIN_BY_PARTITION = {"aws-cn": "amazonaws.com.cn"}  # `services/domain`; else amazonaws.com


def metadata_for(
    instance_id: str,
    instance_type: str,
    region: str,
    availability_zone: str,
    local_ipv4: str | None = None,
    ami_id: str | None = None,
    hostname: str | None = None,
    eia_types: tuple[str, ...] = (),
) -> dict[str, str]:
    """The flat `meta-data` tree of an instance: {"placement/region": "us-west-2", ...}.

    Each Elastic Inference accelerator gets an association id and the document AWS serves (nested
    under `version_2018_04_12`), marked as simulated for the agent's report.
    """
    tree = {
        "instance-id": instance_id,
        "instance-type": instance_type,
        "placement/region": region,
        "placement/availability-zone": availability_zone,
        "services/partition": partition_of(region),
        "services/domain": DOMAIN_BY_PARTITION.get(partition_of(region), "amazonaws.com"),
    }
    optional = {"local-ipv4": local_ipv4, "ami-id": ami_id, "local-hostname": hostname}
    tree.update({key: value for key, value in optional.items() if value})
    associations = []
    for ordinal, eia_type in enumerate(eia_types):
        association = f"eia-{instance_id.removeprefix('i-')}{ordinal:02d}"
        associations.append(association)
        tree[f"elastic-inference/associations/{association}"] = json.dumps(
            {
                "version_2018_04_12": {
                    "elastic-inference-accelerator-id": association,
                    "elastic-inference-accelerator-type": eia_type,
                    "elastic-inference-accelerator-ordinal": ordinal,
                    SIMULATED_KEY: True,
                }
            }
        )
    if associations:
        tree["elastic-inference/associations"] = "\n".join(associations)
    return tree


def instance_metadata(
    moto_instance: Any, instance_id: str, account_id: str, region: str, eia_types: tuple[str, ...]
) -> tuple[dict[str, str], dict[str, Any]]:
    """The meta-data tree and the instance identity document of one of moto's instances."""
    metadata = metadata_for(
        instance_id,
        moto_instance.instance_type,
        region,
        _zone(moto_instance, region),
        local_ipv4=_attribute(moto_instance, "private_ip"),
        ami_id=_attribute(moto_instance, "image_id"),
        hostname=_attribute(moto_instance, "private_dns_name"),
        eia_types=eia_types,
    )
    identity = identity_document(
        account_id,
        region,
        instance_id,
        moto_instance.instance_type,
        metadata["placement/availability-zone"],
        architecture=_attribute(moto_instance, "architecture") or "x86_64",
        image_id=metadata.get("ami-id"),
        private_ip=metadata.get("local-ipv4"),
        pending_time=_launch_time(moto_instance),
    )
    return metadata, identity


def identity_document(
    account_id: str,
    region: str,
    instance_id: str,
    instance_type: str,
    availability_zone: str,
    *,
    architecture: str = "x86_64",
    image_id: str | None = None,
    private_ip: str | None = None,
    pending_time: str | None = None,
) -> dict[str, Any]:
    """`/latest/dynamic/instance-identity/document` with every field EC2 serves (AWS docs,
    "Instance identity documents"): the ones with no value here are null, as on EC2."""
    return {
        "accountId": account_id,
        "architecture": architecture,
        "availabilityZone": availability_zone,
        "billingProducts": None,
        "devpayProductCodes": None,
        "marketplaceProductCodes": None,
        "imageId": image_id,
        "instanceId": instance_id,
        "instanceType": instance_type,
        "kernelId": None,
        "pendingTime": pending_time,
        "privateIp": private_ip,
        "ramdiskId": None,
        "region": region,
        "version": "2017-09-30",
    }


def _launch_time(moto_instance: Any) -> str | None:
    """moto's launch time as IMDS writes it (`2016-11-19T16:32:11Z`)."""
    value = _attribute(moto_instance, "launch_time")
    return value.split(".")[0].removesuffix("Z") + "Z" if value else None


def _zone(moto_instance: Any, region: str) -> str:
    placement = getattr(moto_instance, "_placement", None)
    zone = getattr(placement, "zone", None) or getattr(moto_instance, "placement", None)
    # moto may place a stack set's instance in a zone of the set's home region: never on EC2
    return zone if isinstance(zone, str) and zone.startswith(region) else f"{region}a"


def _attribute(moto_instance: Any, name: str) -> str | None:
    """A string attribute of moto's instance, or None (some are properties that can raise)."""
    try:
        value = getattr(moto_instance, name)
    except Exception:
        return None
    return value if isinstance(value, str) and value else None


def iam_metadata(
    role_name: str, credentials: Mapping[str, str], instance_profile_arn: str | None = None
) -> dict[str, str]:
    """The `iam/` part of the meta-data tree for an instance whose profile holds `role_name`:
    `credentials` is the JSON document of `iam/security-credentials/<role-name>`."""
    info = {"Code": "Success", "LastUpdated": credentials.get("LastUpdated", "")}
    if instance_profile_arn:
        info["InstanceProfileArn"] = instance_profile_arn
    return {
        "iam/info": json.dumps(info, indent=2),
        f"iam/security-credentials/{role_name}": json.dumps(dict(credentials), indent=2),
    }


class ImdsEmulator:
    """`with ImdsEmulator(metadata) as imds:` serves it at `imds.endpoint` until the block ends."""

    def __init__(self, metadata: Mapping[str, str], identity: Mapping[str, Any] | None = None):
        self.metadata = dict(metadata)
        self.identity = dict(identity or {})
        self._tokens: dict[str, float] = {}  # token -> expiry (monotonic)
        self._lock = threading.Lock()
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None

    @property
    def endpoint(self) -> str:
        if self._server is None:
            raise RuntimeError("the IMDS emulator is not started")
        return f"http://{LOOPBACK}:{self._server.server_address[1]}"

    def start(self) -> ImdsEmulator:
        server = ThreadingHTTPServer((LOOPBACK, 0), _handler_for(self))
        server.daemon_threads = True
        self._server = server
        self._thread = threading.Thread(
            target=server.serve_forever, kwargs={"poll_interval": 0.1}, name="sandbox-imds"
        )
        self._thread.daemon = True
        self._thread.start()
        return self

    def stop(self) -> None:
        server, self._server = self._server, None
        if server is not None:
            server.shutdown()
            server.server_close()
        if self._thread is not None:
            self._thread.join(timeout=5)

    def __enter__(self) -> ImdsEmulator:
        return self.start()

    def __exit__(self, *_: object) -> None:
        self.stop()

    # --- what the handler asks --------------------------------------------------------------

    def issue_token(self, ttl_s: int) -> str:
        token = secrets.token_urlsafe(32)
        now = time.monotonic()
        with self._lock:
            self._tokens = {t: end for t, end in self._tokens.items() if end > now}
            self._tokens[token] = now + ttl_s
        return token

    def token_valid(self, token: str | None) -> bool:
        if not token:
            return False
        with self._lock:
            expiry = self._tokens.get(token)
        return expiry is not None and expiry > time.monotonic()

    def lookup(self, path: str) -> str | None:
        """The body for a GET path, or None (404)."""
        if path == IDENTITY_DOCUMENT and self.identity:
            return json.dumps(self.identity, indent=2)
        if not path.startswith(META_DATA):
            return None
        key = path[len(META_DATA) :].strip("/")
        if key in self.metadata:
            return self.metadata[key]
        return self._listing(key)

    def _listing(self, key: str) -> str | None:
        """A directory: its children, sub-directories with a trailing slash (as IMDS lists)."""
        prefix = f"{key}/" if key else ""
        children: dict[str, None] = {}
        for name in self.metadata:
            if name.startswith(prefix):
                head, slash, _ = name[len(prefix) :].partition("/")
                children[head + slash] = None
        return "\n".join(sorted(children)) if children else None


def _handler_for(emulator: ImdsEmulator) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        server_version = "EC2ws"
        sys_version = ""

        def do_PUT(self) -> None:
            if self.path != TOKEN_PATH:
                return self._answer(404, "Not Found")
            if self.headers.get("X-Forwarded-For"):  # IMDS refuses proxied token requests
                return self._answer(403, "Forbidden")
            try:
                ttl = int(self.headers.get(TOKEN_TTL_HEADER, ""))
            except ValueError:
                ttl = 0
            if not 1 <= ttl <= MAX_TTL_S:
                return self._answer(400, "Bad Request")
            token = emulator.issue_token(ttl)
            return self._answer(200, token, {TOKEN_TTL_HEADER: str(ttl)})

        def do_GET(self) -> None:
            if not emulator.token_valid(self.headers.get(TOKEN_HEADER)):
                return self._answer(401, "Unauthorized")
            body = emulator.lookup(self.path.split("?", 1)[0])
            if body is None:
                return self._answer(404, "Not Found")
            return self._answer(200, body)

        def _answer(self, code: int, body: str, headers: Mapping[str, str] | None = None) -> None:
            data = body.encode()
            self.send_response(code)
            self.send_header("Content-Type", "text/plain")
            self.send_header("Content-Length", str(len(data)))
            for name, value in (headers or {}).items():
                self.send_header(name, value)
            self.end_headers()
            self.wfile.write(data)

        def log_message(self, *args: Any) -> None:
            return None

    return Handler
