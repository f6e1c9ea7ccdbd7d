"""What the durable identity-attempt limit costs an order-form turn, on SQLite and PostgreSQL.

    .venv/app/bin/python -m bench.identity_attempts --backend both --n 300

Every turn of an order form reads the sender's failures (``attempts_left``); a wrong e-mail adds a
failure for the sender and the order (``failed``). This times both against a fresh ledger
(temporary SQLite file; a new PostgreSQL database from ``--pg-url``, dropped afterwards) and
prints the median and 95th percentile in milliseconds.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import tempfile
import time
import uuid
from pathlib import Path

from sqlalchemy import create_engine, text

from actions.attempts import AttemptLimiter, AttemptSettings

DEFAULT_PG = "postgresql+psycopg2://postgres@127.0.0.1:5432/test"


def _ms(samples: list[float]) -> dict[str, float]:
    ordered = sorted(samples)
    return {"median_ms": round(statistics.median(ordered) * 1000, 2),
            "p95_ms": round(ordered[int(len(ordered) * 0.95) - 1] * 1000, 2)}


async def _measure(url: str, n: int) -> dict[str, dict[str, float]]:
    limiter = AttemptLimiter(AttemptSettings(ledger_url=url, key=b"bench-key-0123456789"))
    await limiter.attempts_left("AT100000", "warm-up")  # creates the tables
    reads, writes = [], []
    for i in range(n):
        sender, order = f"bench-{i % 50}", f"AT{100000 + i % 200}"
        t0 = time.perf_counter()
        await limiter.attempts_left(order, sender)
        reads.append(time.perf_counter() - t0)
        t0 = time.perf_counter()
        await limiter.failed(order, sender)
        writes.append(time.perf_counter() - t0)
    limiter.ledger.dispose()
    return {"attempts_left": _ms(reads), "failed": _ms(writes)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--backend", choices=("sqlite", "postgres", "both"), default="both")
    parser.add_argument("--n", type=int, default=300)
    parser.add_argument("--pg-url", default=DEFAULT_PG)
    args = parser.parse_args()
    results = {}
    if args.backend in ("sqlite", "both"):
        with tempfile.TemporaryDirectory() as tmp:
            url = f"sqlite:///{Path(tmp) / 'ledger.db'}"
            results["sqlite"] = asyncio.run(_measure(url, args.n))
    if args.backend in ("postgres", "both"):
        admin = create_engine(args.pg_url, isolation_level="AUTOCOMMIT")
        name = f"atiende_bench_{uuid.uuid4().hex[:8]}"
        with admin.connect() as conn:
            conn.execute(text(f'CREATE DATABASE "{name}"'))
        try:
            url = args.pg_url.rsplit("/", 1)[0] + f"/{name}"
            results["postgres"] = asyncio.run(_measure(url, args.n))
        finally:
            with admin.connect() as conn:
                conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
            admin.dispose()
    print(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
