"""The Price List Query API (`pricing:GetProducts`), which moto does not have, answered from a
recorded, dated snapshot (price_snapshot.json) in AWS's own shape: `PriceList` is a list of
JSON strings, each a product with `product.attributes` and `terms.OnDemand` (AWS Price List
Query API, "GetProducts"). Only TERM_MATCH filters exist; a product matches when every one
does. Pages hold `MaxResults` products (AWS: at most 100, the default) and `NextToken` asks
for the next one. Served by the server (server.py sends every request signed for `pricing`
here) and, for in-process tests, through a botocore `before-send` hook (`answer_request`).
"""

from __future__ import annotations

import json
import zlib
from functools import lru_cache
from pathlib import Path
from typing import Any

SNAPSHOT = Path(__file__).with_name("price_snapshot.json")
TARGET_PREFIX = "AWSPriceListService."


@lru_cache(maxsize=1)
def snapshot() -> dict[str, Any]:
    return json.loads(SNAPSHOT.read_text())


PAGE_MAX = 100


def _product(
    region: str, instance_type: str, usd: float, recorded: str, family: str
) -> dict[str, Any]:
    # A stable SKU per (region, type): str hash() is salted per process, crc32 is not.
    sku = "SANDBOX" + format(zlib.crc32(f"{region}/{instance_type}".encode()), "010d")
    term = f"{sku}.JRTCKXETXF"
    return {
        "product": {
            "productFamily": "Compute Instance",
            "sku": sku,
            "attributes": {
                "instanceType": instance_type,
                "instanceFamily": family,
                "regionCode": region,
                "operatingSystem": "Linux",
                "tenancy": "Shared",
                "preInstalledSw": "NA",
                "capacitystatus": "Used",
                "servicecode": "AmazonEC2",
            },
        },
        "serviceCode": "AmazonEC2",
        "terms": {
            "OnDemand": {
                term: {
                    "sku": sku,
                    "offerTermCode": "JRTCKXETXF",
                    "effectiveDate": f"{recorded}T00:00:00Z",
                    "priceDimensions": {
                        f"{term}.6YS6EN2CT7": {
                            "unit": "Hrs",
                            "pricePerUnit": {"USD": f"{usd:.10f}"},
                            "description": f"${usd} per On Demand Linux {instance_type} hour",
                        }
                    },
                }
            }
        },
        "version": recorded,
        "publicationDate": f"{recorded}T00:00:00Z",
    }


def get_products(request: dict[str, Any]) -> dict[str, Any]:
    """GetProducts' answer for `request` (its JSON body)."""
    if request.get("ServiceCode") != "AmazonEC2":
        return {"FormatVersion": "aws_v1", "PriceList": []}
    wanted = {f.get("Field"): f.get("Value") for f in request.get("Filters") or []}
    data = snapshot()
    families = data.get("instance_families") or {}
    products = [
        _product(
            region,
            instance_type,
            float(usd),
            data["recorded"],
            families.get(instance_type.split(".")[0], "General purpose"),
        )
        for region, prices in data["regions"].items()
        for instance_type, usd in prices.items()
    ]
    matching = [
        json.dumps(p)
        for p in products
        if all(p["product"]["attributes"].get(k) == v for k, v in wanted.items())
    ]
    size = min(int(request.get("MaxResults") or PAGE_MAX), PAGE_MAX)
    start = int(request.get("NextToken") or 0)
    answer: dict[str, Any] = {
        "FormatVersion": "aws_v1",
        "PriceList": matching[start : start + size],
    }
    if start + size < len(matching):
        answer["NextToken"] = str(start + size)
    return answer


def answer(target: str, body: bytes) -> tuple[int, dict[str, Any]]:
    """(HTTP status, JSON answer) for one request to the Pricing service."""
    action = target.removeprefix(TARGET_PREFIX)
    if action != "GetProducts":
        return 400, {
            "__type": "InvalidParameterException",
            "Message": f"the sandbox's Pricing service answers GetProducts only, not {action}",
        }
    try:
        request = json.loads(body or b"{}")
    except ValueError:
        return 400, {"__type": "InvalidParameterException", "Message": "the body is not JSON"}
    try:
        return 200, get_products(request)
    except (TypeError, ValueError):
        return 400, {"__type": "InvalidNextTokenException", "Message": "the token is not valid"}


def answer_request(request: Any, **_: Any) -> Any:
    """A botocore `before-send` handler: the same answer, for clients in this process."""
    from botocore.awsrequest import AWSResponse

    target = request.headers.get("X-Amz-Target", b"")
    target = target.decode() if isinstance(target, bytes) else str(target)
    status, document = answer(target, request.body)
    raw = _Raw(json.dumps(document).encode())
    return AWSResponse(request.url, status, {"Content-Type": "application/x-amz-json-1.1"}, raw)


class _Raw:
    def __init__(self, data: bytes) -> None:
        self._data = data

    def stream(self, **_: Any) -> Any:
        yield self._data
