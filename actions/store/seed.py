"""Deterministic demo data for the SQLite store.

Every market gets the same named scenarios (in transit, cancellable, inside/outside the return
window, refunded, high amount needing approval, ...) so testers can try each flow in Spanish and
English, plus seeded-random filler orders. Dates are relative to a reference ``today`` (the store's
day of seeding by default; times are on the store's wall clock, :mod:`actions.store_calendar`) so
return windows behave at demo time; ``random.Random(SEED)`` keeps ids, amounts
and tracking numbers identical between runs. The file is written next to the target and moved into
place atomically, so a running action server never sees a half-written store.
"""

from __future__ import annotations

import json
import os
import random
import sqlite3
import tempfile
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from pathlib import Path
from typing import Any

from actions.policy import holiday_return_deadline
from actions.policy_markets import market_policy
from actions.store.demo_catalogue import CURRENCY as CATALOGUE_CURRENCY
from actions.store.demo_catalogue import STORE_URL, build_catalogue
from actions.store.demo_data import (
    ALPHA_SIZES,
    CATALOGUE,
    COD_MAX_CENTS,
    CUSTOMERS,
    MARKETS,
    TRACKING_URLS,
    WAIST_SIZES,
    Market,
)
from actions.store.sqlite_schema import SCHEMA, SCHEMA_VERSION
from actions.store_calendar import at_store_time, store_day
from actions.store_calendar import today as store_today

SEED = 20261122

# key, status, placed, shipped, delivered (days before today; None = not yet), skus
SCENARIOS: tuple[tuple[str, str, int, int | None, int | None, tuple[str, ...]], ...] = (
    ("in_transit", "in_transit", 4, 2, None, ("AP-BRI-03", "AP-ORG-05")),
    ("shipped", "shipped", 2, 0, None, ("AP-IND-04",)),
    ("cancellable", "paid", 1, None, None, ("FW-LIG-01", "AP-NOR-07")),
    ("pending", "pending", 0, None, None, ("AC-POL-09",)),
    ("return_window", "delivered", 9, 8, 6, ("FW-SIE-02", "SW-MAR-10", "AP-MED-06")),
    ("window_expired", "delivered", 53, 51, 48, ("AP-NOR-07", "AC-CUE-08")),
    ("refunded", "refunded", 45, 43, 40, ("AP-IND-04",)),
    ("returned", "returned", 25, 23, 20, ("AP-MED-06",)),
    ("high_amount", "paid", 1, None, None, ("AP-INV-14", "AC-MER-15")),
    ("high_return", "delivered", 6, 5, 3, ("AC-MER-15",)),
    ("cancelled", "cancelled", 12, None, None, ("AC-CUE-08",)),
    # the T-shirt was bought in the clearance sale (final sale), the hoodie was not
    ("final_sale", "delivered", 8, 7, 5, ("AP-ORG-05", "AP-NOR-07")),
)
# scenario -> SKUs sold as final sale in it
FINAL_SALE = {"final_sale": ("AP-ORG-05",)}
# The English speakers living in Spain get a subset (the EU rules apply to them too).
EXPAT_SCENARIOS = ("in_transit", "cancellable", "return_window", "window_expired", "high_amount")
FILLER_ORDERS = 12


@dataclass
class DemoOrder:
    """A demo order as written to the database (plain values, easy to print and assert on)."""

    id: str
    scenario: str
    customer: dict[str, Any]
    status: str
    currency: str
    payment_method: str
    placed_at: datetime
    address: str
    items: list[dict[str, Any]]
    carrier: str | None = None
    tracking_number: str | None = None
    shipped_at: datetime | None = None
    estimated_delivery: date | None = None
    delivered_at: datetime | None = None
    cancelled_at: datetime | None = None
    returns: list[dict[str, Any]] = field(default_factory=list)
    refunds: list[dict[str, Any]] = field(default_factory=list)

    @property
    def total_cents(self) -> int:
        return sum(i["unit_price_cents"] * i["quantity"] for i in self.items)

    @property
    def tracking_url(self) -> str | None:
        if not (self.carrier and self.tracking_number):
            return None
        return TRACKING_URLS[self.carrier].format(n=self.tracking_number)


