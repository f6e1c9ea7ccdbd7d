"""Which order items a return can take and which ones the shopper means.

The shopper names the item in their own words ("las zapatillas", "the 2nd one", "todo"); the
return form's validator and ``action_create_return`` both use :func:`match_items`, so what the form
accepted is what gets returned.
"""

from __future__ import annotations

import re
import unicodedata

import actions.return_texts  # noqa: F401 - registers the return texts
from actions.i18n import t
from actions.order_common import format_money
from actions.policy_markets import market_policy
from actions.store import Order, OrderItem

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

