"""The outbox retrier (bot/outbox_retrier.py): what the gate could not forward is delivered once
the handoff API takes it again, survives a restart, and what the API refuses for good is kept
as dead and reported, not retried."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from bot.handoff_gate import Route
from tests.bot.channels.harness import FakeAgent, Recorder
from tests.bot.gate_helpers import (
    CID,
    Collector,
    free_port,
    make_gate,
    message,
    wait_counts,
    wait_for,
)


@pytest.fixture(autouse=True)
def data_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("ATIENDE_DATA_DIR", str(tmp_path))
    return tmp_path


async def test_api_down_goes_to_outbox_and_is_delivered_when_it_comes_back(
        tmp_path: Path) -> None:
    port = free_port()  # nothing listens here yet: connection refused
    gate, rasa, agent = make_gate(f"http://127.0.0.1:{port}", tmp_path / "o.db"), \
        Collector(), FakeAgent()
    await agent.pause(CID)
    try:
        route = await gate.route(agent, message("hola?"), rasa, message_id="m-down")
        assert route is Route.QUEUED and rasa.messages == []
        assert (await gate.outbox.counts()) == {"pending": 1}
        await asyncio.sleep(0.3)  # a few failed retries while the API is down
        api = await Recorder(status=201).start(port=port)
        try:
            await wait_for(lambda: len(api.requests) == 1)
            assert api.requests[0]["json"]["message_id"] == "m-down"
            assert api.requests[0]["json"]["text"] == "hola?"
            await wait_counts(gate.outbox, {"delivered": 1})
        finally:
            await api.stop()
    finally:
        await gate.close()


async def test_api_5xx_is_retried_until_accepted(tmp_path: Path) -> None:
    api = await Recorder(status=503).start()
    gate, rasa, agent = make_gate(api.url, tmp_path / "o.db"), Collector(), FakeAgent()
    await agent.pause(CID)
    try:
        assert await gate.route(agent, message(), rasa, message_id="m5") is Route.QUEUED
        await wait_for(lambda: len(api.requests) >= 3)  # retried with backoff
        api.status = 201
        await wait_counts(gate.outbox, {"delivered": 1})
        assert {r["json"]["message_id"] for r in api.requests} == {"m5"}
    finally:
        await gate.close()
        await api.stop()


async def test_pending_outbox_survives_a_restart(tmp_path: Path) -> None:
    port = free_port()
    first = make_gate(f"http://127.0.0.1:{port}", tmp_path / "o.db")
    agent = FakeAgent()
    await agent.pause(CID)
    await first.route(agent, message("no me pierdas"), Collector(), message_id="m-r")
    await first.close()  # the Rasa server stops with the message still pending

    api = await Recorder(status=201).start(port=port)
    second = make_gate(api.url, tmp_path / "o.db")
    try:
        second.start()  # what the after_server_start listener does
        await wait_for(lambda: len(api.requests) == 1)
        assert api.requests[0]["json"]["text"] == "no me pierdas"
    finally:
        await second.close()
        await api.stop()


async def test_permanent_refusal_is_kept_as_dead_not_retried(tmp_path: Path) -> None:
    api = await Recorder(status=413, answer=lambda r, b: {"detail": "too long"}).start()
    gate, rasa, agent = make_gate(api.url, tmp_path / "o.db"), Collector(), FakeAgent()
    await agent.pause(CID)
    try:
        assert await gate.route(agent, message("x" * 3000), rasa,
                                message_id="big") is Route.QUEUED
        # the dead letter is reported by the retrier: wait for it rather than for 0.3 s
        await wait_for(lambda: any(r["path"] == "/api/dead-letters" for r in api.requests))
        await asyncio.sleep(0.3)  # time for a wrong second try of the refused message to show
        posts = [r for r in api.requests if r["path"].endswith("/messages")]
        assert len(posts) == 1 and rasa.messages == []
        assert (await gate.outbox.counts()) == {"dead": 1}
        # issue #11: nobody was told; now it is reported as a dead letter (retried until the
        # API takes it: this stand-in refuses everything, so it is still unreported)
        reports = [r["json"] for r in api.requests if r["path"] == "/api/dead-letters"]
        assert reports and reports[0]["message_id"] == "big" and reports[0]["reason"]
    finally:
        await gate.close()
        await api.stop()
