"""The rating after a person handed the shopper back (and after a bot-only rating offer,
:mod:`actions.csat`): the 1-5 buttons, ``action_store_rating``, the optional effort question and
comment of ``csat_form`` (``validate_csat_form``), and ``action_csat_thanks``, which sends the
comment to the handoff API."""

from __future__ import annotations

import logging
from typing import Any

from rasa_sdk import Action, FormValidationAction, Tracker
from rasa_sdk.events import EventType, SlotSet
from rasa_sdk.executor import CollectingDispatcher
from rasa_sdk.types import DomainDict

from actions.handoff_client import HandoffAPIError, HandoffClient, get_handoff_client
from actions.i18n import normalize_language, register, t

logger = logging.getLogger(__name__)

MESSAGES = {
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

RATING_LABELS = {
    "es": ["1 · Muy mal", "2 · Mal", "3 · Normal", "4 · Bien", "5 · Excelente"],
    "en": ["1 · Very poor", "2 · Poor", "3 · OK", "4 · Good", "5 · Excellent"],
}


def rating_buttons(language: str) -> list[dict[str, str]]:
    return [{"title": label, "payload": f'/rate{{"rating":"{n}"}}'}
            for n, label in enumerate(RATING_LABELS[language], start=1)]



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
