"""The return form: which item, checked on its own before anything else; the hygiene seal; why;
the size or colour to send instead (stock checked in the store); and a read-back the shopper
confirms. Nothing is created here: ``action_create_return`` creates the RMA after a yes.

Slots, in the order the form asks them (``domain.yml``): ``return_item``, ``return_seal`` (only
for sealed-hygiene items), ``return_reason``, ``return_exchange`` (only when the reason is about
size and the item can be exchanged: ``size=42;colour=black`` or ``refund``), ``return_confirm``
(yes/no to the read-back). A question that does not apply is filled with ``-`` (``SKIPPED``);
``return_confirm = "-"`` means the form already told the shopper why there is nothing to create.
The rules are the policy's (:func:`actions.policy.check_item`, :func:`actions.policy.check_return`);
the read-back lives in :mod:`actions.returns`, the stock check in :mod:`actions.return_exchange`.
"""

from __future__ import annotations

import abc
import re
from typing import Any

from rasa_sdk import Action, Tracker
from rasa_sdk.events import EventType
from rasa_sdk.executor import CollectingDispatcher

from actions.catalogue import same_size
from actions.forms import OrderFormValidation
from actions.i18n import t
from actions.order_common import format_money, language, today, verified_order_id
from actions.policy import (
    check_item,
    check_return,
    check_return_eligibility,
    claim_photo_needed,
    is_faulty_reason,
    size_exchange_allowed,
)
from actions.policy_markets import MarketPolicy, market_policy
from actions.return_exchange import (
    check_exchange_stock,
    exchange_slot,
    parse_exchange,
    variant_label,
)
from actions.return_items import item_list, match_items, match_returned, returnable_candidates
from actions.returns import SKIPPED, explain_refusal, readback
from actions.store import Order, OrderItem, get_store
from actions.store.mapping import fold
from actions.store.search import COLOURS, size_of, words

# return_confirm: the reason is a damaged/wrong/missing item, the claim form follows
CLAIM = "claim"
_WRONG = re.compile(r"(equivocad|no es lo que ped|no es el que ped|otro (color|modelo|articulo)|"
                    r"wrong|not what i ordered|not the one i ordered|"
                    r"different (item|colour|color))", re.IGNORECASE)
_MISSING = re.compile(r"(falta|faltaba|no venia|no vino|missing|wasn.t in|not in the (box|parcel))",
                      re.IGNORECASE)
RETURN_SLOTS = ("return_item", "return_seal", "return_reason", "return_exchange",
                "return_confirm")
_REFUND_WORDS = re.compile(r"\b(reembols|devuelv|devolu|dinero|plata|refund|money|cash)",
                           re.IGNORECASE)
_BARE_SIZE = re.compile(r"^(?:la |el |the |una |a )?(xxs|xs|s|m|l|xl|xxl|\d{1,2}(?:[.,]5)?)$")
YES_NO_BUTTONS = {
    "es": [{"title": "Sí, confírmalo", "payload": "/affirm"},
           {"title": "No, déjalo", "payload": "/deny"}],
    "en": [{"title": "Yes, go ahead", "payload": "/affirm"},
           {"title": "No, leave it", "payload": "/deny"}],
}


def nothing_to_create() -> dict[str, Any]:
    """Fill every question so the form ends; the action then stays silent."""
    return {slot: SKIPPED for slot in RETURN_SLOTS}


def as_bool(value: Any) -> bool | None:
    if isinstance(value, bool):
        return value
    if isinstance(value, str) and value.lower() in {"true", "false"}:
        return value.lower() == "true"
    return None


def wanted_variant(text: str) -> tuple[str | None, str | None]:
    """The size (and colour, as the shopper wrote it) asked for: "la 43", "talla M", "42 en
    negro", "XL"."""
    folded = fold(text).strip(" .!?¡¿")
    size = size_of(text)
    bare = _BARE_SIZE.match(folded)
    if size is None and bare:
        size = bare.group(1).upper().replace(",", ".")
    colour = next((w for w in words(text) if w in COLOURS), None)
    return size, colour


