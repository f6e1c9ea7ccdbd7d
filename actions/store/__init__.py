"""Store backends: the one door through which actions read and change orders and the catalogue.

``get_store()`` returns the backend chosen by ``STORE_BACKEND``: ``demo`` (the SQLite demo store on
``STORE_DATABASE``; ``sqlite`` is an alias), ``woocommerce``, ``tiendanube`` or ``shopify`` (each
configured by its own variables, see docs/stores.md and :mod:`actions.store.settings`). It is
cached per process and opens nothing until the first call, so importing the actions package stays
cheap; each adapter module is imported only when chosen.
"""

from __future__ import annotations

import os
import re
from functools import lru_cache
from pathlib import Path

from actions.store.base import (
    OPERATIONS,
    Customer,
    InvalidOperation,
    OperationNotSupported,
    Order,
    OrderItem,
    OrderNotFound,
    OrderStatus,
    Product,
    ProductVariant,
    Refund,
    ReturnRecord,
    StoreBackend,
    StoreError,
    StoreUnavailable,
    WithdrawalRecord,
)
from actions.store.settings import SettingsError, StoreSettings

__all__ = [
    "OPERATIONS", "Customer", "InvalidOperation", "OperationNotSupported", "Order", "OrderItem",
    "OrderNotFound", "OrderStatus", "Product", "ProductVariant", "Refund", "ReturnRecord",
    "SettingsError", "StoreBackend", "StoreError", "StoreSettings", "StoreUnavailable",
    "WithdrawalRecord", "build_store", "get_store", "normalize_order_id", "store_database_path",
]

# AT100234, at-100234, AT 100234, AT 100 234, #100234, 100234, "pedido nº 100234"; digits
# grouped in threes only after a prefix, so a bare "612 345" (part of a phone) is not an id
_ORDER_RE = re.compile(
    r"(?<![A-Za-z0-9])(?:(?:AT[\s\-_.]*|#\s*|N[º°o]\.?\s*)(\d{3})[\s.\-]?(\d{3})|(\d{6}))(?!\d)",
    re.IGNORECASE)


def normalize_order_id(text: object) -> str | None:
    """The canonical ``AT`` + 6 digits id found in ``text``, or None when there is none.

    Shoppers type order numbers many ways; every action and validator goes through this one function
    so the store is always asked with the same spelling.
    """
    if not isinstance(text, str | int):
        return None
    match = _ORDER_RE.search(str(text).strip())
    if not match:
        return None
    return "AT" + (match.group(3) or match.group(1) + match.group(2))


def store_database_path() -> Path:
    """``STORE_DATABASE``, else ``$ATIENDE_DATA_DIR/store.db`` (default ``var/store.db``)."""
    explicit = os.environ.get("STORE_DATABASE")
    if explicit:
        return Path(explicit)
    return Path(os.environ.get("ATIENDE_DATA_DIR", "var")) / "store.db"


def build_store(settings: StoreSettings) -> StoreBackend:
    """The backend ``settings`` describe (tests and ``python -m actions.store check`` inject
    their own settings; the action server uses :func:`get_store`)."""
    if settings.backend == "demo":
        from actions.store.sqlite import SQLiteStore

        return SQLiteStore(settings.database, timeout=settings.timeout,
                           allow_writes=settings.allow_writes)
    if settings.backend == "woocommerce":
        from actions.store.woocommerce import WooCommerceStore

        return WooCommerceStore(settings)
    if settings.backend == "tiendanube":
        from actions.store.tiendanube import TiendanubeStore

        return TiendanubeStore(settings)
    if settings.backend == "shopify":
        from actions.store.shopify import ShopifyStore

        return ShopifyStore(settings)
    raise SettingsError(f"unknown STORE_BACKEND {settings.backend!r}")  # pragma: no cover


@lru_cache(maxsize=1)
def get_store() -> StoreBackend:
    """The process-wide store backend (call ``get_store.cache_clear()`` in tests to reconfigure)."""
    return build_store(StoreSettings.from_env())
