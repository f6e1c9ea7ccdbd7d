"""Two-stage fallback.

Stage 1 (``action_clarify``): the shopper's message was unclear, so instead of a blank "I didn't
understand" the assistant offers the intents the NLU found most likely as buttons, plus "none of
these". Stage 2 (``action_fallback_handoff``): a second unclear message right after the
clarification (or "none of these") means the assistant is not helping; it offers a person and
records ``handoff_reason = repeated_fallback`` for ``action_handoff``.
"""

from __future__ import annotations

from typing import Any

from rasa_sdk import Action, Tracker
from rasa_sdk.events import EventType, SlotSet
from rasa_sdk.executor import CollectingDispatcher
from rasa_sdk.types import DomainDict

from actions.i18n import normalize_language, register, t

# Intents a shopper can meaningfully pick from a button, in default order of usefulness.
# faq is left out on purpose: a bare "/faq" carries no question for the knowledge base,
# and low-confidence faq messages are already sent to the KB by the NLU pipeline.
CLARIFIABLE_INTENTS = (
    "order_status",
    "return_request",
    "cancel_order",
    "refund_status",
    "change_address",
    "human_handoff",
)
MAX_OPTIONS = 3
NONE_OF_THESE_PAYLOAD = "/nlu_fallback"
REPEATED_FALLBACK = "repeated_fallback"

MESSAGES = {
    "clarify_question": {
        "es": "Perdona, no estoy seguro de haberte entendido. ¿Te refieres a alguna de estas "
              "opciones?",
        "en": "Sorry, I'm not sure I understood. Do you mean one of these?",
    },
    "clarify_none": {"es": "Ninguna de estas", "en": "None of these"},
    "intent_order_status": {"es": "Saber dónde está mi pedido", "en": "Where my order is"},
    "intent_return_request": {"es": "Devolver un producto", "en": "Return an item"},
    "intent_cancel_order": {"es": "Cancelar un pedido", "en": "Cancel an order"},
    "intent_refund_status": {"es": "Estado de mi reembolso", "en": "My refund status"},
    "intent_change_address": {"es": "Cambiar la dirección de entrega",
                              "en": "Change the delivery address"},
    "intent_human_handoff": {"es": "Hablar con una persona", "en": "Talk to a person"},
    "fallback_offer_human": {
        "es": "Parece que no consigo entenderte, lo siento. ¿Quieres que te pase con una persona "
              "del equipo?",
        "en": "It seems I can't understand you, sorry. Would you like me to put you through to "
              "someone from the team?",
    },
    "fallback_offer_yes": {"es": "Sí, con una persona", "en": "Yes, a person please"},
    "fallback_offer_no": {"es": "No, lo intento de nuevo", "en": "No, I'll try again"},
}
register(MESSAGES)


def clarify_options(intent_ranking: list[dict[str, Any]] | None,
                    limit: int = MAX_OPTIONS) -> list[str]:
    """The ``limit`` most likely intents worth offering, best first.

    The NLU ranking gives the order; when it has fewer useful intents than ``limit`` (e.g. the
    message was pure noise) the most common requests fill the remaining places.
    """
    ranked = sorted(
        (r for r in intent_ranking or [] if r.get("name") in CLARIFIABLE_INTENTS),
        key=lambda r: float(r.get("confidence") or 0.0),
        reverse=True,
    )
    options: list[str] = []
    for name in [r["name"] for r in ranked] + list(CLARIFIABLE_INTENTS):
        if name not in options:
            options.append(name)
        if len(options) == limit:
            break
    return options


class ActionClarify(Action):
    """Fallback stage 1: the most likely options as buttons."""

    def name(self) -> str:
        return "action_clarify"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> list[EventType]:
        language = normalize_language(tracker.get_slot("language"))
        options = clarify_options((tracker.latest_message or {}).get("intent_ranking"))
        buttons = [{"title": t(f"intent_{name}", language),
                    "payload": f"/{name}"} for name in options]
        buttons.append({"title": t("clarify_none", language), "payload": NONE_OF_THESE_PAYLOAD})
        dispatcher.utter_message(text=t("clarify_question", language), buttons=buttons)
        return []


class ActionFallbackHandoff(Action):
    """Fallback stage 2: offer a person; ``action_handoff`` reads the reason from the slot."""

    def name(self) -> str:
        return "action_fallback_handoff"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> list[EventType]:
        language = normalize_language(tracker.get_slot("language"))
        dispatcher.utter_message(
            text=t("fallback_offer_human", language),
            buttons=[
                {"title": t("fallback_offer_yes", language), "payload": "/affirm"},
                {"title": t("fallback_offer_no", language), "payload": "/deny"},
            ],
        )
        return [SlotSet("handoff_reason", REPEATED_FALLBACK)]