def claim_problem(reason: str | None) -> str | None:
    """The claim a return reason really is: damaged, wrong_item or missing; None for a return."""
    folded = fold(reason or "")
    if _MISSING.search(folded):
        return "missing"
    if _WRONG.search(folded):
        return "wrong_item"
    if is_faulty_reason(reason):
        return "damaged"
    return None


def exchange_question_needed(items: list[OrderItem], reason: str | None,
                             policy: MarketPolicy) -> bool:
    """Ask which size to send: one sized item whose reason is about size."""
    return len(items) == 1 and size_exchange_allowed(items, reason, policy)


class ValidateReturnForm(OrderFormValidation):
    form = "return_form"

    def name(self) -> str:
        return "validate_return_form"

    async def after_verified(self, order: Order, dispatcher: CollectingDispatcher,
                             tracker: Tracker, lang: str) -> dict[str, Any]:
        if not check_return_eligibility(order, today(), market_policy(order.market)).allowed:
            return nothing_to_create()  # action_create_return explains the order-level reason
        if not tracker.get_slot("return_item"):
            dispatcher.utter_message(text=t("return_items_intro", lang, order_id=order.id,
                                            items=item_list(order, lang)))
        return {}

    @staticmethod
    def _another(order: Order, policy: MarketPolicy, lang: str) -> tuple[str, dict[str, Any]]:
        """Offer the items still returnable, or end the form when there are none."""
        left = [i for i in returnable_candidates(order) if check_item(order, i, policy).allowed]
        if left:
            return t("return_pick_another", lang, items=item_list(order, lang)), \
                {"return_item": None}
        return t("return_nothing_else", lang), nothing_to_create()

    @staticmethod
    def _remedy_slots(items: list[OrderItem], reason: Any, policy: MarketPolicy
                      ) -> dict[str, Any]:
        if not isinstance(reason, str) or reason == SKIPPED:
            return {}
        needed = exchange_question_needed(items, reason, policy)
        return {"return_exchange": None if needed else SKIPPED}

    async def validate_return_item(self, value: Any, dispatcher: CollectingDispatcher,
                                   tracker: Tracker, domain: dict[str, Any]) -> dict[str, Any]:
        if value == SKIPPED:
            return {"return_item": SKIPPED}
        lang = language(tracker)
        order = await self._order(tracker, dispatcher, lang)
        if order is None:
            return {"return_item": None}
        if isinstance(order, dict):
            return {**order, "return_item": None}
        policy = market_policy(order.market)
        text = value if isinstance(value, str) else None
        items = match_items(order, text)
        if not items:
            earlier = match_returned(order, text)
            if not earlier:
                dispatcher.utter_message(text=t("return_item_unknown", lang,
                                                items=item_list(order, lang)))
                return {"return_item": None}
            # already has a return: show it instead of opening another
            said = explain_refusal(check_item(order, earlier[0], policy), order, lang)
            more, slots = self._another(order, policy, lang)
            dispatcher.utter_message(text=said + more)
            return slots
        verdicts = [(item, check_item(order, item, policy)) for item in items]
        refused = [v for _, v in verdicts if not v.allowed]
        kept = [item for item, v in verdicts if v.allowed]
        if refused:
            said = "\n".join(explain_refusal(v, order, lang) for v in refused)
            if not kept or len(items) == 1:
                more, slots = self._another(order, policy, lang)
                dispatcher.utter_message(text=said + more)
                return slots
            dispatcher.utter_message(text=said)  # "todo": go on with the returnable ones
        seal = any(i.category in policy.seal_required_categories for i in kept)
        result: dict[str, Any] = {"return_item": "; ".join(i.name for i in kept),
                                  "return_seal": None if seal else SKIPPED}
        result.update(self._remedy_slots(kept, tracker.get_slot("return_reason"), policy))
        return result

    async def validate_return_seal(self, value: Any, dispatcher: CollectingDispatcher,
                                   tracker: Tracker, domain: dict[str, Any]) -> dict[str, Any]:
        if value == SKIPPED:
            return {"return_seal": SKIPPED}
        intact = as_bool(value)
        if intact is None:
            return {"return_seal": None}
        if intact:
            return {"return_seal": True}
        lang = language(tracker)
        order = await self._order(tracker, dispatcher, lang)
        if order is None:
            return {"return_seal": None}
        if isinstance(order, dict):
            return {**order, "return_seal": None}
        policy = market_policy(order.market)
        items = match_items(order, tracker.get_slot("return_item"))
        sealed = [i for i in items if i.category in policy.seal_required_categories]
        rest = [i for i in items if i not in sealed]
        if rest:
            dispatcher.utter_message(text=t("return_seal_dropped", lang,
                                            items=", ".join(i.name for i in sealed)))
            return {"return_item": "; ".join(i.name for i in rest), "return_seal": SKIPPED,
                    **self._remedy_slots(rest, tracker.get_slot("return_reason"), policy)}
        said = "\n".join(explain_refusal(check_item(order, i, policy, seal_intact=False),
                                         order, lang) for i in sealed)
        left = [i for i in returnable_candidates(order)
                if i not in sealed and check_item(order, i, policy).allowed]
        if left:
            dispatcher.utter_message(text=said + t("return_pick_another", lang,
                                                   items=item_list(order, lang)))
            return {"return_item": None, "return_seal": None}
        dispatcher.utter_message(text=said + t("return_nothing_else", lang))
        return nothing_to_create()

    async def validate_return_reason(self, value: Any, dispatcher: CollectingDispatcher,
                                     tracker: Tracker, domain: dict[str, Any]) -> dict[str, Any]:
        text = " ".join(str(value or "").split())
        if text == SKIPPED:
            return {"return_reason": SKIPPED}
        if len(text) < 2:
            return {"return_reason": None}
        reason = text[:300]
        result: dict[str, Any] = {"return_reason": reason}
        lang = language(tracker)
        order = await self._order(tracker, dispatcher, lang)
        problem = claim_problem(reason)
        if problem is not None and isinstance(order, Order):
            # "it arrived broken" is a claim, not a return: the claim form takes over with the
            # item and the shopper's words (action_create_return starts it)
            photo = claim_photo_needed(problem, market_policy(order.market))
            return {"return_reason": reason, "return_seal": SKIPPED,
                    "return_exchange": SKIPPED, "return_confirm": CLAIM, "problem": problem,
                    "claim_description": reason, "claim_item": tracker.get_slot("return_item"),
                    "claim_photo": None if photo else SKIPPED, "claim_remedy": None,
                    "claim_confirm": None, "claim_photo_asks": 0.0}
        if isinstance(order, Order):
            items = match_items(order, tracker.get_slot("return_item"))
            result.update(self._remedy_slots(items, reason, market_policy(order.market)))
        return result

    async def validate_return_exchange(self, value: Any, dispatcher: CollectingDispatcher,
                                       tracker: Tracker, domain: dict[str, Any]
                                       ) -> dict[str, Any]:
        if value in (SKIPPED, "refund"):
            return {"return_exchange": value}
        text = str(value or "")
        lang = language(tracker)
        size, colour = wanted_variant(text)
        if size is None and _REFUND_WORDS.search(fold(text)):
            return {"return_exchange": "refund"}
        if size is None:
            dispatcher.utter_message(text=t("return_exchange_unclear", lang))
            return {"return_exchange": None}
        order = await self._order(tracker, dispatcher, lang)
        if order is None:
            return {"return_exchange": None}
        if isinstance(order, dict):
            return {**order, "return_exchange": None}
        items = match_items(order, tracker.get_slot("return_item"))
        if len(items) != 1:
            return {"return_exchange": "refund"}
        item = items[0]
        if same_size(item.size, size) and colour is None:
            dispatcher.utter_message(text=t("return_exchange_same_size", lang))
            return {"return_exchange": None}
        check = await check_exchange_stock(get_store(), item, size, colour, lang)
        variant = variant_label(size, colour, lang)
        if check.outcome == "in_stock" and check.variant is not None:
            shown = check.variant.option("colour") if colour else None  # in the shop's words
            variant = variant_label(check.variant.option("size") or size, shown, lang)
            dispatcher.utter_message(text=t("return_exchange_in_stock", lang, variant=variant))
            return {"return_exchange": exchange_slot(check.variant.option("size") or size,
                                                     shown)}
        sizes = ", ".join(check.nearest) or "—"
        if check.outcome == "sold_out" and check.nearest:
            dispatcher.utter_message(text=t("return_exchange_sold_out", lang, variant=variant,
                                            item=item.name, sizes=sizes))
            return {"return_exchange": None}
        if check.outcome == "no_such_size" and check.nearest:
            dispatcher.utter_message(text=t("return_exchange_no_such_size", lang,
                                            variant=variant, item=item.name, sizes=sizes))
            return {"return_exchange": None}
        key = "return_exchange_unchecked" if check.outcome == "unchecked" else \
            "return_exchange_none_left"
        dispatcher.utter_message(text=t(key, lang, item=item.name))
        return {"return_exchange": "refund"}

    async def validate_return_confirm(self, value: Any, dispatcher: CollectingDispatcher,
                                      tracker: Tracker, domain: dict[str, Any]) -> dict[str, Any]:
        if value == SKIPPED:
            return {"return_confirm": SKIPPED}
        return {"return_confirm": as_bool(value)}


