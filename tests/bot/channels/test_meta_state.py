"""The Meta channel state (bot/channels/meta_state.py) on real SQLite and real PostgreSQL, shared
by replicas: two processes claiming the same message ids see each one claimed once; the 24-hour
window, delivery statuses and a numbered menu written by one replica are what the other reads."""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import pytest

from bot.channels.meta_state import WINDOW_SECONDS, MetaStateStore
from bot.channels.options import OfferedOptions
from tests.bot.databases import KINDS, database_url

ROOT = Path(__file__).resolve().parents[3]
CLAIMER = """
import asyncio, json, sys, time
from bot.channels.meta_state import MetaStateStore
store = MetaStateStore(url=sys.argv[1])
start = float(sys.argv[2])
async def main():
    await store.claim("whatsapp", "warm-up-" + sys.argv[3])  # tables exist, engine open
    while time.time() < start:
        await asyncio.sleep(0.005)
    won = [i for i in range(300) if await store.claim("whatsapp", f"wamid.{i}")]
    print(json.dumps(won))
asyncio.run(main())
"""


@pytest.fixture(params=KINDS)
def url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    with database_url(request.param, tmp_path, "meta_channels.db") as found:
        yield found


def test_two_processes_claim_each_message_id_once(url: str) -> None:
    MetaStateStore(url=url)._claim("whatsapp", "create-tables")
    start = time.time() + 3.0  # both processes started and connected by then
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    procs = [subprocess.Popen([sys.executable, "-c", CLAIMER, url, str(start), str(n)],
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env,
                              cwd=ROOT) for n in range(2)]
    results = []
    for proc in procs:
        out, err = proc.communicate(timeout=120)
        assert proc.returncode == 0, err[-2000:]
        results.append(json.loads(out.strip().splitlines()[-1]))
    counts = Counter(i for won in results for i in won)
    assert sorted(counts) == list(range(300)), "every id claimed by one of them"
    assert max(counts.values()) == 1, "no id claimed by both"
    assert not asyncio.run(MetaStateStore(url=url).claim("whatsapp", "wamid.7")), "a Meta retry"


async def test_the_window_is_the_same_for_every_replica(url: str) -> None:
    a, b = MetaStateStore(url=url), MetaStateStore(url=url)
    now = time.time()
    assert not await b.window_open("whatsapp", "34600111222", now)
    await a.record_inbound("whatsapp", "34600111222", now - 60)
    assert await b.window_open("whatsapp", "34600111222", now)
    await b.record_inbound("whatsapp", "34600111222", now - WINDOW_SECONDS)  # late, older
    assert await a.last_inbound("whatsapp", "34600111222") == pytest.approx(now - 60)
    assert not await a.window_open("whatsapp", "34600111222", now + WINDOW_SECONDS)
    assert await a.last_inbound("messenger", "34600111222") is None


async def test_delivery_statuses_recorded_by_either_replica(url: str) -> None:
    a, b = MetaStateStore(url=url), MetaStateStore(url=url)
    await a.record_status("whatsapp", "wamid.out.1", "34600111222", "sent", 1.0)
    await b.record_status("whatsapp", "wamid.out.1", "34600111222", "failed", 2.0, "131047")
    await b.record_status("whatsapp", "wamid.out.1", "34600111222", "sent", 1.5)  # replayed
    assert await a.statuses("whatsapp", "wamid.out.1") == [("sent", None), ("failed", "131047")]


async def test_a_numbered_menu_sent_by_one_replica_is_resolved_by_the_other(url: str) -> None:
    a = OfferedOptions(database=MetaStateStore(url=url).db)
    b = OfferedOptions(database=MetaStateStore(url=url).db)
    await a.remember("whatsapp", "34600111222", ["/return", "/order_status"])
    await a.remember("whatsapp", "34600111222", ["/greet", "/handoff", "/goodbye"])  # replaced
    assert await b.resolve("whatsapp", "34600111222", "2.") == "/handoff"
    assert await a.resolve("whatsapp", "34600111222", "2") == "2", "used once"
