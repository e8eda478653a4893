"""The sandbox's front door: only requests signed with its owner's credentials (or a simulated
instance's role credentials) reach moto, and no web page can call it from a browser.

Every request but the server's own health and throttle paths must carry a SigV4 Authorization
header whose signature, recomputed here with botocore's signer and the secret behind its access
key, matches. Otherwise the answer is what AWS answers, in the protocol's error shape: no
signature → MissingAuthenticationToken; an unknown access key (or an instance key with a wrong
session token) → InvalidClientTokenId (EC2: AuthFailure, JSON: UnrecognizedClientException); a
wrong signature → SignatureDoesNotMatch (EC2: AuthFailure, JSON: InvalidSignatureException); a
signature over 15 minutes old → RequestExpired / "Signature expired". moto's admin API
(`/moto-api/*`: its whole state, reset) is for the owner's credentials only.
CORS is off: preflight (OPTIONS) is refused and no Access-Control-* header ever leaves.
"""

from __future__ import annotations

import hashlib
import hmac
import io
import json
import re
import uuid
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from typing import Any
from xml.sax.saxutils import escape

from amazonei_sandbox.credentials import SandboxCredentials
from amazonei_sandbox.identities import IdentityRegistry

StartResponse = Callable[..., Any]
_AUTHORIZATION = re.compile(
    r"^AWS4-HMAC-SHA256\s+Credential=(?P<key>[^/,\s]+)/(?P<date>\d{8})/(?P<region>[a-z0-9-]+)/"
    r"(?P<service>[A-Za-z0-9._-]+)/aws4_request,\s*SignedHeaders=(?P<headers>[a-z0-9;._-]+),"
    r"\s*Signature=(?P<signature>[0-9a-f]{64})\s*$"
)
MAX_SKEW = timedelta(minutes=15)
_MAX_BODY_BYTES = 64 << 20  # the largest single S3 PUT the tool sends (model_bucket.py)
_INVALID_TOKEN = "The security token included in the request is invalid."
_BAD_SIGNATURE = (
    "The request signature we calculated does not match the signature you provided. Check your "
    "AWS Secret Access Key and signing method. Consult the service documentation for details."
)
_EC2_AUTH = "AWS was not able to validate the provided access credentials"


@dataclass(frozen=True)
class Refusal:
    """Why a request is refused, per protocol: (HTTP status, code, message)."""

    query: tuple[int, str, str]
    ec2: tuple[int, str, str]
    json: tuple[int, str, str]


MISSING = Refusal(
    (403, "MissingAuthenticationToken", "Request is missing Authentication Token"),
    (401, "MissingAuthenticationToken", "Request is missing Authentication Token"),
    (403, "MissingAuthenticationTokenException", "Missing Authentication Token"),
)
INCOMPLETE = Refusal(
    (400, "IncompleteSignature", "The request signature does not conform to AWS standards."),
    (400, "IncompleteSignature", "The request signature does not conform to AWS standards."),
    (
        400,
        "IncompleteSignatureException",
        "The request signature does not conform to AWS standards.",
    ),
)
UNKNOWN_KEY = Refusal(
    (403, "InvalidClientTokenId", _INVALID_TOKEN),
    (401, "AuthFailure", _EC2_AUTH),
    (400, "UnrecognizedClientException", _INVALID_TOKEN),
)
BAD_SIGNATURE = Refusal(
    (403, "SignatureDoesNotMatch", _BAD_SIGNATURE),
    (401, "AuthFailure", _EC2_AUTH),
    (400, "InvalidSignatureException", _BAD_SIGNATURE),
)
EXPIRED = Refusal(
    (403, "SignatureDoesNotMatch", "Signature expired: the request is over 15 minutes old"),
    (400, "RequestExpired", "Request has expired."),
    (400, "InvalidSignatureException", "Signature expired: the request is over 15 minutes old"),
)
OWNER_ONLY = Refusal(
    (403, "AccessDenied", "moto's admin API is for the sandbox owner's credentials only"),
    (403, "AccessDenied", "moto's admin API is for the sandbox owner's credentials only"),
    (403, "AccessDeniedException", "moto's admin API is for the sandbox owner's credentials only"),
)


