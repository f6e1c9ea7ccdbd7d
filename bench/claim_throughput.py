"""Claim throughput of the handoff queue, and proof that no conversation is claimed twice.

    .venv/app/bin/python -m bench.claim_throughput --backend both --claimers 16 --handoffs 3000

Fills a fresh database (temporary SQLite file; a new PostgreSQL database created from
``--pg-url`` and dropped afterwards) with queued handoffs, then N threads, one agent each, call the
same claim transaction the API uses (``claim_next_id`` + commit, one session per claim) until the
queue is empty. Reports claims/s and double claims
(must be 0; the exit status is 1 otherwise). Goals: >= 500/s SQLite, >= 1,000/s PostgreSQL.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import threading
import time
import uuid
from collections import Counter
from datetime import timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import create_engine, func, insert, select, text

from handoff_api.db import make_engine, make_write_session_factory, run_migrations
from handoff_api.models import Agent, Handoff, HandoffEvent
from handoff_api.queue import claim_next_id, now_utc, priority_for

DEFAULT_PG = "postgresql+psycopg2://postgres@127.0.0.1:5432/test"


def _fill(engine: Any, claimers: int, handoffs: int) -> list[Agent]:
    now = now_utc()
    with engine.begin() as conn:
        conn.execute(insert(Agent), [
            {"username": f"bench{i}", "name": f"Bench {i}", "password_hash": "x", "role": "agent",
             "languages": "es", "capacity": None, "active": True, "created_at": now}
            for i in range(claimers)])
        reasons = ["asked", "frustration", "legal_or_fraud", "repeated_fallback"]
        rows = []
        for i in range(handoffs):
            reason, vip = reasons[i % 4], i % 10 == 0
            rows.append({"conversation_id": f"bench-{i}", "channel": "rest", "language": "es",
                         "reason": reason, "vip": vip, "priority": priority_for(reason, vip),
                         "status": "queued", "packet": {"conversation_id": f"bench-{i}"},
                         "created_at": now - timedelta(seconds=handoffs - i)})
        conn.execute(insert(Handoff), rows)
    with make_write_session_factory(engine)() as s:
        return list(s.scalars(select(Agent).order_by(Agent.id)))


def run(url: str, claimers: int, handoffs: int) -> dict[str, Any]:
    engine = make_engine(url)
    try:
        run_migrations(engine)
        agents = _fill(engine, claimers, handoffs)
        sessions = make_write_session_factory(engine)
        claimed: list[list[int]] = [[] for _ in agents]
        errors: list[str] = []
        barrier = threading.Barrier(claimers + 1)

        def work(index: int, agent: Agent) -> None:
            barrier.wait()
            mine = claimed[index]
            try:
                while True:
                    with sessions() as s:
                        got = claim_next_id(s, agent.id, capacity=10**9)
                        s.commit()
                    if got is None:
                        return
                    mine.append(got)
            except Exception as exc:  # noqa: BLE001 - reported in the result
                errors.append(f"{type(exc).__name__}: {exc}")

        threads = [threading.Thread(target=work, args=(i, a)) for i, a in enumerate(agents)]
        for t in threads:
            t.start()
        barrier.wait()
        started = time.perf_counter()
        for t in threads:
            t.join()
        elapsed = time.perf_counter() - started
        ids = [hid for per_agent in claimed for hid in per_agent]
        doubles = sum(n - 1 for n in Counter(ids).values() if n > 1)
        with sessions() as s:
            still_queued = s.scalar(select(func.count()).select_from(Handoff)
                                    .where(Handoff.status == "queued"))
            multi_assigned = s.scalar(select(func.count()).select_from(
                select(HandoffEvent.handoff_id).where(HandoffEvent.type == "assigned")
                .group_by(HandoffEvent.handoff_id).having(func.count() > 1).subquery()))
        return {
            "backend": engine.dialect.name, "claimers": claimers, "handoffs": handoffs,
            "claimed": len(ids), "seconds": round(elapsed, 3),
            "claims_per_second": round(len(ids) / elapsed, 1) if elapsed else None,
            "double_claims": doubles + int(multi_assigned or 0),
            "left_in_queue": int(still_queued or 0), "errors": errors[:5],
        }
    finally:
        engine.dispose()


def run_postgres(admin_url: str, claimers: int, handoffs: int) -> dict[str, Any]:
    admin = create_engine(admin_url, isolation_level="AUTOCOMMIT")
    name = f"atiende_bench_{uuid.uuid4().hex[:8]}"
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    try:
        return run(admin_url.rsplit("/", 1)[0] + f"/{name}", claimers, handoffs)
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--backend", choices=("sqlite", "postgres", "both"), default="both")
    parser.add_argument("--claimers", type=int, default=16)
    parser.add_argument("--handoffs", type=int, default=3000)
    parser.add_argument("--pg-url", default=DEFAULT_PG)
    parser.add_argument("--json", action="store_true", help="one JSON object per backend")
    args = parser.parse_args(argv)
    results = []
    if args.backend in ("sqlite", "both"):
        with tempfile.TemporaryDirectory() as tmp:
            results.append(run(f"sqlite:///{Path(tmp) / 'bench.db'}", args.claimers, args.handoffs))
    if args.backend in ("postgres", "both"):
        results.append(run_postgres(args.pg_url, args.claimers, args.handoffs))
    goals = {"sqlite": 500, "postgresql": 1000}
    for r in results:
        if args.json:
            print(json.dumps(r))
        else:
            verdict = "ok" if (r["claims_per_second"] or 0) >= goals[r["backend"]] else "below goal"
            print(f"{r['backend']:>10}: {r['claimed']} claims by {r['claimers']} agents in "
                  f"{r['seconds']} s = {r['claims_per_second']} claims/s ({verdict}, goal "
                  f"{goals[r['backend']]}), double claims {r['double_claims']}, "
                  f"left in queue {r['left_in_queue']}"
                  + (f", errors {r['errors']}" if r["errors"] else ""))
    return 1 if any(r["double_claims"] or r["errors"] or r["left_in_queue"] for r in results) else 0


if __name__ == "__main__":
    sys.exit(main())
