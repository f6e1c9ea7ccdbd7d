"""Fixtures of the store adapter tests: one running stand-in per platform (module scope, reseeded
before every test) and settings pointing an adapter at it."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from actions.store.settings import StoreSettings
from actions.store.shopify import ShopifyStore
from tests.actions.store.standins.shopify import ALL_SCOPES, ShopifyStandIn
from tests.actions.store.standins.tiendanube import TiendanubeStandIn
from tests.actions.store.standins.woocommerce import WooCommerceStandIn

FAST = {"timeout": 2.0, "retries": 2, "deadline": 8.0, "max_wait": 2.0, "cache_seconds": 30.0}


def settings_for(standin: Any, **overrides: Any) -> StoreSettings:
    """Settings of the adapter matching ``standin`` (writes allowed unless overridden)."""
    values: dict[str, Any] = {"backend": standin.platform, "allow_writes": True, **FAST}
    if standin.platform == "woocommerce":
        values.update(woocommerce_url=standin.url, woocommerce_key=standin.key,
                      woocommerce_secret=standin.secret)
    elif standin.platform == "tiendanube":
        values.update(tiendanube_api_url=standin.url + "/v1",
                      tiendanube_store_id=standin.store_id, tiendanube_token=standin.token,
                      tiendanube_user_agent="Atiende tests (dev@atiende.invalid)",
                      store_url="https://tienda.atiende-demo.example")
    elif standin.platform == "shopify":
        values.update(shopify_url=standin.url, shopify_token=standin.token)
    values.update(overrides)
    return StoreSettings(**values)


def shopify_store(shop: Any, **overrides: Any) -> ShopifyStore:
    """The Shopify adapter pointed at the stand-in ``shop``."""
    return ShopifyStore(settings_for(shop, **overrides))


@pytest.fixture(scope="module")
def woo_server() -> Iterator[WooCommerceStandIn]:
    server = WooCommerceStandIn().start()
    yield server
    server.stop()


@pytest.fixture
def woo(woo_server: WooCommerceStandIn) -> WooCommerceStandIn:
    woo_server.reset()
    woo_server.permissions, woo_server.tracking, woo_server.max_per_page = "read_write", True, 100
    return woo_server


@pytest.fixture(scope="module")
def tn_server() -> Iterator[TiendanubeStandIn]:
    server = TiendanubeStandIn().start()
    yield server
    server.stop()


@pytest.fixture
def tn(tn_server: TiendanubeStandIn) -> TiendanubeStandIn:
    tn_server.reset()
    tn_server.bucket, tn_server.level, tn_server.rejected = 40, 0.0, 0
    tn_server.write = True
    return tn_server


@pytest.fixture(scope="module")
def shop_server() -> Iterator[ShopifyStandIn]:
    server = ShopifyStandIn().start()
    yield server
    server.stop()


@pytest.fixture
def shop(shop_server: ShopifyStandIn) -> ShopifyStandIn:
    shop_server.reset()
    shop_server.scopes = set(ALL_SCOPES)
    shop_server.maximum = shop_server.available = 1000.0
    shop_server.restore, shop_server.throttled = 100.0, 0
    shop_server.token_ttl = 86399
    shop_server.issued.clear()
    shop_server.costs.clear()
    return shop_server
