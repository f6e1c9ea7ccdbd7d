"""Handing the shopper to a person and taking them back.

``action_handoff`` sends the handoff API everything the assistant knew (transcript, intents, slots,
verified order, KB articles shown) so the shopper never repeats themselves, tells the shopper their
place in the queue (or when the team opens) and pauses the conversation; the channel gate then
relays messages to the agent. If the API is down the assistant says so politely and keeps helping.
``action_handback`` runs when the API triggers ``handoff_ended``: the assistant is back, asks for a
1-5 rating and resumes the form that was active. The rating and CSAT comment go to the API.
"""

from __future__ import annotations

import dataclasses
import enum
import logging
import os
from datetime import UTC, date, datetime
from typing import Any
from zoneinfo import ZoneInfo

from rasa_sdk import Action, FormValidationAction, Tracker
from rasa_sdk.events import ConversationPaused, EventType, FollowupAction, SlotSet
from rasa_sdk.executor import CollectingDispatcher
from rasa_sdk.types import DomainDict

from actions.handoff_client import HandoffAPIError, HandoffClient, QueueTicket, get_handoff_client
from actions.handoff_triggers import choose_reason
from actions.i18n import normalize_language, register, t

logger = logging.getLogger(__name__)
TRANSCRIPT_LIMIT = 200
CSAT_FORM = "csat_form"
SKIPPED_SLOTS = {"requested_slot", "handoff_active", "handoff_id"}

