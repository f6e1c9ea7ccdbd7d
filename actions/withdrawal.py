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
"""

from __future__ import annotations

import logging
import re
from datetime import UTC, datetime
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from rasa_sdk import Action, Tracker
from rasa_sdk.events import EventType, SlotSet
from rasa_sdk.executor import CollectingDispatcher
from rasa_sdk.forms import FormValidationAction

from actions.attempts import get_attempts
from actions.forms import STOP_REASONS, normalize_contact
from actions.handoff_client import HandoffAPIError, get_handoff_client
from actions.i18n import register, t
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
from actions.policy import market_policy
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

MESSAGES = {
    "withdrawal_order_invalid": {
        "es": "No reconozco un número de pedido ahí. Tiene el formato AT123456 y aparece en el "
              "correo de confirmación de la compra.",
        "en": "I don't see an order number there. It looks like AT123456 and it's in the "
              "purchase confirmation e-mail.",
    },
    "withdrawal_name_invalid": {
        "es": "Necesito el nombre de la persona que hizo la compra (nombre y apellidos).",
        "en": "I need the name of the person who made the purchase (first and last name).",
    },
    "withdrawal_email_invalid": {
        "es": "Necesito el correo electrónico con el que hiciste la compra.",
        "en": "I need the e-mail address you used for the purchase.",
    },
    # one answer for "no such order" and "that e-mail is not the order's" (no enumeration)
    "withdrawal_no_match": {
        "es": "No encuentro el pedido {order_id} con ese correo. Revisa el número de pedido y el "
              "correo de la compra (te quedan {left} intentos). ¿Cuál es el número de pedido?",
        "en": "I can't find order {order_id} with that e-mail. Please check the order number and "
              "the purchase e-mail ({left} attempts left). What's the order number?",
    },
    "withdrawal_locked": {
        "es": "No he podido identificar el pedido con esos datos. Una persona del equipo puede "
              "registrar tu desistimiento: ¿quieres que te pase con ella?",
        "en": "I couldn't identify the order with those details. A person on our team can record "
              "your withdrawal: would you like me to put you through?",
    },
    "withdrawal_closed": {
        "es": "El pedido {order_id} ya figura como {status}, así que no queda ningún contrato del "
              "que desistir. Si algo no cuadra, una persona del equipo lo revisa contigo.",
        "en": "Order {order_id} is already {status}, so there is no contract left to withdraw "
              "from. If something doesn't add up, a person on our team will look at it with you.",
    },
    "withdrawal_already": {
        "es": "Ya registramos tu desistimiento del pedido {order_id} el {when} (código {code}). "
              "No hace falta hacer nada más: el acuse de recibo está en tu correo.",
        "en": "We already recorded your withdrawal from order {order_id} on {when} (code {code}). "
              "There's nothing else to do: the acknowledgement is in your e-mail.",
    },
    "withdrawal_no_function": {
        "es": "En tu mercado ({market}) la ley no prevé un botón de desistimiento para compras "
              "online, pero nuestra política de devoluciones te cubre: tienes {days} días desde la "
              "entrega para devolver el pedido {order_id}{until}, con la etiqueta "
              "gratuita{covered}. ¿Quieres empezar la devolución?",
        "en": "In your market ({market}) the law has no withdrawal button for online purchases, "
              "but our returns policy covers you: you have {days} days from delivery to return "
              "order {order_id}{until}, with the free label{covered}. Would you like to start the "
              "return?",
    },
    "withdrawal_until": {"es": " (hasta el {date})", "en": " (until {date})"},
    "withdrawal_covered": {
        "es": "; incluye los {days} días que la ley te da para cancelar una compra a distancia",
        "en": "; it includes the {days} days the law gives you to cancel a distance purchase",
    },
    "withdrawal_no_function_expired": {
        "es": "En tu mercado ({market}) la ley no prevé un botón de desistimiento para compras "
              "online, y el plazo de devolución de {days} días del pedido {order_id} terminó el "
              "{date}. Una persona del equipo puede revisar tu caso.",
        "en": "In your market ({market}) the law has no withdrawal button for online purchases, "
              "and the {days}-day return window of order {order_id} ended on {date}. A person on "
              "our team can look at your case.",
    },
    "withdrawal_expired_return": {
        "es": "El plazo legal de desistimiento del pedido {order_id} ({days} {unit} desde la "
              "entrega) terminó el {deadline}, así que ya no puedo registrarlo como desistimiento. "
              "Aun así, nuestra política de devoluciones sigue abierta hasta el {until}: puedes "
              "devolverlo con la etiqueta gratuita. ¿Empezamos la devolución?",
        "en": "The legal withdrawal period of order {order_id} ({days} {unit} from delivery) ended "
              "on {deadline}, so I can no longer record it as a withdrawal. Our returns policy "
              "is still open until {until}, though: you can return it with the free label. "
              "Shall we start the return?",
    },
    "withdrawal_expired": {
        "es": "El plazo legal de desistimiento del pedido {order_id} ({days} {unit} desde la "
              "entrega) terminó el {deadline}, y también el de devolución de la tienda. Una "
              "persona del equipo puede revisar tu caso (por ejemplo, si el artículo tiene un "
              "defecto, la garantía sigue vigente).",
        "en": "The legal withdrawal period of order {order_id} ({days} {unit} from delivery) ended "
              "on {deadline}, and so did the store's return window. A person on our team can look "
              "at your case (for example, the warranty still covers a faulty item).",
    },
    "withdrawal_unit_calendar": {"es": "días naturales", "en": "calendar days"},
    "withdrawal_unit_business": {"es": "días hábiles", "en": "business days"},
    "withdrawal_period_within": {
        "es": "Estás dentro del plazo legal: {days} {unit} desde la entrega, hasta el {deadline} "
              "incluido.",
        "en": "You're within the legal period: {days} {unit} from delivery, until {deadline} "
              "inclusive.",
    },
    "withdrawal_period_not_started": {
        "es": "El pedido aún no se ha entregado: el plazo legal de {days} {unit} empieza el día "
              "que lo recibas, y puedes desistir ya.",
        "en": "The order hasn't been delivered yet: the legal period of {days} {unit} starts on "
              "the day you receive it, and you can withdraw now.",
    },
    "withdrawal_readback": {
        "es": "Vas a desistir del contrato de compra del pedido {order_id} ({items}, {total}), a "
              "nombre de {name}.\n{period}\nNo tienes que dar ningún motivo. Para que quede "
              "registrado, pulsa «{confirm}».",
        "en": "You're withdrawing from the purchase contract of order {order_id} ({items}, "
              "{total}), in the name of {name}.\n{period}\nYou don't need to give any reason. To "
              "record it, press \"{confirm}\".",
    },
    "withdrawal_start_return": {"es": "Empezar la devolución", "en": "Start the return"},
    "withdrawal_keep": {"es": "No, mantener la compra", "en": "No, keep the purchase"},
    "withdrawal_not_recorded": {
        "es": "De acuerdo, no he registrado ningún desistimiento: tu compra sigue en pie. ¿Te "
              "ayudo con algo más?",
        "en": "All right, I haven't recorded any withdrawal: your purchase stands. Can I help "
              "you with anything else?",
    },
    "withdrawal_done": {
        "es": "Hecho: tu desistimiento del pedido {order_id} quedó registrado el {when}. Código "
              "de desistimiento: {code}.\n{mail}\n{next}",
        "en": "Done: your withdrawal from order {order_id} was recorded on {when}. Withdrawal "
              "code: {code}.\n{mail}\n{next}",
    },
    "withdrawal_mailed": {
        "es": "Te he enviado el acuse de recibo a {email}, con la fecha y la hora.",
        "en": "I've sent the acknowledgement to {email}, with the date and time.",
    },
    "withdrawal_not_mailed": {
        "es": "No he podido enviarte el acuse por correo ahora mismo; guarda este mensaje (fecha, "
              "hora y código) y el equipo te lo enviará en cuanto sea posible.",
        "en": "I couldn't e-mail the acknowledgement right now; keep this message (date, time and "
              "code) and the team will send it as soon as possible.",
    },
    "withdrawal_next": {
        "es": "Qué pasa ahora: una persona del equipo te escribirá en menos de {hours} h con las "
              "instrucciones para devolver los artículos. Te devolveremos {amount} a {method}"
              "{refund}.",
        "en": "What happens now: a person on our team will write to you within {hours} h with "
              "how to send the items back. We'll refund {amount} to {method}{refund}.",
    },
    "withdrawal_refund_days": {
        "es": " en un plazo máximo de {days} días desde hoy (podemos esperar a recibir los "
              "artículos o la prueba de su envío)",
        "en": " within {days} days from today at the latest (we may wait until we receive the "
              "items or proof that you sent them)",
    },
    "withdrawal_when": {"es": "{date} a las {time} h ({zone})", "en": "{date} at {time} ({zone})"},
    "withdrawal_note": {
        "es": "[desistimiento] Pedido {order_id} ({market}), código {code}, declarado el {when} "
              "por {name} ({channel}). {period} Ley: {law}. {store}",
        "en": "[withdrawal] Order {order_id} ({market}), code {code}, declared on {when} by "
              "{name} ({channel}). {period} Law: {law}. {store}",
    },
    "withdrawal_note_within": {"es": "Dentro de plazo (hasta el {deadline}).",
                               "en": "Within the period (until {deadline})."},
    "withdrawal_note_not_started": {"es": "Antes de la entrega.", "en": "Before delivery."},
    "withdrawal_note_store_ok": {"es": "Registrado en la tienda.",
                                 "en": "Recorded in the store."},
    "withdrawal_note_store_missing": {
        "es": "NO registrado en la tienda ({why}): regístralo allí.",
        "en": "NOT recorded in the store ({why}): record it there.",
    },
}
register(MESSAGES)


def when_text(moment: datetime, rules: WithdrawalRules, lang: str) -> str:
    """``7 de diciembre de 2026 a las 09:12 h (UTC+01:00)`` in the market's time zone."""
    try:
        zone = ZoneInfo(rules.timezone)
    except (ZoneInfoNotFoundError, ValueError):
        zone = ZoneInfo("UTC")
    local = moment.astimezone(zone)
    offset = local.strftime("%z")
    zone_text = f"UTC{offset[:3]}:{offset[3:]}" if offset else "UTC"
    return t("withdrawal_when", lang, date=format_date(local.date(), lang),
             time=local.strftime("%H:%M"), zone=zone_text)


def _unit(rules: WithdrawalRules, lang: str) -> str:
    return t("withdrawal_unit_business" if rules.business_days else "withdrawal_unit_calendar",
             lang)


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
    fields = {"order_id": order.id, "days": rules.days, "unit": _unit(rules, lang),
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
        unit = _unit(rules, lang)
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
