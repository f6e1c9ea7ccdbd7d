"""Returns and free size exchanges: ``action_create_return`` and the item matching it relies on.

The shopper names the item in their own words ("las zapatillas", "the 2nd one", "todo"); the
validator and the action both use :func:`match_items`, so what the form accepted is what gets
returned. The RMA is confirmed only after re-reading the order and finding it in the backend.
"""

from __future__ import annotations

import re
import unicodedata
from datetime import timedelta

from rasa_sdk import Tracker
from rasa_sdk.events import EventType, FollowupAction, SlotSet
from rasa_sdk.executor import CollectingDispatcher

from actions.i18n import register, t
from actions.order_common import (
    OrderAction,
    backend_error,
    format_date,
    format_money,
    payment_label,
    today,
)
from actions.policy import (
    Decision,
    MarketPolicy,
    check_return,
    holiday_return_deadline,
    market_policy,
    refund_timeline,
)
from actions.store import InvalidOperation, Order, OrderItem

# how-to-return article: "Drop the parcel off within 7 days" of getting the label.
SHIP_BACK_DAYS = 7

MESSAGES = {
    "return_items_intro": {
        "es": "Estos son los artículos del pedido {order_id}:\n{items}\n¿Cuál quieres devolver? "
              "Puedes decirme el nombre, el número de la lista o «todo».",
        "en": "These are the items in order {order_id}:\n{items}\nWhich one would you like to "
              "return? Tell me its name, its number in the list or \"all\".",
    },
    "return_item_unknown": {
        "es": "No he sabido identificar ese artículo. Elige uno de la lista:\n{items}",
        "en": "I couldn't tell which item you mean. Please pick one from the list:\n{items}",
    },
    "return_item_line_not_returnable": {"es": " (no admite devolución)", "en": " (not returnable)"},
    "return_item_line_seal": {"es": " · sin el precinto higiénico (no admite devolución)",
                              "en": " · without its hygiene seal (not returnable)"},
    "return_size": {"es": "talla {size}", "en": "size {size}"},
    "return_created_refund": {
        "es": "Listo, he creado la devolución {rma} para: {items}.\n"
              "Próximos pasos:\n1. Descarga la etiqueta: {label}\n"
              "2. Empaqueta el artículo con sus etiquetas y entrégalo antes del {ship_by}.\n"
              "3. Te devolveremos {amount} a {method} en {min_days}-{max_days} días hábiles desde "
              "que llegue a nuestro almacén.{extra}",
        "en": "Done, I've created return {rma} for: {items}.\n"
              "Next steps:\n1. Download the label: {label}\n"
              "2. Pack the item with its tags and drop it off by {ship_by}.\n"
              "3. We'll refund {amount} to {method} within {min_days}-{max_days} business days "
              "of it reaching our warehouse.{extra}",
    },
    "return_created_exchange": {
        "es": "Listo, he creado el cambio de talla {rma} para: {items}. El cambio es gratuito.\n"
              "Próximos pasos:\n1. Descarga la etiqueta: {label}\n"
              "2. Entrega el artículo en el punto de recogida antes del {ship_by}.\n"
              "3. En cuanto el transportista escanee tu paquete te enviamos la nueva talla sin "
              "coste, sin esperar a que llegue al almacén; si está agotada, te devolvemos el "
              "importe completo.{extra}",
        "en": "Done, I've created size exchange {rma} for: {items}. The exchange is free.\n"
              "Next steps:\n1. Download the label: {label}\n"
              "2. Drop the item off by {ship_by}.\n"
              "3. As soon as the carrier scans your parcel we'll ship the new size at no cost, "
              "without waiting for it to reach the warehouse; if it's sold out we'll give you a "
              "full refund.{extra}",
    },
    "return_not_delivered_yet": {
        "es": "El pedido {order_id} todavía no se ha entregado. Cuando lo recibas podrás "
              "devolverlo durante {days} días.{holiday}",
        "en": "Order {order_id} hasn't been delivered yet. Once it arrives you'll have {days} days "
              "to return it.{holiday}",
    },
    "return_holiday_note": {
        "es": " Como lo compraste entre el 15 de noviembre y el 31 de diciembre, puedes devolverlo "
              "hasta el {until} si esa fecha es posterior.",
        "en": " As you bought it between 15 November and 31 December, you can return it until "
              "{until} if that is later.",
    },
    "return_seal_note": {
        "es": "\nLos bañadores y bikinis solo se aceptan con el precinto higiénico intacto.",
        "en": "\nSwimsuits and bikinis are accepted only with the hygiene seal intact.",
    },
    "return_fee_note": {
        "es": " Del reembolso se descuentan {fee} de la etiqueta prepagada.",
        "en": " {fee} for the prepaid label is taken off the refund.",
    },
    "return_not_shipped": {
        "es": "El pedido {order_id} aún no ha salido del almacén, así que no hace falta "
              "devolverlo: puedes cancelarlo y te devolvemos el dinero. ¿Quieres que lo cancele?",
        "en": "Order {order_id} hasn't left the warehouse yet, so there's no need to return it: "
              "you can cancel it and get your money back. Shall I cancel it?",
    },
    "return_window_expired": {
        "es": "Lo siento, el plazo de devolución del pedido {order_id} terminó el {deadline} "
              "({days} días desde la entrega), así que no puedo abrir una devolución.",
        "en": "Sorry, the return window for order {order_id} ended on {deadline} ({days} days "
              "from delivery), so I can't open a return.",
    },
    "return_window_expired_holiday": {
        "es": "Lo siento, el plazo de devolución del pedido {order_id} terminó el {deadline} "
              "(ampliación de Black Friday y Navidad para compras del 15 de noviembre al 31 de "
              "diciembre), así que no puedo abrir una devolución.",
        "en": "Sorry, the return window for order {order_id} ended on {deadline} (the Black Friday "
              "and Christmas extension for purchases from 15 November to 31 December), so I can't "
              "open a return.",
    },
    "return_closed": {
        "es": "El pedido {order_id} está {status}, así que no admite una nueva devolución.",
        "en": "Order {order_id} is {status}, so it can't be returned again.",
    },
    "return_non_returnable": {
        "es": "Por higiene, por estar personalizado o por ser una tarjeta regalo, {items} no "
              "admite devolución. Puedes elegir otro artículo del pedido.",
        "en": "For hygiene reasons, because it's personalised or because it's a gift card, {items} "
              "can't be returned. You can pick another item from the order.",
    },
    "return_already_returned": {
        "es": "Ese artículo ya tiene una devolución abierta en el pedido {order_id}.",
        "en": "That item already has a return open in order {order_id}.",
    },
    "return_needs_approval": {
        "es": "El reembolso de esta devolución ({amount}) necesita la aprobación de una persona "
              "del equipo. Te paso con ella ahora.",
        "en": "The refund for this return ({amount}) needs approval from a person on our team. I'm "
              "putting you through now.",
    },
    "return_not_confirmed": {
        "es": "He pedido la devolución pero el sistema no me la muestra todavía, así que prefiero "
              "no darte un número que no puedo comprobar.",
        "en": "I requested the return but the system doesn't show it yet, so I'd rather not give "
              "you a number I can't check.",
    },
}
register(MESSAGES)

