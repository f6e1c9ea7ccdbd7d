"""Store backends: the one door through which actions read and change orders.

``get_store()`` returns the backend chosen by ``STORE_BACKEND`` (only ``sqlite`` ships; a
WooCommerce or Shopify adapter plugs in here) on ``STORE_DATABASE``, with ``STORE_TIMEOUT_SECONDS``
per call. It is cached per process and opens nothing until the first call, so importing the actions
package stays cheap.
"""

from __future__ import annotations

import os
import re
from functools import lru_cache
from pathlib import Path

from actions.store.base import (
    Customer,
    InvalidOperation,
    Order,
    OrderItem,
    OrderNotFound,
    OrderStatus,
    Refund,
    ReturnRecord,
    StoreBackend,
    StoreError,
    StoreUnavailable,
)

__all__ = [
    "Customer", "InvalidOperation", "Order", "OrderItem", "OrderNotFound", "OrderStatus", "Refund",
    "ReturnRecord", "StoreBackend", "StoreError", "StoreUnavailable", "get_store",
    "normalize_order_id", "store_database_path",
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


def _timeout() -> float:
    raw = os.environ.get("STORE_TIMEOUT_SECONDS", "3")
    try:
        value = float(raw)
    except ValueError:
        raise ValueError("STORE_TIMEOUT_SECONDS must be a number of seconds, "
                         f"got {raw!r}") from None
    if value <= 0:
        raise ValueError("STORE_TIMEOUT_SECONDS must be positive")
    return value


@lru_cache(maxsize=1)
def get_store() -> StoreBackend:
    """The process-wide store backend (call ``get_store.cache_clear()`` in tests to reconfigure)."""
    backend = os.environ.get("STORE_BACKEND", "sqlite").strip().lower()
    if backend == "sqlite":
        from actions.store.sqlite import SQLiteStore

        return SQLiteStore(store_database_path(), timeout=_timeout())
    raise ValueError(f"unknown STORE_BACKEND {backend!r}; supported: sqlite")
