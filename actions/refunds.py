"""``action_refund_status``: where the shopper's money is, from the backend, with a timeline.

The refund-times article counts the payment method's business days from when the store receives the
return (for a cancellation, from the day the refund is issued, the same day). The store creates the
refund record the day it books the return in, so the record's creation day starts the clock; the
expected date is that day plus the method's maximum business days for the market. An overdue
refund is said to be overdue and a human is offered, never explained away.
"""

from __future__ import annotations

from datetime import date

from rasa_sdk import Tracker
from rasa_sdk.events import EventType
from rasa_sdk.executor import CollectingDispatcher

from actions.i18n import register, t
from actions.order_common import (
    OrderAction,
    format_date,
    format_money,
    offer_human_buttons,
    payment_label,
    today,
)
from actions.policy import refund_due_date, refund_timeline
from actions.policy_markets import market_policy
from actions.store import Order, OrderStatus, Refund
from actions.store_calendar import store_day

MESSAGES = {
    "refund_completed": {
        "es": "El reembolso de {amount} del pedido {order_id} se completó el {date} a {method}. "
              "Según tu banco, puede tardar 1-2 días más en verse en el extracto.",
        "en": "The {amount} refund for order {order_id} was completed on {date} to {method}. "
              "Depending on your bank it may take 1-2 more days to show on your statement.",
    },
    "refund_in_progress": {
        "es": "El reembolso de {amount} del pedido {order_id} está {state} desde el {created}. "
              "Con {method} tarda {min_days}-{max_days} días hábiles: debería llegarte como tarde "
              "el {by}.",
        "en": "The {amount} refund for order {order_id} has been {state} since {created}. "
              "With {method} it takes {min_days}-{max_days} business days: it should reach you by "
              "{by} at the latest.",
    },
    "refund_overdue": {
        "es": "El reembolso de {amount} del pedido {order_id} debería haber llegado el {by} y "
              "sigue {state}. Lo siento: una persona del equipo puede revisarlo con el banco.",
        "en": "The {amount} refund for order {order_id} should have arrived by {by} and is still "
              "{state}. I'm sorry: a person on our team can check it with the bank.",
    },
    "refund_failed": {
        "es": "El reembolso de {amount} del pedido {order_id} no se pudo completar. Una persona "
              "del equipo tiene que revisarlo contigo.",
        "en": "The {amount} refund for order {order_id} could not be completed. A person on our "
              "team needs to look at it with you.",
    },
    "refund_state_pending": {"es": "pendiente", "en": "pending"},
    "refund_state_processing": {"es": "en proceso", "en": "processing"},
    "refund_none_return_open": {
        "es": "Tu devolución {rma} está abierta ({state}). Te devolvemos el dinero cuando "
              "recibimos y revisamos el artículo: con {method} tarda {min_days}-{max_days} días "
              "hábiles desde que lo recibimos.",
        "en": "Your return {rma} is open ({state}). We refund you once we receive and check the "
              "item: with {method} it takes {min_days}-{max_days} business days from when it "
              "reaches us.",
    },
    "refund_rma_label_sent": {"es": "pendiente de envío", "en": "waiting for you to send it"},
    "refund_rma_requested": {"es": "solicitada, en revisión por el equipo",
                             "en": "requested, being reviewed by our team"},
    "refund_rma_open": {"es": "aprobada, pendiente de envío",
                        "en": "approved, waiting for the parcel"},
    "refund_rma_received": {"es": "recibida, en revisión", "en": "received, being checked"},
    "refund_none_cancelled": {
        "es": "El pedido {order_id} se canceló antes de cobrarse, así que no hay nada que "
              "reembolsar.",
        "en": "Order {order_id} was cancelled before any charge, so there's nothing to refund.",
    },
    "refund_none": {
        "es": "El pedido {order_id} ({status}) no tiene ningún reembolso. Si quieres devolver "
              "algo, dímelo y abrimos la devolución.",
        "en": "Order {order_id} ({status}) has no refund. If you'd like to return something, tell "
              "me and we'll open the return.",
    },
}
register(MESSAGES)


def expected_by(refund: Refund, market: str) -> tuple[int, int, date]:
    """(min days, max days, latest expected date) for a refund in ``market``."""
    policy = market_policy(market)
    low, high = refund_timeline(refund.method, policy)
    return low, high, refund_due_date(store_day(refund.created_at), refund.method, policy)


def describe_refund(refund: Refund, order: Order, lang: str) -> tuple[str, bool]:
    """The sentence for one refund and whether it needs a human (overdue or failed)."""
    amount = format_money(refund.amount_cents, refund.currency, lang)
    method = payment_label(refund.method, lang)
    base = {"amount": amount, "order_id": order.id, "method": method}
    if refund.status == "completed":
        return t("refund_completed", lang, **base,
                 date=format_date(refund.completed_at, lang)), False
    if refund.status == "failed":
        return t("refund_failed", lang, **base), True
    low, high, by = expected_by(refund, order.market)
    state = t(f"refund_state_{refund.status}", lang)
    if by < today():
        return t("refund_overdue", lang, **base, state=state, by=format_date(by, lang)), True
    return t("refund_in_progress", lang, **base, state=state,
             created=format_date(refund.created_at, lang),
             min_days=low, max_days=high, by=format_date(by, lang)), False


class ActionRefundStatus(OrderAction):
    action_name = "action_refund_status"

    async def handle(self, dispatcher: CollectingDispatcher, tracker: Tracker, order: Order,
                     lang: str) -> list[EventType]:
        refunds = await self.store().get_refunds(order.id)
        if refunds:
            for refund in refunds:
                text, human = describe_refund(refund, order, lang)
                # Overdue or failed: offer a person (the button's intent makes the reason "asked").
                dispatcher.utter_message(text=text,
                                         buttons=offer_human_buttons(lang) if human else [])
            return []
        open_rma = next((r for r in order.returns
                         if r.status in {"requested", "open", "label_sent", "received"}), None)
        if open_rma:
            low, high = refund_timeline(order.payment_method, market_policy(order.market))
            dispatcher.utter_message(text=t(
                "refund_none_return_open", lang, rma=open_rma.rma,
                state=t(f"refund_rma_{open_rma.status}", lang), min_days=low, max_days=high,
                method=payment_label(order.payment_method, lang)))
        elif order.status == OrderStatus.CANCELLED:
            dispatcher.utter_message(text=t("refund_none_cancelled", lang, order_id=order.id))
        else:
            dispatcher.utter_message(text=t("refund_none", lang, order_id=order.id,
                                            status=t(f"status_{order.status.value}", lang)))
        return []
