"""The outbox retrier (bot/outbox_retrier.py): what the gate could not forward is delivered once
the handoff API takes it again, survives a restart, and what the API refuses for good is kept
as dead and reported, not retried."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from bot.handoff_client import HandoffApiClient
from bot.handoff_gate import HandoffGate, Route
from bot.outbox import Outbox
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


async def test_after_an_outage_the_message_goes_when_the_api_is_back_not_when_its_back_off_ends(
        tmp_path: Path) -> None:
    """The API was unreachable long enough for the back-off to grow to minutes (here: 10 minutes
    from the first try). Once its /health answers, the waiting message is tried at once: the
    agent back at the console must get it before answering (tests/faults: an agent closed the
    handoff before a message sent during the outage arrived)."""
    port = free_port()  # nothing listens here yet: connection refused
    client = HandoffApiClient(f"http://127.0.0.1:{port}", "bot-token", timeout=2)
    gate = HandoffGate(client, Outbox(tmp_path / "o.db", base_delay=600.0, max_delay=600.0),
                       poll_interval=0.1)
    gate.retrier.probe_interval = 0.1
    rasa, agent = Collector(), FakeAgent()
    await agent.pause(CID)
    try:
        assert await gate.route(agent, message("¿hola? ¿sigue ahí?"), rasa,
                                message_id="m-outage") is Route.QUEUED
        assert gate.retrier.unreachable
        assert 500 < (await gate.outbox.next_due_in() or 0) <= 600, "a long back-off"
        api = await Recorder(status=201).start(port=port)
        try:
            await wait_counts(gate.outbox, {"delivered": 1})
            posts = [r for r in api.requests if r["path"].endswith("/messages")]
            assert [p["json"]["message_id"] for p in posts] == ["m-outage"]
            assert any(r["path"] == "/health" for r in api.requests), "found by the probe"
            assert not gate.retrier.unreachable
        finally:
            await api.stop()
    finally:
        await gate.close()


async def test_a_failing_api_keeps_its_back_off_it_is_not_probed(tmp_path: Path) -> None:
    """A 503 is an answer: the API is up but failing, and the back-off protects it. Only an
    unreachable API is probed."""
    api = await Recorder(status=503).start()
    gate = HandoffGate(HandoffApiClient(api.url, "bot-token", timeout=2),
                       Outbox(tmp_path / "o.db", base_delay=600.0, max_delay=600.0),
                       poll_interval=0.1)
    gate.retrier.probe_interval = 0.05
    rasa, agent = Collector(), FakeAgent()
    await agent.pause(CID)
    try:
        assert await gate.route(agent, message(), rasa, message_id="m-503") is Route.QUEUED
        gate.start()
        await asyncio.sleep(0.5)  # ten probe intervals: none may be used
        assert not gate.retrier.unreachable
        assert [r["path"] for r in api.requests] == [f"/api/conversations/{CID}/messages"]
        assert (await gate.outbox.counts()) == {"pending": 1}
    finally:
        await gate.close()
        await api.stop()
