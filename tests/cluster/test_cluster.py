"""The cluster of ``make cluster`` (scripts/cluster.py), run for real: HAProxy in front of 2 Rasa
servers, 2 action servers and 2 handoff API processes on PostgreSQL and Redis.

Conversations go through the balancer with the replicas alternating; one replica of each kind is
killed (``kill -9``) while messages are in flight; the shopper's client resends as the widget does.
Afterwards the stores of record (the shared PostgreSQL tracker store, read through Rasa's HTTP API)
must hold every message exactly once, each answered. Live events cross processes: an SSE stream
open on one handoff API process sees what happened through the other.
"""

from __future__ import annotations

import json
import socket
import threading
import time
import uuid
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import httpx
import pytest

from scripts.cluster import Cluster, Plan, running_cluster
from scripts.haproxy import HAPROXY

pytestmark = [pytest.mark.slow]
PATIENCE = 600.0  # a replica loading its model on 2 shared cores took minutes


def _free_base() -> int:
    """A base port whose whole block (base .. base+49) is free."""
    for base in range(21000, 60000, 97):
        ok = True
        for port in range(base, base + 50):
            with socket.socket() as s:
                try:
                    s.bind(("127.0.0.1", port))
                except OSError:
                    ok = False
                    break
        if ok:
            return base
    raise RuntimeError("no free port block")


@pytest.fixture(scope="module")
def cluster(tmp_path_factory: pytest.TempPathFactory) -> Cluster:
    if not Path(HAPROXY).exists():
        pytest.fail(f"HAProxy is not installed ({HAPROXY}): apt-get install -y haproxy")
    plan = Plan(_free_base(), tmp_path_factory.mktemp("cluster"),
                name=f"atiende_ct_{uuid.uuid4().hex[:8]}", redis_db=11)
    with running_cluster(plan, fresh=True, drop=True, overrides={
            "ATIENDE_LEDGER_HEARTBEAT_SECONDS": "1", "HANDOFF_OUTBOX_INTERVAL": "0.5",
            "BUSINESS_HOURS": "mon-sun 00:00-24:00"}) as running:
        yield running


def say(cluster: Cluster, sender: str, text: str, message_id: str) -> list[dict[str, Any]]:
    """One shopper message through the balancer, resent with the same id while the answer is a
    connection error, a 5xx, "being processed" (409) or "slow down" (429)."""
    body = {"sender": sender, "message": text, "message_id": message_id,
            "metadata": {"language": "es"}}
    deadline = time.monotonic() + PATIENCE
    with httpx.Client(timeout=60) as http:
        while True:
            try:
                r = http.post(f"{cluster.rasa_url}/webhooks/rest/webhook", json=body)
                if r.status_code < 500 and r.status_code not in (409, 429):
                    assert r.status_code == 200, r.text
                    return r.json()
            except httpx.HTTPError:
                pass
            if time.monotonic() > deadline:
                raise AssertionError(f"{message_id} not accepted in {PATIENCE:.0f} s")
            time.sleep(0.5)


def tracker(cluster: Cluster, sender: str, replica: int) -> list[dict[str, Any]]:
    r = httpx.get(f"{cluster.admin_url(replica)}/conversations/{sender}/tracker",
                  params={"token": cluster.env["RASA_TOKEN"], "include_events": "ALL"},
                  timeout=30)
    r.raise_for_status()
    return r.json().get("events") or []


def judge(events: list[dict[str, Any]], ids: list[str]) -> tuple[list[str], list[str]]:
    """``(lost, duplicated)`` message ids: a message is answered when its ``user`` event is
    followed by a ``bot`` event before the next ``user`` event; duplicated when its turn ran
    twice."""
    turns = Counter(e.get("message_id") for e in events if e.get("event") == "user")
    answered = set()
    current = None
    for e in events:
        if e.get("event") == "user":
            current = e.get("message_id")
        elif e.get("event") == "bot" and current is not None:
            answered.add(current)
    return ([m for m in ids if m not in answered], [m for m in ids if turns[m] > 1])