def _price(eur: float, market: Market) -> int:
    cents = eur * market.rate * 100
    return int(round(cents / market.rounding) * market.rounding)


def _size(kind: str | None, market: Market, rng: random.Random) -> str | None:
    if kind == "shoe":
        return rng.choice(market.sizes_footwear)
    if kind == "alpha":
        return rng.choice(ALPHA_SIZES)
    if kind == "waist":
        return rng.choice(WAIST_SIZES)
    return None


def _tracking_number(carrier: str, rng: random.Random) -> str:
    if carrier == "UPS":
        return "1Z" + "".join(rng.choice("0123456789ABCDEFGHJKLMNPRSTUVWXY") for _ in range(16))
    if carrier == "USPS":
        return "9400" + "".join(rng.choice("0123456789") for _ in range(18))
    if carrier == "Correo Argentino":
        return "CP" + "".join(rng.choice("0123456789") for _ in range(9)) + "AR"
    return "".join(rng.choice("0123456789") for _ in range(12))


def _at(today: date, days_ago: int, hour: int) -> datetime:
    return at_store_time(today - timedelta(days=days_ago), time(hour, 15))


def _payment(chosen: str, status: str, total_cents: int, market: Market) -> str:
    """A payment method consistent with the order.

    Cash on delivery is paid to the courier, so a "paid" (charged, not yet shipped) order cannot
    use it, nor can one above the market's maximum.
    """
    if chosen != "cash_on_delivery":
        return chosen
    if status == "paid" or total_cents > COD_MAX_CENTS.get(market.code, 0):
        return next(p for p in market.payments if p != "cash_on_delivery")
    return chosen


def _expired_dates(today: date, placed: int, shipped: int, delivered: int,
                   market: str) -> tuple[int, int, int]:
    """Days-ago (placed, shipped, delivered) of a "window expired" order, moved earlier while a
    Black Friday/Christmas purchase would still be returnable on ``today`` (seeding on 7-15 Jan)."""
    policy = market_policy(market)
    while True:
        until = holiday_return_deadline(today - timedelta(days=placed), policy)
        if until is None or until < today:
            return placed, shipped, delivered
        placed, shipped, delivered = placed + 1, shipped + 1, delivered + 1