MESSAGES = {
    "handoff_queued_next": {
        "es": "Te paso con una persona del equipo. Eres la siguiente persona en la cola; te "
              "atenderán en unos {minutes} min. Ya tienen toda nuestra conversación, así que no "
              "tendrás que repetir nada. Puedes seguir escribiendo aquí.",
        "en": "I'm putting you through to someone from the team. You're next in the queue; they'll "
              "be with you in about {minutes} min. They already have our whole conversation, so "
              "you won't need to repeat anything. You can keep writing here.",
    },
    "handoff_queued": {
        "es": "Te paso con una persona del equipo. Hay {ahead} personas delante de ti; el tiempo "
              "de espera estimado es de unos {minutes} min. Ya tienen toda nuestra conversación, "
              "así que no tendrás que repetir nada. Puedes seguir escribiendo aquí.",
        "en": "I'm putting you through to someone from the team. There are {ahead} people ahead of "
              "you; the estimated wait is about {minutes} min. They already have our whole "
              "conversation, so you won't need to repeat anything. You can keep writing here.",
    },
    "handoff_out_of_hours": {
        "es": "Ahora mismo nuestro equipo no está disponible. He guardado tu caso con toda nuestra "
              "conversación y una persona te responderá por este mismo chat {when} (siempre en "
              "menos de 48 horas).",
        "en": "Our team isn't available right now. I've saved your case with our whole "
              "conversation, and a person will answer you in this same chat {when} (always within "
              "48 hours).",
    },
    "handoff_out_of_hours_unknown": {
        "es": "Ahora mismo nuestro equipo no está disponible. He guardado tu caso y una persona te "
              "responderá por este mismo chat en menos de 48 horas.",
        "en": "Our team isn't available right now. I've saved your case, and a person will answer "
              "you in this same chat within 48 hours.",
    },
    "handoff_unavailable": {
        "es": "Lo siento, ahora mismo no puedo pasarte con una persona por un problema técnico. "
              "Sigo aquí para ayudarte en lo que pueda, y puedes volver a pedirlo en unos minutos.",
        "en": "Sorry, I can't put you through to a person right now because of a technical "
              "problem. I'm still here to help as much as I can, and you can ask again in a few "
              "minutes.",
    },
    "handoff_already_assigned": {
        "es": "Ya te está atendiendo una persona del equipo. Escríbele aquí mismo y le llegará.",
        "en": "Someone from the team is already looking after you. Just write here and "
              "they'll get it.",
    },
    "handoff_queued_nobody": {
        "es": "Te paso con una persona del equipo. Ahora mismo no hay nadie conectado, así que no "
              "puedo darte un tiempo de espera; si nadie te atiende en {timeout} min, abriré un "
              "caso y te responderán por escrito. Puedes seguir escribiendo aquí o decirme "
              "«cancelar» para seguir conmigo.",
        "en": "I'm putting you through to someone from the team. Nobody is connected right now, "
              "so I can't give you a wait time; if nobody picks up within {timeout} min, I'll "
              "open a case and they'll answer you in writing. You can keep writing here, or say "
              "\"cancel\" to carry on with me.",
    },
    "handoff_offline_case": {
        "es": "Ahora mismo nuestro equipo no está disponible. He abierto el caso {case} con toda "
              "nuestra conversación: una persona te responderá {where} antes del {due}. "
              "Mientras tanto, sigo aquí para lo que necesites.",
        "en": "Our team isn't available right now. I've opened case {case} with our whole "
              "conversation: a person will answer you {where} by {due}. Meanwhile, I'm still "
              "here for anything you need.",
    },
    "handoff_where_email": {"es": "por e-mail", "en": "by e-mail"},
    "handoff_where_channel": {"es": "por este mismo chat", "en": "in this same chat"},
    "handback_left_queue": {
        "es": "De acuerdo, he cancelado tu petición de hablar con una persona. Sigo aquí "
              "contigo: ¿en qué te puedo ayudar?",
        "en": "OK, I've cancelled your request to talk to a person. I'm still here with you: "
              "how can I help?",
    },
    "handback_offline": {
        "es": "Nadie del equipo ha podido atenderte a tiempo, lo siento. He abierto el caso "
              "{case}: una persona te responderá {where} antes del {due}. Mientras tanto, sigo "
              "aquí para lo que necesites.",
        "en": "Sorry, nobody from the team could take your conversation in time. I've opened "
              "case {case}: a person will answer you {where} by {due}. Meanwhile, I'm still here "
              "for anything you need.",
    },
    "handoff_when_today": {"es": "hoy a las {time}", "en": "today at {time}"},
    "handoff_when_tomorrow": {"es": "mañana a las {time}", "en": "tomorrow at {time}"},
    "handoff_when_day": {"es": "el {weekday} a las {time}", "en": "on {weekday} at {time}"},
    "handback_resolved": {
        "es": "¡Hola de nuevo! Soy el asistente virtual. Espero que el equipo te haya ayudado. "
              "¿Qué tal te han atendido? Valóralo de 1 (muy mal) a 5 (excelente):",
        "en": "Hi again! This is the virtual assistant. I hope the team was able to help. How was "
              "the service? Rate it from 1 (very poor) to 5 (excellent):",
    },
    "handback_returned": {
        "es": "¡Hola de nuevo! Soy el asistente virtual y sigo contigo. Antes de seguir, ¿qué tal "
              "te ha atendido el equipo? Valóralo de 1 (muy mal) a 5 (excelente):",
        "en": "Hi again! This is the virtual assistant, and I'm back with you. Before we go on, "
              "how was the team's service? Rate it from 1 (very poor) to 5 (excellent):",
    },
    "rating_invalid": {
        "es": "Para valorar, elige un número del 1 al 5.",
        "en": "To rate, please choose a number from 1 to 5.",
    },
    "csat_thanks": {
        "es": "¡Gracias por tu opinión! Nos ayuda a mejorar. ¿Hay algo más en lo que pueda "
              "ayudarte?",
        "en": "Thank you for your feedback! It helps us improve. Is there anything else I can help "
              "you with?",
    },
}
register(MESSAGES)

WEEKDAYS = {
    "es": ["lunes", "martes", "miércoles", "jueves", "viernes", "sábado", "domingo"],
    "en": ["Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday"],
}
RATING_LABELS = {
    "es": ["1 · Muy mal", "2 · Mal", "3 · Normal", "4 · Bien", "5 · Excelente"],
    "en": ["1 · Very poor", "2 · Poor", "3 · OK", "4 · Good", "5 · Excellent"],
}


def _json_safe(value: Any) -> Any:
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {f.name: _json_safe(getattr(value, f.name)) for f in dataclasses.fields(value)}
    if isinstance(value, enum.Enum):
        return value.value
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, dict):
        return {str(k): _json_safe(v) for k, v in value.items()}
    if isinstance(value, list | tuple | set):
        return [_json_safe(v) for v in value]
    return value


