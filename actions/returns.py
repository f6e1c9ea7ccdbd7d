"""Returns and free size exchanges: ``action_create_return`` and the texts and item matching the
return form (:mod:`actions.return_form`) shares with it.

The shopper names the item in their own words ("las zapatillas", "the 2nd one", "todo"); the
validator and the action both use :func:`match_items`, so what the form accepted is what gets
returned. Every item is checked on its own (:func:`actions.policy.check_item`) before anything is
read back; nothing is created until the shopper confirms the read-back (slot ``return_confirm``),
and the action checks the policy again before it creates the RMA, so an item the bot called
non-returnable can never get one. The RMA is confirmed only after re-reading the order and
finding it in the backend.
"""

from __future__ import annotations

import logging
import re
import unicodedata
from dataclasses import dataclass
from datetime import timedelta

from rasa_sdk import Tracker
from rasa_sdk.events import EventType, FollowupAction, SlotSet
from rasa_sdk.executor import CollectingDispatcher

from actions.catalogue import nearest_sizes, same_colour, same_size
from actions.i18n import has, register, t
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
    MarketPolicy,
    check_return,
    check_return_eligibility,
    holiday_return_deadline,
    market_policy,
    refund_timeline,
)
from actions.store import (
    InvalidOperation,
    OperationNotSupported,
    Order,
    OrderItem,
    ProductVariant,
    StoreBackend,
    StoreError,
)
from actions.store.mapping import fold
from actions.store.search import colour_of

logger = logging.getLogger("actions.returns")

# a form slot that is not needed; for return_confirm: "already explained, say no more"
SKIPPED = "-"

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
    "return_item_line_seal": {"es": " · solo con el precinto higiénico intacto",
                              "en": " · only with its hygiene seal intact"},
    "return_item_line_final_sale": {"es": " (venta final: no admite devolución)",
                                    "en": " (final sale: not returnable)"},
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
    "return_requested": {
        "es": "Listo, he registrado tu solicitud de devolución {rma} para: {items}.\n"
              "Próximos pasos:\n1. Nuestro equipo la revisa y te envía por email la etiqueta de "
              "devolución (siempre en menos de 48 horas).\n"
              "2. Empaqueta el artículo con sus etiquetas y entrégalo con esa etiqueta.\n"
              "3. Te devolveremos {amount} a {method} en {min_days}-{max_days} días hábiles desde "
              "que llegue a nuestro almacén.{extra}",
        "en": "Done, I've registered your return request {rma} for: {items}.\n"
              "Next steps:\n1. Our team reviews it and e-mails you the return label (always "
              "within 48 hours).\n"
              "2. Pack the item with its tags and drop it off with that label.\n"
              "3. We'll refund {amount} to {method} within {min_days}-{max_days} business days "
              "of it reaching our warehouse.{extra}",
    },
    "return_requested_exchange": {
        "es": "Listo, he registrado tu solicitud de cambio de talla {rma} para: {items}. El cambio "
              "es gratuito.\nPróximos pasos:\n1. Nuestro equipo la revisa y te envía por email la "
              "etiqueta (siempre en menos de 48 horas).\n2. Entrega el artículo con esa etiqueta: "
              "en cuanto el transportista lo escanee te enviamos la nueva talla; si está agotada, "
              "te devolvemos el importe completo.{extra}",
        "en": "Done, I've registered your size exchange request {rma} for: {items}. The exchange "
              "is free.\nNext steps:\n1. Our team reviews it and e-mails you the label (always "
              "within 48 hours).\n2. Drop the item off with that label: as soon as the carrier "
              "scans it we'll ship the new size; if it's sold out we'll give you a full refund."
              "{extra}",
    },
    "request_return": {
        "es": "Devolución del pedido {order_id}: {items}. Motivo: «{reason}». {kind}",
        "en": "Return for order {order_id}: {items}. Reason: \"{reason}\". {kind}",
    },
    "request_return_refund": {"es": "Reembolso de {amount} a {method}.",
                              "en": "Refund {amount} to {method}."},
    "request_return_exchange": {"es": "Cambio de talla gratuito.", "en": "Free size exchange."},
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

