"""The right of withdrawal: the legal "withdraw from the contract here" function, per market.

Opened by the ``withdraw_contract`` intent (typed, or the labelled button on the store page and in
the widget menu, which sends ``/withdraw_contract``). ``withdrawal_form`` asks ONLY what identifies
the contract — the order number, the buyer's name and the e-mail of the purchase — with no account
and no further authentication, then a SEPARATE confirmation step ("Confirmar el desistimiento").
``action_submit_withdrawal`` records the withdrawal in the store
(:meth:`StoreBackend.record_withdrawal`), asks the handoff API to record it for the agents (an
offline case due within the answer time) and to e-mail the acknowledgement (durable medium) with
the date and time of the withdrawal, in the shopper's language.

What applies comes from the market's policy file (``data/policies/<market>.yml``: ``withdrawal``
and ``statutory_withdrawal_days``; docs/policies.md "Right of withdrawal"):

* markets with a legal withdrawal function (ES: Directive 2011/83/EU art. 11a as amended by
  Directive (EU) 2023/2673; AR: Ley 24.240 art. 34 / Res. SCI 424/2020 "botón de arrepentimiento";
  CO: Ley 1480 art. 47 "derecho de retracto"): within the period (or before delivery) the
  withdrawal is recorded; after it, the bot says so plainly and offers the store's own return
  window when it is still open, else a person;
* markets without one (MX, US, GB): the store's normal return path is explained and offered.

The order number and e-mail must match an order, as in every order flow (the same answer for "no
such order" and "that e-mail does not match", failures counted in the shared ledger), so nobody can
withdraw someone else's purchase or learn what it contains; nothing more is asked.

What the flow says, in Spanish and English, is in :mod:`actions.withdrawal_texts`.
"""

from __future__ import annotations

import logging
import re
from datetime import UTC, datetime
from typing import Any

from rasa_sdk import Action, Tracker
from rasa_sdk.events import EventType, SlotSet
from rasa_sdk.executor import CollectingDispatcher
from rasa_sdk.forms import FormValidationAction

from actions.attempts import get_attempts
from actions.forms import STOP_REASONS, normalize_contact
from actions.handoff_client import HandoffAPIError, get_handoff_client
from actions.i18n import t
from actions.masking import mask_email
from actions.order_common import (
    backend_error,
    format_date,
    format_money,
    language,
    offer_human_buttons,
    payment_label,
    today,
)
from actions.policy_markets import market_policy
from actions.store import (
    OperationNotSupported,
    Order,
    OrderNotFound,
    StoreError,
    get_store,
    normalize_order_id,
)
from actions.withdrawal_rules import (
    WithdrawalCheck,
    WithdrawalRules,
    check_withdrawal,
    label,
    withdrawal_code,
    withdrawal_rules,
)
from actions.withdrawal_texts import unit_text, when_text

logger = logging.getLogger("actions.withdrawal")

FORM = "withdrawal_form"
SLOTS = ("withdrawal_order", "withdrawal_name", "withdrawal_email", "withdrawal_confirm")
SKIPPED = "-"  # withdrawal_confirm when there is nothing to confirm (already explained)
_NAME = re.compile(r"[^\W\d_]", re.UNICODE)
#: "me llamo Carmen Navarro", "a nombre de …", "my name is …": the name is what follows
_NAME_LEAD = re.compile(
    r"^(?:(?:la compra|el pedido)\s+(?:est[aá]\s+)?a nombre de|a nombre de|me llamo|mi nombre es|"
    r"soy|it'?s in the name of|in the name of|(?:the order|it) is under|my name is|i'?m|"
    r"i am)(?:\s+|$)", re.IGNORECASE)


