"""A loopback instance metadata service (IMDS) for one simulated instance, IMDSv2 only.

`PUT /latest/api/token` with `X-aws-ec2-metadata-token-ttl-seconds` (1..21600) returns a session
token; every GET must carry it in `X-aws-ec2-metadata-token`, or gets 401 as on an instance with
`HttpTokens=required`. Served: `/latest/meta-data/<key>` for each key given (directory listings
included), and `/latest/dynamic/instance-identity/document`. Binds 127.0.0.1 on a free port.
"""

from __future__ import annotations

import json
import secrets
import threading
import time
from collections.abc import Mapping
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

LOOPBACK = "127.0.0.1"
TOKEN_PATH = "/latest/api/token"
TOKEN_TTL_HEADER = "X-aws-ec2-metadata-token-ttl-seconds"
TOKEN_HEADER = "X-aws-ec2-metadata-token"
META_DATA = "/latest/meta-data/"
IDENTITY_DOCUMENT = "/latest/dynamic/instance-identity/document"
MAX_TTL_S = 21600
SIMULATED_KEY = "amazonei-setup-simulated"  # agent/imds.py reads it from association documents


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
