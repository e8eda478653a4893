"""The sandbox's Pricing service (moto has none): GetProducts answered from the recorded,
dated snapshot, in AWS's shape, through the server's own route (issue 21)."""

from __future__ import annotations

import io
import json
from typing import Any

from amazonei_sandbox import server
from amazonei_sandbox.price_list import snapshot
from amazonei_setup.spec.pricing import on_demand_usd, price_list_filters


def _pricing_request(body: dict[str, Any], target: str = "AWSPriceListService.GetProducts"):
    data = json.dumps(body).encode()
    return {
        "PATH_INFO": "/",
        "REQUEST_METHOD": "POST",
        "CONTENT_LENGTH": str(len(data)),
        "wsgi.input": io.BytesIO(data),
        "HTTP_X_AMZ_TARGET": target,
        "HTTP_AUTHORIZATION": (
            "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20261207/us-east-1/pricing/aws4_request, "
            "SignedHeaders=host, Signature=abc"
        ),
    }


def _call(environ: dict[str, Any]) -> tuple[str, dict[str, Any]]:
    middleware = server.SeedingMiddleware(lambda e, s: [b"moto"], seed=lambda *_: None)
    status: list[str] = []
    body = b"".join(middleware(environ, lambda s, h: status.append(s)))
    return status[0], json.loads(body)


def test_get_products_answers_one_on_demand_price_per_region_and_type() -> None:
    request = {"ServiceCode": "AmazonEC2", "Filters": price_list_filters("eu-west-1", "g5.xlarge")}
    status, answer = _call(_pricing_request(request))
    assert status.startswith("200")
    assert len(answer["PriceList"]) == 1 and isinstance(answer["PriceList"][0], str)
    assert on_demand_usd(answer["PriceList"]) == snapshot()["regions"]["eu-west-1"]["g5.xlarge"]


def test_a_region_or_type_without_a_price_gets_an_empty_list_and_other_actions_an_error() -> None:
    request = {"ServiceCode": "AmazonEC2", "Filters": price_list_filters("mars-1", "g5.xlarge")}
    assert _call(_pricing_request(request))[1]["PriceList"] == []
    status, answer = _call(_pricing_request({}, "AWSPriceListService.DescribeServices"))
    assert status.startswith("400") and answer["__type"] == "InvalidParameterException"


def test_the_snapshot_is_dated_and_says_where_its_figures_came_from() -> None:
    data = snapshot()
    assert data["recorded"] and "NOT read from AWS" not in data["provenance"]
    assert "not read from AWS" in data["provenance"]


def test_get_products_pages_and_filters_by_the_price_lists_instance_family() -> None:
    filters = price_list_filters("us-east-1", instance_family="GPU instance")
    request: dict[str, Any] = {"ServiceCode": "AmazonEC2", "Filters": filters, "MaxResults": 2}
    names: list[str] = []
    while True:
        status, answer = _call(_pricing_request(request))
        assert status.startswith("200") and len(answer["PriceList"]) <= 2
        names += [
            json.loads(p)["product"]["attributes"]["instanceType"] for p in answer["PriceList"]
        ]
        if "NextToken" not in answer:
            break
        request["NextToken"] = answer["NextToken"]
    gpus = {n for n in snapshot()["regions"]["us-east-1"] if n.startswith(("g", "p"))}
    assert sorted(names) == sorted(gpus)
