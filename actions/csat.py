"""Bot-side satisfaction: a short rating after a conversation the assistant resolved alone.

``action_offer_rating`` runs after "gracias" / "adiós" (rules in ``data/rules/smalltalk.yml``).
It asks for a 1–5 rating, with the same buttons and the same path as the rating after a human
handoff (``/rate`` → ``action_store_rating`` → optional comment), when all of these hold:

* the assistant resolved a task in this session: it ran an order, return, refund, cancellation,
  address or product action, or answered from the knowledge base with an article;
* no person was involved (no handoff in this conversation): that rating is the agents';
* it was never offered in this conversation (slot ``csat_offered``, kept across sessions);
* the conversation is in the sample: ``ATIENDE_CSAT_SAMPLE_RATE`` (0–1, default 1 = every
  eligible conversation); the choice is a hash of the conversation id, so it is stable (a retried
  turn gets the same answer) and the same share of every channel and language is asked.

The rating is recorded in the event log by the bot's event broker (``csat`` row, bot-only CSAT in
docs/metrics.md). Every channel renders the buttons (WhatsApp and Messenger as a numbered list).

After any rating (bot-only or after a person), ``csat_form`` asks one optional question, the
customer effort score (CES: "how easy was it?", 1 very hard … 5 very easy, or "rather not say"),
then the optional comment. :func:`read_effort` reads a typed answer ("4", "muy fácil", "easy");
anything else counts as skipped, so the shopper is never asked twice. The event broker logs the
answer as a ``ces`` row.
"""

from __future__ import annotations

import hashlib
import logging
import os
import re
import unicodedata
from collections.abc import Iterable, Mapping
from typing import Any

from rasa_sdk import Action, Tracker
from rasa_sdk.events import EventType, SlotSet
from rasa_sdk.executor import CollectingDispatcher
from rasa_sdk.types import DomainDict

from actions.i18n import normalize_language, register, t
from actions.rating import rating_buttons

logger = logging.getLogger(__name__)
SAMPLE_ENV = "ATIENDE_CSAT_SAMPLE_RATE"
TASK_ACTIONS = frozenset({
    "action_order_status", "action_cancel_order", "action_create_return", "action_item_problem",
    "action_refund_status", "action_change_address", "action_product_question",
})
KB_ACTION = "action_answer_from_kb"

MESSAGES = {
    "csat_bot_question": {
        "es": "Antes de que te vayas: ¿qué tal te he ayudado? Valóralo de 1 (muy mal) a "
              "5 (excelente):",
        "en": "Before you go: how well did I help you? Rate it from 1 (very poor) to "
              "5 (excellent):",
    },
}
register(MESSAGES)


#: typed CES answers (accents, case and punctuation folded), both languages
EFFORT_WORDS = {
    1: ("muy dificil", "muy complicado", "dificilisimo", "imposible", "very hard",
        "very difficult", "impossible"),
    2: ("dificil", "complicado", "costoso", "hard", "difficult", "not easy"),
    3: ("normal", "regular", "ni facil ni dificil", "mas o menos", "neither", "ok", "okay",
        "so so", "average"),
    4: ("facil", "sencillo", "bastante facil", "easy", "fairly easy", "quite easy"),
    5: ("muy facil", "facilisimo", "muy sencillo", "super facil", "very easy", "super easy",
        "really easy"),
}
_EFFORT = {w: n for n, words in EFFORT_WORDS.items() for w in words}
_EFFORT_NUMBER = re.compile(r"^(?:un |una |a )?([1-5])(?:\s*(?:/|de|out of|of)\s*5)?$")


def read_effort(text: Any) -> int | None:
    """1-5 when the message is a CES answer ("4", "4/5", "muy fácil", "very easy"), else None."""
    if not isinstance(text, str) or len(text) > 60:
        return None
    folded = unicodedata.normalize("NFKD", text.lower())
    folded = "".join(c for c in folded if not unicodedata.combining(c))
    folded = " ".join(re.sub(r"[!¡¿?.,;:()\"'*·]+", " ", folded).split())
    if folded in _EFFORT:
        return _EFFORT[folded]
    match = _EFFORT_NUMBER.match(folded)
    return int(match.group(1)) if match else None


def sample_rate(env: Mapping[str, str] | None = None) -> float:
    """``ATIENDE_CSAT_SAMPLE_RATE`` as a share in [0, 1]; a bad value is logged and means 1."""
    raw = (env if env is not None else os.environ).get(SAMPLE_ENV, "").strip()
    if not raw:
        return 1.0
    try:
        value = float(raw)
    except ValueError:
        value = -1.0
    if not 0.0 <= value <= 1.0:
        logger.warning("%s must be a number from 0 to 1; asking every conversation", SAMPLE_ENV)
        return 1.0
    return value


def in_sample(conversation_id: str, rate: float) -> bool:
    """Stable sampling: the same conversation is always in or out."""
    if rate >= 1.0:
        return True
    bucket = int(hashlib.sha256(conversation_id.encode("utf-8")).hexdigest()[:8], 16) / 2**32
    return bucket < rate


def session_events(events: Iterable[Mapping[str, Any]]) -> list[Mapping[str, Any]]:
    """The events since the last ``session_started``."""
    current: list[Mapping[str, Any]] = []
    for event in events:
        if event.get("event") == "session_started":
            current = []
        else:
            current.append(event)
    return current


def resolved_a_task(events: Iterable[Mapping[str, Any]]) -> bool:
    """A task action ran in this session, or a KB answer with an article was given."""
    for event in session_events(events):
        if event.get("event") == "action" and event.get("name") in TASK_ACTIONS:
            return True
        if (event.get("event") == "slot" and event.get("name") == "kb_last_article"
                and event.get("value")):
            return True
    return False


def should_offer(events: list[Mapping[str, Any]], slots: Mapping[str, Any], conversation_id: str,
                 rate: float) -> bool:
    if slots.get("csat_offered") or slots.get("handoff_id") or slots.get("handoff_active"):
        return False
    if any(e.get("event") == "action" and e.get("name") == "action_handoff" for e in events):
        return False
    return resolved_a_task(events) and in_sample(conversation_id, rate)


class ActionOfferRating(Action):
    def name(self) -> str:
        return "action_offer_rating"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker,
                  domain: DomainDict) -> list[EventType]:
        slots = {name: tracker.get_slot(name)
                 for name in ("csat_offered", "handoff_id", "handoff_active")}
        if slots["csat_offered"]:
            return []
        if not resolved_a_task(tracker.events):
            return []  # not decided yet: a later "gracias" after a resolved task may still ask
        if should_offer(tracker.events, slots, tracker.sender_id, sample_rate()):
            language = normalize_language(tracker.get_slot("language"))
            dispatcher.utter_message(text=t("csat_bot_question", language),
                                     buttons=rating_buttons(language))
        # asked, or left out by the sample or a handoff: never again in this conversation
        return [SlotSet("csat_offered", True)]
