"""The five validate_<form> actions: identity check, lockout, and each form's own slots."""

from __future__ import annotations

import pytest

from actions.forms import (
    ValidateCancelOrderForm,
    ValidateChangeAddressForm,
    ValidateOrderStatusForm,
    ValidateRefundStatusForm,
    channel_phone,
    contact_matches,
    normalize_contact,
)
from actions.store import get_store
from actions.store.sqlite import SQLiteStore
from bot.channels.identity import verified_phone
from tests.actions.helpers import demo

LOCKED = "utter_verification_failed_offer_human"


def last_requested(events):
    values = [e["value"] for e in events
              if e.get("event") == "slot" and e["name"] == "requested_slot"]
    return values[-1] if values else "<unset>"


async def run(form, make_tracker, dispatcher, domain, slots, validate, **kw):
    tracker = make_tracker(slots, validate=validate, active_loop=form.form, **kw)
    return await form.run(dispatcher, tracker, domain)


# -- plain functions ---------------------------------------------------------------------------
@pytest.mark.parametrize("text, expected", [
    ("Lucia.Martin@Example.com", ("email", "lucia.martin@example.com")),
    ("mi correo es ana@example.es gracias", ("email", "ana@example.es")),
    ("+34 612 345 678", ("phone", "34612345678")), ("612-345-678", ("phone", "612345678")),
    ("12345", None), ("hola", None), (None, None)])
def test_normalize_contact(text, expected):
    assert normalize_contact(text) == expected


def test_contact_matches_email_case_insensitive_and_phone_last_nine():
    class Contact:
        email = "Lucia.Martin@example.com"
        phone = "+34 612 345 678"

    assert contact_matches(Contact, "lucia.martin@EXAMPLE.com")
    assert contact_matches(Contact, "612 345 678") and contact_matches(Contact, "0034612345678")
    assert not contact_matches(Contact, "612 345 679") and not contact_matches(Contact,
                                                                               "other@example.com")
    assert not contact_matches(Contact, "345 678")


def test_channel_phone_needs_the_whatsapp_channels_verified_entry(make_tracker):
    number = "34655908172"
    signed = verified_phone("whatsapp", number)
    assert channel_phone(make_tracker(sender_id=number, input_channel="whatsapp",
                                      metadata=signed)) == "+" + number
    # the spoofs of issue #10: a REST body naming the channel, a sender id made of the digits
    assert channel_phone(make_tracker(sender_id=number, input_channel="whatsapp")) is None
    assert channel_phone(make_tracker(sender_id="wa:" + number, input_channel="whatsapp",
                                      metadata=signed)) is None
    assert channel_phone(make_tracker(sender_id=number, input_channel="rest",
                                      metadata=signed)) is None
    assert channel_phone(make_tracker(sender_id=number, input_channel="whatsapp",
                                      metadata=verified_phone("whatsapp", "34600000000"))) is None
    assert channel_phone(make_tracker(sender_id=number, input_channel="whatsapp",
                                      metadata={"phone": "+" + number})) is None


# -- identity ------------------------------------------------------------------------------------
async def test_unknown_order_number_is_taken_without_saying_it_does_not_exist(
        store_db, make_tracker, dispatcher, domain, said, slots_of):
    events = await run(ValidateOrderStatusForm(), make_tracker, dispatcher, domain,
                       {"order_id": "AT999999"}, ["order_id"])
    assert slots_of(events)["order_id"] == "AT999999"  # the contact is asked for, as for any
    assert said(dispatcher) == "" and "handoff_reason" not in slots_of(events)


async def test_text_without_an_order_number_is_explained(store_db, make_tracker, dispatcher, domain,
                                                         said, slots_of):
    events = await run(ValidateOrderStatusForm(), make_tracker, dispatcher, domain,
                       {"order_id": "no lo sé", "language": "en"}, ["order_id"])
    assert slots_of(events)["order_id"] is None and "AT123456" in said(dispatcher)


async def test_order_and_matching_email_verify_and_finish_the_form(store_db, demo_orders,
                                                                   make_tracker,
                                                                   dispatcher, domain, slots_of):
    o = demo(demo_orders, "high_amount")  # VIP customer
    raw = "#" + o.id[2:]
    events = await run(ValidateOrderStatusForm(), make_tracker, dispatcher, domain,
                       {"order_id": raw, "customer_contact": o.customer["email"].upper()},
                       ["order_id", "customer_contact"])
    slots = slots_of(events)
    assert slots["order_id"] == o.id and slots["verified_order_id"] == o.id
    assert slots["customer_vip"] is True and slots["verification_attempts"] == 0
    assert slots["customer_contact"] is None  # not kept in slots once checked
    assert last_requested(events) is None


