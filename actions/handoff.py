"""Handing the shopper to a person and taking them back.

``action_handoff`` sends the handoff API everything the assistant knew (transcript, intents, slots,
verified order, KB articles shown) so the shopper never repeats themselves, tells the shopper their
place in the queue (or when the team opens) and pauses the conversation; the channel gate then
relays messages to the agent. If the API is down the assistant says so politely and keeps helping.
``action_handback`` runs when the API triggers ``handoff_ended``: the assistant is back, asks for a
1-5 rating and resumes the form that was active. The packet is built in
:mod:`actions.handoff_packet`; the rating and CSAT comment (:mod:`actions.rating`) go to the API.
"""

from __future__ import annotations

import logging
import os
from datetime import UTC, datetime

from rasa_sdk import Action, Tracker
from rasa_sdk.events import ConversationPaused, EventType, FollowupAction, SlotSet
from rasa_sdk.executor import CollectingDispatcher
from rasa_sdk.types import DomainDict

from actions.handoff_client import HandoffAPIError, HandoffClient, QueueTicket, get_handoff_client
from actions.handoff_packet import build_packet
from actions.handoff_triggers import choose_reason
from actions.i18n import normalize_language, register, t
from actions.rating import rating_buttons
from actions.store_calendar import store_zone

logger = logging.getLogger(__name__)
CSAT_FORM = "csat_form"

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
}
register(MESSAGES)

WEEKDAYS = {
    "es": ["lunes", "martes", "miércoles", "jueves", "viernes", "sábado", "domingo"],
    "en": ["Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday"],
}


def _recent_user_texts(tracker: Tracker, count: int = 3) -> list[str]:
    texts = [e.get("text") or "" for e in tracker.events if e.get("event") == "user"]
    return texts[-count:]


def when_text(next_open: datetime, language: str, now: datetime | None = None) -> str:
    """"mañana a las 09:00" / "on Monday at 09:00", in the business time zone."""
    tz = store_zone()
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
    tz = store_zone()
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

