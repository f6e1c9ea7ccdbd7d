"""How long the console's search takes on a store with a long history.

    .venv/app/bin/python -m bench.console_search --handoffs 20000 --backend sqlite|postgres

Fills a fresh database (temporary SQLite file, or a new PostgreSQL database from ``--pg-url``,
dropped afterwards) with closed handoffs — each with a verified order (e-mail, phone), 4 live
messages, one in ten on WhatsApp — then times ``handoff_api.search.search_handoffs`` (the route's
query) as an agent and as a supervisor: by verified e-mail, by phone, by channel id, and by text
(``q``, a LIKE over the messages: the slowest). Prints the median and 95th percentile of
``--runs`` calls each. No index is added for the JSON paths: this says when one is needed.
"""

from __future__ import annotations

import argparse
import random
import statistics
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

from sqlalchemy import create_engine, insert, select, text

from handoff_api.db import make_engine, make_session_factory, run_migrations
from handoff_api.models import Agent, Handoff, HandoffEvent, Message
from handoff_api.queue import now_utc
from handoff_api.search import search_handoffs

DEFAULT_PG = "postgresql+psycopg2://postgres@127.0.0.1:5432/test"
WORDS = ("pedido talla devolución reembolso caja rota envío dirección tarjeta factura cambio "
         "color zapatilla bota vestido retraso transportista código descuento").split()


def _fill(engine: Any, count: int) -> None:
    now = now_utc()
    rng = random.Random(7)
    with engine.begin() as conn:
        conn.execute(insert(Agent), [
            {"username": u, "name": u.title(), "password_hash": "x", "role": r,
             "languages": "es", "capacity": None, "active": True, "created_at": now}
            for u, r in (("leo", "agent"), ("ana", "supervisor"))])
        batch = 2000
        for start in range(0, count, batch):
            rows, messages, events = [], [], []
            for i in range(start, min(count, start + batch)):
                whatsapp = i % 10 == 0
                phone = f"+34 6{i:08d}"
                cid = phone.replace(" ", "").lstrip("+") if whatsapp else f"web-{i}"
                rows.append({"id": i + 1, "conversation_id": cid,
                             "channel": "whatsapp" if whatsapp else "socketio", "language": "es",
                             "reason": "asked", "vip": False, "priority": 0, "status": "resolved",
                             "agent_id": 1 + (i % 2), "created_at": now, "closed_at": now,
                             "packet": {"conversation_id": cid, "customer": {"name": f"C {i}"},
                                        "order": {"id": f"AT{i:06d}", "customer": {
                                            "email": f"cliente{i}@example.com", "phone": phone}},
                                        "slots": {"order_id": f"AT{i:06d}"}, "transcript": []}})
                for j in range(4):
                    messages.append({"handoff_id": i + 1, "conversation_id": cid,
                                     "message_id": f"m{i}-{j}", "role": "user" if j % 2 == 0
                                     else "agent", "text": " ".join(rng.choices(WORDS, k=12)),
                                     "channel": "socketio", "ts": now, "created_at": now,
                                     "delivery": "sent"})
                events.append({"handoff_id": i + 1, "type": "assigned", "agent_id": 1 + (i % 2),
                               "at": now})
            conn.execute(insert(Handoff), rows)
            conn.execute(insert(Message), messages)
            conn.execute(insert(HandoffEvent), events)


def _time(fn: Any, runs: int) -> tuple[float, float]:
    took = []
    for _ in range(runs):
        t0 = time.perf_counter()
        fn()
        took.append((time.perf_counter() - t0) * 1000)
    took.sort()
    return statistics.median(took), took[min(len(took) - 1, int(len(took) * 0.95))]


def run(url: str, count: int, runs: int) -> None:
    engine = make_engine(url)
    run_migrations(engine)
    _fill(engine, count)
    sessions = make_session_factory(engine)
    with sessions() as s:
        leo = s.scalar(select(Agent).where(Agent.username == "leo"))
        ana = s.scalar(select(Agent).where(Agent.username == "ana"))
        i = count // 2 - (count // 2) % 10  # a WhatsApp customer
        cases = {
            "email": {"email": f"cliente{i}@example.com"},
            "phone": {"phone": f"+34 6{i:08d}"},
            "channel_id": {"channel_id": f"web-{i + 1}"},
            "q (text, agent)": {"q": "caja rota envío"},
        }
        print(f"{engine.dialect.name}: {count} closed handoffs, {count * 4} messages; "
              f"{runs} runs each")
        for name, params in cases.items():
            for who in (leo, ana) if name.startswith("q") else (leo,):
                label = name if who is leo else "q (text, supervisor)"
                found = search_handoffs(s, who, **params)["count"]
                med, p95 = _time(lambda who=who, params=params: search_handoffs(s, who, **params),
                                 runs)
                print(f"  {label:22s} {found:3d} found   median {med:7.1f} ms   p95 {p95:7.1f} ms")
        s.rollback()
    engine.dispose()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--handoffs", type=int, default=20000)
    parser.add_argument("--runs", type=int, default=20)
    parser.add_argument("--backend", choices=("sqlite", "postgres"), default="sqlite")
    parser.add_argument("--pg-url", default=DEFAULT_PG)
    args = parser.parse_args()
    if args.backend == "sqlite":
        with tempfile.TemporaryDirectory() as tmp:
            run(f"sqlite:///{Path(tmp) / 'bench.db'}", args.handoffs, args.runs)
        return
    name = f"atiende_bench_{uuid.uuid4().hex[:8]}"
    admin = create_engine(args.pg_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    try:
        run(args.pg_url.rsplit("/", 1)[0] + f"/{name}", args.handoffs, args.runs)
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


if __name__ == "__main__":
    main()