def build_demo_orders(today: date | None = None) -> list[DemoOrder]:
    """The demo orders for a reference day; same input, same output."""
    today = today or store_today()
    rng = random.Random(SEED)
    catalogue = {row[0]: row for row in CATALOGUE}
    customers = [
        {"id": n + 1, "name": c[0], "email": c[1], "phone": c[2], "language": c[3], "market": c[4],
         "vip": c[5]}
        for n, c in enumerate(CUSTOMERS)
    ]
    orders: list[DemoOrder] = []
    next_item = iter(range(1, 10_000))

    def make(oid: str, key: str, cust: dict[str, Any], status: str, placed: int,
             shipped: int | None, delivered: int | None, skus: tuple[str, ...]) -> DemoOrder:
        market = MARKETS[cust["market"]]
        items = []
        for sku in skus:
            _, es_name, en_name, category, eur, sized = catalogue[sku]
            items.append({
                "id": next(next_item), "sku": sku, "category": category,
                "name": es_name if cust["language"] == "es" else en_name,
                "size": _size(sized, market, rng), "quantity": 1,
                "unit_price_cents": _price(eur, market),
                "final_sale": sku in FINAL_SALE.get(key, ()),
            })
        payment = _payment(rng.choice(market.payments), status,
                           sum(i["unit_price_cents"] for i in items), market)
        if status == "pending" and cust["market"] in {"MX", "CO", "ES"}:
            payment = {"MX": "oxxo", "CO": "cash_on_delivery",
                       "ES": "bank_transfer"}[cust["market"]]
        order = DemoOrder(
            id=oid, scenario=key, customer=cust, status=status, currency=market.currency,
            payment_method=payment, placed_at=_at(today, placed, 9 + placed % 9),
            address=rng.choice(market.addresses), items=items,
        )
        if shipped is not None:
            order.carrier = rng.choice(market.carriers)
            order.tracking_number = _tracking_number(order.carrier, rng)
            order.shipped_at = _at(today, shipped, 17)
            order.estimated_delivery = today - timedelta(days=shipped) + timedelta(days=4)
        if delivered is not None:
            order.delivered_at = _at(today, delivered, 12)
            order.estimated_delivery = store_day(order.delivered_at)
        total = order.total_cents
        if status == "cancelled":
            order.cancelled_at = _at(today, placed - 1, 11)
            order.refunds.append({"amount_cents": total, "status": "completed",
                                  "created_at": order.cancelled_at,
                                  "completed_at": _at(today, max(placed - 5, 0), 10), "rma": None})
        if status in {"refunded", "returned"} and delivered is not None:
            rma = f"RMA-{oid[2:]}-01"
            returned_at = _at(today, delivered - 5, 16)
            done = status == "refunded"
            order.returns.append({"rma": rma, "item_ids": [i["id"] for i in items],
                                  "kind": "refund",
                                  "reason": "No me queda bien" if cust["language"] == "es"
                                  else "Doesn't fit", "status": "refunded" if done else "received",
                                  "refund_cents": total, "created_at": returned_at})
            order.refunds.append({"amount_cents": total,
                                  "status": "completed" if done else "processing",
                                  "created_at": _at(today, delivered - (10 if done else 18), 9),
                                  "completed_at": _at(today, delivered - 15, 9) if done else None,
                                  "rma": rma})
        return order

    by_market: dict[str, list[dict[str, Any]]] = {}
    for cust in customers:
        key = f"{cust['market']}-{cust['language']}"
        by_market.setdefault(key, []).append(cust)
    blocks = ["ES-es", "MX-es", "AR-es", "CO-es", "US-en", "ES-en"]
    for block_no, block in enumerate(blocks, start=1):
        people = by_market[block]
        vip = next(c for c in people if c["vip"])
        regular = [c for c in people if not c["vip"]] or people
        wanted = (SCENARIOS if block != "ES-en"
                  else [s for s in SCENARIOS if s[0] in EXPAT_SCENARIOS])
        for n, (key, status, placed, shipped, delivered, skus) in enumerate(wanted, start=1):
            cust = vip if key.startswith("high") else regular[n % len(regular)]
            oid = f"AT1{block_no:02d}{n:03d}"
            if key == "window_expired":
                placed, shipped, delivered = _expired_dates(  # type: ignore[arg-type]
                    today, placed, shipped, delivered, cust["market"])
            orders.append(make(oid, key, cust, status, placed, shipped, delivered, skus))

    statuses = ["delivered", "delivered", "in_transit", "paid", "shipped", "cancelled", "refunded"]
    for n in range(1, FILLER_ORDERS + 1):
        cust = rng.choice(customers)
        status = rng.choice(statuses)
        placed = rng.randint(3, 90)
        shipped = placed - 1 if status not in {"paid", "cancelled"} else None
        if status in {"in_transit", "shipped"}:
            placed, shipped = 3, 1
        if status == "paid":
            placed = rng.randint(0, 2)
        if status == "refunded":
            placed = rng.randint(30, 90)
        delivered = placed - 3 if status in {"delivered", "refunded"} else None
        skus = tuple(rng.sample([c[0] for c in CATALOGUE if c[4] < 200], k=rng.randint(1, 3)))
        orders.append(make(f"AT190{n:03d}", "filler", cust, status, placed, shipped, delivered,
                           skus))
    return orders


