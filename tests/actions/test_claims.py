"""validate_claim_form and action_create_claim (actions/claims.py): damaged, wrong and missing
items, with the photo read from the shared media storage, the remedy the stock allows, a
read-back, the claim as an RMA, and a person (handoff packet) when the policy says so."""

from __future__ import annotations

import io
import json
import socket
import sqlite3

import pytest
from PIL import Image

from actions import claims
from actions.claims import (
    NO_PHOTO,
    ActionAskClaimConfirm,
    ActionAskClaimRemedy,
    ActionCreateClaim,
    ValidateClaimForm,
    parse_remedy,
)
from tests.actions.helpers import demo


@pytest.fixture(autouse=True)
def no_handoff_api(monkeypatch):
    """Nothing listens here: a claim's confirmation e-mail fails fast unless a test says so
    (never a handoff API some other process runs on the default port)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    monkeypatch.setenv("HANDOFF_API_URL", f"http://127.0.0.1:{port}")


@pytest.fixture
def media_dir(tmp_path, monkeypatch):
    monkeypatch.setenv("MEDIA_DIR", str(tmp_path / "media"))
    claims.media.cache_clear()
    yield tmp_path / "media"
    claims.media.cache_clear()


def jpeg() -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (32, 24), (200, 30, 30)).save(out, "JPEG")
    return out.getvalue()


def verified(o, **extra):
    return {"order_id": o.id, "verified_order_id": o.id, "language": o.customer["language"],
            **extra}


async def validate(make_tracker, dispatcher, domain, o, slot, value, sender="c-1", **slots):
    tracker = make_tracker(verified(o, **{slot: value}, **slots), validate=[slot],
                           active_loop="claim_form", sender_id=sender)
    return await getattr(ValidateClaimForm(), f"validate_{slot}")(value, dispatcher, tracker,
                                                                   domain)


def handed_off(events):
    return any(e.get("event") == "followup" and e.get("name") == "action_handoff" for e in events)


def slots_of(events):
    return {e["name"]: e["value"] for e in events if e.get("event") == "slot"}


async def test_damaged_item_asks_for_a_photo_wrong_and_missing_skip_it(
        store_db, demo_orders, make_tracker, dispatcher, domain):
    o = demo(demo_orders, "return_window")
    damaged = await validate(make_tracker, dispatcher, domain, o, "claim_item", "el vestido",
                             problem="damaged")
    assert damaged == {"claim_item": "Vestido de lino Mediterráneo", "claim_photo": None}
    for problem in ("wrong_item", "missing"):
        other = await validate(make_tracker, dispatcher, domain, o, "claim_item", "el vestido",
                               problem=problem)
        assert other["claim_photo"] == "-"


async def test_photo_from_the_media_storage(store_db, demo_orders, make_tracker, dispatcher,
                                            domain, media_dir, said):
    o = demo(demo_orders, "return_window")
    first = await validate(make_tracker, dispatcher, domain, o, "claim_photo", "ya está",
                           sender="wa-1", claim_photo_asks=0.0)
    assert first == {"claim_photo": None, "claim_photo_asks": 1.0}
    assert "ninguna foto" in said(dispatcher)
    stored = await claims.media().put(jpeg(), declared_type="image/jpeg", filename="roto.jpg",
                                      conversation_id="wa-1", source="whatsapp")
    await claims.media().put(jpeg(), declared_type="image/jpeg", filename="otro.jpg",
                             conversation_id="someone-else", source="whatsapp")
    await claims.media().put(jpeg(), declared_type="image/jpeg", filename="size_chart.png",
                             conversation_id="wa-1", source="agent")  # sent by an agent
    second = await validate(make_tracker, dispatcher, domain, o, "claim_photo", "ya está",
                            sender="wa-1", claim_photo_asks=1.0)
    assert second == {"claim_photo": stored.key}  # only this conversation's image
    assert "tengo 1 foto" in said(dispatcher)


async def test_no_photo_after_two_asks_goes_to_a_person_with_everything(
        store_db, store, demo_orders, make_tracker, dispatcher, domain, media_dir, said):
    o = demo(demo_orders, "return_window")
    result = await validate(make_tracker, dispatcher, domain, o, "claim_photo", "no tengo",
                            claim_photo_asks=1.0)
    assert result == {"claim_photo": NO_PHOTO, "claim_photo_asks": 2.0}
    tracker = make_tracker(verified(o, claim_item="Vestido de lino Mediterráneo",
                                    claim_photo=NO_PHOTO, problem="damaged",
                                    claim_description="Llegó dañado: tiene una mancha"))
    events = await ActionCreateClaim().run(dispatcher, tracker, domain)
    slots = slots_of(events)
    assert slots["handoff_reason"] == "approval_required"
    assert handed_off(events)
    note = slots["store_request"]
    assert o.id in note and "Vestido de lino Mediterráneo" in note and "mancha" in note
    assert "Sin foto" in said(dispatcher)
    assert (await store.get_order(o.id)).returns == ()


async def test_remedy_replacement_when_in_stock_else_refund(store_db, demo_orders, make_tracker,
                                                            dispatcher, domain, said):
    o = demo(demo_orders, "return_window")
    dress = "Vestido de lino Mediterráneo"
    tracker = make_tracker(verified(o, claim_item=dress))
    await ActionAskClaimRemedy().run(dispatcher, tracker, domain)
    assert "Reposición" in said(dispatcher) and "Reembolso de 69,00 €" in said(dispatcher)
    ok = await validate(make_tracker, dispatcher, domain, o, "claim_remedy",
                        "mándame otro igual", claim_item=dress)
    assert ok == {"claim_remedy": "replacement"}
    with sqlite3.connect(store_db) as con:
        con.execute("UPDATE product_variants SET stock = 0 WHERE product_sku = 'AP-MED-06'")
    sold_out = await validate(make_tracker, dispatcher, domain, o, "claim_remedy",
                              "reposición", claim_item=dress)
    assert sold_out == {"claim_remedy": "refund"} and "no queda stock" in said(dispatcher)


@pytest.mark.parametrize("text, expected", [
    ("prefiero el reembolso", "refund"), ("send me a new one", "replacement"),
    ("reposición sin coste", "replacement"), ("money back please", "refund"), ("hmm", None)])
def test_parse_remedy(text, expected):
    assert parse_remedy(text) == expected


async def test_confirmed_claim_becomes_an_rma_marked_as_a_claim(
        store_db, store, demo_orders, make_tracker, dispatcher, domain, media_dir, said):
    o = demo(demo_orders, "return_window", language="en")
    slots = verified(o, claim_item="Mediterranean linen dress", claim_photo="k1,k2",
                     claim_remedy="replacement", problem="damaged",
                     claim_description="Arrived damaged: torn seam")
    await ActionAskClaimConfirm().run(dispatcher, make_tracker(slots), domain)
    text = said(dispatcher)
    assert "Photos: 2" in text and "Remedy: free replacement" in text and "Shall I open it?" in text
    assert (await store.get_order(o.id)).returns == ()
    await ActionCreateClaim().run(dispatcher, make_tracker({**slots, "claim_confirm": False}),
                                  domain)
    assert (await store.get_order(o.id)).returns == ()
    await ActionCreateClaim().run(dispatcher, make_tracker({**slots, "claim_confirm": True}),
                                  domain)
    [record] = (await store.get_order(o.id)).returns
    assert record.reason.startswith("[claim:damaged]") and "k1,k2" in record.reason
    assert record.kind == "exchange" and "torn seam" in record.reason
    assert f"claim {record.rma}" in said(dispatcher)


async def test_a_second_claim_goes_to_a_person(store_db, store, demo_orders, make_tracker,
                                               dispatcher, domain, said):
    o = demo(demo_orders, "return_window")
    await store.create_return(o.id, item_ids=[o.items[0]["id"]],
                              reason="[claim:damaged] earlier", kind="refund")
    slots = verified(o, claim_item="Vestido de lino Mediterráneo", claim_photo="k1",
                     claim_remedy="refund", problem="damaged", claim_confirm=True)
    events = await ActionCreateClaim().run(dispatcher, make_tracker(slots), domain)
    assert handed_off(events)
    assert "Ya tienes otra incidencia" in said(dispatcher)
    assert len((await store.get_order(o.id)).returns) == 1


async def test_a_claim_above_the_threshold_goes_to_a_person(store_db, store, demo_orders,
                                                            make_tracker, dispatcher, domain,
                                                            said):
    o = demo(demo_orders, "high_return")
    slots = verified(o, claim_item=o.items[0]["name"], claim_photo="-", claim_remedy="refund",
                     problem="wrong_item", claim_confirm=True)
    events = await ActionCreateClaim().run(dispatcher, make_tracker(slots), domain)
    assert handed_off(events)
    assert "Por el importe" in said(dispatcher)
    assert (await store.get_order(o.id)).returns == ()


async def test_an_item_with_an_open_return_shows_it(store_db, store, demo_orders, make_tracker,
                                                    dispatcher, domain, said):
    o = demo(demo_orders, "return_window")
    first = await store.create_return(o.id, item_ids=[o.items[0]["id"]], reason="x")
    result = await validate(make_tracker, dispatcher, domain, o, "claim_item", "los botines")
    assert set(result.values()) == {"-"}
    assert first.rma in said(dispatcher)


async def test_undelivered_order_is_not_claimed_by_the_bot(store_db, demo_orders, make_tracker,
                                                           dispatcher, domain, said):
    from actions.claims import ValidateClaimForm as Form

    o = demo(demo_orders, "in_transit")
    tracker = make_tracker({"order_id": o.id, "customer_contact": o.customer["email"]},
                           validate=["customer_contact"], active_loop="claim_form")
    events = await Form().run(dispatcher, tracker, domain)
    assert slots_of(events)["claim_item"] == "-"
    assert "todavía no figura como entregado" in said(dispatcher)


async def test_the_confirmation_email_is_asked_of_the_handoff_api(
        store_db, store, demo_orders, make_tracker, dispatcher, domain, media_dir, said,
        monkeypatch):
    import httpx

    from actions.handoff_client import HandoffClient

    posted = []

    def answer(request: httpx.Request) -> httpx.Response:
        posted.append((request.url.path, request.headers["Authorization"],
                       json.loads(request.content)))
        return httpx.Response(201, json={"id": 1, "status": "sent", "duplicate": False})

    monkeypatch.setattr(claims, "get_handoff_client", lambda: HandoffClient(
        "http://handoff.test", "bot-token", transport=httpx.MockTransport(answer)))
    o = demo(demo_orders, "return_window")
    slots = verified(o, claim_item="Vestido de lino Mediterráneo", claim_photo="-",
                     claim_remedy="refund", problem="missing", claim_confirm=True)
    await ActionCreateClaim().run(dispatcher, make_tracker(slots), domain)
    [record] = (await store.get_order(o.id)).returns
    [(path, auth, body)] = posted
    assert path == "/api/mail" and auth == "Bearer bot-token"
    assert body["key"] == f"claim:{record.rma}" and body["claim"] == record.rma
    assert body["to"] == o.customer["email"] and body["language"] == "es"
    assert body["problem"] == "falta en el paquete" and "69,00 €" in body["next"]
    assert "Te he enviado la confirmación por correo" in said(dispatcher)


async def test_a_mail_service_down_does_not_undo_the_claim(store_db, store, demo_orders,
                                                           make_tracker, dispatcher, domain,
                                                           said, monkeypatch):
    import httpx

    from actions.handoff_client import HandoffClient

    def down(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError("connection refused")

    monkeypatch.setattr(claims, "get_handoff_client", lambda: HandoffClient(
        "http://handoff.test", "bot-token", transport=httpx.MockTransport(down)))
    o = demo(demo_orders, "return_window")
    slots = verified(o, claim_item="Vestido de lino Mediterráneo", claim_photo="-",
                     claim_remedy="refund", problem="wrong_item", claim_confirm=True)
    await ActionCreateClaim().run(dispatcher, make_tracker(slots), domain)
    [record] = (await store.get_order(o.id)).returns
    text = said(dispatcher)
    assert record.rma in text and "correo" not in text
