"""The embedded demo store: a real SQLite file read and written with aiosqlite.

One connection per call keeps the adapter free of shared state between conversations (the action
server serves many at once) and lets a reseed replace the file under a running server. Every call is
bounded by ``timeout`` seconds (``STORE_TIMEOUT_SECONDS``): a locked or missing database surfaces as
:class:`StoreUnavailable`, never as a hang or a driver exception in an action.
"""

from __future__ import annotations

import asyncio
import json
import logging
import sqlite3
from collections.abc import Awaitable, Callable
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any, TypeVar

import aiosqlite

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

logger = logging.getLogger(__name__)
T = TypeVar("T")

SCHEMA = """
CREATE TABLE IF NOT EXISTS customers (
    id INTEGER PRIMARY KEY,
    name TEXT NOT NULL,
    email TEXT NOT NULL UNIQUE,
    phone TEXT NOT NULL,
    language TEXT NOT NULL CHECK (language IN ('es', 'en')),
    market TEXT NOT NULL,
    vip INTEGER NOT NULL DEFAULT 0
);
CREATE TABLE IF NOT EXISTS orders (
    id TEXT PRIMARY KEY,
    customer_id INTEGER NOT NULL REFERENCES customers(id),
    status TEXT NOT NULL CHECK (status IN ('pending','paid','shipped','in_transit','delivered',
                                           'cancelled','returned','refunded')),
    currency TEXT NOT NULL,
    total_cents INTEGER NOT NULL,
    payment_method TEXT NOT NULL,
    placed_at TEXT NOT NULL,
    shipping_address TEXT NOT NULL,
    carrier TEXT,
    tracking_number TEXT,
    tracking_url TEXT,
    shipped_at TEXT,
    estimated_delivery TEXT,
    delivered_at TEXT,
    cancelled_at TEXT,
    updated_at TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS orders_customer ON orders(customer_id);
CREATE TABLE IF NOT EXISTS order_items (
    id INTEGER PRIMARY KEY,
    order_id TEXT NOT NULL REFERENCES orders(id),
    sku TEXT NOT NULL,
    name TEXT NOT NULL,
    category TEXT NOT NULL,
    size TEXT,
    quantity INTEGER NOT NULL CHECK (quantity > 0),
    unit_price_cents INTEGER NOT NULL
);
CREATE INDEX IF NOT EXISTS items_order ON order_items(order_id);
CREATE TABLE IF NOT EXISTS returns (
    rma TEXT PRIMARY KEY,
    order_id TEXT NOT NULL REFERENCES orders(id),
    item_ids TEXT NOT NULL,
    reason TEXT NOT NULL,
    kind TEXT NOT NULL CHECK (kind IN ('refund', 'exchange')),
    status TEXT NOT NULL,
    refund_cents INTEGER NOT NULL DEFAULT 0,
    label_url TEXT,
    created_at TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS refunds (
    id INTEGER PRIMARY KEY,
    order_id TEXT NOT NULL REFERENCES orders(id),
    rma TEXT,
    amount_cents INTEGER NOT NULL,
    currency TEXT NOT NULL,
    method TEXT NOT NULL,
    status TEXT NOT NULL CHECK (status IN ('pending','processing','completed','failed')),
    created_at TEXT NOT NULL,
    completed_at TEXT
);
CREATE TABLE IF NOT EXISTS events (
    id INTEGER PRIMARY KEY,
    order_id TEXT NOT NULL,
    type TEXT NOT NULL,
    data TEXT NOT NULL DEFAULT '{}',
    created_at TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS events_order ON events(order_id);
"""

CANCELLABLE = ("pending", "paid")
RETURN_LABEL_BASE = "https://returns.atiende-demo.example/label/"


def _now() -> datetime:
    return datetime.now(UTC).replace(microsecond=0)


def _dt(value: str | None) -> datetime | None:
    return datetime.fromisoformat(value) if value else None


def _d(value: str | None) -> date | None:
    return date.fromisoformat(value) if value else None


