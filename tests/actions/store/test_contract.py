"""The same contract for every platform adapter, against its local stand-in over real HTTP.

Each test runs once per platform (WooCommerce, Tiendanube, Shopify): order lookup by the number the
shopper sees, identity fields, items, status mapping, tracking, refunds, the catalogue, the errors
(401, 404, 429 with Retry-After, 5xx, timeouts), the cache, the write rules and that no credential
ever reaches a log or an error message.
"""

from __future__ import annotations

import base64
import logging
from typing import Any

import pytest

from actions.store import (
    OperationNotSupported,
    OrderNotFound,
    OrderStatus,
    StoreUnavailable,
    build_store,
)
from actions.store.mapping import same_address
from tests.actions.helpers import demo
from tests.actions.store.conftest import settings_for

PLATFORMS = ["woocommerce", "tiendanube", "shopify"]
FIXTURES = {"woocommerce": "woo", "tiendanube": "tn", "shopify": "shop"}


@pytest.fixture(params=PLATFORMS)
def standin(request: pytest.FixtureRequest) -> Any:
    return request.getfixturevalue(FIXTURES[request.param])


def adapter(standin: Any, **overrides: Any) -> Any:
    return build_store(settings_for(standin, **overrides))


def order_of(standin: Any, scenario: str, language: str = "es", market: str | None = None) -> Any:
    return demo(standin.orders, scenario, language, market)


def order_requests(standin: Any) -> int:
    return len([r for r in standin.requests if "order" in r.path.lower() or r.method == "POST"])


@pytest.mark.parametrize("scenario,status", [
    ("in_transit", OrderStatus.SHIPPED), ("cancellable", OrderStatus.PAID),
    ("pending", OrderStatus.PENDING), ("return_window", OrderStatus.DELIVERED),
    ("refunded", OrderStatus.REFUNDED), ("cancelled", OrderStatus.CANCELLED),
])
async def test_lookup_by_the_number_the_shopper_sees(standin, scenario, status):
    expected = order_of(standin, scenario)
    order = await adapter(standin).get_order(expected.id)
    assert order.id == expected.id
    assert order.status in ({status, OrderStatus.IN_TRANSIT} if status == OrderStatus.SHIPPED
                            else {status})
    assert order.email == expected.customer["email"]
    assert order.phone.replace(" ", "")[-9:] == expected.customer["phone"].replace(" ", "")[-9:]
    assert order.customer.market == expected.customer["market"]
    assert order.customer.language == expected.customer["language"]
    assert order.currency == expected.currency and order.total_cents == expected.total_cents
    assert [(i.id, i.sku, i.quantity, i.unit_price_cents) for i in order.items] == [
        (i["id"], i["sku"], i["quantity"], i["unit_price_cents"]) for i in expected.items]
    assert [i.size for i in order.items] == [i["size"] for i in expected.items]
    assert same_address(order.shipping_address, expected.address)


async def test_shipment_tracking_and_delivery(standin):
    moving = order_of(standin, "in_transit")
    order = await adapter(standin).get_order(moving.id)
    assert (order.carrier, order.tracking_number, order.tracking_url) == (
        moving.carrier, moving.tracking_number, moving.tracking_url)
    assert order.shipped_at is not None and order.shipped_at.date() == moving.shipped_at.date()
    delivered = order_of(standin, "return_window")
    order = await adapter(standin).get_order(delivered.id)
    assert order.delivered_at is not None
    assert order.delivered_at.date() == delivered.delivered_at.date()


async def test_refunds_of_a_refunded_order(standin):
    expected = order_of(standin, "refunded", "en")
    refunds = await adapter(standin).get_refunds(expected.id)
    assert [(r.amount_cents, r.currency, r.status) for r in refunds] == [
        (expected.total_cents, expected.currency, "completed")]
    assert refunds[0].created_at is not None


async def test_policy_categories_come_through(standin):
    expected = order_of(standin, "return_window")  # boots, swimsuit, dress
    order = await adapter(standin).get_order(expected.id)
    assert [i.category for i in order.items] == [i["category"] for i in expected.items]


async def test_unknown_number_is_not_found(standin):
    with pytest.raises(OrderNotFound):
        await adapter(standin).get_order("AT999999")


async def test_wrong_credentials_are_unavailable_not_a_crash(standin):
    store = adapter(standin, **{"woocommerce_secret": "cs_wrong"} if standin.platform ==
                    "woocommerce" else {f"{standin.platform}_token": "wrong"})
    with pytest.raises(StoreUnavailable, match="401"):
        await store.get_order(order_of(standin, "cancellable").id)


async def test_429_waits_for_retry_after_then_succeeds(standin):
    standin.faults.add(429, headers={"Retry-After": "1"})
    expected = order_of(standin, "cancellable")
    order = await adapter(standin).get_order(expected.id)
    assert order.id == expected.id
    assert not standin.faults.take("GET", "")  # the fault was consumed


