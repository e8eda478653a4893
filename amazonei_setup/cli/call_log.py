"""`--debug`: one line on stderr per AWS call — service, operation, region, milliseconds,
retries and the error code — from botocore's own events. Only those facts are read: never the
parameters, the request or response bodies, or anything about credentials."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

_T0 = "amazonei_setup.debug.t0"
_OPERATION = "amazonei_setup.debug.operation"
_ATTEMPTS = "amazonei_setup.debug.attempts"


def log_calls(session: Any, region: str, log: Callable[[str], None]) -> Any:
    """Register the handlers on a boto3 session before its clients are made; returns it."""

    def before_call(model: Any, context: dict[str, Any], **_: Any) -> None:
        context[_T0] = time.monotonic()
        context[_OPERATION] = (model.service_model.service_name, model.name)

    def needs_retry(attempts: int = 1, request_dict: Any = None, **_: Any) -> None:
        context = (request_dict or {}).get("context") if isinstance(request_dict, dict) else None
        if isinstance(context, dict):
            context[_ATTEMPTS] = attempts

    def after_call(parsed: Any, model: Any, context: dict[str, Any], **_: Any) -> None:
        context.setdefault(_OPERATION, (model.service_model.service_name, model.name))
        code = (parsed or {}).get("Error", {}).get("Code") if isinstance(parsed, dict) else None
        log(_line(context, code))

    def after_call_error(exception: BaseException, context: dict[str, Any], **_: Any) -> None:
        log(_line(context, type(exception).__name__))

    def _line(context: dict[str, Any], code: str | None) -> str:
        service, operation = context.get(_OPERATION, ("?", "?"))
        started = context.get(_T0)  # absent when a more specific handler answered first
        elapsed_ms = max(time.monotonic() - started, 0) * 1000 if started else 0
        retries = max(int(context.get(_ATTEMPTS, 1)) - 1, 0)
        line = f"aws {service} {operation} {region} {elapsed_ms:.0f} ms retries={retries}"
        return line + (f" error={code}" if code else "")

    events = session.events  # first in, last out: the time includes every other handler's
    events.register_first("before-call", before_call)
    events.register_first("needs-retry", needs_retry)
    events.register_last("after-call", after_call)
    events.register_last("after-call-error", after_call_error)
    return session
