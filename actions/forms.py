"""The five order form validators: identity check first, then each form's own slots.

No order detail is shown until the order number and the matching email or phone are given (on
WhatsApp the sender's own number counts as the phone: :func:`channel_phone`). The
rules are plain functions (:func:`normalize_contact`, :func:`contact_matches`, :func:`is_locked`) so
they are tested without a Tracker; the ``validate_<form>`` classes only wire them to rasa-sdk.

Stopping a form from a validator (rasa-sdk 3.21 with Rasa 3.6): we append
``SlotSet("requested_slot", None)`` as the *last* event. Rasa's ``FormAction.is_done`` looks at the
last ``requested_slot`` event, so the form deactivates (Rasa adds ``ActiveLoop(None)``) even though
rasa-sdk's ``next_requested_slot`` appended its own ``requested_slot`` event before ours.

``customer_contact`` is cleared after every check: the verification result lives in
``verified_order_id`` and the email/phone is not carried around in slots (or handoff packets).
After three failed checks the conversation stays locked (``verification_attempts`` >= 3) until an
agent or a new session resets that slot.
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
from actions.i18n import register, t
from actions.masking import mask_address
from actions.order_common import backend_error, format_money, language, today
from actions.orders import describe_items
from actions.policy import (
    check_address_change,
    check_cancellation,
    check_return_eligibility,
    market_policy,
)
from actions.returns import item_list, match_items
from actions.store import Order, OrderNotFound, StoreError, get_store, normalize_order_id

MAX_ATTEMPTS = 3
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
    "verify_contact_mismatch": {
        "es": "Ese dato no coincide con el pedido {order_id}. Te quedan {left} intentos: prueba "
              "con el email o el teléfono de la compra.",
        "en": "That doesn't match order {order_id}. You have {left} attempts left: try the email "
              "or phone used for the purchase.",
    },
    "verify_contact_mismatch_last": {
        "es": "Ese dato tampoco coincide con el pedido {order_id}. Te queda un último intento.",
        "en": "That doesn't match order {order_id} either. You have one last attempt.",
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


def channel_phone(tracker: Tracker) -> str | None:
    """The shopper's phone number when the channel itself vouches for it: WhatsApp.

    The WhatsApp connector accepts only webhooks signed by Meta and uses the sender's WhatsApp
    number as the conversation id, so a match with the order's phone is as good as the shopper
    typing it. Message metadata is not trusted for this (the web channels pass client-supplied
    metadata through), and neither is a web conversation id that happens to look like a number:
    the latest message must have arrived on the WhatsApp channel.
    """
    if tracker.get_latest_input_channel() != "whatsapp":
        return None
    digits = re.sub(r"\D", "", tracker.sender_id or "")
    return f"+{digits}" if len(digits) >= 9 else None


def is_locked(attempts: Any) -> bool:
    """Three failed checks end verification for this conversation."""
    try:
        return float(attempts or 0) >= MAX_ATTEMPTS
    except (TypeError, ValueError):
        return False


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
        if is_locked(tracker.get_slot("verification_attempts")) and not _is_verified(tracker):
            dispatcher.utter_message(response=LOCKED_RESPONSE)
            return [SlotSet("customer_contact", None),
                    SlotSet("handoff_reason", "verification_failed"),
                    SlotSet("requested_slot", None)]
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

    async def validate_order_id(self, value: Any, dispatcher: CollectingDispatcher,
                                tracker: Tracker, domain: dict[str, Any]) -> dict[str, Any]:
        lang = language(tracker)
        order_id = normalize_order_id(value)
        if order_id is None:
            dispatcher.utter_message(text=t("verify_order_id_invalid", lang))
            return {"order_id": None}
        order = await self._load(order_id, dispatcher, lang)
        if isinstance(order, dict):
            return order
        result: dict[str, Any] = {"order_id": order_id}
        if tracker.get_slot("verified_order_id") == order_id:
            result.update(await self.after_verified(order, dispatcher, tracker, lang))
            return result
        phone = channel_phone(tracker)
        if phone and contact_matches(order, phone):
            result.update(await self._verified(order, dispatcher, tracker, lang,
                                               "verify_ok_whatsapp"))
            return result
        pending = tracker.get_slot("customer_contact")
        if pending and "customer_contact" not in tracker.slots_to_validate():
            # The contact came before the order number: check it now that we know the order.
            result.update(await self._check_contact(order, pending, dispatcher, tracker, lang))
        return result

    async def validate_customer_contact(self, value: Any, dispatcher: CollectingDispatcher,
                                        tracker: Tracker, domain: dict[str, Any]) -> dict[str, Any]:
        lang = language(tracker)
        if normalize_contact(value) is None:
            dispatcher.utter_message(text=t("verify_contact_invalid", lang))
            return {"customer_contact": None}
        order_id = normalize_order_id(tracker.get_slot("order_id"))
        if order_id is None:
            return {"customer_contact": value}  # kept until the order number arrives
        # Order number given in this same message: validate_order_id reports an unknown one.
        quiet = "order_id" in tracker.slots_to_validate()
        order = await self._load(order_id, dispatcher, lang, quiet=quiet)
        if isinstance(order, dict):
            return {**order, "customer_contact": None}
        return await self._check_contact(order, value, dispatcher, tracker, lang)

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

    async def _check_contact(self, order: Order, contact: Any, dispatcher: CollectingDispatcher,
                             tracker: Tracker, lang: str) -> dict[str, Any]:
        if contact_matches(order, contact):
            return await self._verified(order, dispatcher, tracker, lang, "verify_ok")
        attempts = int(float(tracker.get_slot("verification_attempts") or 0)) + 1
        if attempts >= MAX_ATTEMPTS:
            dispatcher.utter_message(response=LOCKED_RESPONSE)
            return {"customer_contact": None, "verification_attempts": float(attempts),
                    "handoff_reason": "verification_failed"}
        left = MAX_ATTEMPTS - attempts
        key = "verify_contact_mismatch_last" if left == 1 else "verify_contact_mismatch"
        dispatcher.utter_message(text=t(key, lang, order_id=order.id, left=left))
        return {"customer_contact": None, "verification_attempts": float(attempts)}


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


class ValidateReturnForm(OrderFormValidation):
    form = "return_form"

    def name(self) -> str:
        return "validate_return_form"

    async def after_verified(self, order: Order, dispatcher: CollectingDispatcher,
                             tracker: Tracker, lang: str) -> dict[str, Any]:
        if not check_return_eligibility(order, today(), market_policy(order.market)).allowed:
            return {"return_item": SKIPPED, "return_reason": SKIPPED}
        if not tracker.get_slot("return_item"):
            dispatcher.utter_message(text=t("return_items_intro", lang, order_id=order.id,
                                            items=item_list(order, lang)))
        return {}

    async def validate_return_item(self, value: Any, dispatcher: CollectingDispatcher,
                                   tracker: Tracker, domain: dict[str, Any]) -> dict[str, Any]:
        if value == SKIPPED:
            return {"return_item": SKIPPED}
        order_id = normalize_order_id(tracker.get_slot("order_id"))
        if not _is_verified(tracker) or order_id is None:
            return {"return_item": None}
        lang = language(tracker)
        order = await self._load(order_id, dispatcher, lang)
        if isinstance(order, dict):
            return {**order, "return_item": None}
        items = match_items(order, value if isinstance(value, str) else None)
        if not items:
            dispatcher.utter_message(text=t("return_item_unknown", lang,
                                            items=item_list(order, lang)))
            return {"return_item": None}
        return {"return_item": "; ".join(i.name for i in items)}

    async def validate_return_reason(self, value: Any, dispatcher: CollectingDispatcher,
                                     tracker: Tracker, domain: dict[str, Any]) -> dict[str, Any]:
        text = " ".join(str(value or "").split())
        return {"return_reason": text[:300] if len(text) >= 2 or text == SKIPPED else None}


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
