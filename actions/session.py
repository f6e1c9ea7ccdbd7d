"""Session start and the language slot.

Atiende answers in the shopper's language turn by turn. The NLU component
``bot.components.language.LanguageDetector`` adds ``language`` ("es"/"en") to the parse data when
a message says enough about its language; ``ValidateSlotMappings`` (Rasa's global
``action_validate_slot_mappings``) copies it into the ``language`` slot and otherwise keeps the
previous value, so "AT100234" or "ok" never flips the conversation's language.

A new session takes ``metadata.language`` (the web widget sends the browser language) so the very
first greeting is already in the right language.
"""

from __future__ import annotations

from typing import Any

from rasa_sdk import Action, Tracker
from rasa_sdk.events import ActionExecuted, EventType, SessionStarted, SlotSet
from rasa_sdk.executor import CollectingDispatcher
from rasa_sdk.forms import ValidationAction
from rasa_sdk.types import DomainDict

from actions.i18n import SUPPORTED_LANGUAGES

LANGUAGE_SLOT = "language"
# Slots that describe one exchange, not the shopper: never carried into a new session.
_NOT_CARRIED = {"requested_slot", "session_started_metadata"}


def language_from_code(code: Any) -> str | None:
    """"es"/"en" for codes such as "es-MX", "EN_us", "en"; None for anything else.

    Unlike ``actions.i18n.normalize_language`` this does not default to Spanish: an unknown
    browser language ("fr-FR") must leave the slot alone rather than claim Spanish.
    """
    if not isinstance(code, str):
        return None
    primary = code.strip().lower().replace("_", "-").split("-")[0]
    return primary if primary in SUPPORTED_LANGUAGES else None


def language_from_metadata(metadata: Any) -> str | None:
    """Language announced by the channel in message/session metadata, if any."""
    if not isinstance(metadata, dict):
        return None
    for key in ("language", "lang", "locale"):
        found = language_from_code(metadata.get(key))
        if found:
            return found
    return None


def detected_language(latest_message: dict[str, Any] | None) -> str | None:
    """The language the NLU pipeline detected for the latest message (None when unsure)."""
    if not latest_message:
        return None
    return language_from_code(latest_message.get(LANGUAGE_SLOT))


class ActionSessionStart(Action):
    """Starts a session, carries slots over and takes the widget's language."""

    def name(self) -> str:
        return "action_session_start"

    @staticmethod
    def _carried_slots(tracker: Tracker, domain: DomainDict) -> list[EventType]:
        config = domain.get("session_config") or {}
        if not config.get("carry_over_slots_to_new_session", True):
            return []
        return [
            SlotSet(name, value)
            for name, value in tracker.current_slot_values().items()
            if value is not None and name not in _NOT_CARRIED
        ]

    async def run(
        self,
        dispatcher: CollectingDispatcher,
        tracker: Tracker,
        domain: DomainDict,
    ) -> list[EventType]:
        events: list[EventType] = [SessionStarted()]
        events.extend(self._carried_slots(tracker, domain))
        metadata = tracker.get_slot("session_started_metadata") or (
            tracker.latest_message or {}
        ).get("metadata")
        language = language_from_metadata(metadata)
        if language:
            events.append(SlotSet(LANGUAGE_SLOT, language))
        events.append(ActionExecuted("action_listen"))
        return events


class ValidateSlotMappings(ValidationAction):
    """Global slot extraction: fills ``language`` from the parse data of every message."""

    async def required_slots(
        self,
        domain_slots: list[str],
        dispatcher: CollectingDispatcher,
        tracker: Tracker,
        domain: DomainDict,
    ) -> list[str]:
        # Only the language is ours; other global slots keep Rasa's own mappings untouched
        # (and rasa-sdk does not log "no validation method" for each of them).
        return [LANGUAGE_SLOT] if LANGUAGE_SLOT in domain_slots else []

    async def extract_language(
        self,
        dispatcher: CollectingDispatcher,
        tracker: Tracker,
        domain: DomainDict,
    ) -> dict[str, Any]:
        language = detected_language(tracker.latest_message)
        if language is None or language == tracker.get_slot(LANGUAGE_SLOT):
            return {}
        return {LANGUAGE_SLOT: language}

    async def validate_language(
        self,
        slot_value: Any,
        dispatcher: CollectingDispatcher,
        tracker: Tracker,
        domain: DomainDict,
    ) -> dict[str, Any]:
        """Only "es" and "en" ever reach the slot; anything else keeps the previous value."""
        language = language_from_code(slot_value)
        return {LANGUAGE_SLOT: language or tracker.get_slot(LANGUAGE_SLOT) or "es"}
