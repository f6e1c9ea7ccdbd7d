"""What the outgoing ledger (bot/outgoing.py) costs per reply, in one run.

    PYTHONPATH=. taskset -c 0 .venv/bot/bin/python -m bench.outgoing_replies --replies 400 \
        [--pg-url postgresql://postgres@127.0.0.1:5432/postgres]

Sends ``--replies`` WhatsApp text replies through the real ``WhatsAppOutput`` to a fake Graph API
(aiohttp, a separate process pinned to another core with ``taskset -c 1``), one reply per turn,
in the variants, interleaved round by round so machine noise hits them alike:

* ``off`` — no outgoing ledger (the code before);
* ``sqlite`` — the ledger on a SQLite file (the default deployment);
* ``postgresql`` — the ledger on a fresh PostgreSQL database (``--pg-url``: the admin URL; the
  database ``atiende_once8_bench_*`` is created and dropped).

Reports per variant the median and p95 time of one reply (window check + Graph POST [+ the two
marks]) and the largest event-loop stall seen by a 1 ms ticker meanwhile: the marks run in worker
threads, so the loop must stay as free as without them.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

SERVER = """
import sys
from aiohttp import web
async def answer(request):
    await request.read()
    return web.json_response({"messages": [{"id": "wamid.bench"}]})
app = web.Application()
app.router.add_route("POST", "/{tail:.*}", answer)
web.run_app(app, host="127.0.0.1", port=int(sys.argv[1]), print=None, access_log=None)
"""


def free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


async def ticker(stalls: list[float], stop: asyncio.Event) -> None:
    last = time.perf_counter()
    while not stop.is_set():
        await asyncio.sleep(0.001)
        now = time.perf_counter()
        stalls.append(now - last - 0.001)
        last = now


@contextlib.contextmanager
def fake_graph() -> Iterator[int]:
    """The fake Graph API in its own process (on another core when ``taskset`` exists)."""
    import urllib.error
    import urllib.request

    port = free_port()
    cmd = [sys.executable, "-c", SERVER, str(port)]
    if shutil.which("taskset"):
        cmd = ["taskset", "-c", "1", *cmd]
    server = subprocess.Popen(cmd)
    try:
        for _ in range(100):
            try:
                urllib.request.urlopen(urllib.request.Request(  # noqa: S310 - loopback
                    f"http://127.0.0.1:{port}/x", data=b"{}", method="POST"), timeout=2)
                break
            except (urllib.error.URLError, OSError):
                time.sleep(0.1)
        yield port
    finally:
        server.terminate()
        server.wait(10)


async def run(port: int, replies: int, pg_admin: str | None) -> dict[str, Any]:
    from bot.channels.meta import MetaStateStore
    from bot.channels.whatsapp_output import WhatsAppOutput
    from bot.ledger import Ledger
    from bot.outgoing import TurnReplies

    tmp = Path(tempfile.mkdtemp(prefix="outgoing-bench-"))
    pg_name, admin = None, None
    try:
        state = MetaStateStore(tmp / "meta.db")
        phone = "34600000999"
        await state.record_inbound("whatsapp", phone, time.time())
        ledgers: dict[str, Ledger | None] = {"off": None,
                                             "sqlite": Ledger(f"sqlite:///{tmp / 'ledger.db'}")}
        if pg_admin:
            import sqlalchemy as sa

            pg_name = f"atiende_once8_bench_{uuid.uuid4().hex[:8]}"
            admin = sa.create_engine(pg_admin, isolation_level="AUTOCOMMIT")
            with admin.connect() as conn:
                conn.exec_driver_sql(f"CREATE DATABASE {pg_name}")
            ledgers["postgresql"] = Ledger(pg_admin.rsplit("/", 1)[0] + f"/{pg_name}")
        for ledger in ledgers.values():
            if ledger is not None:
                ledger.engine  # noqa: B018 - tables created before timing
        times: dict[str, list[float]] = {name: [] for name in ledgers}
        stalls: dict[str, list[float]] = {name: [] for name in ledgers}
        for n in range(replies):
            for name, ledger in ledgers.items():
                replies_ = None if ledger is None else TurnReplies(
                    ledger.outgoing, "whatsapp", phone, f"wamid.in.{name}.{n}")
                output = WhatsAppOutput(f"http://127.0.0.1:{port}", "1", "token", state,
                                        replies=replies_)
                stop = asyncio.Event()
                tick = asyncio.create_task(ticker(stalls[name], stop))
                started = time.perf_counter()
                await output.send_text_message(phone, f"Respuesta {n}")
                times[name].append(time.perf_counter() - started)
                stop.set()
                await tick
        result: dict[str, Any] = {"replies": replies}
        for name, values in times.items():
            values.sort()
            result[name] = {"median_ms": round(statistics.median(values) * 1000, 3),
                            "p95_ms": round(values[int(len(values) * 0.95)] * 1000, 3),
                            "max_loop_stall_ms": round(max(stalls[name]) * 1000, 3)}
        for name in ledgers:
            if name != "off":
                result[name]["added_median_ms"] = round(
                    result[name]["median_ms"] - result["off"]["median_ms"], 3)
        for ledger in ledgers.values():
            if ledger is not None:
                ledger.dispose()
        return result
    finally:
        if admin is not None and pg_name is not None:
            with admin.connect() as conn:
                conn.exec_driver_sql(f"DROP DATABASE IF EXISTS {pg_name} WITH (FORCE)")
            admin.dispose()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--replies", type=int, default=400)
    parser.add_argument("--pg-url", default=None, help="PostgreSQL admin URL (optional)")
    args = parser.parse_args()
    with fake_graph() as port:
        print(json.dumps(asyncio.run(run(port, args.replies, args.pg_url)), indent=2))


if __name__ == "__main__":
    main()