def test_conversations_through_the_balancer_survive_a_kill_of_each_kind(cluster: Cluster) -> None:
    senders = [f"ct-rest-{i}" for i in range(6)]
    script = ["hola", "¿cuánto tarda el envío a Canarias?", "¿cómo hago una devolución?",
              "gracias"]
    sent: dict[str, list[str]] = {s: [] for s in senders}

    def round_(n: int) -> None:
        with ThreadPoolExecutor(max_workers=len(senders)) as pool:
            futures = []
            for s in senders:
                mid = f"{s}-{n}"
                sent[s].append(mid)
                futures.append(pool.submit(say, cluster, s, script[n], mid))
            if n == 1:  # replicas die while these turns are in flight
                time.sleep(0.3)
                for name in ("rasa-1", "actions-1", "handoff-1"):
                    cluster.kill(name)
            for f in futures:
                assert f.result(), "an empty answer"

    round_(0)
    round_(1)
    round_(2)
    for name in ("rasa-1", "actions-1", "handoff-1"):  # back, and both take turns again
        cluster.start(name)
    round_(3)
    stats = cluster.stats()
    for server in ("rasa/rasa1", "rasa/rasa2", "actions/actions1", "actions/actions2"):
        assert int(stats[server]["stot"]) > 0, f"{server} served nothing: no alternation"
    lost, duplicated = [], []
    for s in senders:
        events = tracker(cluster, s, replica=2)
        assert tracker(cluster, s, replica=1) == events  # one shared tracker store
        conv_lost, conv_dup = judge(events, sent[s])
        lost += conv_lost
        duplicated += conv_dup
    assert (lost, duplicated) == ([], []), f"lost {lost}, duplicated {duplicated}"


class Stream:
    """A console SSE stream held open on one handoff API replica, collecting its events."""

    def __init__(self, url: str, token: str) -> None:
        self.events: list[tuple[str, dict[str, Any]]] = []
        self._stop = threading.Event()
        self._ready = threading.Event()
        self._thread = threading.Thread(target=self._run, args=(url, token), daemon=True)
        self._thread.start()
        assert self._ready.wait(30), f"no stream from {url}"

    def _run(self, url: str, token: str) -> None:
        with httpx.Client(timeout=httpx.Timeout(5, read=None)) as http, http.stream(
                "GET", f"{url}/api/stream", headers={"Authorization": f"Bearer {token}"}) as r:
            r.raise_for_status()
            event = None
            for line in r.iter_lines():
                if self._stop.is_set():
                    return
                if line.startswith("event:"):
                    event = line.split(":", 1)[1].strip()
                elif line.startswith("data:") and event:
                    if event == "ready":  # subscribed: events from now on reach this stream
                        self._ready.set()
                    try:
                        self.events.append((event, json.loads(line.split(":", 1)[1])))
                    except ValueError:
                        pass

    def wait(self, event: str, match: Any, timeout: float = 60) -> dict[str, Any]:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            for name, data in list(self.events):
                if name == event and match(data):
                    return data
            time.sleep(0.2)
        raise AssertionError(f"no {event} on this replica's stream; got "
                             f"{[n for n, _ in self.events]}")

    def close(self) -> None:
        self._stop.set()