class SQLiteStore(StoreBackend):
    """:class:`StoreBackend` on a SQLite file created by ``python -m actions.store seed``."""

    def __init__(self, path: str | Path, *, timeout: float = 3.0, simulated_latency: float = 0.0):
        self.path = Path(path)
        self.timeout = timeout
        # Lets demos and tests show the "store is slow" path without a real slow server.
        self.simulated_latency = simulated_latency

    # -- plumbing -----------------------------------------------------------------------------
    async def _call(self, fn: Callable[[aiosqlite.Connection], Awaitable[T]]) -> T:
        """Run ``fn`` on a fresh connection within the timeout, mapping failures to StoreError."""

        async def work() -> T:
            if self.simulated_latency:
                await asyncio.sleep(self.simulated_latency)
            if not self.path.is_file():
                raise StoreUnavailable(f"store database {self.path} does not exist; run the seed")
            uri = self.path.resolve().as_uri() + "?mode=rw"  # mode=rw: never create an empty file
            async with aiosqlite.connect(uri, uri=True, timeout=self.timeout) as db:
                db.row_factory = aiosqlite.Row
                await db.execute("PRAGMA foreign_keys = ON")
                return await fn(db)

        try:
            return await asyncio.wait_for(work(), timeout=self.timeout)
        except StoreError:
            raise
        except TimeoutError as exc:
            raise StoreUnavailable(f"store did not answer within {self.timeout}s") from exc
        except (sqlite3.Error, OSError, ValueError, KeyError) as exc:
            raise StoreUnavailable(f"store error: {exc.__class__.__name__}: {exc}") from exc

    @staticmethod
    async def _event(db: aiosqlite.Connection, order_id: str, event_type: str, **data: Any) -> None:
        await db.execute(
            "INSERT INTO events (order_id, type, data, created_at) VALUES (?, ?, ?, ?)",
            (order_id, event_type, json.dumps(data, ensure_ascii=False), _now().isoformat()),
        )

    async def _load(self, db: aiosqlite.Connection, order_id: str) -> Order:
        cur = await db.execute(
            "SELECT o.*, c.id AS c_id, c.name AS c_name, c.email AS c_email, c.phone AS c_phone,"
            " c.language AS c_language, c.market AS c_market, c.vip AS c_vip"
            " FROM orders o JOIN customers c ON c.id = o.customer_id WHERE o.id = ?",
            (order_id,),
        )
        row = await cur.fetchone()
        if row is None:
            raise OrderNotFound(order_id)
        items = [
            OrderItem(
                id=r["id"], sku=r["sku"], name=r["name"], category=r["category"], size=r["size"],
                quantity=r["quantity"], unit_price_cents=r["unit_price_cents"],
            )
            for r in await (
                await db.execute("SELECT * FROM order_items WHERE order_id = ? ORDER BY id",
                                 (order_id,))
            ).fetchall()
        ]
        returns = [
            ReturnRecord(
                rma=r["rma"], order_id=r["order_id"], item_ids=tuple(json.loads(r["item_ids"])),
                reason=r["reason"], kind=r["kind"], status=r["status"],
                refund_cents=r["refund_cents"],
                created_at=_dt(r["created_at"]),  # type: ignore[arg-type]
                label_url=r["label_url"],
            )
            for r in await (
                await db.execute("SELECT * FROM returns WHERE order_id = ? ORDER BY created_at",
                                 (order_id,))
            ).fetchall()
        ]
        refunds = await self._refunds(db, order_id)
        customer = Customer(
            id=row["c_id"], name=row["c_name"], email=row["c_email"], phone=row["c_phone"],
            language=row["c_language"], market=row["c_market"], vip=bool(row["c_vip"]),
        )
        return Order(
            id=row["id"], customer=customer, status=OrderStatus(row["status"]),
            currency=row["currency"], total_cents=row["total_cents"],
            payment_method=row["payment_method"],
            placed_at=_dt(row["placed_at"]),  # type: ignore[arg-type]
            shipping_address=row["shipping_address"], items=tuple(items), carrier=row["carrier"],
            tracking_number=row["tracking_number"], tracking_url=row["tracking_url"],
            shipped_at=_dt(row["shipped_at"]), estimated_delivery=_d(row["estimated_delivery"]),
            delivered_at=_dt(row["delivered_at"]), cancelled_at=_dt(row["cancelled_at"]),
            returns=tuple(returns), refunds=tuple(refunds),
        )

    @staticmethod
    async def _refunds(db: aiosqlite.Connection, order_id: str) -> list[Refund]:
        rows = await (
            await db.execute(
                "SELECT * FROM refunds WHERE order_id = ? ORDER BY created_at DESC, id DESC",
                (order_id,)
            )
        ).fetchall()
        return [
            Refund(
                id=r["id"], order_id=r["order_id"], amount_cents=r["amount_cents"],
                currency=r["currency"], method=r["method"], status=r["status"],
                created_at=_dt(r["created_at"]),  # type: ignore[arg-type]
                completed_at=_dt(r["completed_at"]), rma=r["rma"],
            )
            for r in rows
        ]

    # -- reads --------------------------------------------------------------------------------
    async def get_order(self, order_id: str) -> Order:
        return await self._call(lambda db: self._load(db, order_id))

    async def list_customer_orders(self, email: str) -> list[Order]:
        async def fn(db: aiosqlite.Connection) -> list[Order]:
            rows = await (
                await db.execute(
                    "SELECT o.id FROM orders o JOIN customers c ON c.id = o.customer_id"
                    " WHERE lower(c.email) = lower(?) ORDER BY o.placed_at DESC",
                    (email.strip(),),
                )
            ).fetchall()
            return [await self._load(db, r["id"]) for r in rows]

        return await self._call(fn)

    async def get_refunds(self, order_id: str) -> list[Refund]:
        async def fn(db: aiosqlite.Connection) -> list[Refund]:
            await self._require(db, order_id)
            return await self._refunds(db, order_id)

        return await self._call(fn)

    @staticmethod
    async def _require(db: aiosqlite.Connection, order_id: str) -> sqlite3.Row:
        row = await (await db.execute("SELECT * FROM orders WHERE id = ?", (order_id,))).fetchone()
        if row is None:
            raise OrderNotFound(order_id)
        return row

    # -- changes ------------------------------------------------------------------------------
    async def cancel_order(self, order_id: str, *, reason: str = "customer_request") -> None:
        async def fn(db: aiosqlite.Connection) -> None:
            now = _now().isoformat()
            row = await self._require(db, order_id)
            previous = row["status"]
            if previous not in CANCELLABLE:
                raise InvalidOperation(f"order {order_id} is {previous}, cannot cancel")
            # Conditional on the status just read: a parcel that ships in between is never
            # cancelled.
            cur = await db.execute(
                "UPDATE orders SET status = 'cancelled', cancelled_at = ?, updated_at = ?"
                " WHERE id = ? AND status = ? RETURNING id",
                (now, now, order_id, previous),
            )
            if await cur.fetchone() is None:
                raise InvalidOperation(f"order {order_id} changed while cancelling; try again")
            paid = previous == "paid"  # pending orders were never charged: nothing to refund
            if paid:
                await db.execute(
                    "INSERT INTO refunds (order_id, amount_cents, currency, method, status, "
                    "created_at) VALUES (?, ?, ?, ?, 'pending', ?)",
                    (order_id, row["total_cents"], row["currency"], row["payment_method"], now),
                )
            await self._event(db, order_id, "cancelled", reason=reason, refund=paid)
            await db.commit()

        await self._call(fn)

    async def create_return(
        self,
        order_id: str,
        *,
        item_ids: list[int],
        reason: str,
        kind: str = "refund",
        refund_cents: int = 0,
    ) -> ReturnRecord:
        if kind not in {"refund", "exchange"} or not item_ids:
            raise InvalidOperation("a return needs items and kind 'refund' or 'exchange'")

        async def fn(db: aiosqlite.Connection) -> ReturnRecord:
            order = await self._load(db, order_id)
            if order.status != OrderStatus.DELIVERED:
                raise InvalidOperation(f"order {order_id} is {order.status.value}, not delivered")
            unknown = [i for i in item_ids if order.item(i) is None]
            if unknown:
                raise InvalidOperation(f"items {unknown} are not in order {order_id}")
            again = set(item_ids) & order.returned_item_ids()
            if again:
                raise InvalidOperation(f"items {sorted(again)} already have a return")
            rma = f"RMA-{order_id[2:]}-{len(order.returns) + 1:02d}"
            created = _now()
            label = RETURN_LABEL_BASE + rma
            await db.execute(
                "INSERT INTO returns (rma, order_id, item_ids, reason, kind, status, refund_cents,"
                " label_url, created_at) VALUES (?, ?, ?, ?, ?, 'label_sent', ?, ?, ?)",
                (rma, order_id, json.dumps(sorted(item_ids)), reason[:500], kind, refund_cents,
                 label, created.isoformat()),
            )
            await self._event(db, order_id, "return_created", rma=rma, kind=kind, items=item_ids)
            await db.commit()
            return ReturnRecord(
                rma=rma, order_id=order_id, item_ids=tuple(sorted(item_ids)), reason=reason[:500],
                kind=kind, status="label_sent", refund_cents=refund_cents, created_at=created,
                label_url=label,
            )

        return await self._call(fn)

    async def change_address(self, order_id: str, new_address: str) -> None:
        address = " ".join(new_address.split())
        if not 8 <= len(address) <= 300:
            raise InvalidOperation("address must be 8-300 characters")

        async def fn(db: aiosqlite.Connection) -> None:
            now = _now().isoformat()
            cur = await db.execute(
                "UPDATE orders SET shipping_address = ?, updated_at = ?"
                " WHERE id = ? AND status IN ('pending', 'paid') RETURNING id",
                (address, now, order_id),
            )
            if await cur.fetchone() is None:
                row = await self._require(db, order_id)
                raise InvalidOperation(f"order {order_id} is {row['status']}, address is fixed")
            await self._event(db, order_id, "address_changed")  # no PII in the event log
            await db.commit()

        await self._call(fn)
