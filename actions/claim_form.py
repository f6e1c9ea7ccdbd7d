"""``validate_claim_form``: which item, the photo evidence, the remedy, the yes to the read-back.

The form's questions and the claim itself are in :mod:`actions.claims` (its docstring tells the
whole flow); the texts in :mod:`actions.claim_texts`.
"""

from __future__ import annotations

import logging
import re
from functools import lru_cache
from typing import Any

from rasa_sdk import Tracker
from rasa_sdk.executor import CollectingDispatcher

import actions.claim_texts  # noqa: F401 - registers the claim texts
from actions.forms import OrderFormValidation
from actions.i18n import t
from actions.order_common import language, today, verified_order_id
from actions.policy import CLAIM_PROBLEMS, check_claim, claim_photo_needed
from actions.policy_markets import market_policy
from actions.return_exchange import check_exchange_stock
from actions.return_items import item_label, match_items, match_returned
from actions.returns import SKIPPED, explain_refusal
from actions.store import Order, OrderItem, StoreError, get_store
from actions.store.mapping import fold

logger = logging.getLogger("actions.claims")

CLAIM_SLOTS = ("claim_item", "claim_photo", "claim_remedy", "claim_confirm")
NO_PHOTO = "none"  # claim_photo after the last ask without a photo: a person takes over
_REFUND = re.compile(r"\b(reembols|dinero|devuelv|plata|refund|money|cash)", re.IGNORECASE)
_REPLACE = re.compile(r"\b(repos|reenv|reemplaz|sustitu|otr[oa] igual|nuev[oa]|el correcto|"
                      r"la correcta|mand|envi|replace|send|another|new one|right one|correct)",
                      re.IGNORECASE)


@lru_cache(maxsize=1)
def media() -> Any:
    """The shared media storage (``MEDIA_*`` settings), opened once per process."""
    from media_store import open_store, settings_from_env

    return open_store(settings_from_env())


async def conversation_photos(conversation_id: str) -> list[str]:
    """Keys of the images the shopper sent in this conversation (the channels and the widget's
    upload store them as they arrive); images an agent sent (a size chart) are not evidence."""
    try:
        stored = await media().list_conversation(conversation_id)
    except Exception as exc:  # noqa: BLE001 - no photo is a person's case, not a crash
        logger.warning("media storage unavailable for a claim: %s", exc.__class__.__name__)
        return []
    return [m.key for m in stored if m.kind == "image" and m.source != "agent"]


def problem_of(tracker: Tracker) -> str:
    value = tracker.get_slot("problem")
    return value if value in CLAIM_PROBLEMS else "damaged"


def claim_candidates(order: Order) -> list[OrderItem]:
    done = order.returned_item_ids()
    return [i for i in order.items if i.id not in done]


def claim_list(order: Order, lang: str) -> str:
    return "\n".join(f"{n}. {item_label(i, order, lang)}"
                     for n, i in enumerate(claim_candidates(order), start=1))


def parse_remedy(text: Any) -> str | None:
    folded = fold(str(text or ""))
    if folded in {"replacement", "refund"}:
        return folded
    if _REFUND.search(folded):
        return "refund"
    if _REPLACE.search(folded):
        return "replacement"
    return None