_ALL = re.compile(r"^(todo|todos|todas|todo el pedido|el pedido entero|all|everything|"
                  r"all of them|the whole order|whole order)$")
_SYNONYMS = {
    "footwear": ("zapat", "bota", "botin", "calzad", "tenis", "shoe", "sneak", "train", "boot"),
    "apparel": ("ropa", "prenda", "cloth"),
    "swimwear": ("banad", "bikin", "malla", "swim"),
    "underwear": ("calcet", "ropa interior", "sock", "underw"),
    "accessories": ("accesor", "access"),
}


def _fold(text: str) -> str:
    text = unicodedata.normalize("NFKD", text.lower())
    return "".join(c for c in text if not unicodedata.combining(c)).strip(" .!¡?¿")


def returnable_candidates(order: Order) -> list[OrderItem]:
    """Items still free to return, in the numbered order shown to the shopper."""
    done = order.returned_item_ids()
    return [i for i in order.items if i.id not in done]


def match_items(order: Order, text: str | None) -> list[OrderItem]:
    """The items ``text`` refers to, or [] when it is unclear (then the shopper is asked again)."""
    if not text:
        return []
    items = returnable_candidates(order)
    folded = _fold(text)
    if _ALL.match(folded):
        return items
    by_name = [i for i in items if _fold(i.name) in [_fold(p) for p in text.split(";")]]
    if by_name:
        return by_name
    numbers = [int(n) for n in re.findall(r"\b(\d{1,2})\b", folded) if 1 <= int(n) <= len(items)]
    if numbers and not re.search(r"[a-z]{4,}", re.sub(r"\b(el|la|numero|number|item|no)\b", "",
                                                        folded)):
        return [items[n - 1] for n in dict.fromkeys(numbers)]
    by_sku = [i for i in items if i.sku.lower() in folded]
    if by_sku:
        return by_sku
    words = {w[:5] for w in re.findall(r"[a-z]{4,}", folded)}
    by_word = [i for i in items if words & {w[:5] for w in re.findall(r"[a-z]{4,}", _fold(i.name))}]
    if by_word:
        return by_word
    by_category = [i for i in items
                   if any(s in folded for s in _SYNONYMS.get(i.category, ()))]
    return by_category if len(by_category) == 1 else []


