"""WooCommerce statuses in Atiende's terms (``actions.store.woocommerce_mapping``), the table order
webhooks reuse."""

from __future__ import annotations

import pytest

from actions.store import OrderStatus
from actions.store.woocommerce_mapping import status_from_woo


@pytest.mark.parametrize("status,tracked,means,expected", [
    ("pending", False, "delivered", OrderStatus.PENDING),
    ("on-hold", False, "delivered", OrderStatus.PENDING),
    ("processing", False, "delivered", OrderStatus.PAID),
    ("processing", True, "delivered", OrderStatus.SHIPPED),
    ("completed", True, "delivered", OrderStatus.DELIVERED),
    ("completed", True, "shipped", OrderStatus.SHIPPED),
    ("wc-delivered", False, "shipped", OrderStatus.DELIVERED),
    ("cancelled", False, "delivered", OrderStatus.CANCELLED),
    ("refunded", False, "delivered", OrderStatus.REFUNDED),
    ("some-plugin-status", False, "delivered", OrderStatus.PAID),
])
def test_status_table(status, tracked, means, expected):
    assert status_from_woo(status, tracked=tracked, completed_means=means) == expected
