"""What a signed request to the sandbox says, read without consuming it: the SigV4 credential
scope (access key, region, service) and the query form. Shared by the server's seeding
middleware and the throttle, which both look at a request before moto does."""

from __future__ import annotations

import io
import re
from typing import Any
from urllib.parse import parse_qs

# SigV4: "AWS4-HMAC-SHA256 Credential=AKID/20261121/us-west-2/ec2/aws4_request, ..."
_CREDENTIAL = re.compile(r"Credential=([^/,\s]+)/\d{8}/([a-z0-9-]+)/")
_SERVICE = re.compile(r"Credential=[^/,\s]+/\d{8}/[a-z0-9-]+/([a-z0-9-]+)/")
_MAX_FORM_BYTES = 1 << 20  # RunInstances with 16 KB of user data is ~25 KB


def credential_scope(authorization: str) -> tuple[str, str] | None:
    """(access key id, region) of a SigV4 Authorization header, or None when unsigned."""
    match = _CREDENTIAL.search(authorization)
    return (match.group(1), match.group(2)) if match else None


def credential_service(authorization: str) -> str | None:
    """The service a SigV4 Authorization header was signed for ("ec2", "ssm", ...)."""
    match = _SERVICE.search(authorization)
    return match.group(1) if match else None


def read_form(environ: dict[str, Any]) -> dict[str, list[str]]:
    """The request's query form (query string and url-encoded body), putting the body back in
    `wsgi.input` so that moto reads it as if nobody had."""
    form = parse_qs(environ.get("QUERY_STRING", ""), keep_blank_values=True)
    if environ.get("REQUEST_METHOD", "GET").upper() != "POST":
        return form
    if not str(environ.get("CONTENT_TYPE", "")).startswith("application/x-www-form-urlencoded"):
        return form
    stream = environ.get("wsgi.input")
    if stream is None:
        return form
    try:
        length = int(environ.get("CONTENT_LENGTH") or -1)
    except ValueError:
        length = -1
    if length < 0 and not environ.get("wsgi.input_terminated"):
        return form  # no length and no end marker: leave the body to moto untouched
    if length > _MAX_FORM_BYTES:
        return form
    body = stream.read(length) if length >= 0 else stream.read()  # chunked: read to its end
    environ["wsgi.input"] = io.BytesIO(body)
    environ["CONTENT_LENGTH"] = str(len(body))
    for key, values in parse_qs(body.decode("utf-8", "replace"), keep_blank_values=True).items():
        form.setdefault(key, []).extend(values)
    return form
