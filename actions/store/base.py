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


class OperationNotSupported(StoreError):
    """The bot may not make this change itself: the platform's API has no way to do it, the store
    keeps the bot read-only (``STORE_ALLOW_WRITES``), or the key lacks the write permission.

    Nothing was changed. Actions hand the shopper to an agent with the request pre-filled.
    """

    def __init__(self, operation: str, why: str = "unsupported") -> None:
        super().__init__(f"{operation}: {why}")
        self.operation = operation  # "cancel_order" | "change_address" | "create_return"
        self.why = why  # "unsupported" (the API can't) | "read_only" | "permission"


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
    # sold as final sale (clearance): not returnable for a change of mind; stores that have no
    # such flag leave it False
    final_sale: bool = False

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
    # requested (waits for the team: no label yet), open, label_sent, received, refunded, closed,
    # declined, cancelled
    status: str
    refund_cents: int
    created_at: datetime
    label_url: str | None = None


@dataclass(frozen=True)
class WithdrawalRecord:
    """A shopper's withdrawal from an order's purchase contract (right of withdrawal), as the
    store keeps it: one per order."""

    code: str
    order_id: str
    declared_at: datetime  # UTC, when the shopper confirmed it
    name: str  # the name given to identify the contract
    channel: str  # web, whatsapp, messenger...
    within_period: bool  # False: declared before delivery (the period had not started)


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
class ProductVariant:
    """One buyable variant (a size and/or colour) with its own SKU, price and stock."""

    sku: str
    options: tuple[tuple[str, str], ...]  # (("size", "42"), ("colour", "Negro")) - normalised keys
    price_cents: int
    currency: str
    stock: int | None  # None: the store does not count stock for it
    available: bool  # can be bought now (in stock, or stock not tracked)

    def option(self, key: str) -> str | None:
        return next((value for name, value in self.options if name == key), None)


@dataclass(frozen=True)
class Product:
    """A catalogue product as a shopper asks about it before buying."""

    id: str  # the platform's id, as text
    sku: str
    name: str
    description: str  # plain text, in the shopper's language when the store has it
    category: str  # policy category (footwear, apparel, ...), see actions.store.mapping
    url: str | None
    variants: tuple[ProductVariant, ...]

    @property
    def available(self) -> bool:
        return any(v.available for v in self.variants)

    def option_values(self, key: str) -> list[str]:
        """Distinct values of one option (sizes, colours) in catalogue order."""
        return list(dict.fromkeys(v for variant in self.variants
                                  if (v := variant.option(key)) is not None))


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
        return {iid for r in self.returns if r.status not in {"cancelled", "declined"}
                for iid in r.item_ids}


#: changes a backend may let the bot make; see :meth:`StoreBackend.supports`
OPERATIONS = ("cancel_order", "change_address", "create_return")


class StoreBackend(abc.ABC):
    """What the bot may ask of a store. All methods are async and raise only :class:`StoreError`.

    Changes (cancel, return, address) return nothing the actions should trust blindly: the actions
    re-read the order afterwards and confirm only what :meth:`get_order` shows. A change the bot
    may not make raises :class:`OperationNotSupported` before anything is sent to the platform.
    """

    #: short name shown by ``python -m actions.store check`` and in logs
    platform = "store"

    def supports(self, operation: str) -> bool:
        """Whether the bot may make ``operation`` (one of :data:`OPERATIONS`) on this backend."""
        return operation in OPERATIONS

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

    @abc.abstractmethod
    async def search_products(self, query: str, *, lang: str = "es",
                              limit: int = 5) -> list[Product]:
        """Catalogue products matching ``query`` (name words or a SKU), best first, with variants.

        Empty list when nothing matches; names and descriptions in ``lang`` when the store has it.
        """

    async def record_withdrawal(self, order_id: str, *, code: str, declared_at: datetime,
                                name: str, channel: str, within_period: bool
                                ) -> WithdrawalRecord:
        """Record the shopper's withdrawal from ``order_id``; idempotent per order (the record
        already stored is returned). Platforms with no such record raise
        :class:`OperationNotSupported`: the agents' case then says to record it by hand."""
        raise OperationNotSupported("record_withdrawal", "unsupported")

    async def get_withdrawal(self, order_id: str) -> WithdrawalRecord | None:
        """The withdrawal recorded for ``order_id``, if any (None where the store keeps none)."""
        return None

    async def close(self) -> None:  # noqa: B027 - optional hook, most adapters hold nothing
        """Release connections; the default backend opens one per call, so nothing to do."""
