"""Turn admission at the web channels (issue #11, "no client can stall the others"): a bounded
number of turns in progress, a bounded queue served quietest client first, a per-client share;
what is refused is a polite 429 (REST) or a ``busy`` ack (widget) in the shopper's language, never
run, and runs once when resent with its id."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from typing import Any

import aiohttp
import pytest

from bot.channels.admission import AdmissionSettings, Refused, TurnAdmission
from bot.channels.texts import t
from bot.handoff_gate import HandoffGate
from contracts.client_address import client_address
from tests.bot.channels.harness import FakeAgent, SanicHarness, web_channels
from tests.bot.channels.test_web_channels import Widget


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


async def hold(admission: TurnAdmission, client: str, release: asyncio.Event) -> str:
    try:
        async with admission.turn(client):
            await release.wait()
        return "ran"
    except Refused as refused:
        return refused.reason


async def settle() -> None:
    for _ in range(5):
        await asyncio.sleep(0)


async def test_a_client_over_its_share_is_refused_at_once_and_others_still_get_in() -> None:
    admission = TurnAdmission(AdmissionSettings(in_progress=4, waiting=4, per_client=2))
    release = asyncio.Event()
    mine = [asyncio.create_task(hold(admission, "10.0.0.1", release)) for _ in range(3)]
    other = asyncio.create_task(hold(admission, "10.0.0.2", release))
    await settle()
    assert mine[2].done() and mine[2].result() == "over_share"
    assert admission.active == 3 and not other.done()
    release.set()
    assert [await m for m in mine[:2]] == ["ran", "ran"] and await other == "ran"
    assert admission.active == 0 and not admission.waiting


async def test_a_full_queue_refuses_busy_and_a_quieter_client_takes_the_place_of_a_flooder(
        ) -> None:
    clock = Clock()
    admission = TurnAdmission(AdmissionSettings(in_progress=1, waiting=1, per_client=3,
                                                wait_seconds=30), clock=clock)
    release = asyncio.Event()
    async with admission.turn("flooder-b"):
        pass
    running = asyncio.create_task(hold(admission, "flooder-a", release))
    await settle()
    # flooder-b has just been answered: it re-posts at once (quiet for 0 s)
    queued = asyncio.create_task(hold(admission, "flooder-b", release))
    await settle()
    also = asyncio.create_task(hold(admission, "flooder-b", release))
    await settle()
    assert also.done() and also.result() == "busy"  # queue full, no quieter than the queued one
    clock.now += 5  # a shopper who has never written (or typed for a while) arrives
    shopper = asyncio.create_task(hold(admission, "shopper", release))
    await settle()
    assert queued.done() and queued.result() == "busy"  # pushed out, never ran
    assert admission.counts["pushed_out"] == 1
    release.set()
    assert await running == "ran" and await shopper == "ran"
    assert admission.active == 0 and not admission.waiting


async def test_clients_at_the_same_pace_are_served_in_arrival_order_none_waits_out() -> None:
    """Ranked by quietness alone, a waiting turn was passed over by every newcomer a few ms
    quieter, until it waited out (20 closed-loop shoppers: 80 of 583 turns refused). Quietness
    now moves a turn's arrival earlier: a turn that arrived first at the same pace goes first."""
    clock = Clock()
    admission = TurnAdmission(AdmissionSettings(in_progress=1, waiting=10, per_client=3,
                                                wait_seconds=30), clock=clock)
    for client in ("a", "b", "c"):  # each just answered
        async with admission.turn(client):
            pass
    order: list[str] = []

    async def turn(client: str, gate: asyncio.Event) -> None:
        async with admission.turn(client):
            order.append(client)
            await gate.wait()

    gate = asyncio.Event()
    running = asyncio.create_task(turn("x", gate))
    await settle()
    clock.now += 0.001  # a re-posts 1 ms after its answer
    first = asyncio.create_task(turn("a", gate))
    await settle()
    clock.now += 0.5  # b and c were quiet a few ms longer, but arrive half a second later
    later = [asyncio.create_task(turn(c, gate)) for c in ("b", "c")]
    await settle()
    gate.set()
    await asyncio.gather(running, first, *later)
    assert order == ["x", "a", "b", "c"]
    assert admission.counts["admitted"] == 7 and not admission.waiting