MESSAGES.update({
    # per-item refusals, said as soon as the item is chosen (before any confirmation)
    "return_refused_underwear": {
        "es": "{item} no admite devolución por higiene (ropa interior y calcetines).",
        "en": "{item} can't be returned for hygiene reasons (underwear and socks).",
    },
    "return_refused_gift_card": {"es": "{item} es una tarjeta regalo y no admite devolución.",
                                 "en": "{item} is a gift card and can't be returned."},
    "return_refused_personalised": {
        "es": "{item} está personalizado para ti, así que no admite devolución.",
        "en": "{item} was personalised for you, so it can't be returned.",
    },
    "return_refused_category": {"es": "{item} no admite devolución según la política de la tienda.",
                                "en": "{item} can't be returned under the shop's policy."},
    "return_refused_final_sale": {
        "es": "{item} se compró en venta final (liquidación), que no admite devolución por cambio "
              "de opinión. Si ha llegado defectuoso, dímelo y lo tramitamos como incidencia.",
        "en": "{item} was bought as final sale (clearance), which can't be returned for a change "
              "of mind. If it arrived faulty, tell me and we'll handle it as a problem with the "
              "item.",
    },
    "return_refused_seal_broken": {
        "es": "Sin el precinto higiénico intacto no podemos aceptar {item}, lo siento.",
        "en": "Without its hygiene seal intact we can't accept {item}, sorry.",
    },
    "return_refused_already_returned": {"es": "{item} ya se devolvió en este pedido.",
                                        "en": "{item} has already been returned in this order."},
    "return_open_rma": {
        "es": "{item} ya tiene abierta la devolución {rma} ({kind}, {status}), así que no abro "
              "otra.{label}",
        "en": "{item} already has return {rma} open ({kind}, {status}), so I won't open another "
              "one.{label}",
    },
    "return_open_rma_label": {"es": " Tu etiqueta: {label}", "en": " Your label: {label}"},
    "return_kind_refund": {"es": "reembolso", "en": "refund"},
    "return_kind_exchange": {"es": "cambio de talla", "en": "size exchange"},
    "return_rma_status_requested": {"es": "pendiente de revisión por el equipo",
                                    "en": "waiting for the team's review"},
    "return_rma_status_open": {"es": "abierta", "en": "open"},
    "return_rma_status_label_sent": {"es": "etiqueta enviada, pendiente de que entregues el "
                                           "paquete",
                                     "en": "label sent, waiting for you to drop the parcel off"},
    "return_pick_another": {
        "es": "\nSi quieres devolver otro artículo del pedido, elígelo:\n{items}",
        "en": "\nIf you'd like to return another item from the order, pick it:\n{items}",
    },
    "return_nothing_else": {
        "es": "\nNo queda ningún otro artículo de este pedido que se pueda devolver.",
        "en": "\nThere's no other item in this order that can be returned.",
    },
    "return_seal_dropped": {
        "es": "Sin el precinto intacto dejo fuera {items}; sigo con el resto.",
        "en": "Without the seal intact I'll leave {items} out and go on with the rest.",
    },
    "return_not_created": {
        "es": "De acuerdo, no he creado ninguna devolución. ¿Te ayudo con algo más?",
        "en": "All right, I haven't created any return. Can I help you with anything else?",
    },
    # read-back: nothing is created before the shopper says yes
    "return_readback": {
        "es": "Antes de crear nada, repasemos:\n• Artículo: {items}\n• Motivo: {reason}\n"
              "• Solución: {remedy}\n• Importe: {amount}\n• Cómo devolverlo: {method}{extra}",
        "en": "Before I create anything, let's go over it:\n• Item: {items}\n• Reason: {reason}"
              "\n• Remedy: {remedy}\n• Amount: {amount}\n• How to send it back: {method}"
              "{extra}",
    },
    "return_to_claim": {
        "es": "Entonces no es una devolución normal sino una incidencia: la tramitamos sin coste "
              "para ti y sin gastar tu plazo de devolución.",
        "en": "Then it's not an ordinary return but a problem with the item: we'll sort it out at "
              "no cost to you, without using up your return window.",
    },
    "return_confirm_question": {"es": "\n¿Lo confirmo?", "en": "\nShall I go ahead?"},
    "return_not_confirmed_yet": {"es": "¿Confirmo la devolución?",
                                 "en": "Shall I create the return?"},
    "return_readback_refund": {"es": "reembolso a {method}", "en": "refund to {method}"},
    "return_readback_exchange": {"es": "cambio gratuito a la {variant}",
                                 "en": "free exchange for {variant}"},
    "return_readback_amount_refund": {"es": "{amount}", "en": "{amount}"},
    "return_readback_amount_fee": {"es": "{amount} (ya descontados {fee} de la etiqueta)",
                                   "en": "{amount} ({fee} for the label already taken off)"},
    "return_readback_amount_exchange": {"es": "sin coste: el cambio es gratuito",
                                        "en": "no cost: the exchange is free"},
    "return_readback_method": {
        "es": "etiqueta prepagada que te doy al confirmar; entrega el paquete en un punto de "
              "recogida antes del {ship_by}",
        "en": "a prepaid label I'll give you once you confirm; drop the parcel off at a "
              "collection point by {ship_by}",
    },
    "return_readback_approval": {
        "es": "\nUn reembolso de este importe lo aprueba una persona del equipo: si confirmas, te "
              "paso con ella con todo preparado.",
        "en": "\nA refund of this amount is approved by a person on our team: if you confirm, I'll "
              "put you through with everything ready.",
    },
    "return_readback_seal": {
        "es": "\nRecuerda: el bañador solo se acepta con el precinto higiénico intacto.",
        "en": "\nRemember: swimwear is accepted only with the hygiene seal intact.",
    },
    # size/colour exchange: stock checked in the store before it is offered
    "return_ask_exchange": {
        "es": "Te lo cambio gratis. ¿Qué talla quieres que te enviemos de {item} (ahora tienes la "
              "{size})? Si prefieres que te devolvamos el dinero ({amount}), dime «reembolso».",
        "en": "I can exchange it for free. Which size of {item} should we send you (you have "
              "{size} now)? If you'd rather have your money back ({amount}), just say \"refund\".",
    },
    "return_exchange_unclear": {
        "es": "No he entendido qué talla quieres. Dime el número o la letra (por ejemplo, 42 o M), "
              "o «reembolso» si prefieres el dinero.",
        "en": "I didn't catch which size you want. Tell me the number or letter (for example, 9 or "
              "M), or \"refund\" if you'd rather have your money back.",
    },
    "return_exchange_same_size": {
        "es": "Esa es la talla que ya tienes. ¿Cuál quieres en su lugar?",
        "en": "That's the size you already have. Which one would you like instead?",
    },
    "return_exchange_sold_out": {
        "es": "La {variant} de {item} está agotada ahora mismo. Las más cercanas que tenemos son: "
              "{sizes}. ¿Quieres una de ellas o prefieres el reembolso?",
        "en": "{variant} of {item} is sold out right now. The nearest we have are: {sizes}. Would "
              "you like one of those, or a refund instead?",
    },
    "return_exchange_no_such_size": {
        "es": "{item} no tiene la {variant}. Tenemos: {sizes}. ¿Cuál quieres, o prefieres el "
              "reembolso?",
        "en": "{item} doesn't come in {variant}. We have: {sizes}. Which one would you like, or "
              "would you rather have a refund?",
    },
    "return_exchange_none_left": {
        "es": "{item} está agotado en todas las tallas, así que no puedo ofrecerte el cambio: te "
              "propongo el reembolso.",
        "en": "{item} is sold out in every size, so I can't offer the exchange: I suggest a "
              "refund instead.",
    },
    "return_exchange_unchecked": {
        "es": "Ahora mismo no puedo comprobar el stock de {item}, así que no te prometo la talla: "
              "te propongo el reembolso.",
        "en": "I can't check the stock of {item} right now, so I won't promise the size: I "
              "suggest a refund instead.",
    },
    "return_exchange_in_stock": {"es": "Hay stock de la {variant}.",
                                 "en": "{variant} is in stock."},
    "return_variant_size": {"es": "talla {size}", "en": "size {size}"},
    "return_variant_size_colour": {"es": "talla {size} en {colour}",
                                   "en": "size {size} in {colour}"},
    "return_exchange_note": {"es": "Cambio a la {variant} ({sku})",
                             "en": "Exchange for {variant} ({sku})"},
})
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
    return _match(returnable_candidates(order), text)