def explain(order: Order, check: WithdrawalCheck, rules: WithdrawalRules,
            lang: str) -> tuple[str, list[dict[str, str]]]:
    """What the shopper is told when the withdrawal cannot be recorded, with its buttons."""
    return_button = [{"title": t("withdrawal_start_return", lang), "payload": "/return_request"}]
    if check.outcome == "closed":
        status = t(f"status_{order.status.value}", lang)
        return t("withdrawal_closed", lang, order_id=order.id, status=status), \
            offer_human_buttons(lang)
    if check.outcome == "no_function":
        policy = market_policy(order.market)
        if check.return_until is not None and today() > check.return_until:
            return t("withdrawal_no_function_expired", lang, market=order.market,
                     days=policy.return_window_days, order_id=order.id,
                     date=format_date(check.return_until, lang)), offer_human_buttons(lang)
        until = t("withdrawal_until", lang, date=format_date(check.return_until, lang)) \
            if check.return_until else ""
        covered = t("withdrawal_covered", lang, days=rules.days) if rules.days > 0 else ""
        return t("withdrawal_no_function", lang, market=order.market,
                 days=policy.return_window_days, order_id=order.id, until=until,
                 covered=covered), return_button
    fields = {"order_id": order.id, "days": rules.days, "unit": unit_text(rules, lang),
              "deadline": format_date(check.deadline, lang)}
    if check.return_until is not None and today() <= check.return_until:
        return t("withdrawal_expired_return", lang, until=format_date(check.return_until, lang),
                 **fields), return_button
    return t("withdrawal_expired", lang, **fields), offer_human_buttons(lang)


def _email_of(value: Any) -> str | None:
    parsed = normalize_contact(value)
    return parsed[1] if parsed and parsed[0] == "email" else None


def _matches(order: Order, email: str | None) -> bool:
    return bool(email) and email == order.email.strip().lower()


class ValidateWithdrawalForm(FormValidationAction):
    """Only what identifies the contract: order number, name, e-mail. No account, no code."""

    def name(self) -> str:
        return "validate_withdrawal_form"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker,
                  domain: dict[str, Any]) -> list[EventType]:
        events = await super().run(dispatcher, tracker, domain)
        if any(e.get("event") == "slot" and e.get("name") == "handoff_reason"
               and e.get("value") in STOP_REASONS for e in events):
            # stop the form: Rasa reads the LAST requested_slot event (see actions/forms.py)
            events.append(SlotSet("requested_slot", None))
        return events

    async def validate_withdrawal_order(self, value: Any, dispatcher: CollectingDispatcher,
                                        tracker: Tracker, domain: dict[str, Any]
                                        ) -> dict[str, Any]:
        order_id = normalize_order_id(value)
        if order_id is None:
            dispatcher.utter_message(text=t("withdrawal_order_invalid", language(tracker)))
            return {"withdrawal_order": None}
        return {"withdrawal_order": order_id}

    async def validate_withdrawal_name(self, value: Any, dispatcher: CollectingDispatcher,
                                       tracker: Tracker, domain: dict[str, Any]
                                       ) -> dict[str, Any]:
        name = _NAME_LEAD.sub("", " ".join(str(value or "").split())).strip(" .,")
        if not 2 <= len(name) <= 120 or not _NAME.search(name) or "@" in name:
            dispatcher.utter_message(text=t("withdrawal_name_invalid", language(tracker)))
            return {"withdrawal_name": None}
        return {"withdrawal_name": name}

    async def validate_withdrawal_email(self, value: Any, dispatcher: CollectingDispatcher,
                                        tracker: Tracker, domain: dict[str, Any]
                                        ) -> dict[str, Any]:
        lang = language(tracker)
        email = _email_of(value)
        if email is None:
            dispatcher.utter_message(text=t("withdrawal_email_invalid", lang))
            return {"withdrawal_email": None}
        order_id = normalize_order_id(tracker.get_slot("withdrawal_order"))
        if order_id is None:  # the e-mail came first: keep it until the number arrives
            return {"withdrawal_email": email}
        attempts = get_attempts()
        if await attempts.attempts_left(order_id, tracker.sender_id) == 0:
            return self._locked(dispatcher, lang)
        try:
            order = await get_store().get_order(order_id)
        except OrderNotFound:
            order = None
        except StoreError as exc:
            backend_error(dispatcher, lang, exc, self.name())
            return {"withdrawal_email": None, "withdrawal_confirm": SKIPPED,
                    "handoff_reason": "backend_error"}
        if order is None or not _matches(order, email):
            left = await attempts.failed(order_id, tracker.sender_id)
            if left == 0:
                return self._locked(dispatcher, lang)
            dispatcher.utter_message(text=t("withdrawal_no_match", lang, order_id=order_id,
                                            left=left))
            return {"withdrawal_order": None, "withdrawal_email": None}
        rules = withdrawal_rules(order.market)
        existing = await _existing(order.id)
        if existing is not None:
            dispatcher.utter_message(text=t("withdrawal_already", lang, order_id=order.id,
                                            code=existing.code,
                                            when=when_text(existing.declared_at, rules, lang)))
            return {"withdrawal_email": email, "withdrawal_confirm": SKIPPED}
        check = check_withdrawal(order, rules, today())
        if not check.allowed:
            text, buttons = explain(order, check, rules, lang)
            dispatcher.utter_message(text=text, buttons=buttons)
            return {"withdrawal_email": email, "withdrawal_confirm": SKIPPED}
        return {"withdrawal_email": email}

    async def validate_withdrawal_confirm(self, value: Any, dispatcher: CollectingDispatcher,
                                          tracker: Tracker, domain: dict[str, Any]
                                          ) -> dict[str, Any]:
        if value == SKIPPED or isinstance(value, bool):
            return {"withdrawal_confirm": value}
        if isinstance(value, str) and value.lower() in {"true", "false"}:
            return {"withdrawal_confirm": value.lower() == "true"}
        return {"withdrawal_confirm": None}

    @staticmethod
    def _locked(dispatcher: CollectingDispatcher, lang: str) -> dict[str, Any]:
        dispatcher.utter_message(text=t("withdrawal_locked", lang),
                                 buttons=offer_human_buttons(lang))
        return {"withdrawal_order": None, "withdrawal_email": None,
                "withdrawal_confirm": SKIPPED, "handoff_reason": "verification_failed"}


