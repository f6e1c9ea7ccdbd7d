"""The Rasa speed-ups keep Rasa's behaviour (bot/rasa_speedups.py)."""

from __future__ import annotations

import asyncio

import jsonschema
import pytest
from rasa.core.actions.action import RemoteAction

from bot import rasa_speedups

GOOD = {"events": [{"event": "slot", "name": "language", "value": "es", "timestamp": None}],
        "responses": [{"text": "hola"}]}
BAD_ANSWERS = [
    {"events": [{"event": "no-such-event"}]},
    {"events": "not a list"},
    {"events": [], "responses": ["not an object"]},
    {"events": [{"event": "slot"}]},  # a slot event without a name
]


def original(result: dict) -> Exception | None:
    try:
        jsonschema.validate(result, RemoteAction.action_response_format_spec())
    except jsonschema.ValidationError as exc:
        return exc
    return None


def test_the_cached_validator_accepts_what_rasa_accepts() -> None:
    action = RemoteAction("action_x", None)
    assert original(GOOD) is None
    assert rasa_speedups.validate_action_result(action, GOOD) is True
    assert rasa_speedups.validate_action_result(action, {"events": [], "responses": []})


@pytest.mark.parametrize("answer", BAD_ANSWERS)
def test_the_cached_validator_rejects_what_rasa_rejects_with_the_same_error(answer: dict) -> None:
    expected = original(answer)
    assert expected is not None
    with pytest.raises(jsonschema.ValidationError) as caught:
        rasa_speedups.validate_action_result(RemoteAction("action_x", None), answer)
    assert caught.value.message.startswith(expected.message)
    assert "Failed to validate Action server response" in caught.value.message
    assert list(caught.value.path) == list(expected.path)


def test_installed_by_the_tracker_store_and_used_by_remote_actions(tmp_path) -> None:
    from rasa.shared.core.domain import Domain

    from bot.tracker_store import DurableSQLTrackerStore

    DurableSQLTrackerStore(domain=Domain.empty(), dialect="sqlite", db=str(tmp_path / "t.db"),
                           journal_dir=str(tmp_path / "j"))
    assert RemoteAction._validate_action_result is rasa_speedups.validate_action_result
    with pytest.raises(jsonschema.ValidationError):
        RemoteAction("action_x", None)._validate_action_result(BAD_ANSWERS[0])
    # the schema is checked once, not per answer
    assert rasa_speedups.action_result_validator() is rasa_speedups.action_result_validator()


def test_the_sqlite_tracker_store_uses_pooled_wal_connections_and_keeps_every_turn(
        tmp_path, monkeypatch) -> None:
    import sqlite3

    from rasa.shared.core.domain import Domain
    from rasa.shared.core.events import ActionExecuted, UserUttered
    from rasa.shared.core.trackers import DialogueStateTracker

    from bot.tracker_store import DurableSQLTrackerStore

    domain = Domain.from_yaml("version: '3.1'\nintents: [greet]\n")
    db = tmp_path / "t.db"
    store = DurableSQLTrackerStore(domain=domain, dialect="sqlite", db=str(db),
                                   journal_dir=str(tmp_path / "j"))
    tracker = DialogueStateTracker("shopper", domain.slots)
    for i in range(5):
        tracker.update(UserUttered(f"hola {i}", {"name": "greet", "confidence": 1.0}))
        tracker.update(ActionExecuted("action_listen"))
        asyncio.run(store.save(tracker))
    assert store.engine.pool.__class__.__name__ == "QueuePool"
    # what another process (a new connection, a new store) sees: every turn, in order
    with sqlite3.connect(db) as other:
        assert other.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
        assert other.execute("SELECT count(*) FROM events").fetchone()[0] == 10
    again = DurableSQLTrackerStore(domain=domain, dialect="sqlite", db=str(db),
                                   journal_dir=str(tmp_path / "j"))
    loaded = asyncio.run(again.retrieve("shopper"))
    assert [e.text for e in loaded.events if isinstance(e, UserUttered)] == [
        f"hola {i}" for i in range(5)]

    monkeypatch.setenv("ATIENDE_RASA_SPEEDUPS", "0")  # stock Rasa: no pool
    stock = DurableSQLTrackerStore(domain=domain, dialect="sqlite", db=str(tmp_path / "s.db"),
                                   journal_dir=str(tmp_path / "j"))
    assert stock.engine.pool.__class__.__name__ == "NullPool"


async def test_calls_to_an_endpoint_reuse_one_connection_and_answer_as_before() -> None:
    from aiohttp import web
    from rasa.utils.endpoints import EndpointConfig

    peers: list[tuple] = []

    async def webhook(request: web.Request) -> web.Response:
        peers.append(request.transport.get_extra_info("peername"))
        body = await request.json()
        assert request.headers.get("X-Token") == "t"  # the endpoint's headers still go out
        return web.json_response({"echo": body["n"]})

    app = web.Application()
    app.router.add_post("/webhook", webhook)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = site._server.sockets[0].getsockname()[1]
    try:
        endpoint = EndpointConfig(f"http://127.0.0.1:{port}/webhook", headers={"X-Token": "t"})
        original = EndpointConfig.session
        try:
            EndpointConfig.session = rasa_speedups.STOCK.get("session", original)
            stock = [await endpoint.request(json={"n": i}, method="post") for i in range(3)]
            assert len(set(peers)) == 3  # stock Rasa: a new connection per call
            peers.clear()
            EndpointConfig.session = rasa_speedups.kept_session
            kept = [await endpoint.request(json={"n": i}, method="post") for i in range(3)]
        finally:
            EndpointConfig.session = original
        assert kept == stock == [{"echo": 0}, {"echo": 1}, {"echo": 2}]
        assert len(set(peers)) == 1
        await endpoint._atiende_session.close()
    finally:
        await runner.cleanup()


@pytest.mark.parametrize("env, printed", [({}, False), ({"ATIENDE_RASA_SPEEDUPS": "0"}, True),
                                          ({"ATIENDE_RASA_SPEEDUPS_OFF": "debug_log"}, True)])
def test_rasa_debug_messages_are_not_written_at_info_level(env: dict, printed: bool) -> None:
    """bot.serve's Rasa got structlog's defaults: every debug message of Rasa rendered and
    printed whatever LOG_LEVEL said."""
    import os
    import subprocess
    import sys

    code = ("import logging, structlog\n"
            "from bot.rasa_speedups import filter_structlog\n"
            "log = structlog.get_logger()\n"  # module-level, as in Rasa, before the call
            "filter_structlog(logging.INFO)\n"
            "log.debug('processor.slots.log', slot_values='all of them')\n"
            "log.info('still.shown')\n")
    run = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         env={**os.environ, **env}, timeout=60, check=True)
    assert "still.shown" in run.stdout
    assert ("processor.slots.log" in run.stdout) is printed


def test_each_later_speed_up_can_be_turned_off_alone(monkeypatch) -> None:
    monkeypatch.setenv("ATIENDE_RASA_SPEEDUPS_OFF", "ted_cache+event_log")
    assert {p for p in rasa_speedups.PARTS if not rasa_speedups.enabled(p)} == {"ted_cache",
                                                                                "event_log"}
    monkeypatch.setenv("ATIENDE_RASA_SPEEDUPS", "0")
    assert not any(rasa_speedups.enabled(p) for p in rasa_speedups.PARTS)