def write_database(path: Path, orders: list[DemoOrder]) -> None:
    """Create a fresh store file at ``path`` holding ``orders`` (atomic replace)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp_name = tempfile.mkstemp(prefix=".store-", suffix=".db", dir=path.parent)
    os.close(fd)
    try:
        con = sqlite3.connect(tmp_name)
        con.executescript(SCHEMA)
        seen: set[int] = set()
        for o in orders:
            c = o.customer
            if c["id"] not in seen:
                seen.add(c["id"])
                con.execute("INSERT INTO customers VALUES (?, ?, ?, ?, ?, ?, ?)",
                            (c["id"], c["name"], c["email"], c["phone"], c["language"], c["market"],
                             int(c["vip"])))
            iso = lambda v: v.isoformat() if v else None  # noqa: E731
            con.execute(
                "INSERT INTO orders VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (o.id, c["id"], o.status, o.currency, o.total_cents, o.payment_method,
                 iso(o.placed_at), o.address, o.carrier, o.tracking_number, o.tracking_url,
                 iso(o.shipped_at), iso(o.estimated_delivery), iso(o.delivered_at),
                 iso(o.cancelled_at), iso(o.placed_at)),
            )
            for i in o.items:
                con.execute("INSERT INTO order_items VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                            (i["id"], o.id, i["sku"], i["name"], i["category"], i["size"],
                             i["quantity"], i["unit_price_cents"], int(i["final_sale"])))
            for r in o.returns:
                con.execute("INSERT INTO returns VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                            (r["rma"], o.id, json.dumps(r["item_ids"]), r["reason"], r["kind"],
                             r["status"], r["refund_cents"], None, iso(r["created_at"])))
            for f in o.refunds:
                con.execute("INSERT INTO refunds (order_id, rma, amount_cents, currency, method,"
                            " status, created_at, completed_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                            (o.id, f["rma"], f["amount_cents"], o.currency, o.payment_method,
                             f["status"], iso(f["created_at"]), iso(f["completed_at"])))
            history = [("placed", o.placed_at)]
            if o.status != "pending":
                history.append(("paid", o.placed_at))
            history += [(s, t) for s,
                        t in (("shipped", o.shipped_at), ("delivered", o.delivered_at),
                                             ("cancelled", o.cancelled_at)) if t]
            for status, at in history:
                con.execute("INSERT INTO events (order_id, type, data, created_at) VALUES (?, ?, "
                            "?, ?)",
                            (o.id, "status", json.dumps({"status": status}), iso(at)))
        write_catalogue(con)
        con.execute(f"PRAGMA user_version = {SCHEMA_VERSION}")
        con.commit()
        con.close()
        os.replace(tmp_name, path)
    except BaseException:
        Path(tmp_name).unlink(missing_ok=True)
        raise


def write_catalogue(con: sqlite3.Connection) -> None:
    """The demo catalogue (actions/store/demo_catalogue.py) into an open store database."""
    for p in build_catalogue():
        con.execute("INSERT INTO products VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                    (p.sku, p.handle, p.name_es, p.name_en, p.category, p.description_es,
                     p.description_en, f"{STORE_URL}/productos/{p.handle}", CATALOGUE_CURRENCY))
        for n, v in enumerate(p.variants):
            con.execute("INSERT INTO product_variants VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                        (v.sku, p.sku, n, v.size, v.colour_es, v.colour_en, v.price_cents,
                         v.stock))


def schema_version(path: Path) -> int:
    """``PRAGMA user_version`` of an existing store file (0 for stores older than the field)."""
    con = sqlite3.connect(f"{path.resolve().as_uri()}?mode=ro", uri=True)
    try:
        return int(con.execute("PRAGMA user_version").fetchone()[0])
    finally:
        con.close()


def seed_database(path: str | Path, *, today: date | None = None,
                  force: bool = False) -> list[DemoOrder] | None:
    """Seed ``path`` unless it already holds a current store (then return None); ``force``
    reseeds, and so does a store written by an older schema (the demo store is disposable)."""
    target = Path(path)
    if target.exists() and not force and schema_version(target) >= SCHEMA_VERSION:
        return None
    orders = build_demo_orders(today)
    write_database(target, orders)
    return orders
