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
from dataclasses import replace
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any, TypeVar

import aiosqlite

from actions.store.base import (
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
from actions.store.search import rank
from actions.store.sqlite_schema import SCHEMA, SCHEMA_VERSION, WITHDRAWALS_TABLE

__all__ = ["SCHEMA", "SCHEMA_VERSION", "SQLiteStore"]

logger = logging.getLogger(__name__)
T = TypeVar("T")


CANCELLABLE = ("pending", "paid")
RETURN_LABEL_BASE = "https://returns.atiende-demo.example/label/"


def _now() -> datetime:
    return datetime.now(UTC).replace(microsecond=0)


def _dt(value: str | None) -> datetime | None:
    return datetime.fromisoformat(value) if value else None


def _d(value: str | None) -> date | None:
    return date.fromisoformat(value) if value else None


class SQLiteStore(StoreBackend):
    """:class:`StoreBackend` on a SQLite file created by ``python -m actions.store seed``.

    ``allow_writes=False`` makes it behave like a real store connected read-only: every change
    raises :class:`OperationNotSupported` and the bot hands the request to an agent.
    """

    platform = "demo"

    def __init__(self, path: str | Path, *, timeout: float = 3.0, simulated_latency: float = 0.0,
                 allow_writes: bool = True):
        self.path = Path(path)
        self.timeout = timeout
        # Lets demos and tests show the "store is slow" path without a real slow server.
        self.simulated_latency = simulated_latency
        self.allow_writes = allow_writes

    def supports(self, operation: str) -> bool:
        return self.allow_writes and super().supports(operation)

    def _require_write(self, operation: str) -> None:
        if not self.allow_writes:
            raise OperationNotSupported(operation, "read_only")

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
                final_sale=bool(r["final_sale"]),
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
        self._require_write("cancel_order")

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
        self._require_write("create_return")

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
        self._require_write("change_address")

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

    # -- right of withdrawal ------------------------------------------------------------------
    @staticmethod
    def _withdrawal_row(r: sqlite3.Row | aiosqlite.Row) -> WithdrawalRecord:
        return WithdrawalRecord(code=r["code"], order_id=r["order_id"],
                                declared_at=_dt(r["declared_at"]),  # type: ignore[arg-type]
                                name=r["name"], channel=r["channel"],
                                within_period=bool(r["within_period"]))

    async def get_withdrawal(self, order_id: str) -> WithdrawalRecord | None:
        async def fn(db: aiosqlite.Connection) -> WithdrawalRecord | None:
            table = await (await db.execute(
                "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'withdrawals'"
            )).fetchone()
            if table is None:  # a store seeded before schema version 4 has none yet
                return None
            row = await (await db.execute("SELECT * FROM withdrawals WHERE order_id = ?",
                                          (order_id,))).fetchone()
            return self._withdrawal_row(row) if row else None

        return await self._call(fn)

    async def record_withdrawal(self, order_id: str, *, code: str, declared_at: datetime,
                                name: str, channel: str, within_period: bool
                                ) -> WithdrawalRecord:
        self._require_write("record_withdrawal")

        async def fn(db: aiosqlite.Connection) -> WithdrawalRecord:
            await db.executescript(WITHDRAWALS_TABLE)
            await self._require(db, order_id)
            # one per order: a second confirmation (a retry, another tab) finds the first
            cur = await db.execute(
                "INSERT INTO withdrawals (code, order_id, declared_at, name, channel, "
                "within_period) VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT(order_id) DO NOTHING "
                "RETURNING code",
                (code, order_id, declared_at.astimezone(UTC).isoformat(), name[:200],
                 channel[:32], int(within_period)))
            if await cur.fetchone() is not None:
                await self._event(db, order_id, "withdrawal", code=code,
                                  within_period=within_period)  # no personal data in events
            await db.commit()
            row = await (await db.execute("SELECT * FROM withdrawals WHERE order_id = ?",
                                          (order_id,))).fetchone()
            return self._withdrawal_row(row)

        return await self._call(fn)

    # -- catalogue ----------------------------------------------------------------------------
    async def search_products(self, query: str, *, lang: str = "es",
                              limit: int = 5) -> list[Product]:
        async def fn(db: aiosqlite.Connection) -> list[Product]:
            products = await (await db.execute("SELECT * FROM products ORDER BY rowid")).fetchall()
            variants = await (await db.execute(
                "SELECT * FROM product_variants ORDER BY product_sku, position")).fetchall()
            by_product: dict[str, list[ProductVariant]] = {}
            colour = "colour_en" if lang == "en" else "colour_es"
            for v in variants:
                options = [(k, val) for k, val in (("size", v["size"]), ("colour", v[colour]))
                           if val]
                by_product.setdefault(v["product_sku"], []).append(ProductVariant(
                    sku=v["sku"], options=tuple(options), price_cents=v["price_cents"],
                    currency="", stock=v["stock"], available=v["stock"] > 0))
            catalogue = [
                Product(id=p["sku"], sku=p["sku"], name=p[f"name_{'en' if lang == 'en' else 'es'}"],
                        description=p[f"description_{'en' if lang == 'en' else 'es'}"],
                        category=p["category"], url=p["url"],
                        variants=tuple(replace(v, currency=p["currency"])
                                       for v in by_product.get(p["sku"], [])))
                for p in products
            ]
            return rank(catalogue, query, limit)

        return await self._call(fn)