async def test_phone_last_nine_digits_verify(store_db, demo_orders, make_tracker, dispatcher,
                                             domain,
                                             slots_of):
    o = demo(demo_orders, "in_transit", market="AR")
    local = o.customer["phone"].replace("+54 9 ", "")
    events = await run(ValidateRefundStatusForm(), make_tracker, dispatcher, domain,
                       {"order_id": o.id, "customer_contact": local}, ["customer_contact"])
    assert slots_of(events)["verified_order_id"] == o.id


async def test_whatsapp_number_of_the_order_verifies_without_asking(store_db, demo_orders,
                                                                   make_tracker, dispatcher,
                                                                   domain, slots_of, said):
    o = demo(demo_orders, "in_transit", market="AR")
    wa_id = "".join(c for c in o.customer["phone"] if c.isdigit())  # how WhatsApp sends it
    events = await run(ValidateOrderStatusForm(), make_tracker, dispatcher, domain,
                       {"order_id": o.id}, ["order_id"], sender_id=wa_id,
                       input_channel="whatsapp", metadata=verified_phone("whatsapp", wa_id))
    slots = slots_of(events)
    assert slots["verified_order_id"] == o.id and last_requested(events) is None
    assert "WhatsApp" in said(dispatcher)


async def test_other_whatsapp_number_still_has_to_verify(store_db, demo_orders, make_tracker,
                                                         dispatcher, domain, slots_of, said):
    o = demo(demo_orders, "in_transit", market="AR")
    events = await run(ValidateOrderStatusForm(), make_tracker, dispatcher, domain,
                       {"order_id": o.id}, ["order_id"], sender_id="34699000111",
                       input_channel="whatsapp",
                       metadata=verified_phone("whatsapp", "34699000111"))
    assert slots_of(events) == {"order_id": o.id}  # order taken, identity still to be given
    assert "verificado" not in said(dispatcher)


async def test_web_conversation_named_like_the_phone_is_not_trusted(store_db, demo_orders,
                                                                    make_tracker, dispatcher,
                                                                    domain, slots_of, said):
    # socket.io lets the browser choose its session id; only the WhatsApp channel vouches
    o = demo(demo_orders, "in_transit", market="AR")
    wa_id = "".join(c for c in o.customer["phone"] if c.isdigit())
    events = await run(ValidateOrderStatusForm(), make_tracker, dispatcher, domain,
                       {"order_id": o.id}, ["order_id"], sender_id=wa_id,
                       input_channel="socketio")
    assert slots_of(events) == {"order_id": o.id}
    assert "verificado" not in said(dispatcher)


async def test_mismatch_counts_and_asks_again(store_db, demo_orders, make_tracker, dispatcher,
                                              domain,
                                              said, slots_of):
    o = demo(demo_orders, "in_transit")
    events = await run(ValidateOrderStatusForm(), make_tracker, dispatcher, domain,
                       {"order_id": o.id, "customer_contact": "intruso@example.com"},
                       ["customer_contact"])
    slots = slots_of(events)
    assert slots["verification_attempts"] == 1 and slots["customer_contact"] is None
    assert "verified_order_id" not in slots and "2 intentos" in said(dispatcher)
    assert o.items[0]["name"] not in said(dispatcher)
    assert last_requested(events) != None  # noqa: E711 - the form goes on


async def test_third_failure_stops_the_form_and_offers_a_human(store_db, demo_orders, make_tracker,
                                                               dispatcher, domain, said, slots_of):
    o = demo(demo_orders, "in_transit")
    for wrong in ("600000000", "600000001"):
        await run(ValidateCancelOrderForm(), make_tracker, dispatcher, domain,
                  {"order_id": o.id, "customer_contact": wrong}, ["customer_contact"])
    dispatcher.messages.clear()
    events = await run(ValidateCancelOrderForm(), make_tracker, dispatcher, domain,
                       {"order_id": o.id, "customer_contact": "600000002"}, ["customer_contact"])
    slots = slots_of(events)
    assert slots["verification_attempts"] == 3 and slots["handoff_reason"] == "verification_failed"
    assert LOCKED in said(dispatcher) and last_requested(events) is None
    assert o.items[0]["name"] not in said(dispatcher)  # nothing about the order leaked


async def test_locked_sender_is_refused_immediately_even_with_the_right_email(
        store_db, demo_orders, make_tracker, dispatcher, domain, said, slots_of):
    o = demo(demo_orders, "cancellable")
    for n in range(3):
        await run(ValidateOrderStatusForm(), make_tracker, dispatcher, domain,
                  {"order_id": o.id, "customer_contact": f"nadie{n}@example.com"},
                  ["customer_contact"])
    dispatcher.messages.clear()
    # the slot says nothing (a new session): the shared ledger remembers
    events = await run(ValidateOrderStatusForm(), make_tracker, dispatcher, domain,
                       {"order_id": o.id, "customer_contact": o.customer["email"],
                        "verification_attempts": 0.0}, ["order_id", "customer_contact"])
    assert "verified_order_id" not in slots_of(events) and last_requested(events) is None
    assert said(dispatcher) == LOCKED