class AuthMiddleware:
    """Checks every request's SigV4 signature before the layers inside see it; strips CORS."""

    def __init__(
        self,
        app: Callable[..., Iterable[bytes]],
        owner: SandboxCredentials,
        identities: IdentityRegistry,
        open_paths: Iterable[str] = (),
        clock: Callable[[], datetime] = lambda: datetime.now(timezone.utc),
    ):
        self.app = app
        self.owner = owner
        self.identities = identities
        self.open_paths = frozenset(open_paths)
        self._clock = clock

    def __call__(self, environ: dict[str, Any], start_response: StartResponse) -> Iterable[bytes]:
        def no_cors(status: str, headers: list[tuple[str, str]], exc_info: Any = None) -> Any:
            kept = [(k, v) for k, v in headers if not k.lower().startswith("access-control-")]
            if exc_info is not None:
                return start_response(status, kept, exc_info)
            return start_response(status, kept)

        if environ.get("REQUEST_METHOD", "GET").upper() == "OPTIONS":  # CORS preflight
            return _refuse(environ, start_response, MISSING, service=None)
        if environ.get("PATH_INFO", "") in self.open_paths:
            return self.app(environ, no_cors)
        refusal, service = self.check(environ)
        if refusal is not None:
            return _refuse(environ, start_response, refusal, service)
        return self.app(environ, no_cors)

    def check(self, environ: dict[str, Any]) -> tuple[Refusal | None, str | None]:
        """(None, service) when the request is signed by a known key; else why not."""
        authorization = str(environ.get("HTTP_AUTHORIZATION", "")).strip()
        if not authorization:
            return MISSING, None
        match = _AUTHORIZATION.match(authorization)
        amz_date = str(environ.get("HTTP_X_AMZ_DATE", ""))
        if match is None or not re.fullmatch(r"\d{8}T\d{6}Z", amz_date):
            return INCOMPLETE, _service_hint(authorization)
        service = match["service"]
        secret = self._secret_for(match["key"], environ)
        if secret is None:
            return UNKNOWN_KEY, service
        signed_at = datetime.strptime(amz_date, "%Y%m%dT%H%M%SZ").replace(tzinfo=timezone.utc)
        if abs(self._clock() - signed_at) > MAX_SKEW:
            return EXPIRED, service
        body = _body(environ)
        if body is None:
            return INCOMPLETE, service
        expected = signature(
            environ, body, secret, match["region"], service, amz_date, match["headers"]
        )
        if expected is None or not hmac.compare_digest(expected, match["signature"]):
            return BAD_SIGNATURE, service
        admin = str(environ.get("PATH_INFO", "")).startswith("/moto-api/")
        if admin and match["key"] != self.owner.access_key_id:
            return OWNER_ONLY, service
        return None, service

    def _secret_for(self, access_key_id: str, environ: dict[str, Any]) -> str | None:
        token = environ.get("HTTP_X_AMZ_SECURITY_TOKEN")
        if access_key_id == self.owner.access_key_id:
            return self.owner.secret_access_key if not token else None
        issued = self.identities.credentials_of(access_key_id)
        if issued is None or not token or not hmac.compare_digest(token, issued.session_token):
            return None
        return issued.secret_access_key


def signature(
    environ: dict[str, Any],
    body: bytes,
    secret: str,
    region: str,
    service: str,
    amz_date: str,
    signed_headers: str,
) -> str | None:
    """The SigV4 signature of the request as it arrived, computed with botocore's signer over
    exactly the headers the client signed; None when a signed header is missing."""
    from botocore.auth import SigV4Auth
    from botocore.awsrequest import AWSRequest, HTTPHeaders
    from botocore.credentials import Credentials

    names = signed_headers.split(";")
    headers = {}
    for name in names:
        value = _header(environ, name)
        if value is None:
            return None
        headers[name] = value
    content_hash = headers.get("x-amz-content-sha256")
    if content_hash is not None and content_hash != hashlib.sha256(body).hexdigest():
        return None
    host = headers.get("host") or str(environ.get("HTTP_HOST", ""))
    request = AWSRequest(
        method=str(environ.get("REQUEST_METHOD", "GET")).upper(),
        url=f"http://{host}{_raw_target(environ)}",
        headers=headers,
        data=body,
    )
    request.context["timestamp"] = amz_date

    class ExactHeaders(SigV4Auth):
        def headers_to_sign(self, request: AWSRequest) -> HTTPHeaders:
            chosen = HTTPHeaders()
            for name in names:
                chosen[name] = request.headers[name]
            return chosen

    signer = ExactHeaders(Credentials("-", secret), service, region)
    canonical = signer.canonical_request(request)
    return str(signer.signature(signer.string_to_sign(request, canonical), request))


