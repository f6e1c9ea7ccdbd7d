"""Shopify specifics against the GraphQL stand-in: the access-token header, every document valid
against the schema and within the cost limit, errors in a 200 body, missing scopes, the
asynchronous cancel job, address updates, return requests and VIP tags. The cost bucket and the
client-credentials token: ``test_shopify_http.py``; the status tables: ``test_shopify_mapping.py``.
"""

from __future__ import annotations

import json

import pytest
from graphql import parse, validate

from actions.store import OperationNotSupported, OrderStatus, StoreUnavailable
from actions.store import shopify_queries as q
from tests.actions.helpers import demo
from tests.actions.store.conftest import shopify_store
from tests.actions.store.standins.shopify import SCHEMA
from tests.actions.store.standins.shopify_cost import MAX_QUERY_COST, requested_cost

DOCUMENTS = {
    "ORDER_IDS": q.ORDER_IDS, "ORDER": q.ORDER, "ORDER_CANCEL": q.ORDER_CANCEL, "JOB": q.JOB,
    "ORDER_UPDATE_ADDRESS": q.ORDER_UPDATE_ADDRESS, "RETURN_REQUEST": q.RETURN_REQUEST,
    "ACCESS_SCOPES": q.ACCESS_SCOPES,
    **{f"product_ids translations={t}": q.product_ids_query(translations=t) for t in (True, False)},
    **{f"product translations={t} inventory={i}": q.product_query(translations=t, inventory=i)
       for t in (True, False) for i in (True, False)},
    **{f"more_variants inventory={i}": q.more_variants_query(inventory=i) for i in (True, False)},
}


@pytest.mark.parametrize("name", sorted(DOCUMENTS))
def test_every_document_is_valid_and_within_the_cost_limit(name):
    document = DOCUMENTS[name]
    assert validate(SCHEMA, parse(document)) == []
    assert requested_cost(SCHEMA, document, {"id": "x", "query": "x", "locale": "en"}) \
        <= MAX_QUERY_COST / 2  # room for the bucket to serve two at once


async def test_requests_carry_the_access_token_header(shop):
    await shopify_store(shop).get_order(demo(shop.orders, "in_transit").id)
    assert shop.requests
    for r in shop.requests:
        assert r.headers["x-shopify-access-token"] == shop.token
        assert "authorization" not in r.headers
        assert r.path == "/admin/api/2025-01/graphql.json"


async def test_the_number_is_the_order_name(shop):
    expected = demo(shop.orders, "cancellable")
    await shopify_store(shop).get_order(expected.id)
    first = json.loads(shop.requests[0].body)
    assert first["variables"] == {"query": f'name:"#{expected.id[2:]}"'}


async def test_graphql_errors_in_a_200_body_are_unavailable(shop):
    shop.faults.add(200, body={"errors": [{"message": "Internal error", "extensions": {
        "code": "INTERNAL_SERVER_ERROR"}}]}, times=1)
    with pytest.raises(StoreUnavailable, match="INTERNAL_SERVER_ERROR"):
        await shopify_store(shop).get_order(demo(shop.orders, "cancellable").id)


async def test_without_write_orders_a_cancel_is_an_agent_job(shop):
    shop.scopes.discard("write_orders")
    with pytest.raises(OperationNotSupported) as info:
        await shopify_store(shop).cancel_order(demo(shop.orders, "cancellable").id)
    assert info.value.why == "permission"


async def test_missing_catalogue_scopes_degrade_instead_of_failing(shop):
    shop.scopes -= {"read_inventory", "read_translations"}
    adapter = shopify_store(shop)
    [runner] = (await adapter.search_products("urban runner", lang="en"))[:1]
    assert runner.name == "Zapatillas Urban Runner"  # the store's language, no translations
    assert all(v.stock is None for v in runner.variants)
    assert any(v.available for v in runner.variants) and not all(
        v.available for v in runner.variants)


async def test_english_names_come_from_translations(shop):
    [boots] = (await shopify_store(shop).search_products("chelsea boots", lang="en"))[:1]
    assert boots.name == "Leather Chelsea boots"
    assert "water-repellent" in boots.description
    assert {v.option("colour") for v in boots.variants} == {"Negro", "Marrón"}


async def test_cancel_waits_for_the_job_and_refunds(shop):
    expected = demo(shop.orders, "cancellable")
    adapter = shopify_store(shop)
    await adapter.cancel_order(expected.id)
    assert len([r for r in shop.requests if b"AtiendeJob" in r.body]) >= 1
    fresh = await adapter.get_order(expected.id)
    assert fresh.status == OrderStatus.CANCELLED
    assert [(r.amount_cents, r.status) for r in fresh.refunds] == [
        (expected.total_cents, "processing")]


async def test_address_update_and_reread(shop):
    expected = demo(shop.orders, "pending")
    adapter = shopify_store(shop)
    await adapter.change_address(expected.id, "Calle Mayor 5, 2º A, 28013 Madrid")
    assert (await adapter.get_order(expected.id)).shipping_address == \
        "Calle Mayor 5, 2º A, 28013 Madrid"


async def test_return_request_is_recorded_as_requested(shop):
    expected = demo(shop.orders, "return_window")
    adapter = shopify_store(shop)
    boots = expected.items[0]
    record = await adapter.create_return(expected.id, item_ids=[boots["id"]],
                                         reason="me quedan pequeñas", refund_cents=12900)
    assert record.status == "requested" and record.rma == f"#{expected.id[2:]}-R1"
    fresh = await adapter.get_order(expected.id)
    [stored] = [r for r in fresh.returns if r.rma == record.rma]
    assert stored.item_ids == (boots["id"],) and stored.status == "requested"
    assert "SIZE_TOO_SMALL" in stored.reason


async def test_vip_tag_marks_the_customer(shop):
    vip = demo(shop.orders, "high_amount")
    assert vip.customer["vip"]
    assert (await shopify_store(shop).get_order(vip.id)).customer.vip
    regular = demo(shop.orders, "cancellable")
    assert not (await shopify_store(shop).get_order(regular.id)).customer.vip
