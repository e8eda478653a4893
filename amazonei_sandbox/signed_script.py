"""Whether an instance's user data is ours to run: a script this tool rendered and signed with
the state home's key (`amazonei_setup.seats.userdata`); anything else never runs
(docs/DESIGN.md, "Sandbox safety")."""

from __future__ import annotations

import base64
import binascii
from typing import Any

from amazonei_setup.seats.userdata import decode_user_data, verify


class NotOurs(Exception):
    """The user data is not a script this sandbox may run; the message says why."""


def our_script(moto_instance: Any, key: bytes) -> str:
    """The user data as a script, when it carries a valid signature; NotOurs otherwise."""
    encoded = getattr(moto_instance, "user_data", None)
    if encoded is None or encoded == "":
        raise NotOurs("the instance has no user data")
    if hasattr(encoded, "as_bytes"):  # moto 5: Base64EncodedString
        encoded = encoded.as_bytes()
    elif isinstance(encoded, list):  # older moto kept a list of strings
        encoded = encoded[0] if encoded else b""
    if isinstance(encoded, str):
        encoded = encoded.encode("ascii", "replace")
    try:
        script = decode_user_data(base64.b64decode(encoded, validate=True))
    except (binascii.Error, ValueError, OSError, EOFError) as error:
        raise NotOurs(f"the user data is not a script this tool rendered ({error})") from None
    if not verify(script, key):
        raise NotOurs(
            "the user data carries no valid amazonei-setup signature for this sandbox; "
            "only user data rendered with the key in the state home runs"
        )
    return script
