"""Every price says where it came from: the offline answer is the catalog's dated list price."""

from __future__ import annotations

from amazonei_setup.spec.catalog import load_catalog
from amazonei_setup.spec.pricing import offline_price


def test_an_offline_price_names_its_region_and_date():
    catalog = load_catalog()
    price = offline_price(catalog, "m5.large", "eia2.medium")
    assert price is not None and price.offline
    assert price.usd_per_hour == catalog.price_per_hour("m5.large", "eia2.medium")
    assert price.source == f"us-east-1 list price of {catalog.prices_as_of}, offline"
    assert price.to_dict()["price_source"] == price.source


def test_a_type_the_catalog_does_not_price_has_no_offline_price():
    assert offline_price(load_catalog(), "x9z.metal") is None
