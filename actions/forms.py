"""The five order form validators: identity check first, then each form's own slots.

No order detail is shown until the order number and the matching email or phone are given. On
WhatsApp the sender's own number counts as the phone, but only when the signed WhatsApp webhook
said so (:func:`channel_phone` reads the reserved ``atiende_verified`` metadata the WhatsApp channel
sets after checking Meta's signature; nothing a REST or socket.io client sends can set it). The
rules are plain functions (:func:`normalize_contact`, :func:`contact_matches`,
:func:`channel_phone`) so they are tested without Rasa; the ``validate_<form>`` classes only
wire them to rasa-sdk.

Order numbers cannot be enumerated: the order number is taken without looking it up, and once a
contact is given "no such order" and "that contact does not match" get the same answer
(``verify_failed``) and count the same failure. Failures are counted per sender and per order
number in the shared ledger (``actions/attempts.py``), so a new session, a new web session id or a
restart does not reset them; at the limit the shopper is offered a person.

Stopping a form from a validator (rasa-sdk 3.21 with Rasa 3.6): we append
``SlotSet("requested_slot", None)`` as the *last* event. Rasa's ``FormAction.is_done`` looks at the
last ``requested_slot`` event, so the form deactivates (Rasa adds ``ActiveLoop(None)``) even though
rasa-sdk's ``next_requested_slot`` appended its own ``requested_slot`` event before ours.

``customer_contact`` is cleared after every check: the verification result lives in
``verified_order_id`` and the email/phone is not carried around in slots (or handoff packets).
``verification_attempts`` mirrors the sender's failures for the dialogue; the ledger decides.
"""

from __future__ import annotations

import abc
import re
from typing import Any

from rasa_sdk import Tracker
from rasa_sdk.events import EventType, SlotSet
from rasa_sdk.executor import CollectingDispatcher
from rasa_sdk.forms import FormValidationAction

from actions.address import clean_address
from actions.attempts import get_attempts
from actions.i18n import register, t
from actions.masking import mask_address
from actions.order_common import backend_error, format_money, language
from actions.orders import describe_items
from actions.policy import check_address_change, check_cancellation
from actions.policy_markets import market_policy
from actions.store import Order, OrderNotFound, StoreError, get_store, normalize_order_id
from bot.channels.identity import VERIFIED_KEY, VERIFYING_CHANNELS

STOP_REASONS = {"verification_failed", "backend_error"}
SKIPPED = "-"  # slot value meaning "not needed: the action will explain why"
LOCKED_RESPONSE = "utter_verification_failed_offer_human"

MESSAGES = {
    "verify_order_id_invalid": {
        "es": "No reconozco un número de pedido ahí. Tiene el formato AT123456 y aparece en el "
              "email de confirmación.",
        "en": "I don't see an order number there. It looks like AT123456 and it's in your "
              "confirmation email.",
    },
    "verify_contact_invalid": {
        "es": "Necesito el email o el teléfono con el que hiciste el pedido.",
        "en": "I need the email or the phone number you used for the order.",
    },
    # one answer for "no such order" and "that contact does not match it" (no enumeration)
    "verify_failed": {
        "es": "No he podido verificar el pedido {order_id} con ese dato. Revisa el número de "
              "pedido y el email o teléfono de la compra. Te quedan {left} intentos.",
        "en": "I couldn't verify order {order_id} with that. Please check the order number and "
              "the email or phone used for the purchase. You have {left} attempts left.",
    },
    "verify_failed_last": {
        "es": "No he podido verificar el pedido {order_id} con ese dato. Revisa el número de "
              "pedido y el email o teléfono de la compra. Te queda un último intento.",
        "en": "I couldn't verify order {order_id} with that. Please check the order number and "
              "the email or phone used for the purchase. You have one last attempt.",
    },
    "verify_ok": {"es": "Gracias, pedido {order_id} verificado.",
                  "en": "Thanks, order {order_id} verified."},
    "verify_ok_whatsapp": {
        "es": "Pedido {order_id} verificado con tu número de WhatsApp.",
        "en": "Order {order_id} verified with your WhatsApp number.",
    },
    "cancel_summary": {
        "es": "El pedido {order_id} lleva {items} por {total}.",
        "en": "Order {order_id} contains {items} for {total}.",
    },
}
register(MESSAGES)


