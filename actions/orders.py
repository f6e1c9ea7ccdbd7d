"""Order status and cancellation: ``action_order_status`` and ``action_cancel_order``.

Both read the order from the store after the form verified the shopper. A cancellation is checked
against the market policy, written, then re-read: the shopper is told only what the backend shows.
"""

from __future__ import annotations

from rasa_sdk import Tracker
from rasa_sdk.events import EventType, FollowupAction, SlotSet
from rasa_sdk.executor import CollectingDispatcher

from actions.i18n import register, t
from actions.masking import mask_address, mask_email
from actions.order_common import (
    OrderAction,
    add_business_days,
    backend_error,
    format_date,
    format_money,
    hand_off_request,
    payment_label,
    status_label,
    today,
    why_not,
)
from actions.policy import check_cancellation, refund_timeline
from actions.policy_markets import market_policy
from actions.returns import holiday_note
from actions.store import InvalidOperation, OperationNotSupported, Order, OrderStatus

MESSAGES = {
    "order_status_header": {
        "es": "Pedido {order_id} ({placed}): {status}.\nArtículos: {items}. Total: {total}.",
        "en": "Order {order_id} ({placed}): {status}.\nItems: {items}. Total: {total}.",
    },
    "order_status_tracking": {
        "es": "Transportista: {carrier}, número de seguimiento {tracking}.\nSíguelo aquí: {url}",
        "en": "Carrier: {carrier}, tracking number {tracking}.\nTrack it here: {url}",
    },
    "order_status_eta": {"es": "Entrega prevista: {date}.", "en": "Estimated delivery: {date}."},
    "order_status_eta_late": {
        "es": "La entrega estaba prevista el {date} y va con retraso; si mañana no ha llegado, "
              "escríbenos y lo reclamamos al transportista.",
        "en": "Delivery was expected on {date} and is running late; if it hasn't arrived by "
              "tomorrow, write to us and we'll chase the carrier.",
    },
    "order_status_delivered": {"es": "Entregado el {date}.", "en": "Delivered on {date}."},
    "order_status_preparing": {
        "es": "Aún está en el almacén; todavía puedes cancelarlo o cambiar la dirección.",
        "en": "It's still in the warehouse; you can still cancel it or change the address.",
    },
    "order_status_pending_payment": {
        "es": "Estamos esperando el pago; lo preparamos en cuanto se confirme.",
        "en": "We're waiting for the payment; we'll prepare it as soon as it's confirmed.",
    },
    "order_status_ship_to": {
        "es": "Envío a {address} · confirmación a {email}.",
        "en": "Shipping to {address} · confirmation sent to {email}.",
    },
    "cancel_done_refund": {
        "es": "Hecho: el pedido {order_id} está cancelado. Hoy emitimos el reembolso de {amount} a "
              "{method}, que tarda {min_days}-{max_days} días hábiles (como tarde hacia el {by}).",
        "en": "Done: order {order_id} is cancelled. We're issuing the {amount} refund to {method} "
              "today; it takes {min_days}-{max_days} business days (by {by} at the latest).",
    },
    "cancel_done_no_charge": {
        "es": "Hecho: el pedido {order_id} está cancelado. No se te llegó a cobrar nada.",
        "en": "Done: order {order_id} is cancelled. You were never charged.",
    },
    "cancel_kept": {
        "es": "De acuerdo, no cancelo nada: el pedido {order_id} sigue adelante.",
        "en": "OK, I won't cancel anything: order {order_id} goes ahead.",
    },
    "cancel_already_shipped": {
        "es": "El pedido {order_id} ya salió del almacén ({status}), así que ya no se puede "
              "cancelar. Puedes rechazar la entrega o, cuando lo recibas, devolverlo gratis "
              "durante {days} días.{holiday} ¿Quieres que te explique cómo devolverlo?",
        "en": "Order {order_id} has already left the warehouse ({status}), so it can't be "
              "cancelled any more. You can refuse the delivery, or return it for free within "
              "{days} days once it arrives.{holiday} Would you like me to explain how?",
    },
    "cancel_already_cancelled": {
        "es": "El pedido {order_id} ya estaba cancelado.",
        "en": "Order {order_id} was already cancelled.",
    },
    "cancel_closed": {
        "es": "El pedido {order_id} está {status}; no hay nada que cancelar.",
        "en": "Order {order_id} is {status}; there's nothing to cancel.",
    },
    "cancel_needs_approval": {
        "es": "Por el importe ({amount}), la cancelación de este pedido la aprueba una persona del "
              "equipo. Te paso con ella ahora; no tendrás que repetir los datos.",
        "en": "Because of the amount ({amount}), cancelling this order needs approval from a "
              "person on our team. I'm putting you through now; you won't need to repeat anything.",
    },
    "cancel_done_refund_by_team": {
        "es": "Hecho: el pedido {order_id} está cancelado. Como ya estaba pagado, nuestro equipo "
              "emite el reembolso de {amount} a {method}; desde que se emite tarda "
              "{min_days}-{max_days} días hábiles.",
        "en": "Done: order {order_id} is cancelled. As it was already paid, our team is issuing "
              "the {amount} refund to {method}; once issued it takes {min_days}-{max_days} "
              "business days.",
    },
    "request_cancel": {
        "es": "Cancelar el pedido {order_id} (el cliente lo ha confirmado). {refund}",
        "en": "Cancel order {order_id} (the customer confirmed). {refund}",
    },
    "request_refund_due": {"es": "Hay que reembolsar {amount} a {method}.",
                           "en": "Refund {amount} to {method}."},
    "request_no_charge": {"es": "No se cobró nada: no hay reembolso.",
                          "en": "Nothing was charged: no refund."},
    "cancel_not_confirmed": {
        "es": "He pedido la cancelación, pero el sistema muestra el pedido {order_id} como "
              "«{status}», así que no puedo confirmarla.",
        "en": "I requested the cancellation, but the system shows order {order_id} as "
              "\"{status}\", so I can't confirm it.",
    },
}
register(MESSAGES)


