"""A delivered item that arrived damaged, wrong or incomplete: the claim form and its action.

Opened by ``item_problem`` (``action_item_problem`` says sorry and fills ``problem`` and
``claim_description`` from the shopper's words). ``claim_form`` asks, in order: the order number
and e-mail/phone (the shared identity check), which item(s) (``claim_item``), the photo evidence
when the market's policy wants it for this problem (``claim_photo``: the keys of the images the
conversation holds in the shared media storage; wrong or missing items skip it where
``claim_photo_required`` says so), the remedy (``claim_remedy``: ``replacement`` when the same
variant is in stock, else ``refund``) and a yes to the read-back (``claim_confirm``).

``action_create_claim`` then opens the claim as an RMA in the store (the RMA number is the claim
id; the reason starts with ``[claim:<problem>]`` and lists the photo keys), re-reads it and gives
the next steps. A person takes over, with everything in the handoff packet (the claim written out
in ``store_request``, the photo keys in the slots), when the items are worth more than the
market's approval threshold, when the shopper already made a claim, when it is reported after
``claim_report_days``, or when no photo came after ``claim_photo_asks`` asks.

The form's validation is in :mod:`actions.claim_form`, the texts in :mod:`actions.claim_texts`.
"""

from __future__ import annotations

import abc
import logging
from typing import Any

from rasa_sdk import Tracker
from rasa_sdk.events import EventType, FollowupAction, SlotSet
from rasa_sdk.executor import CollectingDispatcher

from actions.claim_form import (
    CLAIM_SLOTS,
    NO_PHOTO,
    problem_of,
    replaceable,
)
from actions.claim_form import ValidateClaimForm as ValidateClaimForm  # re-exported
from actions.claim_form import media as media  # re-exported
from actions.claim_form import parse_remedy as parse_remedy  # re-exported
from actions.claim_texts import YES_NO
from actions.handoff_client import HandoffAPIError, get_handoff_client
from actions.i18n import t
from actions.order_common import (
    REQUEST_SLOT,
    OrderAction,
    backend_error,
    format_money,
    language,
    payment_label,
    today,
    why_not,
)
from actions.policy import CLAIM_MARK, check_claim, is_claim
from actions.policy_markets import market_policy
from actions.return_form import OrderItemsQuestion
from actions.return_items import item_label, match_items
from actions.returns import SKIPPED, explain_refusal
from actions.store import (
    InvalidOperation,
    OperationNotSupported,
    Order,
    OrderItem,
    StoreError,
    get_store,
)

logger = logging.getLogger("actions.claims")

CLAIM_FLOW_SLOTS = (*CLAIM_SLOTS, "claim_photo_asks", "claim_description", "problem")


async def earlier_claims(order: Order) -> int:
    """Claims the same shopper opened before (any order), counted from the store."""
    try:
        orders = await get_store().list_customer_orders(order.email)
    except StoreError:
        orders = [order]
    return sum(1 for o in orders for r in o.returns if is_claim(r))



class _ClaimQuestion(OrderItemsQuestion, abc.ABC):
    item_slot = "claim_item"

    async def _claimed(self, dispatcher: CollectingDispatcher, tracker: Tracker,
                       lang: str) -> tuple[Order, list[OrderItem]] | None:
        """The order and the claimed items; ``None`` (the shopper is told) when one is missing."""
        context = await self._context(tracker)
        if context is None or not context[1]:
            dispatcher.utter_message(text=t("claim_remedy_unclear", lang))
            return None
        return context


class ActionAskClaimRemedy(_ClaimQuestion):
    def name(self) -> str:
        return "action_ask_claim_remedy"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker,
                  domain: dict[str, Any]) -> list[EventType]:
        lang = language(tracker)
        if (context := await self._claimed(dispatcher, tracker, lang)) is None:
            return []
        order, items = context
        amount = format_money(sum(i.total_cents for i in items), order.currency, lang)
        options = []
        buttons = []
        if await replaceable(items, lang):
            options.append(t("claim_option_replacement", lang,
                             item=", ".join(i.name for i in items)))
            title = t("claim_remedy_replacement", lang)
            buttons.append({"title": title, "payload": title})
        options.append(t("claim_option_refund", lang, amount=amount,
                         method=payment_label(order.payment_method, lang)))
        refund_title = t("claim_remedy_refund", lang,
                         method=payment_label(order.payment_method, lang))
        buttons.append({"title": refund_title, "payload": refund_title})
        dispatcher.utter_message(text=t("claim_ask_remedy", lang, options="\n".join(options)),
                                 buttons=buttons)
        return []


def claim_readback(order: Order, items: list[OrderItem], problem: str, photos: str | None,
                   remedy: str, lang: str) -> str:
    keys = [k for k in (photos or "").split(",") if k and photos not in (SKIPPED, NO_PHOTO)]
    value = sum(i.total_cents for i in items)
    method = payment_label(order.payment_method, lang)
    return t("claim_readback", lang, items=", ".join(item_label(i, order, lang) for i in items),
             problem=t(f"claim_problem_{problem}", lang),
             photos=str(len(keys)) if keys else t("claim_photos_none", lang),
             remedy=t(f"claim_remedy_{remedy}", lang, method=method),
             amount=t("claim_amount_replacement", lang) if remedy == "replacement"
             else format_money(value, order.currency, lang),
             pickup=t("claim_pickup_missing" if problem == "missing" else "claim_pickup", lang))