async def _existing(order_id: str) -> Any:
    try:
        return await get_store().get_withdrawal(order_id)
    except StoreError:
        return None


async def _identified(tracker: Tracker) -> Order | None:
    """The order the form identified (number and e-mail match), read again."""
    order_id = normalize_order_id(tracker.get_slot("withdrawal_order"))
    email = _email_of(tracker.get_slot("withdrawal_email"))
    if order_id is None or email is None:
        return None
    try:
        order = await get_store().get_order(order_id)
    except OrderNotFound:
        return None
    return order if _matches(order, email) else None


def _items(order: Order) -> str:
    return ", ".join(f"{i.quantity} × {i.name}" if i.quantity > 1 else i.name
                     for i in order.items)


class ActionAskWithdrawalConfirm(Action):
    """The separate confirmation step: what is being withdrawn from, the period, one button."""

    def name(self) -> str:
        return "action_ask_withdrawal_confirm"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker,
                  domain: dict[str, Any]) -> list[EventType]:
        lang = language(tracker)
        try:
            order = await _identified(tracker)
        except StoreError as exc:
            return backend_error(dispatcher, lang, exc, self.name())
        if order is None:
            dispatcher.utter_message(text=t("withdrawal_order_invalid", lang))
            return [SlotSet("withdrawal_order", None), SlotSet("withdrawal_email", None)]
        rules = withdrawal_rules(order.market)
        check = check_withdrawal(order, rules, today())
        unit = unit_text(rules, lang)
        period = t("withdrawal_period_within", lang, days=rules.days, unit=unit,
                   deadline=format_date(check.deadline, lang)) if check.deadline else \
            t("withdrawal_period_not_started", lang, days=rules.days, unit=unit)
        confirm = label(rules, "confirm", lang)
        dispatcher.utter_message(
            text=t("withdrawal_readback", lang, order_id=order.id, items=_items(order),
                   total=format_money(order.total_cents, order.currency, lang),
                   name=tracker.get_slot("withdrawal_name") or "-", period=period,
                   confirm=confirm),
            buttons=[{"title": confirm, "payload": "/affirm"},
                     {"title": t("withdrawal_keep", lang), "payload": "/deny"}])
        return []


def _reset() -> list[EventType]:
    """Clear the form, and the e-mail the NLU also put in ``customer_contact`` (personal data
    is not carried around in slots)."""
    return [SlotSet(s, None) for s in (*SLOTS, "customer_contact")]