async def order_snapshot(order_id: str | None) -> dict[str, Any] | None:
    """The verified order as the agent should see it, or None (no verified order, store down, or
    the store module missing)."""
    if not order_id:
        return None
    try:
        from actions.store import get_store
    except ImportError:
        return None
    try:
        order = await get_store().get_order(order_id)
    except Exception as exc:  # any store failure only costs the agent the snapshot
        logger.warning("handoff: no order snapshot for %s: %s", order_id, exc)
        return None
    return _json_safe(order)


def _buttons(event: dict[str, Any]) -> list[dict[str, str]]:
    """The buttons a bot message offered (title and payload): a tapped button comes back as its
    payload ("/human_handoff"), which the console shows as the title the shopper tapped."""
    buttons = (event.get("data") or {}).get("buttons") or []
    return [{"title": str(b["title"]), "payload": str(b["payload"])} for b in buttons
            if isinstance(b, dict) and b.get("title") and b.get("payload")]


def transcript(tracker: Tracker) -> list[dict[str, Any]]:
    entries = [
        {"role": "user" if e["event"] == "user" else "bot", "text": e["text"],
         "ts": e.get("timestamp"),
         **({"buttons": _buttons(e)} if e["event"] == "bot" and _buttons(e) else {})}
        for e in tracker.events
        if e.get("event") in ("user", "bot") and e.get("text")
        and not str(e.get("text")).startswith(("/handoff_ended", "EXTERNAL: "))
    ]
    return entries[-TRANSCRIPT_LIMIT:]


def intent_history(tracker: Tracker) -> list[str]:
    return [
        ((e.get("parse_data") or {}).get("intent") or {}).get("name") or "unknown"
        for e in tracker.events if e.get("event") == "user"
    ][-50:]


def latest_channel(tracker: Tracker) -> str:
    for event in reversed(tracker.events):
        if event.get("event") == "user" and event.get("input_channel"):
            return str(event["input_channel"])
    return "rest"


def customer_info(tracker: Tracker, order: dict[str, Any] | None) -> dict[str, Any]:
    info: dict[str, Any] = {"vip": bool(tracker.get_slot("customer_vip"))}
    if order and isinstance(order.get("customer"), dict):
        for key in ("name", "email", "phone"):
            if order["customer"].get(key):
                info[key] = order["customer"][key]
    contact = tracker.get_slot("customer_contact")
    if isinstance(contact, str) and contact and not (info.get("email") or info.get("phone")):
        info["email" if "@" in contact else "phone"] = contact
    return info


async def build_packet(tracker: Tracker, reason: str) -> dict[str, Any]:
    """The handoff packet of docs/contracts.md, from the tracker."""
    order = await order_snapshot(tracker.get_slot("verified_order_id"))
    slots = {k: v for k, v in tracker.current_slot_values().items()
             if v not in (None, [], "") and k not in SKIPPED_SLOTS}
    return {
        "conversation_id": tracker.sender_id,
        "channel": latest_channel(tracker),
        "language": normalize_language(tracker.get_slot("language")),
        "reason": reason,
        "intent_history": intent_history(tracker),
        "slots": _json_safe(slots),
        "order": order,
        "kb_articles": list(tracker.get_slot("kb_articles_shown") or []),
        "transcript": transcript(tracker),
        "customer": customer_info(tracker, order),
    }


def _recent_user_texts(tracker: Tracker, count: int = 3) -> list[str]:
    texts = [e.get("text") or "" for e in tracker.events if e.get("event") == "user"]
    return texts[-count:]


def when_text(next_open: datetime, language: str, now: datetime | None = None) -> str:
    """"mañana a las 09:00" / "on Monday at 09:00", in the business time zone."""
    tz = ZoneInfo(os.environ.get("BUSINESS_TZ", "Europe/Madrid"))
    local, today = next_open.astimezone(tz), (now or datetime.now(UTC)).astimezone(tz).date()
    time_text = local.strftime("%H:%M")
    days = (local.date() - today).days
    if days == 0:
        return t("handoff_when_today", language, time=time_text)
    if days == 1:
        return t("handoff_when_tomorrow", language, time=time_text)
    return t("handoff_when_day", language, weekday=WEEKDAYS[language][local.weekday()],
             time=time_text)