class ValidateClaimForm(OrderFormValidation):
    form = "claim_form"

    def name(self) -> str:
        return "validate_claim_form"

    async def after_verified(self, order: Order, dispatcher: CollectingDispatcher,
                             tracker: Tracker, lang: str) -> dict[str, Any]:
        from actions.store import OrderStatus

        if order.status != OrderStatus.DELIVERED:
            dispatcher.utter_message(text=t("claim_not_delivered", lang, order_id=order.id))
            return {**{s: SKIPPED for s in CLAIM_SLOTS}, "handoff_reason": "approval_required"}
        if not tracker.get_slot("claim_item"):
            question = t(f"claim_question_{problem_of(tracker)}", lang)
            dispatcher.utter_message(text=t("claim_items_intro", lang, order_id=order.id,
                                            items=claim_list(order, lang), question=question))
        return {}

    async def validate_claim_item(self, value: Any, dispatcher: CollectingDispatcher,
                                  tracker: Tracker, domain: dict[str, Any]) -> dict[str, Any]:
        if value == SKIPPED:
            return {"claim_item": SKIPPED}
        lang = language(tracker)
        order = await self._order(tracker, dispatcher, lang)
        if order is None:
            return {"claim_item": None}
        if isinstance(order, dict):
            return {**order, "claim_item": None}
        text = value if isinstance(value, str) else None
        items = match_items(order, text)
        if not items:
            earlier = match_returned(order, text)
            decision = check_claim(order, [i.id for i in earlier], today(),
                                   market_policy(order.market)) if earlier else None
            if decision is not None and decision.item_id is not None:
                dispatcher.utter_message(text=explain_refusal(decision, order, lang))
                return {s: SKIPPED for s in CLAIM_SLOTS}
            dispatcher.utter_message(text=t("claim_item_unknown", lang,
                                            items=claim_list(order, lang)))
            return {"claim_item": None}
        photo = claim_photo_needed(problem_of(tracker), market_policy(order.market))
        return {"claim_item": "; ".join(i.name for i in items),
                "claim_photo": None if photo else SKIPPED}

    async def validate_claim_photo(self, value: Any, dispatcher: CollectingDispatcher,
                                   tracker: Tracker, domain: dict[str, Any]) -> dict[str, Any]:
        if value in (SKIPPED, NO_PHOTO):
            return {"claim_photo": value}
        lang = language(tracker)
        keys = await conversation_photos(tracker.sender_id)
        if keys:
            dispatcher.utter_message(text=t("claim_photo_received", lang, n=len(keys)))
            return {"claim_photo": ",".join(keys)}
        asks = int(float(tracker.get_slot("claim_photo_asks") or 0)) + 1
        order_id = verified_order_id(tracker)
        policy = market_policy(None)
        if order_id:
            try:
                policy = market_policy((await get_store().get_order(order_id)).market)
            except StoreError:
                pass
        if asks >= policy.claim_photo_asks:
            return {"claim_photo": NO_PHOTO, "claim_photo_asks": float(asks)}
        dispatcher.utter_message(text=t("claim_photo_missing", lang))
        return {"claim_photo": None, "claim_photo_asks": float(asks)}

    async def validate_claim_remedy(self, value: Any, dispatcher: CollectingDispatcher,
                                    tracker: Tracker, domain: dict[str, Any]) -> dict[str, Any]:
        if value == SKIPPED:
            return {"claim_remedy": SKIPPED}
        lang = language(tracker)
        remedy = parse_remedy(value)
        if remedy is None:
            dispatcher.utter_message(text=t("claim_remedy_unclear", lang))
            return {"claim_remedy": None}
        if remedy == "replacement":
            order = await self._order(tracker, dispatcher, lang)
            if not isinstance(order, Order):
                return {"claim_remedy": None}
            items = match_items(order, tracker.get_slot("claim_item"))
            if not await replaceable(items, lang):
                dispatcher.utter_message(text=t("claim_no_replacement", lang,
                                                item=", ".join(i.name for i in items)))
                return {"claim_remedy": "refund"}
        return {"claim_remedy": remedy}

    async def validate_claim_confirm(self, value: Any, dispatcher: CollectingDispatcher,
                                     tracker: Tracker, domain: dict[str, Any]) -> dict[str, Any]:
        if value == SKIPPED or isinstance(value, bool):
            return {"claim_confirm": value}
        if isinstance(value, str) and value.lower() in {"true", "false"}:
            return {"claim_confirm": value.lower() == "true"}
        return {"claim_confirm": None}

    async def required_slots(self, domain_slots: list[str], dispatcher: CollectingDispatcher,
                             tracker: Tracker, domain: dict[str, Any]) -> list[str]:
        slots = await super().required_slots(domain_slots, dispatcher, tracker, domain)
        if tracker.get_slot("claim_photo") == NO_PHOTO:
            # no photo after the last ask: stop asking, the action hands over to a person
            return [s for s in slots if s not in {"claim_remedy", "claim_confirm"}]
        return slots


async def replaceable(items: list[OrderItem], lang: str) -> bool:
    """Every item's own variant (same size) is in stock in the store's catalogue."""
    for item in items:
        check = await check_exchange_stock(get_store(), item, item.size or "", None, lang) \
            if item.size else None
        if check is None:
            try:
                products = await get_store().search_products(item.sku, lang=lang, limit=3)
            except StoreError:
                return False
            product = next((p for p in products if p.sku.lower() == item.sku.lower()), None)
            if product is None or not product.available:
                return False
        elif check.outcome != "in_stock":
            return False
    return bool(items)