def _header(environ: dict[str, Any], name: str) -> str | None:
    if name == "content-type":
        value = environ.get("CONTENT_TYPE")
    elif name == "content-length":
        value = environ.get("CONTENT_LENGTH")
    else:
        value = environ.get("HTTP_" + name.upper().replace("-", "_"))
    return None if value is None else str(value)


def _raw_target(environ: dict[str, Any]) -> str:
    """The path and query as they came on the wire (the client signed those bytes)."""
    raw = environ.get("REQUEST_URI") or environ.get("RAW_URI")
    if raw:
        return str(raw)
    from urllib.parse import quote

    query = environ.get("QUERY_STRING")
    return quote(str(environ.get("PATH_INFO", "/"))) + (f"?{query}" if query else "")


def _body(environ: dict[str, Any]) -> bytes | None:
    """The whole body, put back in `wsgi.input` for the layers inside; None when too large."""
    stream = environ.get("wsgi.input")
    try:
        length = int(environ.get("CONTENT_LENGTH") or 0)
    except ValueError:
        return None
    if length > _MAX_BODY_BYTES:
        return None
    if stream is None:
        return b""
    if length:
        body = stream.read(length)
    elif environ.get("wsgi.input_terminated"):
        body = stream.read(_MAX_BODY_BYTES + 1)
        if len(body) > _MAX_BODY_BYTES:
            return None
    else:
        body = b""
    environ["wsgi.input"] = io.BytesIO(body)
    environ["CONTENT_LENGTH"] = str(len(body))
    return body


def _service_hint(authorization: str) -> str | None:
    found = re.search(r"Credential=[^/]+/\d{8}/[^/]+/([^/]+)/", authorization)
    return found.group(1) if found else None


def _refuse(
    environ: dict[str, Any], start_response: StartResponse, refusal: Refusal, service: str | None
) -> Iterable[bytes]:
    """AWS's error answer for the request's protocol (JSON, EC2's query, or query)."""
    request_id = str(uuid.uuid4())
    target = environ.get("HTTP_X_AMZ_TARGET")
    content_type = str(environ.get("CONTENT_TYPE", ""))
    if target or content_type.startswith("application/x-amz-json"):
        status, code, message = refusal.json
        body = json.dumps({"__type": code, "message": message}).encode()
        headers = [("Content-Type", "application/x-amz-json-1.1"), ("x-amzn-ErrorType", code)]
    elif service == "ec2":
        status, code, message = refusal.ec2
        body = (
            '<?xml version="1.0" encoding="UTF-8"?>\n<Response><Errors><Error>'
            f"<Code>{code}</Code><Message>{escape(message)}</Message></Error></Errors>"
            f"<RequestID>{request_id}</RequestID></Response>"
        ).encode()
        headers = [("Content-Type", "text/xml;charset=UTF-8")]
    else:
        status, code, message = refusal.query
        body = (
            "<ErrorResponse><Error><Type>Sender</Type>"
            f"<Code>{code}</Code><Message>{escape(message)}</Message></Error>"
            f"<RequestId>{request_id}</RequestId></ErrorResponse>"
        ).encode()
        headers = [("Content-Type", "text/xml")]
    reason = {400: "Bad Request", 401: "Unauthorized", 403: "Forbidden"}[status]
    headers += [("x-amzn-RequestId", request_id), ("Content-Length", str(len(body)))]
    start_response(f"{status} {reason}", headers)
    return [body]
