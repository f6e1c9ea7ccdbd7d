"""How long the dashboard takes to compute a week of metrics from the event log.

    .venv/app/bin/python -m bench.dashboard_metrics --conversations 2000 10000

Fills a fresh SQLite file (migrated like the handoff API's) with a synthetic week: N
conversations of ~8 bot rows each, a quarter of them handed off (created, claimed, agent message,
resolved, rating), spread over 7 days, 3 channels and 2 languages; then times
``compute_metrics`` for that week (read + compute, the cost of one dashboard load), best of 3.
"""

from __future__ import annotations

import argparse
import random
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import insert

from handoff_api.db import make_engine, make_session_factory, run_migrations
from handoff_api.metrics import compute_metrics
from handoff_api.models import EventLogEntry


def synthetic(n: int, start: datetime, rng: random.Random) -> list[dict[str, Any]]:
    rows: list[dict[str, Any]] = []
    for i in range(n):
        at = start + timedelta(seconds=rng.uniform(0, 7 * 86400))
        channel = rng.choice(["socketio", "socketio", "whatsapp", "messenger"])
        base = {"conversation": f"p_{i:032x}", "channel": channel,
                "language": rng.choice(["es", "es", "en"]), "source": "bot",
                "customer": f"p_c{i % (n // 2):031x}" if channel != "socketio" else None}

        def add(kind: str, minutes: float, base: dict[str, Any] = base, at: datetime = at,
                **fields: Any) -> None:
            rows.append({**base, "type": kind, "at": at + timedelta(minutes=minutes), **fields})

        add("conversation_started", 0)
        for turn in range(3):
            add("user_message", turn + 0.1, intent="order_status", value=0.9)
            add("action", turn + 0.2, action="action_order_status")
            add("bot_message", turn + 0.3)
        if rng.random() < 0.25:
            hid = i + 1
            h = {"source": "handoff", "handoff_id": hid, "reason": "asked"}
            add("handoff_created", 4, **h)
            add("handoff_claimed", 4 + rng.uniform(0.5, 10), agent_id=1, **h)
            add("agent_message", 15, agent_id=1, **h)
            add("handoff_resolved", 25, agent_id=1, **h)
            add("csat", 26, value=float(rng.randint(1, 5)), **h)
        elif rng.random() < 0.1:
            add("kb_gap", 3.5, text=rng.choice(["¿envolvéis para regalo?", "gift wrap?"]))
    return rows


def run(n: int) -> dict[str, Any]:
    rng = random.Random(n)
    start = datetime(2026, 11, 23, tzinfo=UTC)
    with tempfile.TemporaryDirectory() as tmp:
        engine = make_engine(f"sqlite:///{Path(tmp) / 'bench.db'}")
        run_migrations(engine)
        rows = synthetic(n, start, rng)
        with engine.begin() as conn:
            conn.execute(insert(EventLogEntry), rows)
        sessions = make_session_factory(engine)
        best = float("inf")
        for _ in range(3):
            t0 = time.perf_counter()
            with sessions() as s:
                result = compute_metrics(s, since=start, until=start + timedelta(days=7),
                                         now=start + timedelta(days=9), tz="Europe/Madrid")
            best = min(best, time.perf_counter() - t0)
        engine.dispose()
    return {"conversations": n, "rows": len(rows), "seconds": round(best, 3),
            "counted": result["conversations"], "containment": result["containment"]["rate"]}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--conversations", type=int, nargs="+", default=[2000, 10000])
    args = parser.parse_args()
    for n in args.conversations:
        r = run(n)
        print(f"dashboard week: {r['conversations']:>6} conversations, {r['rows']:>7} event rows"
              f" -> {r['seconds']:.3f} s (read + compute, best of 3; counted "
              f"{r['counted']}, containment {r['containment']})")


if __name__ == "__main__":
    main()
