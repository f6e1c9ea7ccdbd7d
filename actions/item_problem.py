"""A delivered item that is damaged, wrong or incomplete: ``action_item_problem``.

A reported problem opens the claim form (:mod:`actions.claims`: which item, a photo where the
policy asks for one, replacement or refund, a read-back, then the claim). The action says sorry in
words that fit the problem, sets ``problem`` (damaged / wrong_item / missing, from the NLU's
``problem`` entity) and ``claim_description`` (a label plus the shopper's own words, at most 300
characters), and clears what an earlier claim left; the rule in data/rules/item_problem.yml then
starts ``claim_form``.
"""

from __future__ import annotations

from typing import Any

from rasa_sdk import Action, Tracker
from rasa_sdk.events import EventType, SlotSet
from rasa_sdk.executor import CollectingDispatcher

from actions.i18n import register, t
from actions.order_common import language

PROBLEMS = ("damaged", "wrong_item", "missing")
REASON_MAX_CHARS = 300

MESSAGES = {
    "item_problem_sorry_damaged": {
        "es": "Siento mucho que te haya llegado en mal estado. Te ayudo a resolverlo (reposición o "
              "reembolso): primero necesito localizar el pedido.",
        "en": "I'm really sorry it arrived damaged. I'll help you sort it out (a replacement or a "
              "refund): first I need to find the order.",
    },
    "item_problem_sorry_wrong_item": {
        "es": "Perdona, no es lo que pediste. Te ayudo a que te llegue el correcto o a devolverte "
              "el dinero: primero necesito localizar el pedido.",
        "en": "Sorry, that's not what you ordered. I'll help you get the right one or your money "
              "back: first I need to find the order.",
    },
    "item_problem_sorry_missing": {
        "es": "Siento que falte algo en tu pedido. Te ayudo a resolverlo: primero necesito "
              "localizar el pedido.",
        "en": "I'm sorry something is missing from your order. I'll help you sort it out: first "
              "I need to find the order.",
    },
    "item_problem_sorry_unknown": {
        "es": "Siento el problema con lo que te ha llegado. Te ayudo a resolverlo (reposición o "
              "reembolso): primero necesito localizar el pedido.",
        "en": "I'm sorry about the problem with what you received. I'll help you sort it out (a "
              "replacement or a refund): first I need to find the order.",
    },
    "item_problem_reason_damaged": {"es": "Llegó dañado o defectuoso",
                                    "en": "Arrived damaged or faulty"},
    "item_problem_reason_wrong_item": {"es": "Producto equivocado", "en": "Wrong item"},
    "item_problem_reason_missing": {"es": "Falta un artículo", "en": "Item missing"},
    "item_problem_reason_unknown": {"es": "Problema con el producto recibido",
                                    "en": "Problem with the item received"},
}
register(MESSAGES)


def problem_of(tracker: Tracker) -> str | None:
    """The problem named in the latest message (entity), else the one already in the slot."""
    for value in (*tracker.get_latest_entity_values("problem"), tracker.get_slot("problem")):
        if value in PROBLEMS:
            return value
    return None


def return_reason(problem: str | None, text: str, lang: str) -> str:
    """``"<label>: <the shopper's words>"``, whitespace collapsed, cut to what the form keeps."""
    label = t(f"item_problem_reason_{problem or 'unknown'}", lang)
    words = " ".join((text or "").split())
    reason = f"{label}: {words}" if words and not words.startswith("/") else label
    return reason[:REASON_MAX_CHARS]


class ActionItemProblem(Action):
    def name(self) -> str:
        return "action_item_problem"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker,
                  domain: dict[str, Any]) -> list[EventType]:
        lang = language(tracker)
        problem = problem_of(tracker)
        dispatcher.utter_message(text=t(f"item_problem_sorry_{problem or 'unknown'}", lang))
        text = (tracker.latest_message or {}).get("text") or ""
        return [SlotSet("problem", problem),
                SlotSet("claim_description", return_reason(problem, text, lang)),
                *[SlotSet(slot, None) for slot in ("claim_item", "claim_photo", "claim_remedy",
                                                   "claim_confirm")],
                SlotSet("claim_photo_asks", 0.0)]