class ActionSubmitWithdrawal(Action):
    """Record the confirmed withdrawal: store, agents' case, acknowledgement e-mail."""

    def name(self) -> str:
        return "action_submit_withdrawal"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker,
                  domain: dict[str, Any]) -> list[EventType]:
        lang = language(tracker)
        confirm = tracker.get_slot("withdrawal_confirm")
        if confirm is not True:
            if confirm is False:
                dispatcher.utter_message(text=t("withdrawal_not_recorded", lang))
            return _reset()  # SKIPPED or unset: already explained
        try:
            return await self._submit(dispatcher, tracker, lang)
        except StoreError as exc:
            return backend_error(dispatcher, lang, exc, self.name()) + _reset()
        except Exception as exc:  # noqa: BLE001 - the shopper must get an answer, not silence
            logger.exception("unexpected error in %s", self.name())
            return backend_error(dispatcher, lang, exc, self.name()) + _reset()

    async def _submit(self, dispatcher: CollectingDispatcher, tracker: Tracker,
                      lang: str) -> list[EventType]:
        order = await _identified(tracker)
        if order is None:  # the slots were tampered with or the order vanished
            dispatcher.utter_message(text=t("withdrawal_order_invalid", lang))
            return _reset()
        rules = withdrawal_rules(order.market)
        check = check_withdrawal(order, rules, today())
        if not check.allowed:  # re-checked: the period may have ended since the read-back
            text, buttons = explain(order, check, rules, lang)
            dispatcher.utter_message(text=text, buttons=buttons)
            return _reset()
        name = " ".join(str(tracker.get_slot("withdrawal_name") or "").split())[:120]
        channel = _channel(tracker)
        declared = datetime.now(UTC).replace(microsecond=0)
        code = withdrawal_code(order.id)
        store = get_store()
        why = None
        try:
            record = await store.record_withdrawal(order.id, code=code, declared_at=declared,
                                                   name=name, channel=channel,
                                                   within_period=check.outcome == "within")
            code, declared = record.code, record.declared_at
        except OperationNotSupported as exc:
            why = exc.why
        when = when_text(declared, rules, lang)
        refund = t("withdrawal_refund_days", lang, days=rules.refund_days) \
            if rules.refund_days else ""
        follow = t("withdrawal_next", lang, hours=rules.reply_hours,
                   amount=format_money(order.total_cents, order.currency, lang),
                   method=payment_label(order.payment_method, lang), refund=refund)
        period = t("withdrawal_note_within", lang, deadline=format_date(check.deadline, lang)) \
            if check.deadline else t("withdrawal_note_not_started", lang)
        law = label(rules, "law", lang)
        note = t("withdrawal_note", lang, order_id=order.id, market=order.market, code=code,
                 when=when, name=name, channel=channel, period=period, law=law,
                 store=t("withdrawal_note_store_ok", lang) if why is None
                 else t("withdrawal_note_store_missing", lang, why=why))
        body = {
            "code": code, "order": order.id, "market": order.market, "language": lang,
            "conversation_id": tracker.sender_id, "channel": channel, "name": name,
            "email": order.email, "declared_at": declared.isoformat(), "when": when,
            "within_period": check.outcome == "within",
            "deadline": check.deadline.isoformat() if check.deadline else None,
            "items": _items(order)[:1000], "law": law[:300] or "-", "next": follow,
            "note": note, "store_recorded": why is None,
        }
        mailed = await _notify(body)
        dispatcher.utter_message(text=t(
            "withdrawal_done", lang, order_id=order.id, when=when, code=code,
            mail=t("withdrawal_mailed", lang, email=mask_email(order.email)) if mailed
            else t("withdrawal_not_mailed", lang), next=follow))
        return _reset()


def _channel(tracker: Tracker) -> str:
    for event in reversed(tracker.events or []):
        if event.get("event") == "user":
            return str(event.get("input_channel") or "web")[:32]
    return "web"


async def _notify(body: dict[str, Any]) -> bool:
    """The agents' case and the acknowledgement e-mail (handoff API, idempotent by code);
    False (logged without personal data) when it could not be queued."""
    try:
        return await get_handoff_client().record_withdrawal(body)
    except HandoffAPIError as exc:
        logger.warning("withdrawal %s: not recorded in the handoff API: %s", body["code"],
                       exc.__class__.__name__)
        return False
