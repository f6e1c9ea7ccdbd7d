"""Races against the close of a handoff, replayed webhooks and floods, against the real processes
(Rasa with the trained model, action server, handoff API on SQLite). Counts as in test_kills.py."""

from __future__ import annotations

from collections import Counter
from concurrent.futures import ThreadPoolExecutor

import httpx
import pytest

from contracts import web_conversation
from tests.faults.plumbing import BOT_TOKEN, wait_for
from tests.faults.system import Seam, handoff_conversation
from tests.faults.tally import Tally
from tests.faults.test_kills import assert_clean

pytestmark = [pytest.mark.slow]


def test_shopper_messages_racing_the_close(alive: Seam) -> None:
    """Four shopper messages sent at the moment the agent closes (a resolve in one conversation,
    a hand-back in the other): whichever side of the close each lands on, it is answered once — by
    the bot (stored before the close and handed back, or refused by the closed handoff and
    re-routed) — and none is answered twice."""
    race_the_close(alive, "race")


def race_the_close(seam: Seam, prefix: str) -> None:
    """The body of test_shopper_messages_racing_the_close (also run on PostgreSQL)."""
    tally = Tally()
    cids = {f"{prefix}-resolve": "resolve", f"{prefix}-hand-back": "hand-back"}
    with ThreadPoolExecutor(max_workers=len(cids)) as pool:
        for f in [pool.submit(handoff_conversation, seam, tally, cid, close=close, racers=4)
                  for cid, close in cids.items()]:
            f.result()
    assert_clean(tally, seam)
    # the race really happened on both sides for at least some messages (not a sequential run)
    deliveries = Counter(r["delivery"] for cid in cids for r in seam.api_rows(cid)
                         if r["role"] == "user")
    assert deliveries["stored"] > 0, deliveries


def test_rest_replays_of_one_message_id_run_one_turn(alive: Seam) -> None:
    """Eight concurrent copies of one message (a client retrying after a timeout) and a ninth
    later: one turn in the tracker; every copy gets the same answer or a polite 409 'retry'."""
    seam, tally, cid = alive, Tally(), "replay-rest"
    seam.say(cid, "hola", tally.note(cid, f"{cid}-1"))
    mid = tally.note(cid, f"{cid}-2")
    with ThreadPoolExecutor(max_workers=8) as pool:
        answers = list(pool.map(lambda _: seam.say_once(cid, "¿cuánto tarda el envío?", mid),
                                range(8)))
    assert {a.status_code for a in answers} <= {200, 409}, [a.status_code for a in answers]
    late = seam.say(cid, "¿cuánto tarda el envío?", mid)
    assert late.duplicate and late.status == 200
    first = next(a for a in answers if a.status_code == 200 and
                 a.headers.get("X-Atiende-Duplicate") != "1")
    assert late.body == first.json()
    assert_clean(tally, seam)


def test_a_flood_from_one_sender_is_slowed_not_lost(alive: Seam) -> None:
    """60 different messages at once from one sender: each is answered 200 (and its turn is in
    the tracker once) or refused 429 with a polite reply (and never run); none is a 5xx; another
    shopper is answered meanwhile."""
    seam, tally, flooder = alive, Tally(), "flood-rest"
    ids = [f"{flooder}-{i}" for i in range(60)]
    with ThreadPoolExecutor(max_workers=20) as pool:
        other = pool.submit(seam.say, "flood-bystander", "hola",
                            tally.note("flood-bystander", "flood-bystander-1"))
        answers = list(pool.map(lambda mid: seam.say_once(flooder, "hola", mid), ids))
    codes = Counter(a.status_code for a in answers)
    assert set(codes) <= {200, 429}, codes
    assert codes[200] > 0
    for mid, answer in zip(ids, answers, strict=True):
        if answer.status_code == 200:
            tally.note(flooder, mid)
        else:
            assert answer.json()["messages"][0]["text"], answer.text
    assert other.result().status == 200
    turns = Counter(e.get("message_id") for e in seam.tracker_events(flooder)
                    if e.get("event") == "user")
    refused = {mid for mid, a in zip(ids, answers, strict=True) if a.status_code == 429}
    assert not refused & set(turns), "a refused (429) message was processed anyway"
    assert_clean(tally, seam)


def test_a_flood_on_the_public_widget_route_does_not_stall_the_bot(alive: Seam) -> None:
    """50 concurrent clients hammering the widget replay ``GET /api/widget/messages`` on the handoff
    API while a queued shopper writes to the agent: no 5xx for anyone, and the shopper's message
    reaches the agent once - forwarded at once, or, if the forward outlasted the gate's timeout
    on a loaded machine, from the bot's outbox (how long the forward took is the flood bench's
    figure, not this test's: tests assert no wall-clock times)."""
    widget_flood(alive, "flood-widget")


def widget_flood(seam: Seam, cid: str) -> None:
    """The body of the widget flood test (also run on PostgreSQL). The flood reads the shopper's
    own conversation with the widget's token, so every request reaches the database."""
    tally = Tally()
    seam.say(cid, "hola", tally.note(cid, f"{cid}-1"))
    seam.say(cid, "quiero hablar con una persona", tally.note(cid, f"{cid}-2"))
    seam.wait_handoff(cid)
    token = {web_conversation.HEADER: web_conversation.token_for(
        web_conversation.signing_key(BOT_TOKEN), cid)}

    def hammer(_: int) -> list[int]:
        codes = []
        with httpx.Client(timeout=30) as c:
            for _ in range(6):
                codes.append(c.get(f"{seam.api_url}/api/widget/messages",
                                   headers=token).status_code)
        return codes

    with ThreadPoolExecutor(max_workers=51) as pool:
        flood = [pool.submit(hammer, i) for i in range(50)]
        forwarded = pool.submit(seam.say, cid, "¿hay alguien?", tally.note(cid, f"{cid}-3"))
        codes = Counter(c for f in flood for c in f.result())
    assert forwarded.result().route in ("forwarded", "queued"), forwarded.result()
    assert not [c for c in codes if c >= 500], codes
    assert codes[200] > 0, codes  # the reads were served (429: slowed politely), not refused
    assert set(codes) <= {200, 429}, codes
    mid = f"{cid}-3"
    stored = wait_for(lambda: [r for r in seam.api_rows(cid) if r["message_id"] == mid], 120,
                      "the shopper's message stored for the agent")
    assert len(stored) == 1, seam.describe(cid)
    # the stored message is the agent's: claim, reply, resolve, and the conversation is clean
    hid = seam.open_handoff(cid)["id"]
    assert seam.agent("POST", f"/api/handoffs/{hid}/claim").status_code == 200
    assert seam.agent("POST", f"/api/handoffs/{hid}/messages",
                      json={"text": "Hola", "client_id": f"{cid}-a"}).status_code == 201
    assert seam.agent("POST", f"/api/handoffs/{hid}/resolve").status_code == 200
    wait_for(lambda: seam.settled([cid]), 120, "the hand-back")
    assert_clean(tally, seam)
    assert httpx.get(f"{seam.api_url}/api/conversations/{cid}/handoff",
                     headers={"Authorization": f"Bearer {BOT_TOKEN}"}).status_code == 404