def match_returned(order: Order, text: str | None) -> list[OrderItem]:
    """Items that already have a return which ``text`` names (by name, SKU or word, never by a
    list number or "all"): they are told about that return instead of getting a second one."""
    done = order.returned_item_ids()
    return _match([i for i in order.items if i.id in done], text, everything=False)


def _match(items: list[OrderItem], text: str | None, *, everything: bool = True
           ) -> list[OrderItem]:
    if not text or not items:
        return []
    folded = _fold(text)
    if _ALL.match(folded):
        return items if everything else []
    by_name = [i for i in items if _fold(i.name) in [_fold(p) for p in text.split(";")]]
    if by_name:
        return by_name
    numbers = [int(n) for n in re.findall(r"\b(\d{1,2})\b", folded) if 1 <= int(n) <= len(items)]
    if everything and numbers and not re.search(
            r"[a-z]{4,}", re.sub(r"\b(el|la|numero|number|item|no)\b", "", folded)):
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
        if item.final_sale:
            flag = t("return_item_line_final_sale", lang)
        elif item.category in policy.non_returnable_categories:
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


def variant_label(size: str, colour: str | None, lang: str) -> str:
    """"talla 42" / "size 9 in black"."""
    if colour:
        return t("return_variant_size_colour", lang, size=size, colour=colour)
    return t("return_variant_size", lang, size=size)


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