def due_text(due: datetime | str | None, language: str) -> str:
    """"lunes 9 de diciembre a las 10:00" style, in the business time zone."""
    if isinstance(due, str):
        try:
            due = datetime.fromisoformat(due.replace("Z", "+00:00"))
        except ValueError:
            due = None
    if due is None:
        return "48 h" if language == "en" else "48 horas"
    tz = ZoneInfo(os.environ.get("BUSINESS_TZ", "Europe/Madrid"))
    local = due.astimezone(tz)
    return f"{WEEKDAYS[language][local.weekday()]} {local.day:02d}/{local.month:02d} " \
           f"{local.strftime('%H:%M')}"


def where_text(contact: str | None, language: str) -> str:
    return t("handoff_where_email" if contact == "email" else "handoff_where_channel", language)


def queue_message(ticket: QueueTicket, language: str, *, contact: str | None = None) -> str:
    if ticket.status == "assigned":
        return t("handoff_already_assigned", language)
    if ticket.status == "offline":
        return t("handoff_offline_case", language, case=f"#{ticket.id}",
                 where=where_text(contact, language), due=due_text(ticket.answer_due_at,
                                                                    language))
    if ticket.agents_present == 0 and ticket.estimated_wait_seconds is None:
        timeout = os.environ.get("HANDOFF_QUEUE_TIMEOUT_MINUTES", "20")
        return t("handoff_queued_nobody", language, timeout=timeout)
    if not ticket.within_business_hours:
        if ticket.next_open_at is None:
            return t("handoff_out_of_hours_unknown", language)
        return t("handoff_out_of_hours", language, when=when_text(ticket.next_open_at, language))
    minutes = max(1, round((ticket.estimated_wait_seconds or 60) / 60))
    if ticket.position <= 1:
        return t("handoff_queued_next", language, minutes=minutes)
    return t("handoff_queued", language, ahead=ticket.position - 1, minutes=minutes)


class ActionHandoff(Action):
    def __init__(self, client: HandoffClient | None = None) -> None:
        self._client = client

    def name(self) -> str:
        return "action_handoff"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker,
                  domain: DomainDict) -> list[EventType]:
        language = normalize_language(tracker.get_slot("language"))
        intent = (tracker.latest_message.get("intent") or {}).get("name")
        reason = choose_reason(intent=intent, texts=_recent_user_texts(tracker),
                               slot_reason=tracker.get_slot("handoff_reason"))
        packet = await build_packet(tracker, reason)
        client = self._client or get_handoff_client()
        try:
            ticket = await client.create_handoff(packet)
        except HandoffAPIError as exc:
            logger.error("handoff: could not queue conversation %s (reason %s): %s",
                         tracker.sender_id, reason, exc)
            dispatcher.utter_message(text=t("handoff_unavailable", language))
            return [SlotSet("handoff_reason", reason), SlotSet("handoff_active", False)]
        contact = "email" if (packet.get("customer") or {}).get("email") else "channel"
        dispatcher.utter_message(text=queue_message(ticket, language, contact=contact))
        if ticket.status == "offline":  # nobody can take it now: the bot keeps the conversation
            return [SlotSet("handoff_reason", reason), SlotSet("handoff_id", str(ticket.id)),
                    SlotSet("handoff_active", False)]
        return [
            SlotSet("handoff_reason", reason),
            SlotSet("handoff_id", str(ticket.id)),
            SlotSet("handoff_active", True),
            ConversationPaused(),
        ]


def rating_buttons(language: str) -> list[dict[str, str]]:
    return [{"title": label, "payload": f'/rate{{"rating":"{n}"}}'}
            for n, label in enumerate(RATING_LABELS[language], start=1)]


