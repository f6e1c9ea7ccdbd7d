"""Each metric definition of docs/metrics.md on hand-built event sequences
(``handoff_api.metrics``; the sequences are built by ``tests/handoff_api/metric_events.py``).
"""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta

import pytest

from handoff_api.metrics import compute, duration_stats, normalise_question
from tests.handoff_api.metric_events import (
    DAY_END,
    DAY_START,
    LATE,
    at,
    bot_chat,
    ev,
    handoff,
    run,
)


# ------------------------------------------------------------------------ containment
def test_containment_numerator_and_denominator():
    events = [
        *bot_chat("contained", 0),                           # contained
        *bot_chat("handed", 10), *handoff("handed", 1, 13),  # handed off
        *bot_chat("back", 20), *bot_chat("back", 20 + 180),  # same id back 3 h later: returned
        *bot_chat("late", 30), *bot_chat("late", 30 + 25 * 60),  # back after 25 h: contained
        # WhatsApp: two different conversation ids, same person (channel id key)
        *bot_chat("wa-1", 40, channel="whatsapp", customer="k-wa"),
        *bot_chat("wa-2", 60, channel="whatsapp", customer="k-wa"),
    ]
    c = run(events)["containment"]
    # in the window: contained, handed, back(1st), back(2nd), late(1st), wa-1, wa-2 = 7
    # contained: contained, back(2nd), late, wa-2 = 4; returned: back(1st), wa-1; handed: 1
    assert c["contained"] == 4 and c["returned"] == 2 and c["handed_off"] == 1
    assert c["pending"] == 0 and c["decided"] == 7 and c["rate"] == round(4 / 7, 4)


def test_verified_identity_links_conversations_across_channels():
    events = [*bot_chat("web", 0, extra=[ev(3, "identity_verified", "web", customer="k-ana")]),
              *bot_chat("wa", 60, channel="whatsapp", customer="k-wa-ana",
                        extra=[ev(63, "identity_verified", "wa", customer="k-ana")])]
    c = run(events)["containment"]
    assert c["returned"] == 1 and c["contained"] == 1


def test_a_web_session_id_is_no_identity_for_a_return():
    """Two web sessions with different ids and no verification: nobody knows it was one
    person, so neither is a return."""
    events = [*bot_chat("web-a", 0), *bot_chat("web-b", 30)]
    assert run(events)["containment"]["returned"] == 0


def test_containment_waits_for_the_return_window():
    events = [*bot_chat("c1", 0), *bot_chat("c2", 30), *bot_chat("c2", 60)]
    c = run(events, now=at(3 * 60))  # 3 h later, window 24 h
    # c1 pending; c2's first session returned already (decided); c2's second pending
    assert c["containment"]["pending"] == 2 and c["containment"]["returned"] == 1
    assert c["containment"]["rate"] == 0.0
    assert run(events, now=at(25 * 60 + 62))["containment"]["pending"] == 0


# ------------------------------------------------------------------------ handoff rate
def test_handoff_rate_by_reason():
    events = [*bot_chat("a", 0), *handoff("a", 1, 3, reason="asked"),
              *bot_chat("b", 10), *handoff("b", 2, 13, reason="frustration"),
              *bot_chat("c", 20), *handoff("c", 3, 23, reason="asked"),
              # a second handoff in one conversation counts the conversation once (first reason)
              *handoff("c", 4, 40, reason="frustration"),
              *bot_chat("d", 30)]
    m = run(events)
    assert m["conversations"] == 4 and m["handoffs"] == 3 and m["handoff_rate"] == 0.75
    assert m["handoff_rate_by_reason"] == {"asked": {"count": 2, "rate": 0.5},
                                           "frustration": {"count": 1, "rate": 0.25}}


# ------------------------------------------------------------------------ times
def test_wait_first_response_and_handling_time():
    events = [*bot_chat("a", 0), *handoff("a", 1, 3, claim=1, reply=1.5, close=10),
              *bot_chat("b", 20), *handoff("b", 2, 23, claim=3, reply=5, close=30,
                                           outcome="handed_back"),
              # abandoned in the queue: no wait, no FRT, no TMA
              *bot_chat("c", 40), *handoff("c", 3, 43, claim=None, reply=None, close=2,
                                           outcome="abandoned"),
              # claimed, never answered, still open
              *bot_chat("d", 50), *handoff("d", 4, 53, claim=2, reply=None, close=None)]
    m = run(events)
    assert m["wait_seconds"] == {"count": 3, "mean": 120.0, "median": 120.0, "p90": 180.0}
    assert m["first_response_seconds"] == {"count": 2, "mean": 195.0, "median": 195.0,
                                           "p90": 300.0}
    assert m["handling_seconds"] == {"count": 2, "mean": 1080.0, "median": 1080.0,
                                     "p90": 1620.0}
    assert m["handoff_outcomes"] == {"resolved": 1, "handed_back": 1, "abandoned": 1, "open": 1}
    assert m["by_agent"]["7"]["handoffs"] == 4 and m["by_agent"]["7"]["resolved"] == 1