async def test_verified_order_is_not_asked_again(store_db, demo_orders, make_tracker, dispatcher,
                                                 domain, said, slots_of):
    o = demo(demo_orders, "cancellable")
    form = ValidateCancelOrderForm()
    tracker = make_tracker({"order_id": o.id, "verified_order_id": o.id}, validate=["order_id"])
    assert await form.required_slots(domain["forms"][form.form]["required_slots"], dispatcher,
                                     tracker, domain) == ["order_id", "cancel_confirm"]
    events = await form.run(dispatcher, tracker, domain)
    assert last_requested(events) == "cancel_confirm"
    assert "139,80 €" in said(dispatcher)  # summary before the confirmation question


async def test_contact_given_before_the_order_number_is_checked_when_it_arrives(
        store_db, demo_orders, make_tracker, dispatcher, domain, slots_of):
    o = demo(demo_orders, "shipped", market="CO")
    first = await run(ValidateOrderStatusForm(), make_tracker, dispatcher, domain,
                      {"customer_contact": o.customer["email"]}, ["customer_contact"])
    assert slots_of(first)["customer_contact"] == o.customer["email"]
    second = await run(ValidateOrderStatusForm(), make_tracker, dispatcher, domain,
                       {"customer_contact": o.customer["email"], "order_id": o.id}, ["order_id"])
    assert slots_of(second)["verified_order_id"] == o.id


async def test_store_down_stops_the_form_politely(tmp_path, monkeypatch, make_tracker, dispatcher,
                                                  domain, said, slots_of, caplog):
    monkeypatch.setenv("STORE_DATABASE", str(tmp_path / "missing.db"))
    get_store.cache_clear()
    try:
        events = await run(ValidateOrderStatusForm(), make_tracker, dispatcher, domain,
                           {"order_id": "AT101001", "language": "en",
                            "customer_contact": "a@example.com"}, ["customer_contact"])
    finally:
        get_store.cache_clear()
    assert slots_of(events)["handoff_reason"] == "backend_error" and last_requested(events) is None
    assert "can't reach the order system" in said(dispatcher)
    assert "Traceback" not in said(dispatcher)
    assert dispatcher.messages[0]["buttons"][0]["payload"] == "/human_handoff"
    assert "store backend error" in caplog.text


async def test_slow_store_is_a_backend_error(store_db, monkeypatch, make_tracker, dispatcher,
                                             domain,
                                             slots_of):
    monkeypatch.setattr("actions.forms.get_store",
                        lambda: SQLiteStore(store_db, timeout=0.05, simulated_latency=0.5))
    events = await run(ValidateOrderStatusForm(), make_tracker, dispatcher, domain,
                       {"order_id": "AT101001", "customer_contact": "a@example.com"},
                       ["order_id", "customer_contact"])
    assert slots_of(events)["handoff_reason"] == "backend_error"


# -- per-form slots ------------------------------------------------------------------------------
async def test_cancel_form_skips_confirmation_when_cancelling_is_impossible(
        store_db, demo_orders, make_tracker, dispatcher, domain, slots_of):
    o = demo(demo_orders, "in_transit")
    events = await run(ValidateCancelOrderForm(), make_tracker, dispatcher, domain,
                       {"order_id": o.id, "customer_contact": o.customer["phone"]},
                       ["order_id", "customer_contact"])
    assert slots_of(events)["cancel_confirm"] is False and last_requested(events) is None


@pytest.mark.parametrize("value, expected",
                         [(True, True), (False, False), ("true", True), ("x", None)])
async def test_cancel_confirm(value, expected, store_db, make_tracker, dispatcher, domain):
    form = ValidateCancelOrderForm()
    tracker = make_tracker({"cancel_confirm": value})
    assert await form.validate_cancel_confirm(value, dispatcher, tracker, domain) == \
        {"cancel_confirm": expected}


async def test_change_address_form_shows_masked_current_address_and_checks_the_new_one(
        store_db, demo_orders, make_tracker, dispatcher, domain, said, slots_of):
    o = demo(demo_orders, "cancellable", market="MX")
    events = await run(ValidateChangeAddressForm(), make_tracker, dispatcher, domain,
                       {"order_id": o.id, "customer_contact": o.customer["email"]},
                       ["customer_contact"])
    assert last_requested(events) == "new_address"
    assert "***" in said(dispatcher) and o.address.split(",")[0] not in said(dispatcher)
    form = ValidateChangeAddressForm()
    tracker = make_tracker({"order_id": o.id, "verified_order_id": o.id})
    assert await form.validate_new_address("mi casa", dispatcher, tracker, domain) == \
        {"new_address": None}
    assert await form.validate_new_address("Av. Reforma  222,  06600 CDMX", dispatcher, tracker,
                                           domain) == {"new_address": "Av. Reforma 222, 06600 CDMX"}