class OrderItemsQuestion(Action, abc.ABC):
    """A form question whose text depends on the verified order and the items chosen in
    ``item_slot`` (return_item here, claim_item in the claim form)."""

    item_slot = "return_item"

    @abc.abstractmethod
    def name(self) -> str:
        """``action_ask_<slot>``; abstract so rasa-sdk does not register this base class."""

    async def _context(self, tracker: Tracker) -> tuple[Order, list[OrderItem]] | None:
        order_id = verified_order_id(tracker)
        if order_id is None:
            return None
        try:
            order = await get_store().get_order(order_id)
        except Exception:  # noqa: BLE001 - the form's own validators report store failures
            return None
        return order, match_items(order, tracker.get_slot(self.item_slot))


class ActionAskReturnExchange(OrderItemsQuestion):
    """"Which size should we send you (you have 41 now)? Or say refund (129,00 €)"."""

    def name(self) -> str:
        return "action_ask_return_exchange"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker,
                  domain: dict[str, Any]) -> list[EventType]:
        lang = language(tracker)
        context = await self._context(tracker)
        if context is None or len(context[1]) != 1:
            dispatcher.utter_message(text=t("return_exchange_unclear", lang))
            return []
        order, (item,) = context
        dispatcher.utter_message(text=t(
            "return_ask_exchange", lang, item=item.name, size=item.size or "—",
            amount=format_money(item.total_cents, order.currency, lang)))
        return []


