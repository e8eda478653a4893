"""A small, honest IAM evaluator for the identity policies this tool writes, so the sandbox can
refuse what AWS would refuse (moto evaluates no role's policy for the requests it serves).

It decides one request: an action on one resource ARN with a request context. It knows exactly
the statement shapes the tool emits, read the way the IAM User Guide describes them
(https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_evaluation-logic.html):

- `Effect` Allow or Deny; an explicit Deny wins, and nothing is allowed without an Allow.
- `Action` and `Resource`, a string or a list, with `*` and `?` wildcards; actions compare
  without regard to case, resources with it.
- Policy variables `${key}` in `Resource` and in condition values, taken from the context; a
  statement whose variable has no value applies to nothing (AWS: the statement is invalid).
- `Condition` operators StringEquals, StringNotEquals, StringLike, StringNotLike, ArnEquals,
  ArnLike, Bool and
  Null, the `ForAllValues:`/`ForAnyValue:` prefixes and the `IfExists` suffix; keys compare
  without regard to case. Any other operator (or `NotAction`, `NotResource`) raises
  UnsupportedPolicy: better a loud sandbox than a wrong answer.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from typing import Any, Literal

Context = Mapping[str, "str | Sequence[str]"]
_VARIABLE = re.compile(r"\$\{([^}]+)\}")
_STRING_OPERATORS = {
    "StringEquals",
    "StringNotEquals",
    "StringLike",
    "StringNotLike",
    "ArnEquals",
    "ArnLike",
}


class UnsupportedPolicy(ValueError):
    """A policy element this evaluator does not know; it will not guess."""


def allowed(
    documents: Iterable[Mapping[str, Any]], action: str, resource: str, context: Context
) -> bool:
    """Whether the policies allow `action` on `resource` for a request with `context`."""
    return decision(documents, action, resource, context) == "Allow"


def decision(
    documents: Iterable[Mapping[str, Any]], action: str, resource: str, context: Context
) -> Literal["Allow", "Deny"] | None:
    """ "Deny" when a statement that applies denies, else "Allow" when one allows, else None
    (nothing applies: a bucket policy then leaves the decision to the identity's policies)."""
    keyed = {key.lower(): _values(value) for key, value in context.items()}
    allow = False
    for document in documents:
        for statement in _statements(document):
            if not _applies(statement, action, resource, keyed):
                continue
            if statement.get("Effect") == "Deny":
                return "Deny"
            allow = allow or statement.get("Effect") == "Allow"
    return "Allow" if allow else None


def _statements(document: Mapping[str, Any]) -> list[Mapping[str, Any]]:
    found = document.get("Statement", [])
    return [found] if isinstance(found, Mapping) else list(found)


def _applies(
    statement: Mapping[str, Any], action: str, resource: str, context: dict[str, list[str]]
) -> bool:
    for element in ("NotAction", "NotResource", "NotPrincipal"):
        if element in statement:
            raise UnsupportedPolicy(f"{element} is not evaluated by the sandbox")
    actions = _listed(statement.get("Action"))
    if not any(_glob(action.lower(), pattern.lower()) for pattern in actions):
        return False
    patterns = [_resolve(p, context) for p in _listed(statement.get("Resource"))]
    if not any(p is not None and _glob(resource, p) for p in patterns):
        return False
    conditions = statement.get("Condition") or {}
    return all(
        _condition(operator, key, _listed(wanted), context)
        for operator, pairs in conditions.items()
        for key, wanted in pairs.items()
    )


def _condition(operator: str, key: str, wanted: list[str], context: dict[str, list[str]]) -> bool:
    present = context.get(key.lower())
    if operator == "Null":
        return all((present is None) == (value.lower() == "true") for value in wanted)
    qualifier, _, operator = operator.rpartition(":")
    if_exists = operator.endswith("IfExists")
    operator = operator.removesuffix("IfExists")
    if operator == "Bool" and not qualifier:  # "true" / "false", compared without case
        if present is None:
            return if_exists
        return len(present) == 1 and present[0].lower() in {v.lower() for v in wanted}
    if operator not in _STRING_OPERATORS or qualifier not in ("", "ForAllValues", "ForAnyValue"):
        raise UnsupportedPolicy(f"the condition operator {operator!r} is not evaluated")
    resolved = [_resolve(value, context) for value in wanted]
    values = [value for value in resolved if value is not None]  # unresolved: matches nothing
    negated = operator in ("StringNotEquals", "StringNotLike")
    like = operator.endswith("Like")

    def matches(given: str) -> bool:
        hit = any(_glob(given, v) if like else given == v for v in values)
        return not hit if negated else hit

    if qualifier == "ForAllValues":
        return all(matches(given) for given in present or [])
    if present is None:  # an absent key matches nothing; a negated operator is then true
        return if_exists or negated
    if qualifier == "ForAnyValue":
        return any(matches(given) for given in present)
    return len(present) == 1 and matches(present[0])


def _resolve(text: str, context: dict[str, list[str]]) -> str | None:
    """`text` with its `${key}` variables replaced; None when one has no single value."""
    missing = False

    def value(found: re.Match[str]) -> str:
        nonlocal missing
        name = found.group(1)
        if name in ("*", "?", "$"):  # IAM's escapes for literal characters: never emitted
            raise UnsupportedPolicy(f"the escape ${{{name}}} is not evaluated")
        given = context.get(name.lower())
        if not given or len(given) != 1:
            missing = True
            return ""
        return given[0]

    resolved = _VARIABLE.sub(value, text)
    return None if missing else resolved


def _glob(text: str, pattern: str) -> bool:
    """IAM's wildcards: `*` any run of characters (`/` included), `?` one; nothing else."""
    regex = "".join(".*" if c == "*" else "." if c == "?" else re.escape(c) for c in pattern)
    return re.fullmatch(regex, text, flags=re.DOTALL) is not None


def _listed(value: Any) -> list[str]:
    if value is None:
        return []
    return [value] if isinstance(value, str) else [str(v) for v in value]


def _values(value: str | Sequence[str]) -> list[str]:
    return [value] if isinstance(value, str) else list(value)