def describe_items(order: Order) -> str:
    return ", ".join(f"{i.quantity}× {i.name}" + (f" ({i.size})" if i.size else "")
                     for i in order.items)


def status_lines(order: Order, lang: str) -> list[str]:
    """What a verified shopper sees about an order; personal data masked."""
    lines = [t("order_status_header", lang, order_id=order.id,
               placed=format_date(order.placed_at, lang),
               status=status_label(order, lang), items=describe_items(order),
               total=format_money(order.total_cents, order.currency, lang))]
    if order.status == OrderStatus.PENDING:
        lines.append(t("order_status_pending_payment", lang))
    elif order.status == OrderStatus.PAID:
        lines.append(t("order_status_preparing", lang))
    if order.carrier and order.tracking_number:
        lines.append(t("order_status_tracking", lang, carrier=order.carrier,
                       tracking=order.tracking_number, url=order.tracking_url or "—"))
    if order.status == OrderStatus.DELIVERED or order.delivered_at:
        lines.append(t("order_status_delivered", lang, date=format_date(order.delivered_at, lang)))
    elif order.status in {OrderStatus.SHIPPED, OrderStatus.IN_TRANSIT} and order.estimated_delivery:
        late = order.estimated_delivery < today()
        key = "order_status_eta_late" if late else "order_status_eta"
        lines.append(t(key, lang, date=format_date(order.estimated_delivery, lang)))
    if order.status not in {OrderStatus.CANCELLED, OrderStatus.REFUNDED, OrderStatus.RETURNED}:
        lines.append(t("order_status_ship_to", lang, address=mask_address(order.shipping_address),
                       email=mask_email(order.email)))
    return lines