def normalize_contact(text: Any) -> tuple[str, str] | None:
    """``("email", lower-cased)`` or ``("phone", digits)``; None when it is neither."""
    if not isinstance(text, str):
        return None
    email = re.search(r"[\w.+'-]+@[\w-]+(\.[\w-]+)+", text)
    if email:
        return "email", email.group(0).lower()
    digits = re.sub(r"\D", "", text)
    if 9 <= len(digits) <= 15:
        return "phone", digits
    return None


def contact_matches(order: Order, contact: Any) -> bool:
    """Email equal ignoring case, or phone whose last 9 digits equal the order's."""
    parsed = normalize_contact(contact)
    if parsed is None:
        return False
    kind, value = parsed
    if kind == "email":
        return value == order.email.strip().lower()
    stored = re.sub(r"\D", "", order.phone)
    return len(stored) >= 9 and value[-9:] == stored[-9:]


def _latest_user_event(tracker: Tracker) -> dict[str, Any] | None:
    for event in reversed(tracker.events or []):
        if event.get("event") == "user":
            return event
    return None


def channel_phone(tracker: Tracker) -> str | None:
    """The shopper's phone number when the channel itself proved it: the signed WhatsApp webhook.

    Only the reserved ``atiende_verified`` entry of the latest user message counts, and only when
    that same message arrived on a channel that verifies senders (``whatsapp``), for this very
    conversation (its id is the WhatsApp number). Not the conversation id alone (a REST or web
    client chooses it), not ``input_channel`` alone (Rasa's REST channel used to take it from the
    request body), not any other metadata key.
    """
    event = _latest_user_event(tracker)
    if event is None or event.get("input_channel") not in VERIFYING_CHANNELS:
        return None
    claim = (event.get("metadata") or {}).get(VERIFIED_KEY)
    if not isinstance(claim, dict) or claim.get("channel") != event.get("input_channel"):
        return None
    digits = re.sub(r"\D", "", str(claim.get("phone") or ""))
    if len(digits) < 9 or digits != (tracker.sender_id or ""):
        return None
    return f"+{digits}"


def _is_verified(tracker: Tracker) -> bool:
    order_id = normalize_order_id(tracker.get_slot("order_id"))
    return bool(order_id) and tracker.get_slot("verified_order_id") == order_id