class ActionAskClaimConfirm(_ClaimQuestion):
    def name(self) -> str:
        return "action_ask_claim_confirm"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker,
                  domain: dict[str, Any]) -> list[EventType]:
        lang = language(tracker)
        if (context := await self._claimed(dispatcher, tracker, lang)) is None:
            return []
        order, items = context
        remedy = tracker.get_slot("claim_remedy")
        dispatcher.utter_message(
            text=claim_readback(order, items, problem_of(tracker), tracker.get_slot("claim_photo"),
                                remedy if remedy in ("replacement", "refund") else "refund", lang),
            buttons=YES_NO[lang])
        return []


async def mail_confirmation(order: Order, claim: str, items: list[OrderItem], problem: str,
                            remedy: str, follow: str, lang: str) -> bool:
    """The claim confirmation e-mail, through the handoff API's mailer; False (logged, no
    personal data) when it could not be queued — the claim itself stands."""
    mail = {"key": f"claim:{claim}", "kind": "claim_confirmation", "to": order.email,
            "language": lang, "name": order.customer.name.split()[0] if order.customer.name
            else "", "claim": claim, "order": order.id,
            "items": ", ".join(item_label(i, order, lang) for i in items),
            "problem": t(f"claim_problem_{problem}", lang), "remedy": remedy, "next": follow}
    try:
        return await get_handoff_client().send_mail(mail)
    except HandoffAPIError as exc:
        logger.warning("claim %s: confirmation e-mail not queued: %s", claim,
                       exc.__class__.__name__)
        return False


class ActionCreateClaim(OrderAction):
    """Open the confirmed claim as an RMA, or hand it to a person with everything attached."""

    action_name = "action_create_claim"

    async def handle(self, dispatcher: CollectingDispatcher, tracker: Tracker, order: Order,
                     lang: str) -> list[EventType]:
        reset = [SlotSet(s, None) for s in CLAIM_FLOW_SLOTS]
        if tracker.get_slot("claim_item") == SKIPPED:
            if tracker.get_slot("handoff_reason") == "approval_required":
                return [*reset, FollowupAction("action_handoff")]  # not delivered: a person
            return reset  # already explained (a return or claim is open for the item)
        policy = market_policy(order.market)
        items = match_items(order, tracker.get_slot("claim_item"))
        problem = problem_of(tracker)
        photos = tracker.get_slot("claim_photo")
        remedy = tracker.get_slot("claim_remedy")
        remedy = remedy if remedy in ("replacement", "refund") else "refund"
        decision = check_claim(order, [i.id for i in items], today(), policy,
                               earlier_claims=await earlier_claims(order))
        why = None
        if photos == NO_PHOTO:
            why = "no_photo"
        elif decision.needs_agent:
            why = decision.code
        elif not decision.allowed:
            if decision.item_id is not None:
                dispatcher.utter_message(text=explain_refusal(decision, order, lang))
            else:
                dispatcher.utter_message(text=t("claim_not_delivered", lang, order_id=order.id))
            return reset
        request = self.request(order, items, problem, tracker, photos, remedy, lang)
        if why is not None:
            dispatcher.utter_message(text=t(f"claim_to_person_{why}", lang,
                                            days=policy.claim_report_days))
            return [SlotSet(REQUEST_SLOT, request), SlotSet("handoff_reason", "approval_required"),
                    FollowupAction("action_handoff")]
        if tracker.get_slot("claim_confirm") is not True:
            dispatcher.utter_message(text=t("claim_not_created", lang))
            return reset
        store = self.store()
        value = sum(i.total_cents for i in items)
        try:
            if not store.supports("create_return"):
                raise OperationNotSupported("create_return", why_not(store, "create_return"))
            created = await store.create_return(
                order.id, item_ids=[i.id for i in items], reason=request,
                kind="exchange" if remedy == "replacement" else "refund",
                refund_cents=0 if remedy == "replacement" else value)
        except InvalidOperation:
            created = None
        except OperationNotSupported:
            dispatcher.utter_message(text=t("claim_to_person_store", lang))
            return [SlotSet(REQUEST_SLOT, request), SlotSet("handoff_reason", "approval_required"),
                    FollowupAction("action_handoff")]
        fresh = await store.get_order(order.id)
        record = next((r for r in fresh.returns if created and r.rma == created.rma), None)
        if record is None:
            dispatcher.utter_message(text=t("claim_not_confirmed", lang))
            return backend_error(dispatcher, lang, None, self.name()) + reset
        method = payment_label(order.payment_method, lang)
        follow = t("claim_next_replacement", lang) if remedy == "replacement" else t(
            "claim_next_refund", lang, amount=format_money(value, order.currency, lang),
            method=method)
        remedy_text = t(f"claim_remedy_{remedy}", lang, method=method)
        mailed = await mail_confirmation(order, record.rma, items, problem, remedy_text, follow,
                                         lang)
        dispatcher.utter_message(text=t(
            "claim_created", lang, rma=record.rma, items=", ".join(i.name for i in items),
            remedy=remedy_text, next=follow) + (t("claim_mailed", lang) if mailed else ""))
        return reset

    @staticmethod
    def request(order: Order, items: list[OrderItem], problem: str, tracker: Tracker,
                photos: Any, remedy: str, lang: str) -> str:
        """The claim written out: the RMA's reason and the agent's note (photo keys included)."""
        keys = photos if isinstance(photos, str) and photos not in (SKIPPED, NO_PHOTO) else "-"
        description = " ".join(str(tracker.get_slot("claim_description") or "-").split())[:300]
        return t("claim_request", lang, mark=f"{CLAIM_MARK}{problem}]", order_id=order.id,
                 items=", ".join(item_label(i, order, lang) for i in items),
                 problem=t(f"claim_problem_{problem}", lang), description=description,
                 photos=keys, remedy=t(f"claim_remedy_{remedy}", lang,
                                       method=payment_label(order.payment_method, lang)))