def parse_exchange(value: str | None) -> tuple[str | None, str | None]:
    """``"size=42;colour=black"`` (the validated ``return_exchange`` slot) → ("42", "black")."""
    fields = dict(part.split("=", 1) for part in (value or "").split(";") if "=" in part)
    return fields.get("size"), fields.get("colour")


def exchange_slot(size: str, colour: str | None) -> str:
    return f"size={size}" + (f";colour={colour}" if colour else "")


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


@dataclass(frozen=True)
class StockCheck:
    """What the catalogue says about the size/colour asked for in an exchange."""

    outcome: str  # in_stock | sold_out | no_such_size | none_left | unchecked
    variant: ProductVariant | None = None
    nearest: tuple[str, ...] = ()


async def check_exchange_stock(store: StoreBackend, item: OrderItem, size: str,
                               colour: str | None, lang: str) -> StockCheck:
    """Look the ordered product up in the store's catalogue and check the wanted variant.

    The product is the catalogue entry whose SKU is the item's; when the store can't be asked or
    does not list it, the outcome is ``unchecked`` and no exchange is promised.
    """
    try:
        products = await store.search_products(item.sku, lang=lang, limit=3)
    except StoreError as exc:
        logger.warning("exchange stock check failed: %s", exc)
        return StockCheck("unchecked")
    product = next((p for p in products if p.sku.lower() == item.sku.lower()), None)
    if product is None or not product.variants:
        return StockCheck("unchecked")
    if not product.available:
        return StockCheck("none_left")
    wanted = (colour_of(colour) or fold(colour)) if colour else None  # "Negro", "black"...
    variants = [v for v in product.variants
                if wanted is None or same_colour(v.option("colour"), wanted)]
    matching = [v for v in variants if same_size(v.option("size"), size)]
    if not matching:
        pool = variants or list(product.variants)
        return StockCheck("no_such_size", nearest=tuple(nearest_sizes(pool, size)))
    in_stock = next((v for v in matching if v.available), None)
    if in_stock is not None:
        return StockCheck("in_stock", variant=in_stock)
    return StockCheck("sold_out", nearest=tuple(nearest_sizes(variants, size)))


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
