"""Shared plumbing of the order actions: language, formatting, verified-order access, failures.

Every order action derives from :class:`OrderAction`, which turns a store outage (or any unexpected
error) into a polite message in the shopper's language plus an offer of a human, logs the cause and
never lets a stack trace reach the chat. It also re-checks identity: an action shows nothing unless
``verified_order_id`` equals the normalised ``order_id`` (the form validators set it).
"""

from __future__ import annotations

import abc
import logging
from datetime import date, datetime
from typing import Any

from rasa_sdk import Action, Tracker
from rasa_sdk.events import EventType, FollowupAction, SlotSet
from rasa_sdk.executor import CollectingDispatcher

from actions.i18n import normalize_language, register, t
from actions.policy import add_business_days  # noqa: F401 - re-exported for the actions
from actions.store import (
    Order,
    OrderNotFound,
    StoreBackend,
    StoreError,
    get_store,
    normalize_order_id,
)
from actions.store_calendar import store_day, today  # noqa: F401 - today re-exported

logger = logging.getLogger("actions.orders")

FLOW_SLOTS = ("cancel_confirm", "return_item", "return_seal", "return_reason", "return_exchange",
              "return_confirm", "new_address")
HUMAN_PAYLOAD = "/human_handoff"
#: the change the bot could not make itself, written out for the agent (kept in the packet's slots)
REQUEST_SLOT = "store_request"

MESSAGES = {
    "store_backend_error": {
        "es": "Lo siento, ahora mismo no puedo consultar el sistema de pedidos y no quiero darte "
              "un dato equivocado. ¿Quieres que te pase con una persona del equipo?",
        "en": "Sorry, I can't reach the order system right now and I don't want to give you wrong "
              "information. Would you like me to put you through to a person on our team?",
    },
    "store_offer_human_button": {"es": "Sí, con una persona", "en": "Yes, talk to a person"},
    "store_not_verified": {
        "es": "Antes de darte detalles del pedido necesito verificarlo: dime el número de pedido y "
              "el email o teléfono con el que compraste.",
        "en": "Before I share any order details I need to verify it: tell me the order number and "
              "the email or phone you used to buy.",
    },
    "store_order_not_found": {
        "es": "No encuentro ningún pedido {order_id}. Revisa el número en el email de confirmación "
              "(tiene el formato AT123456) y escríbemelo de nuevo.",
        "en": "I can't find any order {order_id}. Please check the number in your confirmation "
              "email (it looks like AT123456) and send it again.",
    },
    "status_pending": {"es": "pendiente de pago", "en": "awaiting payment"},
    "status_paid": {"es": "pagado, en preparación", "en": "paid, being prepared"},
    "status_shipped": {"es": "enviado", "en": "shipped"},
    "status_in_transit": {"es": "en tránsito", "en": "in transit"},
    "status_delivered": {"es": "entregado", "en": "delivered"},
    "status_cancelled": {"es": "cancelado", "en": "cancelled"},
    "status_returned": {"es": "devuelto", "en": "returned"},
    "status_refunded": {"es": "reembolsado", "en": "refunded"},
    "pay_card": {"es": "tarjeta", "en": "card"},
    "pay_paypal": {"es": "PayPal", "en": "PayPal"},
    "pay_bizum": {"es": "Bizum", "en": "Bizum"},
    "pay_bank_transfer": {"es": "transferencia bancaria", "en": "bank transfer"},
    "pay_cash_on_delivery": {"es": "transferencia bancaria (pagaste contra entrega)",
                             "en": "bank transfer (you paid cash on delivery)"},
    "pay_oxxo": {"es": "transferencia bancaria (pagaste en OXXO)",
                 "en": "bank transfer (you paid at OXXO)"},
    "pay_mercadopago": {"es": "Mercado Pago", "en": "Mercado Pago"},
    "pay_pse": {"es": "tu cuenta bancaria (PSE)", "en": "your bank account (PSE)"},
    "pay_nequi": {"es": "Nequi", "en": "Nequi"},
    "pay_apple_pay": {"es": "Apple Pay", "en": "Apple Pay"},
    "pay_google_pay": {"es": "Google Pay", "en": "Google Pay"},
}
MESSAGES.update({
    "store_request_handoff": {
        "es": "{what} no lo puedo hacer yo desde aquí: en esta tienda lo hace una persona del "
              "equipo. Te paso con ella con tu solicitud ya preparada, así no tendrás que repetir "
              "nada.",
        "en": "{what} is something I can't do myself here: in this shop a person on our team "
              "takes care of it. I'm putting you through with your request already filled in, "
              "so you won't need to repeat anything.",
    },
    "store_request_what_cancel_order": {"es": "Cancelar el pedido {order_id}",
                                        "en": "Cancelling order {order_id}"},
    "store_request_what_change_address": {"es": "Cambiar la dirección del pedido {order_id}",
                                          "en": "Changing the address of order {order_id}"},
    "store_request_what_create_return": {"es": "Abrir la devolución del pedido {order_id}",
                                         "en": "Opening the return for order {order_id}"},
    "store_request_why_read_only": {"es": "la tienda está conectada en solo lectura",
                                    "en": "the store is connected read-only"},
    "store_request_why_permission": {"es": "la clave de la tienda no tiene permiso de escritura",
                                     "en": "the store key has no write permission"},
    "store_request_why_unsupported": {"es": "la plataforma no ofrece esta operación por API",
                                      "en": "the platform's API has no such operation"},
    "store_request_note": {"es": "{request} [Hazlo en la tienda: {why}.]",
                           "en": "{request} [Do it in the store: {why}.]"},
})
register(MESSAGES)

