"""Each request's answer is shaped by that request alone (amazonei_sandbox/request_transformers.py).

moto's DescribeKeyPairs wrote its IncludePublicKey choice into a dict shared by every EC2
response: two server threads at once could answer one request with the other's choice, and the
first such write changed the dict's size under a thread serializing any other EC2 answer
("dictionary changed size during iteration", a 500 from the sandbox). The test runs the two
requests in the order that shows it, every time.
"""

from __future__ import annotations

import threading
from typing import Any

import boto3
from moto.ec2.models import ec2_backends
from moto.ec2.responses import EC2Response

REGION = "us-west-2"
ACCOUNT = "123456789012"


class _HeldKeyPair:
    """A key pair whose answer waits, once its handler has run, until `release` is set."""

    def __init__(self, pair: Any, reached: threading.Event, release: threading.Event) -> None:
        self._pair, self._reached, self._release = pair, reached, release

    def __getattr__(self, name: str) -> Any:
        self._reached.set()
        self._release.wait(timeout=30)
        return getattr(self._pair, name)


def test_a_key_pair_answer_keeps_its_own_include_public_key(aws, monkeypatch):
    ec2 = boto3.client("ec2", region_name=REGION)
    ec2.create_key_pair(KeyName="seat-1")
    backend = ec2_backends[ACCOUNT][REGION]
    real = backend.describe_key_pairs
    reached, release = threading.Event(), threading.Event()

    def held_for_the_first(*args: Any, **kwargs: Any) -> list[Any]:
        pairs = real(*args, **kwargs)
        if threading.current_thread().name == "with-public-key":
            return [_HeldKeyPair(p, reached, release) for p in pairs]
        return pairs

    monkeypatch.setattr(backend, "describe_key_pairs", held_for_the_first)
    answers: dict[str, Any] = {}

    def with_public_key() -> None:
        answers["with"] = ec2.describe_key_pairs(IncludePublicKey=True)

    first = threading.Thread(target=with_public_key, name="with-public-key")
    first.start()
    assert reached.wait(timeout=30)  # its handler has run; its answer is not yet written
    answers["without"] = ec2.describe_key_pairs()
    release.set()
    first.join(timeout=30)

    assert "PublicKey" in answers["with"]["KeyPairs"][0]
    assert "PublicKey" not in answers["without"]["KeyPairs"][0]
    shared = EC2Response.RESPONSE_KEY_PATH_TO_TRANSFORMER
    assert not any("KeyPairs" in path for path in shared)  # nothing of a request stays behind
