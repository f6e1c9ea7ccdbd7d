"""The right of withdrawal (actions/withdrawal.py, actions/withdrawal_rules.py) on the real demo
store (SQLite, seeded today): what applies per market, the form that asks only the order number,
the name and the e-mail, the separate confirmation, and the record (store + handoff API)."""

from __future__ import annotations

import json
import socket
from dataclasses import replace
from datetime import UTC, date, datetime, time, timedelta

import httpx
import pytest

from actions import withdrawal
from actions.handoff_client import HandoffClient
from actions.masking import mask_email
from actions.store_calendar import at_store_time, store_day
from actions.store_calendar import today as store_today
from actions.withdrawal import (
    ActionAskWithdrawalConfirm,
    ActionSubmitWithdrawal,
    ValidateWithdrawalForm,
    when_text,
)
from actions.withdrawal_rules import all_rules, check_withdrawal, label, withdrawal_rules
from tests.actions.helpers import demo

FORM = "withdrawal_form"


@pytest.fixture(autouse=True)
def no_handoff_api(monkeypatch):
    """Nothing listens here unless a test says so (never someone else's handoff API)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    monkeypatch.setenv("HANDOFF_API_URL", f"http://127.0.0.1:{port}")


@pytest.fixture
def handoff(monkeypatch):
    """A handoff API answering like the real one; keeps what the action posted."""
    posted: list[dict] = []

    def answer(request: httpx.Request) -> httpx.Response:
        body = json.loads(request.content)
        posted.append({"path": request.url.path, **body})
        return httpx.Response(201, json={"id": len(posted), "code": body["code"], "case_id": 7,
                                         "mail_status": "sent", "duplicate": False})

    monkeypatch.setattr(withdrawal, "get_handoff_client", lambda: HandoffClient(
        "http://handoff.test", "bot-token", transport=httpx.MockTransport(answer)))
    return posted


def form_slots(o, **extra):
    return {"language": o.customer["language"], "withdrawal_order": o.id,
            "withdrawal_name": o.customer["name"], "withdrawal_email": o.customer["email"],
            **extra}


async def validate(make_tracker, dispatcher, domain, slot, value, sender="w-1", **slots):
    tracker = make_tracker({slot: value, **slots}, validate=[slot], active_loop=FORM,
                           sender_id=sender)
    return await getattr(ValidateWithdrawalForm(), f"validate_{slot}")(value, dispatcher,
                                                                        tracker, domain)


# -- the rules per market, from the policy files -------------------------------------------------
def test_markets_with_a_legal_function_and_their_labels():
    rules = all_rules()
    assert {m for m, r in rules.items() if r.function} == {"ES", "AR", "CO"}
    assert label(rules["ES"], "label", "es") == "Desistir del contrato aquí"
    assert label(rules["ES"], "confirm", "es") == "Confirmar el desistimiento"
    assert label(rules["AR"], "label", "es") == "Botón de arrepentimiento"
    assert (rules["ES"].days, rules["AR"].days, rules["CO"].days) == (14, 10, 5)
    assert rules["CO"].business_days and not rules["ES"].business_days
    assert "2023/2673" in label(rules["ES"], "law", "es")
    assert "24.240" in label(rules["AR"], "law", "en")
    assert withdrawal_rules("XX").market == "ES"  # unknown markets: the EU rules
    assert not rules["US"].function and not rules["MX"].function and not rules["GB"].function


@pytest.mark.parametrize(("scenario", "outcome"), [
    ("return_window", "within"),        # ES, delivered 6 days ago
    ("high_return", "within"),          # ES, 3 days ago
    ("cancellable", "not_started"),     # ES, paid, not delivered: may withdraw already
    ("in_transit", "not_started"),
    ("window_expired", "expired"),      # delivered 48+ days ago
    ("cancelled", "closed"),
    ("refunded", "closed"),
])
async def test_what_applies_to_a_spanish_order(store, demo_orders, scenario, outcome):
    today = store_today()
    o = await store.get_order(demo(demo_orders, scenario, market="ES").id)
    check = check_withdrawal(o, withdrawal_rules("ES"), today)
    assert check.outcome == outcome
    if outcome == "within":
        assert check.deadline == store_day(o.delivered_at) + timedelta(days=14)


async def test_the_last_day_is_included_and_the_next_is_not(store, demo_orders):
    o = await store.get_order(demo(demo_orders, "return_window", market="AR").id)
    rules = withdrawal_rules("AR")
    last = store_day(o.delivered_at) + timedelta(days=10)
    assert check_withdrawal(o, rules, last).outcome == "within"
    assert check_withdrawal(o, rules, last + timedelta(days=1)).outcome == "expired"


@pytest.mark.parametrize("delivered, deadline", [
    (date(2026, 12, 2), date(2026, 12, 9)),    # Wednesday: 5 working days span a weekend
    (date(2026, 12, 4), date(2026, 12, 11)),   # Friday
    (date(2026, 12, 26), date(2027, 1, 1)),    # Saturday: Monday to Friday, 6 days
    (date(2026, 12, 27), date(2027, 1, 1)),    # Sunday: 5 days
])
async def test_colombia_counts_business_days(store, demo_orders, delivered, deadline):
    """Fixed delivery days: the demo order's is "6 days ago", a weekend day when the test runs
    on a Friday or Saturday (the old ">= 7 calendar days" failed then)."""
    o = await store.get_order(demo(demo_orders, "return_window", market="CO").id)
    o = replace(o, delivered_at=at_store_time(delivered, time(12, 15)))
    assert check_withdrawal(o, withdrawal_rules("CO"), delivered).deadline == deadline


async def test_markets_without_a_legal_button_get_the_return_path(store, demo_orders):
    today = store_today()
    for market, language in (("US", "en"), ("MX", "es")):
        o = await store.get_order(demo(demo_orders, "return_window", language, market).id)
        check = check_withdrawal(o, withdrawal_rules(market), today)
        assert check.outcome == "no_function" and check.return_until is not None


def test_the_time_is_given_in_the_markets_zone():
    moment = datetime(2026, 12, 7, 8, 5, tzinfo=UTC)
    assert when_text(moment, withdrawal_rules("ES"), "es") == \
        "7 de diciembre de 2026 a las 09:05 h (UTC+01:00)"
    assert when_text(moment, withdrawal_rules("AR"), "en") == \
        "December 7, 2026 at 05:05 (UTC-03:00)"


# -- the form: only what identifies the contract ---------------------------------------------------
async def test_the_order_number_name_and_email_are_checked_for_form_only(
        store_db, make_tracker, dispatcher, domain):
    assert await validate(make_tracker, dispatcher, domain, "withdrawal_order", "el at-101005") \
        == {"withdrawal_order": "AT101005"}
    assert await validate(make_tracker, dispatcher, domain, "withdrawal_order", "no sé") \
        == {"withdrawal_order": None}
    assert await validate(make_tracker, dispatcher, domain, "withdrawal_name",
                          "  Carmen   Navarro ") == {"withdrawal_name": "Carmen Navarro"}
    for said_as in ("me llamo Carmen Navarro", "a nombre de Carmen Navarro.",
                    "my name is Carmen Navarro", "La compra está a nombre de Carmen Navarro"):
        assert await validate(make_tracker, dispatcher, domain, "withdrawal_name", said_as) == \
            {"withdrawal_name": "Carmen Navarro"}
    for bad in ("1", "carmen@example.com", "12345", "me llamo"):
        assert await validate(make_tracker, dispatcher, domain, "withdrawal_name", bad) == \
            {"withdrawal_name": None}
    assert await validate(make_tracker, dispatcher, domain, "withdrawal_email", "no tengo") == \
        {"withdrawal_email": None}


async def test_a_matching_order_goes_to_the_confirmation(store_db, demo_orders, make_tracker,
                                                         dispatcher, domain, said):
    o = demo(demo_orders, "return_window")
    result = await validate(make_tracker, dispatcher, domain, "withdrawal_email",
                            "es CARMEN.NAVARRO@example.com", withdrawal_order=o.id)
    assert result == {"withdrawal_email": "carmen.navarro@example.com"}
    assert said(dispatcher) == ""  # nothing shown before the e-mail matched


async def test_a_wrong_email_reveals_nothing_and_counts(store_db, demo_orders, make_tracker,
                                                        dispatcher, domain, said):
    o = demo(demo_orders, "return_window")
    wrong = await validate(make_tracker, dispatcher, domain, "withdrawal_email",
                           "otra@example.com", withdrawal_order=o.id)
    assert wrong == {"withdrawal_order": None, "withdrawal_email": None}
    first = said(dispatcher)
    dispatcher.messages.clear()
    missing = await validate(make_tracker, dispatcher, domain, "withdrawal_email",
                             "otra@example.com", withdrawal_order="AT999999")
    assert missing == wrong
    # the same words for "no such order" and "not that order's e-mail", bar the number
    assert said(dispatcher).replace("AT999999", "X").replace("1 intentos", "2 intentos") == \
        first.replace(o.id, "X")
    assert "Vestido" not in first and "Carmen" not in first
    dispatcher.messages.clear()
    locked = await validate(make_tracker, dispatcher, domain, "withdrawal_email",
                            "otra@example.com", withdrawal_order=o.id)
    assert locked["withdrawal_confirm"] == "-"
    assert locked["handoff_reason"] == "verification_failed"
    # the form stops there: the last requested_slot event is None
    tracker = make_tracker({"withdrawal_order": o.id, "withdrawal_name": "Carmen",
                            "withdrawal_email": "otra@example.com", "requested_slot":
                            "withdrawal_email"}, validate=["withdrawal_email"], active_loop=FORM,
                           sender_id="w-1")
    events = await ValidateWithdrawalForm().run(dispatcher, tracker, {
        **domain, "forms": {FORM: {"required_slots": ["withdrawal_order", "withdrawal_name",
                                                      "withdrawal_email", "withdrawal_confirm"]}}})
    last = [e for e in events if e.get("name") == "requested_slot"][-1]
    assert last["value"] is None


async def test_outside_the_period_the_bot_says_so_and_offers_the_return(
        store_db, demo_orders, make_tracker, dispatcher, domain, said, monkeypatch):
    o = demo(demo_orders, "return_window")  # delivered 6 days ago
    later = store_today() + timedelta(days=20)  # past the 14 days, within the 30
    monkeypatch.setattr(withdrawal, "today", lambda: later)
    result = await validate(make_tracker, dispatcher, domain, "withdrawal_email",
                            o.customer["email"], withdrawal_order=o.id)
    assert result["withdrawal_confirm"] == "-"
    text = said(dispatcher)
    assert "plazo legal de desistimiento" in text and "terminó" in text
    assert "Empezar la devolución" in json.dumps(dispatcher.messages, ensure_ascii=False)


async def test_a_us_order_gets_the_store_return_path(store_db, demo_orders, make_tracker,
                                                     dispatcher, domain, said):
    o = demo(demo_orders, "return_window", "en", market="US")
    result = await validate(make_tracker, dispatcher, domain, "withdrawal_email",
                            o.customer["email"], withdrawal_order=o.id, language="en")
    assert result["withdrawal_confirm"] == "-"
    text = said(dispatcher)
    assert "no withdrawal button" in text and "30 days from delivery" in text


async def test_the_confirmation_is_a_separate_step_with_its_own_button(
        store_db, demo_orders, make_tracker, dispatcher, domain, said):
    o = demo(demo_orders, "return_window")
    tracker = make_tracker(form_slots(o), active_loop=FORM)
    assert await ActionAskWithdrawalConfirm().run(dispatcher, tracker, domain) == []
    [message] = dispatcher.messages
    assert message["buttons"][0] == {"title": "Confirmar el desistimiento", "payload": "/affirm"}
    assert message["buttons"][1]["payload"] == "/deny"
    assert o.id in message["text"] and "plazo legal: 14 días naturales" in message["text"]


# -- the record ------------------------------------------------------------------------------------
async def test_confirmed_it_is_recorded_in_the_store_and_the_handoff_api(
        store_db, store, demo_orders, make_tracker, dispatcher, domain, said, handoff):
    o = demo(demo_orders, "return_window")
    tracker = make_tracker(form_slots(o, withdrawal_confirm=True), sender_id="web-abc",
                           input_channel="socketio")
    events = await ActionSubmitWithdrawal().run(dispatcher, tracker, domain)
    record = await store.get_withdrawal(o.id)
    assert record is not None and record.code == "DES-101005" and record.within_period
    assert record.name == o.customer["name"] and record.channel == "socketio"
    [body] = handoff
    assert body["path"] == "/api/withdrawals" and body["code"] == record.code
    assert body["email"] == o.customer["email"] and body["language"] == "es"
    assert body["conversation_id"] == "web-abc" and body["store_recorded"] is True
    assert body["declared_at"] == record.declared_at.isoformat()
    assert body["when"] in said(dispatcher) and "DES-101005" in said(dispatcher)
    assert f"Te he enviado el acuse de recibo a {mask_email(o.customer['email'])}" in \
        said(dispatcher)
    assert {e["name"] for e in events if e["event"] == "slot"} >= {
        "withdrawal_order", "withdrawal_name", "withdrawal_email", "withdrawal_confirm"}
    # a second confirmation (another tab, a retry) finds the same withdrawal
    dispatcher.messages.clear()
    await ActionSubmitWithdrawal().run(dispatcher, tracker, domain)
    again = await store.get_withdrawal(o.id)
    assert again == record and handoff[1]["code"] == record.code
    assert handoff[1]["declared_at"] == record.declared_at.isoformat()


async def test_denied_nothing_is_recorded(store_db, store, demo_orders, make_tracker, dispatcher,
                                          domain, said, handoff):
    o = demo(demo_orders, "return_window")
    await ActionSubmitWithdrawal().run(dispatcher, make_tracker(form_slots(
        o, withdrawal_confirm=False)), domain)
    assert await store.get_withdrawal(o.id) is None and handoff == []
    assert "no he registrado ningún desistimiento" in said(dispatcher)


async def test_tampered_slots_record_nothing(store_db, store, demo_orders, make_tracker,
                                             dispatcher, domain, handoff):
    o = demo(demo_orders, "return_window")
    await ActionSubmitWithdrawal().run(dispatcher, make_tracker(form_slots(
        o, withdrawal_email="someone@else.example", withdrawal_confirm=True)), domain)
    assert await store.get_withdrawal(o.id) is None and handoff == []


async def test_a_handoff_api_down_keeps_the_store_record_and_says_so(
        store_db, store, demo_orders, make_tracker, dispatcher, domain, said):
    o = demo(demo_orders, "return_window", "en", market="ES")  # English speaker, EU rules
    await ActionSubmitWithdrawal().run(dispatcher, make_tracker(form_slots(
        o, withdrawal_confirm=True, language="en")), domain)
    record = await store.get_withdrawal(o.id)
    assert record is not None
    text = said(dispatcher)
    assert record.code in text and "couldn't e-mail the acknowledgement" in text


async def test_a_read_only_store_still_records_it_for_the_agents(
        store_db, demo_orders, make_tracker, dispatcher, domain, said, handoff, monkeypatch):
    from actions.store import get_store

    monkeypatch.setenv("STORE_ALLOW_WRITES", "false")
    get_store.cache_clear()
    o = demo(demo_orders, "return_window", market="AR")
    await ActionSubmitWithdrawal().run(dispatcher, make_tracker(form_slots(
        o, withdrawal_confirm=True)), domain)
    [body] = handoff
    assert body["store_recorded"] is False and "NO registrado en la tienda" in body["note"]
    assert body["market"] == "AR" and "24.240" in body["law"]
    assert "DES-103005" in said(dispatcher)
    get_store.cache_clear()