async def test_429_with_a_long_retry_after_gives_up_at_once(standin):
    standin.faults.add(429, headers={"Retry-After": "120"})
    with pytest.raises(StoreUnavailable, match="rate limited"):
        await adapter(standin).get_order(order_of(standin, "cancellable").id)
    assert len(standin.requests) == 1


async def test_5xx_is_retried_with_backoff(standin):
    standin.faults.add(503, times=2)
    expected = order_of(standin, "in_transit")
    assert (await adapter(standin).get_order(expected.id)).id == expected.id


async def test_persistent_5xx_is_unavailable_after_the_retries(standin):
    standin.faults.add(500, times=10)
    with pytest.raises(StoreUnavailable, match="HTTP 500"):
        await adapter(standin, retries=2).get_order(order_of(standin, "in_transit").id)
    assert len(standin.requests) == 3  # the first attempt and two retries


async def test_a_slow_platform_times_out_and_is_retried(standin):
    standin.faults.add(0, delay=1.5)  # stalls the first request beyond the 0.5 s timeout
    expected = order_of(standin, "pending")
    order = await adapter(standin, timeout=0.5).get_order(expected.id)
    assert order.id == expected.id


async def test_repeated_lookups_in_a_conversation_hit_the_cache(standin):
    store = adapter(standin)
    expected = order_of(standin, "cancellable")
    await store.get_order(expected.id)
    first = len(standin.requests)
    for _ in range(3):
        await store.get_order(expected.id)
    assert len(standin.requests) == first
    await adapter(standin, cache_seconds=0).get_order(expected.id)
    assert len(standin.requests) > first


async def test_cancel_changes_the_platform_and_the_reread_shows_it(standin):
    store = adapter(standin)
    expected = order_of(standin, "cancellable")
    assert (await store.get_order(expected.id)).status == OrderStatus.PAID  # cached now
    await store.cancel_order(expected.id)
    fresh = await store.get_order(expected.id)
    assert fresh.status == OrderStatus.CANCELLED


async def test_read_only_store_hands_changes_to_an_agent_without_calling_the_platform(standin):
    store = adapter(standin, allow_writes=False)
    expected = order_of(standin, "cancellable")
    for operation, call in (
            ("cancel_order", store.cancel_order(expected.id)),
            ("change_address", store.change_address(expected.id, "Calle Mayor 5, 28013 Madrid"))):
        with pytest.raises(OperationNotSupported) as info:
            await call
        native = operation in type(store).native_operations
        assert info.value.why == ("read_only" if native else "unsupported")
    assert not [r for r in standin.requests if r.method != "GET"]
    assert not store.supports("cancel_order")


async def test_catalogue_search_finds_variants_with_stock_and_price(standin):
    products = await adapter(standin).search_products("¿tenéis las Urban Runner en la 42?")
    assert products and "Urban Runner" in products[0].name
    runner = products[0]
    by_option = {(v.option("colour"), v.option("size")): v for v in runner.variants}
    white = next(v for (c, s), v in by_option.items() if s == "42" and c in {"Blanco", "White"})
    black = next(v for (c, s), v in by_option.items() if s == "42" and c in {"Negro", "Black"})
    assert (white.available, white.stock, white.price_cents) == (True, 4, 7990)
    assert (black.available, black.stock) == (False, 0)
    assert white.currency == "EUR"
    assert runner.url and runner.category == "footwear"


async def test_catalogue_search_in_english_and_unknown_products(standin):
    store = adapter(standin)
    products = await store.search_products("is the Chelsea boot waterproof?", lang="en")
    assert products and "Chelsea" in products[0].name
    assert "water" in products[0].description.lower() or "hidr" in products[0].description
    assert await store.search_products("¿vendéis paraguas?") == []


async def test_credentials_never_reach_logs_or_errors(standin, caplog):
    caplog.set_level(logging.DEBUG)
    settings = settings_for(standin)
    secrets = settings.secrets()
    if standin.platform == "woocommerce":
        secrets.append(base64.b64encode(
            f"{settings.woocommerce_key}:{settings.woocommerce_secret}".encode()).decode())
    store = build_store(settings)
    errors: list[str] = []
    expected = order_of(standin, "cancellable")
    await store.get_order(expected.id)
    await store.search_products("botas chelsea")
    standin.faults.add(500, times=5)
    standin.faults.add(429, headers={"Retry-After": "99"})
    for _ in range(2):
        try:
            await adapter(standin, cache_seconds=0).get_order(expected.id)
        except StoreUnavailable as exc:
            errors.append(repr(exc))
    wrong = {"woocommerce_secret": "cs_wrong_secret"} if standin.platform == "woocommerce" \
        else {f"{standin.platform}_token": "wrong_token_value"}
    try:
        await adapter(standin, **wrong).get_order(expected.id)
    except StoreUnavailable as exc:
        errors.append(repr(exc))
    assert len(errors) == 3
    text = caplog.text + "\n".join(errors) + repr(settings)
    for secret in secrets + list(wrong.values()):
        assert secret not in text
    assert expected.customer["email"] not in caplog.text  # no PII either
    assert "retry" in caplog.text  # the retries were logged, just without secrets
