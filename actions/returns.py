"""Returns: ``action_create_return`` and what the shopper is told about a return (the read-back,
the refusals), which the return form (:mod:`actions.return_form`) shares with it.

Every item is checked on its own (:func:`actions.policy.check_item`) before anything is read back;
nothing is created until the shopper confirms the read-back (slot ``return_confirm``), and the
action checks the policy again before it creates the RMA, so an item the bot called
non-returnable can never get one. The RMA is confirmed only after re-reading the order and
finding it in the backend. Item matching is in :mod:`actions.return_items`, exchanges and their
stock check in :mod:`actions.return_exchange`, the texts in :mod:`actions.return_texts`.
"""

from __future__ import annotations

from datetime import timedelta

from rasa_sdk import Tracker
from rasa_sdk.events import EventType, FollowupAction, SlotSet
from rasa_sdk.executor import CollectingDispatcher

import actions.return_texts  # noqa: F401 - registers the return texts
from actions.i18n import has, t
from actions.order_common import (
    OrderAction,
    backend_error,
    format_date,
    format_money,
    hand_off_request,
    payment_label,
    today,
    why_not,
)
from actions.policy import (
    Decision,
    check_return,
    check_return_eligibility,
    holiday_return_deadline,
    refund_timeline,
)
from actions.policy_markets import MarketPolicy, market_policy
from actions.return_exchange import check_exchange_stock, parse_exchange, variant_label
from actions.return_items import item_label, item_list, match_items
from actions.store import InvalidOperation, OperationNotSupported, Order, OrderItem
from actions.store_calendar import store_day

# a form slot that is not needed; for return_confirm: "already explained, say no more"
SKIPPED = "-"


def holiday_note(order: Order, policy: MarketPolicy, lang: str) -> str:
    """The Black Friday/Christmas sentence for an order bought in the period, else ""."""
    until = holiday_return_deadline(store_day(order.placed_at), policy)
    return t("return_holiday_note", lang, until=format_date(until, lang)) if until else ""


def refusal_key(decision: Decision) -> str:
    """The message key explaining why ``decision`` refused the return."""
    if decision.code == "window_expired" and decision.holiday:
        return "return_window_expired_holiday"
    return {
        "not_delivered_yet": "return_not_delivered_yet",
        "not_shipped": "return_not_shipped",
        "window_expired": "return_window_expired",
        "non_returnable": "return_non_returnable",
        "already_returned": "return_already_returned",
        "unknown_item": "return_item_unknown",
    }.get(decision.code, "return_closed")


def explain_refusal(decision: Decision, order: Order, lang: str) -> str:
    """Why one item can't be returned, in the shopper's words (per-item codes of check_item)."""
    item = order.item(decision.item_id) if decision.item_id is not None else None
    name = item.name if item else "—"
    if decision.code == "open_rma":
        record = next((r for r in order.returns if r.rma == decision.rma), None)
        status = record.status if record else "open"
        key = f"return_rma_status_{status}"
        label = record.label_url if record else None
        return t("return_open_rma", lang, item=name, rma=decision.rma,
                 kind=t(f"return_kind_{decision.kind}", lang),
                 status=t(key, lang) if has(key) else status,
                 label=t("return_open_rma_label", lang, label=label) if label else "")
    if decision.code == "non_returnable":
        category = item.category if item else ""
        key = f"return_refused_{category}"
        return t(key if has(key) else "return_refused_category", lang, item=name)
    return t(f"return_refused_{decision.code}", lang, item=name)


def readback(order: Order, items: list[OrderItem], reason: str, decision: Decision,
             exchange: str | None, lang: str) -> str:
    """The summary the shopper confirms: item, reason, remedy, amount and how to send it back."""
    policy = market_policy(order.market)
    ship_by = format_date(today() + timedelta(days=policy.return_drop_off_days), lang)
    if decision.kind == "exchange":
        size, colour = parse_exchange(exchange)
        remedy = t("return_readback_exchange", lang,
                   variant=variant_label(size or "?", colour, lang))
        amount = t("return_readback_amount_exchange", lang)
    else:
        remedy = t("return_readback_refund", lang,
                   method=payment_label(order.payment_method, lang))
        money = format_money(decision.refund_cents, order.currency, lang)
        amount = (t("return_readback_amount_fee", lang, amount=money,
                    fee=format_money(decision.fee_cents, order.currency, lang))
                  if decision.fee_cents else money)
    extra = ""
    if decision.code == "approval_required":
        extra += t("return_readback_approval", lang)
    if decision.seal_required:
        extra += t("return_readback_seal", lang)
    return t("return_readback", lang, items=", ".join(item_label(i, order, lang) for i in items),
             reason=reason, remedy=remedy, amount=amount,
             method=t("return_readback_method", lang, ship_by=ship_by), extra=extra)


def refusal_text(decision: Decision, order: Order, lang: str) -> str:
    """Why the order (not one item) can't be returned: window, delivery, status."""
    policy = market_policy(order.market)
    return t(refusal_key(decision), lang, order_id=order.id, days=policy.return_window_days,
             deadline=format_date(decision.deadline, lang), items=item_list(order, lang),
             holiday=holiday_note(order, policy, lang),
             status=t(f"status_{order.status.value}", lang))


