"""Order webhooks under replays: how many messages go out per event, and how fast deliveries
are answered.

    .venv/app/bin/python -m bench.store_events --backend both --events 200 --replays 5

Runs the handoff API under uvicorn on an ephemeral port (fresh SQLite file; a new PostgreSQL
database from ``--pg-url``, dropped afterwards), a local SMTP server (aiosmtpd) that counts what
it receives, and an in-memory store. Every event (a signed Shopify ``fulfillments/update`` for
its own order) is posted ``--replays`` times, all deliveries shuffled and sent ``--concurrency``
at a time, as a platform retrying over a slow network would. Reports deliveries/s, p50/p95
answer time, mails received and duplicates (must be 0: the exit status is 1 otherwise).
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import hashlib
import hmac
import json
import random
import socket
import sys
import tempfile
import threading
import time
import uuid
from collections import Counter
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import uvicorn
from aiosmtpd.controller import Controller
from sqlalchemy import create_engine, func, select, text

from actions.store.base import Customer, Order, OrderItem, OrderStatus
from handoff_api.app import create_app
from handoff_api.models import MailOutbox, OrderNotice
from handoff_api.settings import Settings
from handoff_api.store_events import OrderNotifier

DEFAULT_PG = "postgresql+psycopg2://postgres@127.0.0.1:5432/test"
SECRET = "bench-shopify-secret-0123456789"


def _port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class Inbox:
    def __init__(self) -> None:
        self.subjects: Counter[str] = Counter()

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:  # noqa: N802
        for line in envelope.content.decode("utf-8", "replace").splitlines():
            if line.startswith("Subject:"):
                self.subjects[line] += 1
        return "250 OK"


class MemoryOrders:
    platform = "shopify"

    def __init__(self, count: int) -> None:
        placed = datetime(2026, 12, 1, tzinfo=UTC)
        self.orders = {str(1000 + i): Order(
            id=f"AT{200000 + i}", status=OrderStatus.IN_TRANSIT, currency="EUR",
            customer=Customer(i, "Lucía García", f"shopper{i}@example.com", "", "es", "ES"),
            total_cents=4990, payment_method="card", placed_at=placed,
            shipping_address="Calle Mayor 1", carrier="SEUR", tracking_number=f"SE{i}",
            items=(OrderItem(1, "UR-42", "Urban Runner", "footwear", "42", 1, 4990),))
            for i in range(count)}

    def owns(self, shop: str | None) -> bool:
        return True

    async def order_for(self, event: Any) -> Order:
        await asyncio.sleep(0.005)  # a platform round trip, short
        return self.orders[event.order_ref]


def _delivery(i: int) -> tuple[bytes, dict[str, str]]:
    body = json.dumps({"id": 5000 + i, "order_id": 1000 + i, "status": "success",
                       "shipment_status": "in_transit"}).encode()
    signature = base64.b64encode(hmac.new(SECRET.encode(), body, hashlib.sha256).digest())
    return body, {"Content-Type": "application/json", "X-Shopify-Topic": "fulfillments/update",
                  "X-Shopify-Webhook-Id": f"wh-{i}", "X-Shopify-Hmac-Sha256": signature.decode()}


async def _post_all(base: str, events: int, replays: int, concurrency: int
                    ) -> tuple[list[float], Counter[str]]:
    jobs = [i for i in range(events) for _ in range(replays)]
    random.Random(7).shuffle(jobs)
    gate = asyncio.Semaphore(concurrency)
    latencies: list[float] = []
    outcomes: Counter[str] = Counter()
    async with httpx.AsyncClient(base_url=base, timeout=60) as client:
        async def one(i: int) -> None:
            body, headers = _delivery(i)
            async with gate:
                started = time.perf_counter()
                r = await client.post("/webhooks/store/shopify", content=body, headers=headers)
                latencies.append(time.perf_counter() - started)
            outcomes[f"{r.status_code} {r.json().get('status', r.json().get('detail'))}"] += 1

        await asyncio.gather(*(one(i) for i in jobs))
    return latencies, outcomes


def run(url: str, label: str, events: int, replays: int, concurrency: int) -> dict[str, Any]:
    inbox = Inbox()
    smtp = Controller(inbox, hostname="127.0.0.1", port=_port())
    smtp.start()
    with tempfile.TemporaryDirectory() as tmp:
        settings = Settings(database_url=url, environment="development", data_dir=Path(tmp),
                            smtp_host="127.0.0.1", smtp_port=smtp.port,
                            shopify_webhook_secret=SECRET, run_outbox_worker=False)
        app = create_app(settings)
        app.state.order_notifier = OrderNotifier(app.state.services, orders=MemoryOrders(events))
        port = _port()
        server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port,
                                               log_level="warning", lifespan="on"))
        thread = threading.Thread(target=server.run, daemon=True)
        thread.start()
        while not server.started:
            time.sleep(0.05)
        try:
            started = time.perf_counter()
            latencies, outcomes = asyncio.run(_post_all(f"http://127.0.0.1:{port}", events,
                                                        replays, concurrency))
            elapsed = time.perf_counter() - started
            deadline = time.monotonic() + 60
            while sum(inbox.subjects.values()) < events and time.monotonic() < deadline:
                time.sleep(0.1)
            asyncio.run(app.state.services.mail.deliver_due())  # a second pass sends nothing
            with app.state.services.sessions() as s:
                notices = int(s.scalar(select(func.count()).select_from(OrderNotice)) or 0)
                mails = int(s.scalar(select(func.count()).select_from(MailOutbox)) or 0)
        finally:
            server.should_exit = True
            thread.join(30)
            app.state.services.engine.dispose()
            smtp.stop()
    latencies.sort()
    received = sum(inbox.subjects.values())
    return {"backend": label, "events": events, "deliveries": events * replays,
            "concurrency": concurrency, "deliveries_per_s": round(events * replays / elapsed, 1),
            "p50_ms": round(latencies[len(latencies) // 2] * 1000, 1),
            "p95_ms": round(latencies[int(len(latencies) * 0.95)] * 1000, 1),
            "answers": dict(outcomes), "notices": notices, "mails_queued": mails,
            "mails_received": received, "distinct_received": len(inbox.subjects),
            "duplicates": received - len(inbox.subjects), "missing": events - len(inbox.subjects)}


def run_postgres(admin_url: str, events: int, replays: int, concurrency: int) -> dict[str, Any]:
    admin = create_engine(admin_url, isolation_level="AUTOCOMMIT")
    name = f"atiende_bench_{uuid.uuid4().hex[:8]}"
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    try:
        return run(admin_url.rsplit("/", 1)[0] + f"/{name}", "postgresql", events, replays,
                   concurrency)
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--backend", choices=["sqlite", "postgres", "both"], default="both")
    parser.add_argument("--events", type=int, default=200)
    parser.add_argument("--replays", type=int, default=5)
    parser.add_argument("--concurrency", type=int, default=20)
    parser.add_argument("--pg-url", default=DEFAULT_PG)
    args = parser.parse_args(argv)
    results = []
    if args.backend in ("sqlite", "both"):
        with tempfile.TemporaryDirectory() as tmp:
            results.append(run(f"sqlite:///{tmp}/bench.db", "sqlite", args.events, args.replays,
                               args.concurrency))
    if args.backend in ("postgres", "both"):
        results.append(run_postgres(args.pg_url, args.events, args.replays, args.concurrency))
    for result in results:
        print(json.dumps(result, ensure_ascii=False))
    return 1 if any(r["duplicates"] or r["missing"] for r in results) else 0


if __name__ == "__main__":
    sys.exit(main())