class OrderFormValidation(FormValidationAction):
    """Identity check shared by the order forms.

    Subclasses add their slots and a post-check hook.
    """

    form = ""

    @abc.abstractmethod
    def name(self) -> str:
        """``validate_<form>``; abstract so rasa-sdk does not register this base class."""

    async def required_slots(self, domain_slots: list[str], dispatcher: CollectingDispatcher,
                             tracker: Tracker, domain: dict[str, Any]) -> list[str]:
        if _is_verified(tracker):
            return [s for s in domain_slots if s != "customer_contact"]
        return list(domain_slots)

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker,
                  domain: dict[str, Any]) -> list[EventType]:
        if not _is_verified(tracker) and await get_attempts().attempts_left(
                None, tracker.sender_id) == 0:
            return [*self._locked(dispatcher), SlotSet("requested_slot", None)]
        events = await super().run(dispatcher, tracker, domain)
        if any(e.get("event") == "slot" and e.get("name") == "handoff_reason"
               and e.get("value") in STOP_REASONS for e in events):
            events.append(SlotSet("requested_slot", None))
        return events

    async def after_verified(self, order: Order, dispatcher: CollectingDispatcher,
                             tracker: Tracker, lang: str) -> dict[str, Any]:
        """Hook run once the order is verified: say what is useful, skip pointless questions."""
        return {}

    # -- shared slots -------------------------------------------------------------------------
    async def _order(self, tracker: Tracker, dispatcher: CollectingDispatcher,
                     lang: str) -> Order | dict[str, Any] | None:
        """The verified order of the form (None before verification), or the slot values to
        return when it cannot be read."""
        order_id = normalize_order_id(tracker.get_slot("order_id"))
        if not _is_verified(tracker) or order_id is None:
            return None
        return await self._load(order_id, dispatcher, lang)

    async def _load(self, order_id: str, dispatcher: CollectingDispatcher, lang: str,
                    *, quiet: bool = False) -> Order | dict[str, Any]:
        """The order, or the slot values to return when it cannot be read."""
        try:
            return await get_store().get_order(order_id)
        except OrderNotFound:
            if not quiet:
                dispatcher.utter_message(text=t("store_order_not_found", lang, order_id=order_id))
            return {"order_id": None}
        except StoreError as exc:
            backend_error(dispatcher, lang, exc, self.name())
        except Exception as exc:  # noqa: BLE001 - no stack trace in the chat
            backend_error(dispatcher, lang, exc, self.name())
        return {"order_id": None, "handoff_reason": "backend_error"}

    @staticmethod
    def _locked(dispatcher: CollectingDispatcher) -> list[EventType]:
        dispatcher.utter_message(response=LOCKED_RESPONSE)
        return [SlotSet("customer_contact", None),
                SlotSet("handoff_reason", "verification_failed")]

    async def validate_order_id(self, value: Any, dispatcher: CollectingDispatcher,
                                tracker: Tracker, domain: dict[str, Any]) -> dict[str, Any]:
        lang = language(tracker)
        order_id = normalize_order_id(value)
        if order_id is None:
            dispatcher.utter_message(text=t("verify_order_id_invalid", lang))
            return {"order_id": None}
        if tracker.get_slot("verified_order_id") == order_id:
            order = await self._load(order_id, dispatcher, lang)
            if isinstance(order, dict):
                return order
            return {"order_id": order_id,
                    **await self.after_verified(order, dispatcher, tracker, lang)}
        contact_now = "customer_contact" in tracker.slots_to_validate()
        if await get_attempts().attempts_left(order_id, tracker.sender_id) == 0:
            if contact_now:  # validate_customer_contact says it, once
                return {"order_id": order_id}
            return {"order_id": order_id, **self._slot_values(self._locked(dispatcher))}
        result: dict[str, Any] = {"order_id": order_id}
        phone = channel_phone(tracker)
        if phone:
            # the number WhatsApp proved: verified when it is the order's; otherwise (or no such
            # order) the shopper is simply asked for the e-mail or phone, as anyone would be
            order = await self._load(order_id, dispatcher, lang, quiet=True)
            if isinstance(order, dict) and order.get("handoff_reason"):
                return order
            if isinstance(order, Order) and contact_matches(order, phone):
                result.update(await self._verified(order, dispatcher, tracker, lang,
                                                   "verify_ok_whatsapp"))
                return result
        pending = tracker.get_slot("customer_contact")
        if pending and not contact_now:
            # The contact came before the order number: check it now that we know the order.
            result.update(await self._check_contact(order_id, pending, dispatcher, tracker, lang))
        return result

    @staticmethod
    def _slot_values(events: list[EventType]) -> dict[str, Any]:
        return {e["name"]: e["value"] for e in events if e.get("event") == "slot"}

    async def validate_customer_contact(self, value: Any, dispatcher: CollectingDispatcher,
                                        tracker: Tracker, domain: dict[str, Any]) -> dict[str, Any]:
        lang = language(tracker)
        if normalize_contact(value) is None:
            dispatcher.utter_message(text=t("verify_contact_invalid", lang))
            return {"customer_contact": None}
        if _is_verified(tracker):  # validate_order_id just verified it (WhatsApp number)
            return {"customer_contact": None}
        order_id = normalize_order_id(tracker.get_slot("order_id"))
        if order_id is None:
            return {"customer_contact": value}  # kept until the order number arrives
        return await self._check_contact(order_id, value, dispatcher, tracker, lang)

    async def _verified(self, order: Order, dispatcher: CollectingDispatcher, tracker: Tracker,
                        lang: str, message: str) -> dict[str, Any]:
        dispatcher.utter_message(text=t(message, lang, order_id=order.id))
        result: dict[str, Any] = {
            "customer_contact": None, "verified_order_id": order.id,
            "customer_vip": order.customer.vip, "verification_attempts": 0.0,
        }
        tracker.slots.update(result)  # so required_slots sees the verification at once
        result.update(await self.after_verified(order, dispatcher, tracker, lang))
        return result

    async def _check_contact(self, order_id: str, contact: Any,
                             dispatcher: CollectingDispatcher, tracker: Tracker,
                             lang: str) -> dict[str, Any]:
        """Verify ``contact`` against ``order_id``. A missing order and a wrong contact take the
        same path, say the same thing and count the same failure."""
        attempts = get_attempts()
        if await attempts.attempts_left(order_id, tracker.sender_id) == 0:
            return {"customer_contact": None, "handoff_reason": "verification_failed",
                    **self._slot_values(self._locked(dispatcher))}
        order = await self._load(order_id, dispatcher, lang, quiet=True)
        if isinstance(order, dict) and order.get("handoff_reason"):  # the store is down
            return {**order, "customer_contact": None}
        if isinstance(order, Order) and contact_matches(order, contact):
            return await self._verified(order, dispatcher, tracker, lang, "verify_ok")
        left = await attempts.failed(order_id, tracker.sender_id)
        failures = float(await attempts.sender_failures(tracker.sender_id))
        if left == 0:
            return {"customer_contact": None, "verification_attempts": failures,
                    "handoff_reason": "verification_failed",
                    **self._slot_values(self._locked(dispatcher))}
        key = "verify_failed_last" if left == 1 else "verify_failed"
        dispatcher.utter_message(text=t(key, lang, order_id=order_id, left=left))
        return {"customer_contact": None, "verification_attempts": failures}