async def test_a_turn_that_waits_too_long_is_refused_and_a_hung_up_one_gives_its_place() -> None:
    admission = TurnAdmission(AdmissionSettings(in_progress=1, waiting=3, per_client=3,
                                                wait_seconds=0.05))
    release = asyncio.Event()
    running = asyncio.create_task(hold(admission, "a", release))
    await settle()
    assert await hold(admission, "b", release) == "busy"
    assert admission.counts["waited_out"] == 1
    admission.settings = AdmissionSettings(in_progress=1, waiting=3, per_client=3,
                                           wait_seconds=30)
    hung_up = asyncio.create_task(hold(admission, "c", release))
    waiting = asyncio.create_task(hold(admission, "d", release))
    await settle()
    hung_up.cancel()
    await settle()
    assert len(admission.waiting) == 1
    release.set()
    assert await running == "ran" and await waiting == "ran"
    assert admission.active == 0 and not admission.waiting and not admission._clients


async def test_zero_in_progress_turns_admission_off() -> None:
    admission = TurnAdmission(AdmissionSettings.from_env({"ATIENDE_TURNS_IN_PROGRESS": "0"}))
    release = asyncio.Event()
    release.set()
    assert await asyncio.gather(*(hold(admission, "x", release) for _ in range(20))) == \
        ["ran"] * 20


def test_settings_come_from_the_environment() -> None:
    s = AdmissionSettings.from_env({"ATIENDE_TURNS_IN_PROGRESS": "2", "ATIENDE_TURNS_WAITING": "5",
                                    "ATIENDE_TURNS_PER_CLIENT": "1",
                                    "ATIENDE_TURNS_WAIT_SECONDS": "1.5",
                                    "ATIENDE_TURNS_RETRY_AFTER": "3",
                                    "FORWARDED_ALLOW_IPS": "10.0.0.0/8"})
    assert (s.in_progress, s.waiting, s.per_client, s.wait_seconds, s.retry_after) == \
        (2, 5, 1, 1.5, 3)
    assert "10.1.2.3" in s.proxies and "127.0.0.1" not in s.proxies
    with pytest.raises(SystemExit):
        AdmissionSettings.from_env({"ATIENDE_TURNS_WAITING": "many"})


@pytest.mark.parametrize("peer,forwarded,trusted,expected", [
    ("203.0.113.5", ["198.51.100.7"], "127.0.0.1", "203.0.113.5"),  # not a trusted proxy
    ("127.0.0.1", ["198.51.100.7"], "127.0.0.1", "198.51.100.7"),
    ("10.0.0.2", ["198.51.100.7, 10.0.0.9"], "10.0.0.0/8", "198.51.100.7"),
    ("10.0.0.2", ["198.51.100.7, 10.0.0.9:4321"], "10.0.0.0/8", "198.51.100.7"),
    ("10.0.0.2", ["6.6.6.6, 198.51.100.7"], "*", "6.6.6.6"),  # all trusted: the first (uvicorn)
    ("127.0.0.1", [], "127.0.0.1", "127.0.0.1"),
])
def test_the_client_is_the_peer_or_what_a_trusted_proxy_forwarded(
        peer: str, forwarded: list[str], trusted: str, expected: str) -> None:
    assert client_address(peer, forwarded, trusted) == expected


# --- through the channels (a real Sanic server, the fake agent) -----------------------------

@pytest.fixture
async def server(agent: FakeAgent, gate: HandoffGate) -> AsyncIterator[SanicHarness]:
    harness = SanicHarness(web_channels(), agent, gate)
    harness.app.ctx.atiende_admission = TurnAdmission(AdmissionSettings(
        in_progress=2, waiting=1, per_client=2, wait_seconds=30, retry_after=3))
    await harness.start()
    yield harness
    await harness.stop()