class ActionOrderStatus(OrderAction):
    """Status, carrier, tracking number and link, ETA or delivery date, masked contact data."""

    action_name = "action_order_status"

    async def handle(self, dispatcher: CollectingDispatcher, tracker: Tracker, order: Order,
                     lang: str) -> list[EventType]:
        dispatcher.utter_message(text="\n".join(status_lines(order, lang)))
        return []


class ActionCancelOrder(OrderAction):
    """Cancel only before shipping and under the approval threshold; confirm from a re-read."""

    action_name = "action_cancel_order"

    async def handle(self, dispatcher: CollectingDispatcher, tracker: Tracker, order: Order,
                     lang: str) -> list[EventType]:
        policy = market_policy(order.market)
        decision = check_cancellation(order, policy)
        fields = {"order_id": order.id, "status": status_label(order, lang),
                  "days": policy.return_window_days, "holiday": holiday_note(order, policy, lang)}
        if decision.code == "approval_required":
            amount = format_money(order.total_cents, order.currency, lang)
            dispatcher.utter_message(text=t("cancel_needs_approval", lang, amount=amount))
            return [SlotSet("handoff_reason", "approval_required"),
                    FollowupAction("action_handoff")]
        if not decision.allowed:
            key = {"already_shipped": "cancel_already_shipped",
                   "already_cancelled": "cancel_already_cancelled"}.get(decision.code,
                                                                        "cancel_closed")
            dispatcher.utter_message(text=t(key, lang, **fields))
            return []
        if tracker.get_slot("cancel_confirm") is not True:
            dispatcher.utter_message(text=t("cancel_kept", lang, **fields))
            return []
        store = self.store()
        try:
            if not store.supports("cancel_order"):
                raise OperationNotSupported("cancel_order", why_not(store, "cancel_order"))
            await store.cancel_order(order.id, reason="customer_request_via_bot")
        except InvalidOperation:
            pass  # shipped or changed meanwhile: the re-read below tells the truth
        except OperationNotSupported as exc:
            refund = t("request_no_charge", lang) if decision.refund_cents == 0 else t(
                "request_refund_due", lang,
                amount=format_money(decision.refund_cents, order.currency, lang),
                method=payment_label(order.payment_method, lang))
            return hand_off_request(dispatcher, lang, "cancel_order", order.id,
                                    t("request_cancel", lang, order_id=order.id, refund=refund),
                                    exc.why)
        fresh = await store.get_order(order.id)
        if fresh.status != OrderStatus.CANCELLED:
            dispatcher.utter_message(text=t("cancel_not_confirmed", lang, order_id=order.id,
                                            status=status_label(fresh, lang)))
            if fresh.status.is_shipped:
                dispatcher.utter_message(text=t("cancel_already_shipped", lang, **fields))
                return []
            return backend_error(dispatcher, lang, None, self.name())
        if decision.refund_cents == 0:  # never charged (unpaid, cash on delivery)
            dispatcher.utter_message(text=t("cancel_done_no_charge", lang, order_id=order.id))
            return []
        before = {r.id for r in order.refunds}
        refund = next((r for r in fresh.refunds if r.id not in before and r.status != "failed"),
                      None)
        if refund is None:  # the platform cancels without refunding: the team issues it
            low, high = refund_timeline(order.payment_method, policy)
            dispatcher.utter_message(text=t(
                "cancel_done_refund_by_team", lang, order_id=order.id,
                amount=format_money(decision.refund_cents, order.currency, lang),
                method=payment_label(order.payment_method, lang), min_days=low, max_days=high))
            return []
        low, high = refund_timeline(refund.method, policy)
        dispatcher.utter_message(text=t(
            "cancel_done_refund", lang, order_id=order.id,
            amount=format_money(refund.amount_cents, refund.currency, lang),
            method=payment_label(refund.method, lang), min_days=low, max_days=high,
            by=format_date(add_business_days(today(), high), lang)))
        return []
