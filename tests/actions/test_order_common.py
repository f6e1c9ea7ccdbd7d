"""When the store won't let the bot make a change, the shopper goes to an agent with the request
filled in (``order_common.hand_off_request``): a read-only store, an operation the platform's API
lacks, a key without write permission. Run through the real actions on the demo store and on the
platform stand-ins; the policy still decides first."""

from __future__ import annotations

from typing import Any

import pytest

from actions.address import ActionChangeAddress
from actions.orders import ActionCancelOrder
from actions.refunds import ActionRefundStatus
from actions.returns import ActionCreateReturn
from actions.store import OrderStatus, get_store
from tests.actions.helpers import demo


def verified(o: Any, **extra: Any) -> dict[str, Any]:
    return {"order_id": o.id, "verified_order_id": o.id, "language": o.customer["language"],
            **extra}


def use(monkeypatch: pytest.MonkeyPatch, standin: Any, **env: str) -> None:
    """Point get_store() at a stand-in, the way an operator's environment would."""
    monkeypatch.setenv("STORE_BACKEND", standin.platform)
    monkeypatch.setenv("STORE_ALLOW_WRITES", "true")
    if standin.platform == "woocommerce":
        monkeypatch.setenv("WOOCOMMERCE_URL", standin.url)
        monkeypatch.setenv("WOOCOMMERCE_CONSUMER_KEY", standin.key)
        monkeypatch.setenv("WOOCOMMERCE_CONSUMER_SECRET", standin.secret)
    elif standin.platform == "tiendanube":
        monkeypatch.setenv("TIENDANUBE_API_URL", standin.url + "/v1")
        monkeypatch.setenv("TIENDANUBE_STORE_ID", standin.store_id)
        monkeypatch.setenv("TIENDANUBE_ACCESS_TOKEN", standin.token)
        monkeypatch.setenv("TIENDANUBE_USER_AGENT", "Atiende tests (dev@atiende.invalid)")
    else:
        monkeypatch.setenv("SHOPIFY_SHOP", standin.url)
        monkeypatch.setenv("SHOPIFY_ACCESS_TOKEN", standin.token)
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    get_store.cache_clear()


@pytest.fixture(autouse=True)
def fresh_store_choice():
    get_store.cache_clear()
    yield
    get_store.cache_clear()


def handed_off(events: list[dict[str, Any]], slots_of: Any) -> dict[str, Any]:
    slots = slots_of(events)
    assert slots["handoff_reason"] == "approval_required"
    assert {"event": "followup", "name": "action_handoff"} in [
        {k: e.get(k) for k in ("event", "name")} for e in events]
    return slots


async def test_read_only_demo_store_sends_the_cancellation_to_an_agent(
        store_db, store, demo_orders, monkeypatch, make_tracker, dispatcher, domain, said,
        slots_of):
    monkeypatch.setenv("STORE_ALLOW_WRITES", "false")
    get_store.cache_clear()
    o = demo(demo_orders, "cancellable")
    events = await ActionCancelOrder().run(
        dispatcher, make_tracker(verified(o, cancel_confirm=True)), domain)
    assert (await store.get_order(o.id)).status == OrderStatus.PAID  # nothing changed
    slots = handed_off(events, slots_of)
    assert o.id in slots["store_request"] and "139,80 €" in slots["store_request"]
    assert "solo lectura" in slots["store_request"]
    assert "Te paso con ella con tu solicitud ya preparada" in said(dispatcher)


async def test_the_policy_answers_before_any_handoff(store_db, demo_orders, monkeypatch,
                                                     make_tracker, dispatcher, domain, said,
                                                     slots_of):
    monkeypatch.setenv("STORE_ALLOW_WRITES", "false")
    get_store.cache_clear()
    o = demo(demo_orders, "in_transit")
    events = await ActionCancelOrder().run(
        dispatcher, make_tracker(verified(o, cancel_confirm=True)), domain)
    assert "ya salió del almacén" in said(dispatcher)
    assert slots_of(events).get("store_request") is None
    assert not [e for e in events if e.get("event") == "followup"]


