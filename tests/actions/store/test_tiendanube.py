"""Tiendanube specifics against the stand-in: the ``Authentication: bearer`` header and the
User-Agent with a contact, numbers that are not ids, ``Link`` pagination, the leaky-bucket rate
limit, cancellation with an owner note, what the API cannot do, and the status table."""

from __future__ import annotations

import asyncio
import json

import pytest

from actions.store import OperationNotSupported, OrderStatus, SettingsError, StoreSettings
from actions.store.tiendanube import TiendanubeStore, status_from_tiendanube
from tests.actions.helpers import demo
from tests.actions.store.conftest import settings_for


def store(tn, **overrides) -> TiendanubeStore:
    return TiendanubeStore(settings_for(tn, **overrides))


async def test_requests_carry_authentication_bearer_and_a_contact_user_agent(tn):
    await store(tn).get_order(demo(tn.orders, "in_transit").id)
    assert tn.requests
    for r in tn.requests:
        assert r.headers["authentication"] == f"bearer {tn.token}"
        assert "authorization" not in r.headers
        assert r.headers["user-agent"] == "Atiende tests (dev@atiende.invalid)"


def test_settings_refuse_a_user_agent_without_contact():
    env = {"STORE_BACKEND": "tiendanube", "TIENDANUBE_STORE_ID": "271146",
           "TIENDANUBE_ACCESS_TOKEN": "tok-9f8e7d", "TIENDANUBE_USER_AGENT": "Atiende"}
    with pytest.raises(SettingsError, match="TIENDANUBE_USER_AGENT"):
        StoreSettings.from_env(env)
    env["TIENDANUBE_USER_AGENT"] = "Atiende (soporte@mitienda.example)"
    settings = StoreSettings.from_env(env)
    assert settings.tiendanube_api_url == "https://api.tiendanube.com/v1"
    assert "tok-9f8e7d" not in repr(settings)  # the token stays out of repr
    assert settings.secrets() == ["tok-9f8e7d"]


async def test_the_number_is_searched_and_matched_not_used_as_id(tn):
    expected = demo(tn.orders, "cancellable", "en")
    order = await store(tn).get_order(expected.id)
    assert order.id == expected.id and order.customer.language == "en"
    searches = tn.calls("/orders")
    assert [r.query.get("q") for r in searches] == [expected.id[2:]]
    assert all(not r.path.endswith(expected.id[2:]) for r in tn.requests)


async def test_link_pagination_and_404_past_the_last_page(tn):
    customer = demo(tn.orders, "in_transit").customer
    orders = await store(tn).list_customer_orders(customer["email"])
    assert {o.id for o in orders} == {o.id for o in tn.orders
                                      if o.customer["email"] == customer["email"]}
    assert await store(tn).list_customer_orders("nobody@example.com") == []


async def test_the_throttle_keeps_sequential_lookups_inside_the_bucket(tn):
    tn.bucket = 6
    adapter = store(tn, cache_seconds=0)
    expected = demo(tn.orders, "pending")
    for _ in range(10):
        assert (await adapter.get_order(expected.id)).id == expected.id
    assert adapter.throttle.remaining is not None
    assert tn.rejected == 0  # the bucket never overflowed


async def test_a_burst_over_the_bucket_is_absorbed_by_429_retries(tn):
    tn.bucket = 4
    adapter = store(tn, cache_seconds=0, deadline=15.0)
    ids = [o.id for o in tn.orders[:8]]
    orders = await asyncio.gather(*(adapter.get_order(i) for i in ids))
    assert [o.id for o in orders] == ids
    assert tn.rejected > 0  # the burst did overflow, and every lookup still succeeded


async def test_cancel_posts_the_cancel_endpoint_and_leaves_the_team_a_note(tn):
    expected = demo(tn.orders, "cancellable")
    adapter = store(tn)
    await adapter.cancel_order(expected.id)
    cancel = tn.calls("/cancel", "POST")
    assert len(cancel) == 1
    assert json.loads(cancel[0].body) == {"reason": "customer", "email": True, "restock": True}
    body = next(o for o in tn.tn_orders.values() if o["number"] == int(expected.id[2:]))
    assert "reembolso" in body["owner_note"]
    fresh = await adapter.get_order(expected.id)
    assert fresh.status == OrderStatus.CANCELLED and fresh.cancelled_at is not None


async def test_address_changes_and_returns_are_agent_work_on_tiendanube(tn):
    adapter = store(tn)
    assert adapter.supports("cancel_order")
    assert not adapter.supports("change_address") and not adapter.supports("create_return")
    with pytest.raises(OperationNotSupported):
        await adapter.change_address(demo(tn.orders, "cancellable").id, "Calle Mayor 5, Madrid")
    with pytest.raises(OperationNotSupported):
        await adapter.create_return(demo(tn.orders, "return_window").id, item_ids=[1],
                                    reason="talla")
    assert not [r for r in tn.requests if r.method != "GET"]


async def test_multilingual_catalogue_answers_in_the_shoppers_language(tn):
    adapter = store(tn)
    [es] = (await adapter.search_products("botas chelsea", lang="es"))[:1]
    [en] = (await adapter.search_products("chelsea boots", lang="en"))[:1]
    assert es.name == "Botas Chelsea de piel" and en.name == "Leather Chelsea boots"
    assert "hidrófugo" in es.description and "water-repellent" in en.description
    assert {v.option("colour") for v in en.variants} == {"Black", "Brown"}
    assert es.url == "https://tienda.atiende-demo.example/productos/botas-chelsea-piel/"


@pytest.mark.parametrize("fields,expected", [
    (("open", "pending", "unpacked"), OrderStatus.PENDING),
    (("open", "authorized", "unpacked"), OrderStatus.PENDING),
    (("open", "paid", "unpacked"), OrderStatus.PAID),
    (("open", "paid", "fulfilled"), OrderStatus.SHIPPED),
    (("open", "paid", "shipped"), OrderStatus.SHIPPED),
    (("closed", "paid", "delivered"), OrderStatus.DELIVERED),
    (("closed", "refunded", "delivered"), OrderStatus.REFUNDED),
    (("cancelled", "refunded", "unpacked"), OrderStatus.CANCELLED),
    (("open", "voided", "unpacked"), OrderStatus.CANCELLED),
])
def test_status_table(fields, expected):
    assert status_from_tiendanube(*fields) == expected