class ActionAskReturnConfirm(OrderItemsQuestion):
    """The read-back: item, reason, remedy, amount, how to send it back; then yes or no."""

    def name(self) -> str:
        return "action_ask_return_confirm"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker,
                  domain: dict[str, Any]) -> list[EventType]:
        lang = language(tracker)
        context = await self._context(tracker)
        if context is None or not context[1]:
            dispatcher.utter_message(text=t("return_not_confirmed_yet", lang),
                                     buttons=YES_NO_BUTTONS[lang])
            return []
        order, items = context
        reason = tracker.get_slot("return_reason") or "-"
        exchange = tracker.get_slot("return_exchange")
        seal = tracker.get_slot("return_seal")
        decision = check_return(order, [i.id for i in items], today(),
                                market_policy(order.market), reason=reason,
                                seal_intact=seal if isinstance(seal, bool) else None,
                                remedy=None if parse_exchange(exchange)[0] else "refund")
        if not decision.allowed and decision.code != "approval_required":
            dispatcher.utter_message(text=explain_refusal(decision, order, lang)
                                     if decision.item_id is not None
                                     else t("return_not_confirmed_yet", lang),
                                     buttons=YES_NO_BUTTONS[lang])
            return []
        dispatcher.utter_message(text=readback(order, items, reason, decision, exchange, lang)
                                 + t("return_confirm_question", lang),
                                 buttons=YES_NO_BUTTONS[lang])
        return []
