"""Shopify's side of HTTP (``actions.store.shopify_http``) against the GraphQL stand-in: the cost
bucket (THROTTLED answers and the client-side throttle) and the client-credentials token."""

from __future__ import annotations

import pytest

from actions.store import StoreUnavailable
from tests.actions.helpers import demo
from tests.actions.store.conftest import shopify_store


async def test_throttled_queries_wait_for_the_bucket_and_succeed(shop):
    shop.maximum = shop.available = 300.0  # one full order read empties it
    shop.restore = 400.0
    adapter = shopify_store(shop, cache_seconds=0)
    ids = [o.id for o in shop.orders[:4]]
    for order_id in ids:
        assert (await adapter.get_order(order_id)).id == order_id
    assert adapter.throttle.available is not None  # the client tracks the bucket Shopify reports
    # Every read succeeded although each one empties the bucket: the client-side throttle waits
    # before an overdraft and a THROTTLED answer is retried. How many answers were throttled
    # depends on how fast the stand-in refills in real time (3 at load 2 in CI), so no bound.


async def test_a_throttle_longer_than_the_wait_budget_gives_up_politely(shop):
    shop.maximum = shop.available = 300.0
    shop.restore = 10.0  # refilling 230 points would take ~20 s
    adapter = shopify_store(shop, cache_seconds=0, max_wait=1.0)
    await adapter.get_order(demo(shop.orders, "pending").id)
    with pytest.raises(StoreUnavailable, match="rate limited"):
        await adapter.get_order(demo(shop.orders, "cancellable").id)


async def test_dev_dashboard_app_gets_and_renews_its_token(shop):
    adapter = shopify_store(shop, shopify_token="", shopify_client_id=shop.client_id,
                    shopify_client_secret=shop.client_secret, cache_seconds=0)
    shop.token_ttl = 60  # renewed a minute before expiry: every call asks for a new one
    expected = demo(shop.orders, "cancellable")
    assert (await adapter.get_order(expected.id)).id == expected.id
    first = len(shop.calls("/admin/oauth/access_token", "POST"))
    assert first >= 1
    await adapter.get_order(expected.id)
    assert len(shop.calls("/admin/oauth/access_token", "POST")) > first
    tokens = {r.headers["x-shopify-access-token"] for r in shop.calls("/graphql.json")}
    assert shop.token not in tokens and all(t.startswith("shpat_cc_") for t in tokens)


async def test_a_revoked_token_is_renewed_once_on_401(shop):
    adapter = shopify_store(shop, shopify_token="", shopify_client_id=shop.client_id,
                    shopify_client_secret=shop.client_secret, cache_seconds=0)
    expected = demo(shop.orders, "pending")
    await adapter.get_order(expected.id)
    shop.issued.clear()  # Shopify forgot the token (rotated secret, uninstall/reinstall)
    assert (await adapter.get_order(expected.id)).id == expected.id


async def test_wrong_client_secret_is_a_clear_credentials_error(shop):
    adapter = shopify_store(shop, shopify_token="", shopify_client_id=shop.client_id,
                    shopify_client_secret="not-the-secret")
    with pytest.raises(StoreUnavailable, match="client credentials were rejected"):
        await adapter.get_order(demo(shop.orders, "pending").id)