def test_transfer_does_not_restart_handling_time():
    events = [*bot_chat("a", 0), *handoff("a", 1, 3, close=None),
              ev(6, "handoff_transferred", "a", source="handoff", handoff_id=1, agent_id=7),
              ev(13, "handoff_resolved", "a", source="handoff", handoff_id=1, agent_id=8)]
    m = run(events)
    assert m["handling_seconds"]["mean"] == 540.0  # claimed at 4, resolved at 13
    assert set(m["by_agent"]) == {"8"}  # the agent who closed it


def test_duration_stats_p90_is_nearest_rank():
    assert duration_stats([float(x) for x in range(1, 11)])["p90"] == 9.0
    assert duration_stats([5.0])["p90"] == 5.0
    assert duration_stats([]) == {"count": 0, "mean": None, "median": None, "p90": None}


# ------------------------------------------------------------------------ FCR
def test_first_contact_resolution():
    events = [
        # WhatsApp, resolved, not back: kept
        *bot_chat("wa1", 0, channel="whatsapp", customer="k1"),
        *handoff("wa1", 1, 3, channel="whatsapp", customer="k1"),
        # WhatsApp, resolved, the same person writes again 2 h later from another id: returned
        *bot_chat("wa2", 20, channel="whatsapp", customer="k2"),
        *handoff("wa2", 2, 23, channel="whatsapp", customer="k2"),
        *bot_chat("wa2b", 20 + 120, channel="whatsapp", customer="k2"),
        # web, unverified, resolved, no return seen: undetermined (a session id is nobody)
        *bot_chat("web1", 40), *handoff("web1", 3, 43),
        # web, unverified, resolved, and the same conversation asks again: returned
        *bot_chat("web2", 50), *handoff("web2", 4, 53), *handoff("web2", 5, 90, close=None),
        # handed back (not resolved): not in FCR at all
        *bot_chat("wa3", 60, channel="whatsapp", customer="k3"),
        *handoff("wa3", 6, 63, outcome="handed_back", channel="whatsapp", customer="k3"),
    ]
    assert run(events)["fcr"] == {"resolved": 4, "returned": 2, "not_returned": 1,
                                  "undetermined": 1, "rate": round(1 / 3, 4),
                                  "return_hours": 24}


def test_fcr_is_undetermined_while_the_window_is_open():
    events = [*bot_chat("wa1", 0, channel="whatsapp", customer="k1"),
              *handoff("wa1", 1, 3, channel="whatsapp", customer="k1")]
    fcr = run(events, now=at(60))["fcr"]
    assert fcr["undetermined"] == 1 and fcr["rate"] is None


# ------------------------------------------------------------------------ CSAT
def test_csat_bot_only_and_human_separately():
    events = [
        *bot_chat("b1", 0, extra=[ev(3, "csat", "b1", value=5.0)]),
        # rated twice: the last rating counts
        *bot_chat("b2", 10, extra=[ev(13, "csat", "b2", value=1.0), ev(14, "csat", "b2",
                                                                         value=3.0)]),
        *bot_chat("h1", 20), *handoff("h1", 1, 23),
        ev(35, "csat", "h1", source="handoff", handoff_id=1, value=4.0),
        *bot_chat("h2", 40), *handoff("h2", 2, 43),
        ev(55, "csat", "h2", source="handoff", handoff_id=2, value=2.0),
    ]
    csat = run(events)["csat"]
    assert csat["bot"] == {"count": 2, "mean": 4.0, "satisfied_rate": 0.5}
    assert csat["human"] == {"count": 2, "mean": 3.0, "satisfied_rate": 0.5}


def test_ces_last_answer_per_conversation_bot_only_and_human_separately():
    events = [
        # bot only: answered 5 (very easy); another changed their mind 2 -> 4
        *bot_chat("b1", 0, extra=[ev(3, "csat", "b1", value=5.0), ev(4, "ces", "b1", value=5.0)]),
        *bot_chat("b2", 10, extra=[ev(13, "ces", "b2", value=2.0), ev(14, "ces", "b2",
                                                                        value=4.0)]),
        # rated but skipped the effort question: no ces row, not in the denominator
        *bot_chat("b3", 15, extra=[ev(16, "csat", "b3", value=3.0)]),
        # after a person: the bot logs the effort (source bot), it counts as human
        *bot_chat("h1", 20), *handoff("h1", 1, 23), ev(36, "ces", "h1", value=1.0),
    ]
    ces = run(events)["ces"]
    assert ces["bot"] == {"count": 2, "mean": 4.5, "easy_rate": 1.0}
    assert ces["human"] == {"count": 1, "mean": 1.0, "easy_rate": 0.0}
    assert run(events, channel="whatsapp")["ces"]["bot"] == {
        "count": 0, "mean": None, "easy_rate": None}


