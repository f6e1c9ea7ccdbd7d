"""The outgoing ledger (bot/outgoing.py) on real SQLite and real PostgreSQL, shared by "replicas"
(two Ledger objects on one database) and surviving a restart: a reply marked sent is skipped when
its turn runs again, one recorded but never confirmed is sent again (in doubt), one whose Graph
call failed is sent again, and the key is the inbound message id, never the text."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from bot.ledger import Ledger
from bot.outgoing import IN_DOUBT, NEW, SENT, TurnReplies, digest
from tests.bot.databases import KINDS, database_url


@pytest.fixture(params=KINDS)
def url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    with database_url(request.param, tmp_path, "ledger.db") as database:
        yield database


class Graph:
    """Counts the posts of a turn; ``fail`` answers None (Meta refused or unreachable)."""

    def __init__(self) -> None:
        self.bodies: list[dict] = []
        self.fail = False

    def post(self, body: dict):  # the coroutine factory TurnReplies.send takes
        async def run() -> dict | None:
            self.bodies.append(body)
            return None if self.fail else {"messages": [{"id": f"wamid.{len(self.bodies)}"}]}
        return run


async def run_turn(ledger: Ledger, graph: Graph, message_id: str, texts: list[str]) -> list:
    """One processing of an inbound message: its replies in order, through a fresh TurnReplies
    (as a restarted process or another replica builds it)."""
    turn = TurnReplies(ledger.outgoing, "whatsapp", "34600000001", message_id)
    return [await turn.send({"text": t}, graph.post({"text": t}), lambda a: a is not None,
                            "skipped") for t in texts]


async def test_a_turn_run_again_sends_nothing_twice_even_on_another_replica(url: str) -> None:
    first, other, graph = Ledger(url), Ledger(url), Graph()
    texts = ["¡De nada!", "¿Te ayudo con algo más?"]
    answers = await run_turn(first, graph, "wamid.1", texts)
    assert [a["messages"][0]["id"] for a in answers] == ["wamid.1", "wamid.2"]
    first.dispose()  # the process dies before the turn is recorded
    again = await run_turn(other, graph, "wamid.1", texts)
    assert again == ["skipped", "skipped"] and len(graph.bodies) == 2
    assert other.outgoing.states("whatsapp", "34600000001", "wamid.1") == ["sent", "sent"]
    # a new message with the same words is answered again
    await run_turn(other, graph, "wamid.2", texts)
    assert [b["text"] for b in graph.bodies] == texts + texts
    other.dispose()


async def test_only_the_replies_not_yet_sent_go_out_when_a_turn_runs_again(url: str) -> None:
    ledger, graph = Ledger(url), Graph()
    await run_turn(ledger, graph, "wamid.3", ["uno"])  # died after the first reply
    answers = await run_turn(ledger, graph, "wamid.3", ["uno", "dos", "tres"])
    assert answers[0] == "skipped" and [b["text"] for b in graph.bodies] == ["uno", "dos", "tres"]
    ledger.dispose()


def test_a_reply_recorded_but_never_confirmed_is_in_doubt(url: str) -> None:
    ledger = Ledger(url)
    key = ("messenger", "6543210987654321", "m_1")
    assert ledger.outgoing.begin(*key, 0, digest({"text": "hola"})) == (NEW, None)
    # killed during the Graph call: the restart finds it recorded, not confirmed
    restarted = Ledger(url)
    assert restarted.outgoing.begin(*key, 0, digest({"text": "hola"})) == \
        (IN_DOUBT, digest({"text": "hola"}))
    restarted.outgoing.sent(*key, 0)
    assert ledger.outgoing.begin(*key, 0, digest({"text": "hola"}))[0] == SENT
    # other channels, conversations and indexes are other replies
    assert ledger.outgoing.begin("whatsapp", key[1], key[2], 0, "x")[0] == NEW
    assert ledger.outgoing.begin(key[0], "other", key[2], 0, "x")[0] == NEW
    assert ledger.outgoing.begin(*key, 1, "x")[0] == NEW
    ledger.dispose()
    restarted.dispose()


async def test_in_doubt_and_failed_replies_are_sent_again(url: str) -> None:
    ledger, graph = Ledger(url), Graph()
    ledger.outgoing.begin("whatsapp", "34600000001", "wamid.4", 0, "d")  # died mid-call
    graph.fail = True
    await run_turn(ledger, graph, "wamid.5", ["refused by Meta"])
    graph.fail = False
    assert (await run_turn(ledger, graph, "wamid.4", ["a"]))[0] != "skipped"
    assert (await run_turn(ledger, graph, "wamid.5", ["refused by Meta"]))[0] != "skipped"
    assert len(graph.bodies) == 3
    assert ledger.outgoing.states("whatsapp", "34600000001", "wamid.5") == ["sent"]
    ledger.dispose()


def test_one_replica_wins_the_first_record_of_a_reply(url: str) -> None:
    replicas = [Ledger(url) for _ in range(4)]
    replicas[0].engine  # noqa: B018 - create the tables before the race
    results: list[str] = []
    barrier = threading.Barrier(8)

    def race(ledger: Ledger) -> None:
        barrier.wait()
        results.append(ledger.outgoing.begin("whatsapp", "34600000002", "wamid.6", 0, "d")[0])

    threads = [threading.Thread(target=race, args=(replicas[i % 4],)) for i in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(results) == [IN_DOUBT] * 7 + [NEW]
    for ledger in replicas:
        ledger.dispose()


def test_prune_forgets_old_replies_with_the_rest_of_the_ledger(url: str) -> None:
    ledger = Ledger(url)
    ledger.outgoing.begin("whatsapp", "34600000003", "wamid.7", 0, "d")
    ledger.prune(older_than_seconds=3600)
    assert ledger.outgoing.states("whatsapp", "34600000003", "wamid.7") == ["sending"]
    ledger.prune(older_than_seconds=-1)
    assert ledger.outgoing.states("whatsapp", "34600000003", "wamid.7") == []
    ledger.dispose()
