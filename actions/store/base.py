"""The store backend interface every order action talks to.

Actions never touch a database or a platform API directly: they call a :class:`StoreBackend`. The
embedded default is the SQLite demo store (``actions.store.sqlite``); a WooCommerce or Shopify
adapter only has to implement the same methods and return the same frozen records, and no action
changes. This module knows nothing of rasa_sdk on purpose, so adapters can be tested on their own.
"""

from __future__ import annotations

import abc
import enum
from dataclasses import dataclass, field
from datetime import date, datetime


class OrderStatus(str, enum.Enum):
    """Every state an order can be in; shoppers see these translated by the actions."""

    PENDING = "pending"  # placed, payment not captured yet (cash/transfer on the way)
    PAID = "paid"  # payment captured, warehouse not done yet
    SHIPPED = "shipped"  # handed to the carrier
    IN_TRANSIT = "in_transit"  # carrier scans after pick-up
    DELIVERED = "delivered"
    CANCELLED = "cancelled"
    RETURNED = "returned"  # all items came back
    REFUNDED = "refunded"  # money sent back

    @property
    def is_shipped(self) -> bool:
        """True once the parcel left the warehouse.

        Cancellation and address change are no longer possible then.
        """
        return self in {OrderStatus.SHIPPED, OrderStatus.IN_TRANSIT, OrderStatus.DELIVERED}


class StoreError(Exception):
    """Base class of every error a backend raises; actions catch this, never a driver error."""


class StoreUnavailable(StoreError):
    """The backend is down, slow (timeout) or answered garbage.

    Nothing can be said about the order.
    """


class OrderNotFound(StoreError):
    """No order with that id exists."""


class InvalidOperation(StoreError):
    """The backend refused a change because of the order's current state (e.g. already shipped)."""


@dataclass(frozen=True)
class Customer:
    id: int
    name: str
    email: str
    phone: str
    language: str  # "es" | "en"
    market: str  # policy market code: ES, MX, AR, CO, US
    vip: bool = False


@dataclass(frozen=True)
class OrderItem:
    id: int
    sku: str
    name: str
    category: str  # policy categories: footwear, apparel, accessories, underwear, swimwear, ...
    size: str | None
    quantity: int
    unit_price_cents: int

    @property
    def total_cents(self) -> int:
        return self.unit_price_cents * self.quantity


@dataclass(frozen=True)
class ReturnRecord:
    """A return merchandise authorisation (RMA) as the backend stored it."""

    rma: str
    order_id: str
    item_ids: tuple[int, ...]
    reason: str
    kind: str  # "refund" | "exchange"
    status: str  # requested, label_sent, received, refunded, closed
    refund_cents: int
    created_at: datetime
    label_url: str | None = None


@dataclass(frozen=True)
class Refund:
    id: int
    order_id: str
    amount_cents: int
    currency: str
    method: str  # payment method the money goes back to
    status: str  # pending, processing, completed, failed
    created_at: datetime
    completed_at: datetime | None = None
    rma: str | None = None


@dataclass(frozen=True)
class Order:
    """An order with everything the actions may show (after identity verification)."""

    id: str  # AT + 6 digits
    customer: Customer
    status: OrderStatus
    currency: str
    total_cents: int
    payment_method: str  # card, paypal, bank_transfer, cash_on_delivery, mercadopago, pse, oxxo
    placed_at: datetime
    shipping_address: str
    items: tuple[OrderItem, ...]
    carrier: str | None = None
    tracking_number: str | None = None
    tracking_url: str | None = None
    shipped_at: datetime | None = None
    estimated_delivery: date | None = None
    delivered_at: datetime | None = None
    cancelled_at: datetime | None = None
    returns: tuple[ReturnRecord, ...] = field(default_factory=tuple)
    refunds: tuple[Refund, ...] = field(default_factory=tuple)

    @property
    def market(self) -> str:
        return self.customer.market

    @property
    def email(self) -> str:
        return self.customer.email

    @property
    def phone(self) -> str:
        return self.customer.phone

    def item(self, item_id: int) -> OrderItem | None:
        return next((i for i in self.items if i.id == item_id), None)

    def returned_item_ids(self) -> set[int]:
        """Items already covered by an open or finished RMA (cannot be returned twice)."""
        return {iid for r in self.returns if r.status != "cancelled" for iid in r.item_ids}


class StoreBackend(abc.ABC):
    """What the bot may ask of a store. All methods are async and raise only :class:`StoreError`.

    Changes (cancel, return, address) return nothing the actions should trust blindly: the actions
    re-read the order afterwards and confirm only what :meth:`get_order` shows.
    """

    @abc.abstractmethod
    async def get_order(self, order_id: str) -> Order:
        """The order with its items, returns and refunds; :class:`OrderNotFound` if unknown."""

    @abc.abstractmethod
    async def list_customer_orders(self, email: str) -> list[Order]:
        """A customer's orders, newest first (empty list for an unknown email)."""

    @abc.abstractmethod
    async def cancel_order(self, order_id: str, *, reason: str = "customer_request") -> None:
        """Cancel an unshipped order; paid orders get a pending refund to the original method."""

    @abc.abstractmethod
    async def create_return(
        self,
        order_id: str,
        *,
        item_ids: list[int],
        reason: str,
        kind: str = "refund",
        refund_cents: int = 0,
    ) -> ReturnRecord:
        """Open an RMA for delivered items; returns the stored RMA."""

    @abc.abstractmethod
    async def get_refunds(self, order_id: str) -> list[Refund]:
        """Refunds of an order, newest first."""

    @abc.abstractmethod
    async def change_address(self, order_id: str, new_address: str) -> None:
        """Replace the shipping address of an unshipped order."""

    async def close(self) -> None:  # noqa: B027 - optional hook, most adapters hold nothing
        """Release connections; the default backend opens one per call, so nothing to do."""