def test_supervisor_moves_are_counted():
    events = [*bot_chat("h1", 0), *handoff("h1", 1, 3),
              ev(5, "supervisor_take_over", "h1", source="handoff", handoff_id=1, agent_id=2,
                 value=2.0),
              ev(6, "supervisor_return", "h1", source="handoff", handoff_id=1, agent_id=2),
              *bot_chat("h2", 20), *handoff("h2", 2, 23),
              ev(25, "supervisor_reassign", "h2", source="handoff", handoff_id=2, agent_id=2,
                 value=9.0)]
    assert run(events)["supervisor_actions"] == {"take_over": 1, "reassign": 1, "return": 1}


# ------------------------------------------------------------------------ KB
def test_kb_answers_gaps_and_grouped_questions():
    events = [
        *bot_chat("a", 0, extra=[ev(3, "kb_answer", "a", text="envios"),
                                 ev(4, "kb_feedback", "a", value=1.0)]),
        *bot_chat("b", 10, extra=[ev(13, "kb_gap", "b", text="¿Hacéis envíos a Canarias?",
                                     language="es"),
                                  ev(14, "kb_feedback", "b", value=0.0)]),
        *bot_chat("c", 20, extra=[ev(23, "kb_gap", "c", text="haceis envios a canarias",
                                     language="es")]),
        *bot_chat("d", 30, extra=[ev(33, "kb_gap", "d", text="gift wrapping?", language="en")]),
    ]
    kb = run(events)["kb"]
    assert kb["answered"] == 1 and kb["unanswered"] == 3 and kb["answer_rate"] == 0.25
    assert kb["helpful"] == {"yes": 1, "count": 2, "rate": 0.5}
    assert kb["top_unanswered"][0] == {"question": "¿Hacéis envíos a Canarias?", "count": 2,
                                       "languages": ["es"]}
    assert kb["top_unanswered"][1]["count"] == 1
    assert normalise_question("¿Hacéis  ENVÍOS?") == "haceis envios"


# ------------------------------------------------------------------------ filters, series
def test_filters_and_breakdowns_use_the_conversation_attributes():
    events = [*bot_chat("es-web", 0), *handoff("es-web", 1, 3),
              *bot_chat("en-web", 10, language="en"),
              *bot_chat("es-wa", 20, channel="whatsapp", customer="k"),
              # a handoff row with a market: the conversation's market
              *bot_chat("mx", 30), *handoff("mx", 2, 33)]
    events[-1] = replace(events[-1], market="MX")
    m = run(events, channel="whatsapp", language="es")
    assert m["conversations"] == 1 and m["containment"]["contained"] == 1
    full = run(events)
    assert full["breakdowns"]["channel"]["socketio"]["conversations"] == 3
    assert full["breakdowns"]["language"]["en"]["containment_rate"] == 1.0
    assert full["breakdowns"]["market"]["MX"]["handoffs"] == 1
    assert sum(b["conversations"] for b in full["breakdowns"]["channel"].values()) == 4
    assert run(events, market="MX")["conversations"] == 1


@pytest.mark.parametrize("tz, first_hour", [("UTC", "10"), ("Europe/Madrid", "11")])
def test_time_series_and_heat_map_in_the_business_time_zone(tz, first_hour):
    events = [*bot_chat("a", 0), *bot_chat("b", 30), *bot_chat("c", 24 * 60 + 5)]
    week = compute(events, start=DAY_START, end=DAY_START + timedelta(days=7), now=LATE, tz=tz)
    assert week["window"]["bucket"] == "day" and len(week["timeseries"]) >= 7
    by_day = {row["bucket"]: row["conversations"] for row in week["timeseries"]}
    assert by_day["2026-11-23"] == 2 and by_day["2026-11-24"] == 1
    assert week["heatmap"][0][int(first_hour)] == 2 and week["heatmap"][1][int(first_hour)] == 1
    day = compute(events, start=DAY_START, end=DAY_END, now=LATE, tz="UTC")
    assert day["window"]["bucket"] == "hour"
    assert {r["bucket"]: r["conversations"] for r in day["timeseries"]}["2026-11-23T10:00"] == 2