class ValidateOrderStatusForm(OrderFormValidation):
    form = "order_status_form"

    def name(self) -> str:
        return "validate_order_status_form"


class ValidateRefundStatusForm(OrderFormValidation):
    form = "refund_status_form"

    def name(self) -> str:
        return "validate_refund_status_form"


class ValidateCancelOrderForm(OrderFormValidation):
    form = "cancel_order_form"

    def name(self) -> str:
        return "validate_cancel_order_form"

    async def after_verified(self, order: Order, dispatcher: CollectingDispatcher,
                             tracker: Tracker, lang: str) -> dict[str, Any]:
        if not check_cancellation(order, market_policy(order.market)).allowed:
            return {"cancel_confirm": False}  # nothing to confirm; the action explains why
        dispatcher.utter_message(text=t("cancel_summary", lang, order_id=order.id,
                                        items=describe_items(order),
                                        total=format_money(order.total_cents, order.currency,
                                                           lang)))
        return {}

    async def validate_cancel_confirm(self, value: Any, dispatcher: CollectingDispatcher,
                                      tracker: Tracker, domain: dict[str, Any]) -> dict[str, Any]:
        if isinstance(value, bool):
            return {"cancel_confirm": value}
        if isinstance(value, str) and value.lower() in {"true", "false"}:
            return {"cancel_confirm": value.lower() == "true"}
        return {"cancel_confirm": None}


class ValidateChangeAddressForm(OrderFormValidation):
    form = "change_address_form"

    def name(self) -> str:
        return "validate_change_address_form"

    async def after_verified(self, order: Order, dispatcher: CollectingDispatcher,
                             tracker: Tracker, lang: str) -> dict[str, Any]:
        if not check_address_change(order).allowed:
            return {"new_address": SKIPPED}
        dispatcher.utter_message(text=t("address_current", lang, order_id=order.id,
                                        address=mask_address(order.shipping_address)))
        return {}

    async def validate_new_address(self, value: Any, dispatcher: CollectingDispatcher,
                                   tracker: Tracker, domain: dict[str, Any]) -> dict[str, Any]:
        if value == SKIPPED:
            return {"new_address": SKIPPED}
        address = clean_address(value if isinstance(value, str) else None)
        if address is None:
            dispatcher.utter_message(text=t("address_invalid", language(tracker)))
            return {"new_address": None}
        return {"new_address": address}