class ActionCreateReturn(OrderAction):
    """Create the confirmed return: check the policy again, open the RMA, re-read and confirm it
    with clear next steps. Without the shopper's yes (``return_confirm``) nothing is created."""

    action_name = "action_create_return"

    async def handle(self, dispatcher: CollectingDispatcher, tracker: Tracker, order: Order,
                     lang: str) -> list[EventType]:
        policy = market_policy(order.market)
        reason = (tracker.get_slot("return_reason") or "").strip()
        confirm = tracker.get_slot("return_confirm")
        day = today()
        eligible = check_return_eligibility(order, day, policy)
        if not eligible.allowed:
            dispatcher.utter_message(text=refusal_text(eligible, order, lang))
            return []
        if confirm == SKIPPED:
            return []  # the form already said why there is nothing to create
        if confirm == "claim":  # damaged / wrong / missing: the claim form takes it from here
            dispatcher.utter_message(text=t("return_to_claim", lang))
            return [FollowupAction("claim_form")]
        if confirm is not True:
            dispatcher.utter_message(text=t("return_not_created", lang))
            return []
        items = match_items(order, tracker.get_slot("return_item"))
        exchange = tracker.get_slot("return_exchange")
        seal = tracker.get_slot("return_seal")
        decision = check_return(order, [i.id for i in items], day, policy, reason=reason,
                                seal_intact=seal if isinstance(seal, bool) else None,
                                # an exchange only for a size the shopper chose (and we stock)
                                remedy=None if parse_exchange(exchange)[0] else "refund")
        if decision.code == "approval_required":
            amount = format_money(decision.refund_cents, order.currency, lang)
            dispatcher.utter_message(text=t("return_needs_approval", lang, amount=amount))
            return [SlotSet("handoff_reason", "approval_required"),
                    FollowupAction("action_handoff")]
        if not decision.allowed:
            dispatcher.utter_message(text=explain_refusal(decision, order, lang)
                                     if decision.item_id is not None
                                     else refusal_text(decision, order, lang))
            return []
        note = reason or "-"
        if decision.kind == "exchange":
            size, colour = parse_exchange(exchange)
            if size is None:  # no size chosen: never create an exchange that says nothing
                dispatcher.utter_message(text=t("return_not_created", lang))
                return []
            check = await check_exchange_stock(self.store(), items[0], size, colour, lang)
            variant = variant_label(size, colour, lang)
            if check.outcome != "in_stock" or check.variant is None:
                dispatcher.utter_message(text=t(
                    "return_exchange_sold_out", lang, variant=variant, item=items[0].name,
                    sizes=", ".join(check.nearest) or "—"))
                return []
            note = f"{note} — " + t("return_exchange_note", lang, variant=variant,
                                    sku=check.variant.sku)
        return await self._create(dispatcher, order, items, note, decision, lang)

    async def _create(self, dispatcher: CollectingDispatcher, order: Order,
                      items: list[OrderItem], reason: str, decision: Decision,
                      lang: str) -> list[EventType]:
        policy = market_policy(order.market)
        day = today()
        store = self.store()
        try:
            if not store.supports("create_return"):
                raise OperationNotSupported("create_return", why_not(store, "create_return"))
            created = await store.create_return(
                order.id, item_ids=[i.id for i in items], reason=reason, kind=decision.kind,
                refund_cents=decision.refund_cents)
        except InvalidOperation:
            created = None  # state moved under us: the re-read below decides what to say
        except OperationNotSupported as exc:
            kind = t("request_return_exchange", lang) if decision.kind == "exchange" else t(
                "request_return_refund", lang,
                amount=format_money(decision.refund_cents, order.currency, lang),
                method=payment_label(order.payment_method, lang))
            request = t("request_return", lang, order_id=order.id,
                        items=", ".join(item_label(i, order, lang) for i in items),
                        reason=reason, kind=kind)
            return hand_off_request(dispatcher, lang, "create_return", order.id, request, exc.why)
        fresh = await store.get_order(order.id)
        record = next((r for r in fresh.returns if created and r.rma == created.rma), None)
        if record is None:
            dispatcher.utter_message(text=t("return_not_confirmed", lang))
            return backend_error(dispatcher, lang, None, self.name())
        names = ", ".join(i.name for i in items if i.id in record.item_ids)
        ship_by = format_date(day + timedelta(days=policy.return_drop_off_days), lang)
        low, high = refund_timeline(fresh.payment_method, policy)
        kind = created.kind if created else record.kind
        key = "return_created_exchange" if kind == "exchange" else "return_created_refund"
        if record.status == "requested" and not record.label_url:
            # the platform keeps it for the team to approve (Shopify's returnRequest)
            key = "return_requested_exchange" if kind == "exchange" else "return_requested"
        extra = ""
        if decision.fee_cents and kind == "refund":
            extra += t("return_fee_note", lang,
                       fee=format_money(decision.fee_cents, fresh.currency, lang))
        if decision.seal_required:
            extra += t("return_seal_note", lang)
        dispatcher.utter_message(text=t(
            key, lang, rma=record.rma, items=names, label=record.label_url or "—", ship_by=ship_by,
            amount=format_money(record.refund_cents or decision.refund_cents, fresh.currency, lang),
            extra=extra,
            method=payment_label(fresh.payment_method, lang), min_days=low, max_days=high))
        return []
