"""The fixed EC2 answers computed once per process (process_caches.cache_fixed_ec2_answers):
each distinct question still gets its own answer, per region, and an error is never kept."""

from __future__ import annotations

import boto3
import pytest
from botocore.exceptions import ClientError
from moto.ec2.responses.instances import InstanceResponse

from amazonei_sandbox import process_caches


def _offered_zones(region: str, instance_type: str) -> list[str]:
    ec2 = boto3.client("ec2", region_name=region)
    pages = ec2.get_paginator("describe_instance_type_offerings").paginate(
        LocationType="availability-zone",
        Filters=[{"Name": "instance-type", "Values": [instance_type]}],
    )
    return sorted(o["Location"] for page in pages for o in page["InstanceTypeOfferings"])


def test_each_region_and_question_gets_its_own_answer_and_a_repeat_the_same(aws) -> None:
    assert getattr(InstanceResponse.describe_instance_types, "answers_once", False)
    oregon = _offered_zones("us-west-2", "inf1.xlarge")
    ireland = _offered_zones("eu-west-1", "inf1.xlarge")
    assert oregon and all(zone.startswith("us-west-2") for zone in oregon)
    assert ireland and all(zone.startswith("eu-west-1") for zone in ireland)
    assert _offered_zones("us-west-2", "inf1.xlarge") == oregon  # asked again: the same
    ec2 = boto3.client("ec2", region_name="us-west-2")
    one = ec2.describe_instance_types(InstanceTypes=["inf1.xlarge"])["InstanceTypes"]
    other = ec2.describe_instance_types(InstanceTypes=["g5.xlarge"])["InstanceTypes"]
    assert [t["InstanceType"] for t in one] == ["inf1.xlarge"]
    assert [t["InstanceType"] for t in other] == ["g5.xlarge"]
    kept = {key[0] for key in process_caches._ANSWERS}
    assert kept == {"describe_instance_types", "describe_instance_type_offerings"}


def test_an_unknown_type_is_refused_every_time(aws) -> None:
    ec2 = boto3.client("ec2", region_name="us-west-2")
    for _ in range(2):
        with pytest.raises(ClientError) as refused:
            ec2.describe_instance_types(InstanceTypes=["inf9.huge"])
        assert refused.value.response["Error"]["Code"] == "InvalidInstanceType"


class _Handler:
    def method(self, event_name, **kwargs):
        return event_name

    def strict(self, event_name):
        return event_name

    def __call__(self, **kwargs):
        return kwargs


def _closure(**kwargs):
    return kwargs


def test_the_kwargs_check_answers_as_botocores_own() -> None:
    """botocore refuses a handler without **kwargs; the fast check must say what inspect says."""
    import functools
    import inspect

    handler = _Handler()
    handlers = [
        _closure,
        lambda event_name: event_name,
        lambda **kwargs: kwargs,
        handler.method,
        handler.strict,
        handler,
        functools.partial(_closure, a=1),
        functools.partial(handler.strict),
        print,
    ]
    for func in handlers:
        assert process_caches._accepts_kwargs(func) == bool(inspect.getfullargspec(func)[2]), func


def test_sessions_share_event_names_and_still_refuse_a_handler_without_kwargs(aws) -> None:
    session = boto3.Session(region_name="us-west-2")
    with pytest.raises(ValueError, match="kwargs"):
        session.events.register("before-call.ec2.RunInstances", lambda params: None)
    client = session.client("ec2")
    seen = []
    client.meta.events.register("before-call.ec2.DescribeRegions", lambda **kw: seen.append(1))
    client.describe_regions()
    assert seen == [1]  # through the shared name cache, the handler is still found