async def post(server: SanicHarness, address: str, body: dict[str, Any],
               headers: dict[str, str] | None = None) -> tuple[int, Any, dict]:
    """POST a turn from ``address`` (any 127.x.y.z: its own client)."""
    connector = aiohttp.TCPConnector(local_addr=(address, 0))
    async with aiohttp.ClientSession(connector=connector) as s:
        async with s.post(server.url + "/webhooks/rest/webhook", json=body,
                          headers=headers) as resp:
            return resp.status, json.loads(await resp.text()), dict(resp.headers)


async def blocked(server: SanicHarness, agent: FakeAgent, address: str, delay: float = 0.5,
                  **settings: Any) -> asyncio.Task:
    """Admission ``settings`` and one slow turn (``delay`` s) already running from ``address``."""
    agent.delay = delay
    server.app.ctx.atiende_admission.settings = AdmissionSettings(
        per_client=3, wait_seconds=30, retry_after=3, **settings)
    blocker = asyncio.create_task(post(server, address, {"sender": "blocker", "message": "hola"}))
    await asyncio.sleep(0.1)
    return blocker


async def test_rest_over_share_and_busy_are_polite_429s_and_resends_run_once(
        server: SanicHarness, agent: FakeAgent) -> None:
    agent.delay = 0.5
    server.app.ctx.atiende_admission.settings = AdmissionSettings(
        in_progress=3, waiting=0, per_client=2, wait_seconds=30, retry_after=3)
    await agent.set_language("greedy-2", "en")

    def turn(address: str, sender: str, mid: str) -> Any:
        return asyncio.create_task(post(server, address, {"sender": sender, "message": "hola",
                                                          "message_id": mid}))

    greedy = [turn("127.0.7.1", f"greedy-{i}", f"g-{i}") for i in range(2)]
    await asyncio.sleep(0.2)  # both running: the client has its share
    over = await post(server, "127.0.7.1", {"sender": "greedy-2", "message": "hola",
                                            "message_id": "g-2"})
    shopper = turn("127.0.7.2", "shopper", "s-1")  # another client: the third slot
    await asyncio.sleep(0.2)
    busy = await post(server, "127.0.7.3", {"sender": "late", "message": "hola",
                                            "message_id": "l-1"})
    assert over[0] == 429 and over[2]["Retry-After"] == "3"
    assert over[1]["messages"] == [{"recipient_id": "greedy-2", "text": t("slow_down", "en")}]
    assert busy[0] == 429 and busy[2]["Retry-After"] == "3"
    assert busy[1]["messages"] == [{"recipient_id": "late", "text": t("busy", "es")}]
    assert [(await g)[0] for g in greedy] == [200, 200] and (await shopper)[0] == 200
    assert sorted(m.message_id for m in agent.handled) == ["g-0", "g-1", "s-1"]  # refused: not run
    # resent with their ids once the others are answered, the refused ones run exactly once
    for address, sender, mid in (("127.0.7.1", "greedy-2", "g-2"), ("127.0.7.3", "late", "l-1"),
                                 ("127.0.7.3", "late", "l-1")):
        status, again, _ = await post(server, address, {"sender": sender, "message": "hola",
                                                        "message_id": mid})
        assert status == 200 and again == [{"recipient_id": sender, "text": "echo: hola"}]
    assert sorted(m.message_id for m in agent.handled) == ["g-0", "g-1", "g-2", "l-1", "s-1"]


async def test_rest_health_is_not_a_turn(server: SanicHarness, agent: FakeAgent) -> None:
    agent.delay = 0.5
    flood = [asyncio.create_task(post(server, f"127.0.8.{i}", {"sender": f"f-{i}",
                                                               "message": "hola"}))
             for i in range(1, 6)]
    await asyncio.sleep(0.1)
    status, body, _ = await server.request("GET", "/webhooks/rest/")
    assert status == 200 and json.loads(body) == {"status": "ok"}
    assert {s for s, _, _ in await asyncio.gather(*flood)} <= {200, 429}