async def test_woocommerce_returns_go_to_an_agent_with_items_and_reason(
        woo, monkeypatch, make_tracker, dispatcher, domain, said, slots_of):
    use(monkeypatch, woo)
    o = demo(woo.orders, "return_window", language="en")
    tracker = make_tracker(verified(o, return_item="1", return_reason="the colour is off",
                                    return_confirm=True))  # the read-back was confirmed
    events = await ActionCreateReturn().run(dispatcher, tracker, domain)
    slots = handed_off(events, slots_of)
    assert o.items[0]["name"] in slots["store_request"]
    assert "the colour is off" in slots["store_request"]
    assert "no such operation" in slots["store_request"]
    assert "filled in" in said(dispatcher)
    assert not [r for r in woo.requests if r.method != "GET"]


async def test_tiendanube_address_change_goes_to_an_agent_with_the_new_address(
        tn, monkeypatch, make_tracker, dispatcher, domain, slots_of):
    use(monkeypatch, tn)
    o = demo(tn.orders, "cancellable")
    new = "Calle de Alcalá 99, 4º izq, 28009 Madrid"
    events = await ActionChangeAddress().run(
        dispatcher, make_tracker(verified(o, new_address=new)), domain)
    assert new in handed_off(events, slots_of)["store_request"]


async def test_tiendanube_cancel_says_the_team_issues_the_refund(tn, monkeypatch, make_tracker,
                                                                 dispatcher, domain, said):
    use(monkeypatch, tn)
    o = demo(tn.orders, "cancellable")
    await ActionCancelOrder().run(dispatcher, make_tracker(verified(o, cancel_confirm=True)),
                                  domain)
    text = said(dispatcher)
    assert "está cancelado" in text and "nuestro equipo emite el reembolso de 139,80 €" in text


async def test_a_read_key_makes_the_cancellation_an_agent_job(woo, monkeypatch, make_tracker,
                                                              dispatcher, domain, slots_of):
    woo.permissions = "read"
    use(monkeypatch, woo)
    o = demo(woo.orders, "cancellable")
    events = await ActionCancelOrder().run(
        dispatcher, make_tracker(verified(o, cancel_confirm=True)), domain)
    assert "permiso de escritura" in handed_off(events, slots_of)["store_request"]


async def test_woocommerce_cancel_reports_the_gateway_refund(woo, monkeypatch, make_tracker,
                                                             dispatcher, domain, said):
    use(monkeypatch, woo)
    o = demo(woo.orders, "cancellable")
    await ActionCancelOrder().run(dispatcher, make_tracker(verified(o, cancel_confirm=True)),
                                  domain)
    assert "Hoy emitimos el reembolso de 139,80 €" in said(dispatcher)


async def test_shopify_return_request_waits_for_the_teams_label(shop, monkeypatch, make_tracker,
                                                                dispatcher, domain, said):
    use(monkeypatch, shop)
    o = demo(shop.orders, "return_window")
    tracker = make_tracker(verified(o, return_item="Vestido de lino Mediterráneo",
                                    return_reason="no me gusta el color", return_confirm=True))
    await ActionCreateReturn().run(dispatcher, tracker, domain)
    text = said(dispatcher)
    assert f"solicitud de devolución #{o.id[2:]}-R1" in text
    assert "te envía por email la etiqueta" in text and "69,00 €" in text
    dispatcher.messages.clear()
    await ActionRefundStatus().run(dispatcher, make_tracker(verified(o)), domain)
    assert "solicitada, en revisión por el equipo" in said(dispatcher)


async def test_an_old_request_does_not_leak_into_the_next_action(store_db, demo_orders,
                                                                 make_tracker, dispatcher,
                                                                 domain, slots_of):
    o = demo(demo_orders, "in_transit")
    tracker = make_tracker(verified(o, store_request="Cancelar el pedido AT000000"))
    from actions.orders import ActionOrderStatus

    events = await ActionOrderStatus().run(dispatcher, tracker, domain)
    assert slots_of(events)["store_request"] is None