def test_live_events_and_the_handoff_cross_replicas(cluster: Cluster) -> None:
    """An agent's console streams from replica 1, another from replica 2: a shopper's handoff and
    message (forwarded through the balancer to either) show on both; the agent's reply through
    replica 2 and the hand-back give the conversation back to the bot."""
    login = httpx.post(f"{cluster.handoff_url}/api/auth/login",
                       json={"username": "ana", "password": "atiende-demo"}, timeout=30)
    login.raise_for_status()
    token = login.json()["token"]
    agent = {"Authorization": f"Bearer {token}"}
    streams = [Stream(cluster.replica_url("handoff", i), token) for i in (1, 2)]
    try:
        cid = f"ct-handoff-{uuid.uuid4().hex[:6]}"
        say(cluster, cid, "hola", f"{cid}-1")
        say(cluster, cid, "quiero hablar con una persona", f"{cid}-2")
        created = [s.wait("handoff_created", lambda d: d.get("conversation_id") == cid)
                   for s in streams]
        hid = created[0]["id"]
        assert created[1]["id"] == hid
        say(cluster, cid, "¿hay alguien?", f"{cid}-3")
        for s in streams:
            s.wait("message", lambda d: d.get("handoff_id") == hid)
        two = cluster.replica_url("handoff", 2)
        assert httpx.post(f"{two}/api/handoffs/{hid}/claim", headers=agent,
                          timeout=30).status_code == 200
        assert httpx.post(f"{two}/api/handoffs/{hid}/messages", headers=agent, timeout=30,
                          json={"text": "Hola, soy Ana", "client_id": f"{cid}-a"}
                          ).status_code == 201
        assert httpx.post(f"{two}/api/handoffs/{hid}/hand-back", headers=agent,
                          timeout=30).status_code == 200
        streams[0].wait("handoff_closed", lambda d: d.get("id") == hid)
        # the hand-back reached one of the Rasa replicas: the bot answers again
        deadline = time.monotonic() + 120
        while True:
            r = httpx.get(f"{cluster.handoff_url}/api/conversations/{cid}/handoff",
                          headers={"Authorization": f"Bearer {cluster.env['HANDOFF_BOT_TOKEN']}"},
                          timeout=30)
            if r.status_code == 404:
                break
            assert time.monotonic() < deadline, "the handoff never closed for the bot"
            time.sleep(0.5)
        answer = say(cluster, cid, "¿cuánto tarda el envío?", f"{cid}-4")
        assert answer and answer[0].get("text"), answer
    finally:
        for s in streams:
            s.close()


def rows(cluster: Cluster, purpose: str, query: str, *args: Any) -> list[tuple]:
    """Rows of one of the cluster's PostgreSQL databases (``rasa`` or ``handoff``)."""
    import psycopg2

    url = cluster.plan.pg_url(purpose).replace("postgresql+psycopg2://", "postgresql://", 1)
    conn = psycopg2.connect(url)
    try:
        with conn.cursor() as cur:
            cur.execute(query, args)
            return cur.fetchall()
    finally:
        conn.close()


def test_the_shared_outbox_delivers_each_message_once_after_an_api_outage(
        cluster: Cluster) -> None:
    """Both handoff API replicas down while a shopper in a handoff writes: the messages, taken by
    either Rasa replica, wait in the one outbox in PostgreSQL (no file in the data dir) and reach
    the agent side once each, in order, when the API is back — whichever replica leases them."""
    cid = f"ct-outbox-{uuid.uuid4().hex[:6]}"
    say(cluster, cid, "hola", f"{cid}-1")
    say(cluster, cid, "quiero hablar con una persona", f"{cid}-2")
    bot = {"Authorization": f"Bearer {cluster.env['HANDOFF_BOT_TOKEN']}"}
    assert httpx.get(f"{cluster.handoff_url}/api/conversations/{cid}/handoff", headers=bot,
                     timeout=30).status_code == 200
    cluster.kill("handoff-1")
    cluster.kill("handoff-2")
    texts = [f"mensaje {n} durante el corte" for n in range(4)]
    try:
        for n, text in enumerate(texts):
            say(cluster, cid, text, f"{cid}-q{n}")
        stored = rows(cluster, "rasa", "SELECT message_id, status FROM relay_outbox WHERE "
                      "conversation_id = %s ORDER BY id", cid)
        assert [m for m, _ in stored] == [f"{cid}-q{n}" for n in range(4)]
        assert {st for _, st in stored} == {"pending"}
        assert not (cluster.plan.data_dir / "relay_outbox.db").exists()
    finally:
        cluster.start("handoff-1")
        cluster.start("handoff-2")
    deadline = time.monotonic() + 300  # the back-off grew while the API was down
    while True:
        statuses = {st for (st,) in rows(cluster, "rasa", "SELECT status FROM relay_outbox "
                                         "WHERE conversation_id = %s", cid)}
        if statuses == {"delivered"}:
            break
        assert time.monotonic() < deadline, f"outbox not delivered: {statuses}"
        time.sleep(1)
    relayed = rows(cluster, "handoff", "SELECT message_id, text FROM messages WHERE "
                   "conversation_id = %s AND role = 'user' ORDER BY id", cid)
    queued = [(m, t) for m, t in relayed if m.startswith(f"{cid}-q")]
    assert queued == [(f"{cid}-q{n}", text) for n, text in enumerate(texts)], relayed
