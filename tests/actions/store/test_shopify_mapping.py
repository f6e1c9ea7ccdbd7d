"""Shopify's statuses and return reasons in Atiende's terms (``actions.store.shopify_mapping``),
the tables the webhooks reuse."""

from __future__ import annotations

import pytest

from actions.store import OrderStatus
from actions.store.shopify_mapping import SHIPMENT_STATUS, return_reason, status_from_shopify


@pytest.mark.parametrize("node,expected", [
    ({"displayFinancialStatus": "PENDING"}, OrderStatus.PENDING),
    ({"displayFinancialStatus": "AUTHORIZED"}, OrderStatus.PENDING),
    ({"displayFinancialStatus": "PAID"}, OrderStatus.PAID),
    ({"displayFinancialStatus": "PAID", "fulfillments": [
        {"status": "SUCCESS", "displayStatus": "CONFIRMED"}]}, OrderStatus.SHIPPED),
    ({"displayFinancialStatus": "PAID", "fulfillments": [
        {"status": "SUCCESS", "displayStatus": "OUT_FOR_DELIVERY"}]}, OrderStatus.IN_TRANSIT),
    ({"displayFinancialStatus": "PAID", "fulfillments": [
        {"status": "SUCCESS", "displayStatus": "DELIVERED"},
        {"status": "SUCCESS", "displayStatus": "IN_TRANSIT"}]}, OrderStatus.IN_TRANSIT),
    ({"displayFinancialStatus": "PAID", "fulfillments": [
        {"status": "SUCCESS", "displayStatus": "DELIVERED"},
        {"status": "CANCELLED", "displayStatus": "CANCELED"}]}, OrderStatus.DELIVERED),
    ({"displayFinancialStatus": "REFUNDED"}, OrderStatus.REFUNDED),
    ({"displayFinancialStatus": "PAID", "cancelledAt": "2026-11-20T10:00:00Z"},
     OrderStatus.CANCELLED),
])
def test_status_table(node, expected):
    assert status_from_shopify(node) == expected


def test_webhook_shipment_statuses_map_too():
    # REST fulfillment webhooks send lower-case shipment_status values
    assert SHIPMENT_STATUS["out_for_delivery"] == OrderStatus.IN_TRANSIT
    assert SHIPMENT_STATUS["delivered"] == OrderStatus.DELIVERED


@pytest.mark.parametrize("text,code", [
    ("me quedan pequeñas", "SIZE_TOO_SMALL"), ("too big", "SIZE_TOO_LARGE"),
    ("llegó roto", "DEFECTIVE"), ("no es como en la foto", "NOT_AS_DESCRIBED"),
    ("porque sí", "OTHER")])
def test_return_reasons(text, code):
    assert return_reason(text) == code