def item_label(item: OrderItem, order: Order, lang: str) -> str:
    size = f", {t('return_size', lang, size=item.size)}" if item.size else ""
    return f"{item.name}{size} — {format_money(item.total_cents, order.currency, lang)}"


def item_list(order: Order, lang: str) -> str:
    """Numbered list of returnable items, flagging those the policy excludes."""
    policy = market_policy(order.market)
    lines = []
    for n, item in enumerate(returnable_candidates(order), start=1):
        flag = ""
        if item.category in policy.non_returnable_categories:
            flag = t("return_item_line_not_returnable", lang)
        elif item.category in policy.seal_required_categories:
            flag = t("return_item_line_seal", lang)
        lines.append(f"{n}. {item_label(item, order, lang)}{flag}")
    return "\n".join(lines)


def holiday_note(order: Order, policy: MarketPolicy, lang: str) -> str:
    """The Black Friday/Christmas sentence for an order bought in the period, else ""."""
    until = holiday_return_deadline(order.placed_at.date(), policy)
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


class ActionCreateReturn(OrderAction):
    """Check the policy, open the RMA, re-read and confirm it with clear next steps."""

    action_name = "action_create_return"

    async def handle(self, dispatcher: CollectingDispatcher, tracker: Tracker, order: Order,
                     lang: str) -> list[EventType]:
        policy = market_policy(order.market)
        reason = (tracker.get_slot("return_reason") or "").strip()
        items = match_items(order, tracker.get_slot("return_item"))
        day = today()
        decision = check_return(order, [i.id for i in items], day, policy, reason=reason)
        fields = {"order_id": order.id, "days": policy.return_window_days}
        if decision.code == "approval_required":
            amount = format_money(decision.refund_cents, order.currency, lang)
            dispatcher.utter_message(text=t("return_needs_approval", lang, amount=amount))
            return [SlotSet("handoff_reason", "approval_required"),
                    FollowupAction("action_handoff")]
        if not decision.allowed:
            names = ", ".join(i.name for i in items
                              if i.category in policy.non_returnable_categories)
            dispatcher.utter_message(text=t(
                refusal_key(decision), lang, **fields,
                deadline=format_date(decision.deadline, lang),
                items=names or item_list(order, lang), holiday=holiday_note(order, policy, lang),
                status=t(f"status_{order.status.value}", lang)))
            return []
        try:
            created = await self.store().create_return(
                order.id, item_ids=[i.id for i in items], reason=reason or "-", kind=decision.kind,
                refund_cents=decision.refund_cents)
        except InvalidOperation:
            created = None  # state moved under us: the re-read below decides what to say
        fresh = await self.store().get_order(order.id)
        record = next((r for r in fresh.returns if created and r.rma == created.rma), None)
        if record is None:
            dispatcher.utter_message(text=t("return_not_confirmed", lang))
            return backend_error(dispatcher, lang, None, self.name())
        names = ", ".join(i.name for i in items if i.id in record.item_ids)
        ship_by = format_date(day + timedelta(days=SHIP_BACK_DAYS), lang)
        low, high = refund_timeline(fresh.payment_method, policy)
        key = "return_created_exchange" if record.kind == "exchange" else "return_created_refund"
        extra = ""
        if decision.fee_cents and record.kind == "refund":
            extra += t("return_fee_note", lang,
                       fee=format_money(decision.fee_cents, fresh.currency, lang))
        if decision.seal_required:
            extra += t("return_seal_note", lang)
        dispatcher.utter_message(text=t(
            key, lang, rma=record.rma, items=names, label=record.label_url or "—", ship_by=ship_by,
            amount=format_money(record.refund_cents, fresh.currency, lang), extra=extra,
            method=payment_label(fresh.payment_method, lang), min_days=low, max_days=high))
        return []