async def test_a_forwarded_client_behind_the_trusted_proxy_has_its_own_share(
        server: SanicHarness, agent: FakeAgent) -> None:
    agent.delay = 0.3
    server.app.ctx.atiende_admission.settings = AdmissionSettings(
        in_progress=10, waiting=0, per_client=1, wait_seconds=30, retry_after=3)
    results = await asyncio.gather(*(
        post(server, "127.0.0.1", {"sender": f"p-{i}", "message": "hola"},
             headers={"X-Forwarded-For": f"198.51.100.{i}"}) for i in range(1, 5)))
    assert [s for s, _, _ in results] == [200] * 4  # four shoppers, one proxy
    results = await asyncio.gather(*(
        post(server, "127.0.0.1", {"sender": f"q-{i}", "message": "hola"},
             headers={"X-Forwarded-For": "198.51.100.77"}) for i in range(1, 3)))
    assert sorted(s for s, _, _ in results) == [200, 429]  # one shopper over its share


async def test_the_widget_is_told_busy_in_its_language(server: SanicHarness,
                                                       agent: FakeAgent) -> None:
    blocker = await blocked(server, agent, "127.0.9.1", in_progress=1, waiting=0)
    widget = Widget(server.url)
    try:
        session = await widget.connect()
        await widget.send(session, "hello", "w-1", customData={"language": "en"})
        await widget.wait_acks(1)
        assert widget.acks == [{"message_id": "w-1", "status": "busy", "retry_after": 3}]
        assert widget.bot and widget.bot[-1]["text"] == t("busy", "en")
        assert "w-1" not in [m.message_id for m in agent.handled]
        assert (await blocker)[0] == 200
        await widget.send(session, "hello", "w-1", customData={"language": "en"})  # Retry
        await widget.wait_acks(2)
        assert widget.acks[-1] == {"message_id": "w-1", "status": "rasa"}
        assert [m.message_id for m in agent.handled].count("w-1") == 1
    finally:
        await asyncio.wait_for(widget.client.eio.disconnect(abort=True), 5)


async def test_a_client_that_hangs_up_while_its_turn_waits_can_resend_it_at_once(
        server: SanicHarness, agent: FakeAgent) -> None:
    """The turn never ran, so its id is free again: the resend runs it (not 409 "being
    processed" until the ledger's lease runs out)."""
    # the blocker runs 2 s, so the hang-up is seen while the turn still waits, as it is meant to
    blocker = await blocked(server, agent, "127.0.10.1", delay=2.0, in_progress=1, waiting=2)
    body = {"sender": "impatient", "message": "hola", "message_id": "i-1"}
    connector = aiohttp.TCPConnector(local_addr=("127.0.10.2", 0))
    async with aiohttp.ClientSession(connector=connector) as s:
        with pytest.raises(asyncio.TimeoutError):
            async with s.post(server.url + "/webhooks/rest/webhook", json=body,
                              timeout=aiohttp.ClientTimeout(total=0.1)):
                pass
    for _ in range(75):  # the server notices the hang-up
        if not server.app.ctx.atiende_admission.waiting:
            break
        await asyncio.sleep(0.02)
    assert not server.app.ctx.atiende_admission.waiting and not blocker.done()
    assert "i-1" not in [m.message_id for m in agent.handled]  # it never ran
    # its ledger claim is released in a worker thread just after the withdrawal: a resend in that
    # instant is told 409 (being processed); within a second it runs (not after the lease)
    for _ in range(50):
        status, answer, _ = await post(server, "127.0.10.2", body)
        if status != 409:
            break
        await asyncio.sleep(0.02)
    assert status == 200 and answer == [{"recipient_id": "impatient", "text": "echo: hola"}]
    assert (await blocker)[0] == 200
    assert [m.message_id for m in agent.handled].count("i-1") == 1
