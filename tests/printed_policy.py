"""Reading `iam-policy`'s stdout: one policy document, or (when the engine's policy does not
fit one managed policy) a list of {"PolicyName", "PolicyDocument"}, all to be attached."""

from __future__ import annotations

import json
from typing import Any


def printed_documents(out: str) -> list[dict[str, Any]]:
    """The documents the caller attaches, in order."""
    printed = json.loads(out)
    if isinstance(printed, dict):
        return [printed]
    assert all(set(p) == {"PolicyName", "PolicyDocument"} for p in printed), printed
    return [p["PolicyDocument"] for p in printed]


def printed_policy(out: str) -> dict[str, Any]:
    """All statements of the printed policies in one document: what IAM grants the caller
    holding all of them (their Sids are unique across the parts)."""
    documents = printed_documents(out)
    statements = [s for d in documents for s in d["Statement"]]
    sids = [s["Sid"] for s in statements]
    assert len(sids) == len(set(sids)), sids
    return {"Version": documents[0]["Version"], "Statement": statements}