class ActionHandback(Action):
    def name(self) -> str:
        return "action_handback"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker,
                  domain: DomainDict) -> list[EventType]:
        language = normalize_language(tracker.get_slot("language"))
        outcome = next(tracker.get_latest_entity_values("handoff_outcome"), "handed_back")
        events: list[EventType] = [SlotSet("handoff_active", False)]
        if outcome in ("abandoned", "offline"):
            # nobody answered: no rating to ask for; say what happens now
            details = ((tracker.latest_message or {}).get("metadata") or {}).get("handoff") or {}
            if outcome == "abandoned":
                dispatcher.utter_message(text=t("handback_left_queue", language))
            else:
                dispatcher.utter_message(text=t(
                    "handback_offline", language, case=f"#{details.get('handoff_id', '')}",
                    where=where_text(details.get("contact"), language),
                    due=due_text(details.get("answer_due_at"), language)))
            form = (tracker.active_loop or {}).get("name")
            if form and form != CSAT_FORM:
                events.append(FollowupAction(form))
            return events
        key = "handback_resolved" if outcome == "resolved" else "handback_returned"
        dispatcher.utter_message(text=t(key, language), buttons=rating_buttons(language))
        form = (tracker.active_loop or {}).get("name")
        if form and form != CSAT_FORM:
            events.append(FollowupAction(form))
        return events


def parse_rating(value: Any) -> int | None:
    try:
        rating = int(str(value).strip())
    except (TypeError, ValueError):
        return None
    return rating if 1 <= rating <= 5 else None


async def _send_rating(client: HandoffClient, tracker: Tracker, rating: int,
                       comment: str | None) -> None:
    handoff_id = tracker.get_slot("handoff_id")
    if not handoff_id:
        return
    try:
        await client.send_rating(handoff_id, rating, comment)
    except (HandoffAPIError, ValueError) as exc:  # a lost rating must not break the conversation
        logger.warning("handoff: rating for handoff %s not stored: %s", handoff_id, exc)


class ActionStoreRating(Action):
    def __init__(self, client: HandoffClient | None = None) -> None:
        self._client = client

    def name(self) -> str:
        return "action_store_rating"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker,
                  domain: DomainDict) -> list[EventType]:
        rating = parse_rating(tracker.get_slot("rating"))
        if rating is None:
            language = normalize_language(tracker.get_slot("language"))
            dispatcher.utter_message(text=t("rating_invalid", language),
                                     buttons=rating_buttons(language))
            return [SlotSet("rating", None)]
        await _send_rating(self._client or get_handoff_client(), tracker, rating, None)
        # a new rating asks its own effort question and comment (csat_form)
        return [SlotSet("rating", str(rating)), SlotSet("ces", None),
                SlotSet("csat_comment", None)]


class ValidateCsatForm(FormValidationAction):
    def name(self) -> str:
        return "validate_csat_form"

    async def validate_ces(self, slot_value: Any, dispatcher: CollectingDispatcher,
                           tracker: Tracker, domain: DomainDict) -> dict[str, Any]:
        """The optional effort question: a button ("4"), a typed answer ("muy fácil") or
        anything else, which counts as skipped ('-') so the form goes on to the comment."""
        from actions.csat import read_effort

        value = str(slot_value or "").strip()
        effort = int(value) if value in ("1", "2", "3", "4", "5") else read_effort(value)
        return {"ces": str(effort) if effort else "-"}

    async def validate_csat_comment(self, slot_value: Any, dispatcher: CollectingDispatcher,
                                    tracker: Tracker, domain: DomainDict) -> dict[str, Any]:
        text = str(slot_value or "").strip()
        return {"csat_comment": text[:2000] if text else "-"}


class ActionCsatThanks(Action):
    def __init__(self, client: HandoffClient | None = None) -> None:
        self._client = client

    def name(self) -> str:
        return "action_csat_thanks"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker,
                  domain: DomainDict) -> list[EventType]:
        rating = parse_rating(tracker.get_slot("rating"))
        comment = tracker.get_slot("csat_comment")
        if rating is not None and comment and comment != "-":
            await _send_rating(self._client or get_handoff_client(), tracker, rating, str(comment))
        dispatcher.utter_message(text=t("csat_thanks",
                                        normalize_language(tracker.get_slot("language"))))
        return [SlotSet("rating", None), SlotSet("ces", None), SlotSet("csat_comment", None),
                SlotSet("handoff_id", None), SlotSet("handoff_reason", None)]