_MONTHS_ES = ("enero", "febrero", "marzo", "abril", "mayo", "junio", "julio", "agosto",
              "septiembre", "octubre", "noviembre", "diciembre")
_SYMBOLS = {"EUR": "€", "USD": "$"}


def language(tracker: Tracker) -> str:
    return normalize_language(tracker.get_slot("language"))


def format_money(cents: int, currency: str, lang: str) -> str:
    """``139,80 €`` / ``€139.80``; COP is shown without decimals as locals do."""
    decimals = 0 if currency == "COP" else 2
    number = f"{cents / 100:,.{decimals}f}"
    if lang == "es":
        number = number.replace(",", "_").replace(".", ",").replace("_", ".")
        return f"{number} {_SYMBOLS.get(currency, currency)}" if currency == "EUR" else \
            f"{number} {currency}"
    return f"{_SYMBOLS[currency]}{number}" if currency in _SYMBOLS else f"{currency} {number}"


def format_date(day: date | datetime | None, lang: str) -> str:
    if day is None:
        return "—"
    day = store_day(day)  # a moment is shown as the store's day it fell on
    if lang == "es":
        return f"{day.day} de {_MONTHS_ES[day.month - 1]} de {day.year}"
    return day.strftime("%B ") + f"{day.day}, {day.year}"


def status_label(order: Order, lang: str) -> str:
    return t(f"status_{order.status.value}", lang)


def payment_label(method: str, lang: str) -> str:
    key = f"pay_{method}"
    try:
        return t(key, lang)
    except KeyError:
        return method.replace("_", " ")


def flow_reset() -> list[EventType]:
    """Clear the per-flow slots but keep order_id/verified_order_id, so nobody is asked twice."""
    return [SlotSet(slot, None) for slot in FLOW_SLOTS]


def offer_human_buttons(lang: str) -> list[dict[str, str]]:
    return [{"title": t("store_offer_human_button", lang), "payload": HUMAN_PAYLOAD}]


def backend_error(dispatcher: CollectingDispatcher, lang: str, exc: BaseException | None,
                  where: str) -> list[EventType]:
    """Say the store is unreachable, offer a human, log why; never guess an answer."""
    logger.warning("store backend error in %s: %s", where, exc, exc_info=exc is not None
                   and not isinstance(exc, StoreError))
    dispatcher.utter_message(text=t("store_backend_error", lang), buttons=offer_human_buttons(lang))
    return [SlotSet("handoff_reason", "backend_error")]


def hand_off_request(dispatcher: CollectingDispatcher, lang: str, operation: str,
                     order_id: str, request: str, why: str) -> list[EventType]:
    """The store won't let the bot make this change: say so, and queue the shopper for an agent
    with the request written out (``store_request`` slot, shown in the handoff packet).

    ``why`` is :attr:`OperationNotSupported.why`: read_only, permission or unsupported.
    """
    what = t(f"store_request_what_{operation}", lang, order_id=order_id)
    dispatcher.utter_message(text=t("store_request_handoff", lang, what=what))
    logger.info("store change handed to an agent: %s (%s)", operation, why)
    note = t("store_request_note", lang, request=request, why=t(f"store_request_why_{why}", lang))
    return [SlotSet(REQUEST_SLOT, note), SlotSet("handoff_reason", "approval_required"),
            FollowupAction("action_handoff")]


def why_not(store: StoreBackend, operation: str) -> str:
    """Why ``store`` won't make ``operation`` (for the agent's note)."""
    native = getattr(type(store), "native_operations", None)
    if native is not None and operation not in native:
        return "unsupported"
    return "read_only"


def verified_order_id(tracker: Tracker) -> str | None:
    """The order id only when the shopper proved it is theirs in this conversation."""
    order_id = normalize_order_id(tracker.get_slot("order_id"))
    verified = tracker.get_slot("verified_order_id")
    return order_id if order_id and verified == order_id else None


class OrderAction(Action, abc.ABC):
    """Base of the order actions: identity guard, store access and failure handling."""

    action_name = ""

    def name(self) -> str:
        return self.action_name

    def store(self) -> StoreBackend:
        return get_store()

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker,
                  domain: dict[str, Any]) -> list[EventType]:
        lang = language(tracker)
        order_id = verified_order_id(tracker)
        if order_id is None:
            dispatcher.utter_message(text=t("store_not_verified", lang))
            return flow_reset()
        try:
            order = await self.store().get_order(order_id)
            # a request from an earlier turn must not follow this one into a handoff packet
            events = [SlotSet(REQUEST_SLOT, None), *await self.handle(dispatcher, tracker, order,
                                                                      lang)]
        except OrderNotFound:
            dispatcher.utter_message(text=t("store_order_not_found", lang, order_id=order_id))
            return [SlotSet("order_id", None), SlotSet("verified_order_id", None), *flow_reset()]
        except StoreError as exc:
            return backend_error(dispatcher, lang, exc, self.name()) + flow_reset()
        except Exception as exc:  # noqa: BLE001 - the shopper must get an answer, not silence
            logger.exception("unexpected error in %s for %s", self.name(), order_id)
            return backend_error(dispatcher, lang, exc, self.name()) + flow_reset()
        return events + flow_reset()

    @abc.abstractmethod
    async def handle(self, dispatcher: CollectingDispatcher, tracker: Tracker, order: Order,
                     lang: str) -> list[EventType]:
        """Do the action's job for a verified, freshly read order; return extra events."""
