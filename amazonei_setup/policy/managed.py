"""An engine's caller policy as IAM managed policies: one when it fits, several when not.

IAM holds a managed policy to 6,144 characters, white space not counted (IAM User Guide, "IAM
and AWS STS quotas", docs/DESIGN.md). The cloudformation policy grants what CloudFormation's
handlers call with the caller's credentials beside the tool's own calls, and that is more: it
is printed as two policies, split along statements, each named for what it grants, and the
caller attaches both (at most 10 managed policies per user or role by default).
"""

from __future__ import annotations

import json
from typing import Any

from amazonei_setup.policy.stacks import policy_for
from amazonei_setup.resources.naming import PREFIX

MANAGED_POLICY_LIMIT = 6144  # characters, white space not counted

# How an engine's statements are grouped when its policy does not fit one managed policy:
# (name suffix, the Sids of that part); statements no part names go into the last part.
PARTS: dict[str, list[tuple[str, frozenset[str]]]] = {
    "cloudformation": [
        (
            # the tool's own calls: its stacks, what it reads, the agent's reports, the keys'
            # private halves, Session Manager, sweep's buckets
            "stacks",
            frozenset(
                {
                    "Discover",
                    "OurStacks",
                    "TagOurStacksOnCreate",
                    "PublicAmiParameters",
                    "PrivateKeysOfOurKeyPairs",
                    "AgentReports",
                    "SessionManagerToOurs",
                    "SessionManagerShell",
                    "OwnSessions",
                    "ReadOurBuckets",
                }
            ),
        ),
        # what CloudFormation's handlers do with the caller's credentials: the stack's
        # resources (instances, groups, endpoint, keys, launch template, role, profile)
        ("stack-resources", frozenset()),
    ],
}


def policy_size(document: dict[str, Any]) -> int:
    """The size IAM counts: the JSON's characters without white space."""
    return len("".join(json.dumps(document).split()))


def managed_policies(engine: str, region: str | None = None) -> list[dict[str, Any]]:
    """The engine's policy as [{"PolicyName", "PolicyDocument"}], each within the limit: one
    when the whole fits, else its PARTS (a part still too big is cut in statement order)."""
    document = policy_for(engine, region)
    name = f"{PREFIX}-{engine}"
    if policy_size(document) <= MANAGED_POLICY_LIMIT:
        return [{"PolicyName": name, "PolicyDocument": document}]
    parts = PARTS.get(engine) or [("part", frozenset())]
    grouped: list[tuple[str, list[dict[str, Any]]]] = [(suffix, []) for suffix, _ in parts]
    for statement in document["Statement"]:
        index = next(
            (i for i, (_, sids) in enumerate(parts) if statement["Sid"] in sids), len(parts) - 1
        )
        grouped[index][1].append(statement)
    policies: list[dict[str, Any]] = []
    for suffix, statements in grouped:
        for i, chunk in enumerate(_chunks(document["Version"], statements)):
            label = suffix if i == 0 else f"{suffix}-{i + 1}"
            policies.append(
                {
                    "PolicyName": f"{name}-{label}",
                    "PolicyDocument": {"Version": document["Version"], "Statement": chunk},
                }
            )
    return policies


def _chunks(version: str, statements: list[dict[str, Any]]) -> list[list[dict[str, Any]]]:
    """Statements in order, cut where the next one would take a document over the limit."""
    chunks: list[list[dict[str, Any]]] = []
    for statement in statements:
        if policy_size({"Version": version, "Statement": [statement]}) > MANAGED_POLICY_LIMIT:
            raise ValueError(f"statement {statement['Sid']} alone exceeds a managed policy")
        grown = [*chunks[-1], statement] if chunks else None
        if grown and policy_size({"Version": version, "Statement": grown}) <= MANAGED_POLICY_LIMIT:
            chunks[-1] = grown
        else:
            chunks.append([statement])
    return [c for c in chunks if c]
