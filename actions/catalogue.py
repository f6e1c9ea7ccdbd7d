"""``action_product_question``: pre-sale questions answered from the store's own catalogue.

"¿tenéis las Urban Runner en la 42?", "¿hay la bota Chelsea en negro?", "is the Chelsea boot
waterproof?": the product is found in the catalogue of whatever store is connected
(``search_products`` on the demo store, WooCommerce, Tiendanube or Shopify), the size and colour
are read from the message, and the answer says what the catalogue says: stock and price of the
exact variant, the nearest sizes or other colours when it is sold out (a pre-sale question is a
sale to help along), the product page link, or the sentence of the product description that
answers the question. Policy questions in the same message ("¿y si no me quedan, puedo
cambiarlas?") are answered by the knowledge base afterwards; a message that names no product of
the catalogue goes to the knowledge base entirely. Nothing is invented: a fact the product sheet
does not state is said to be missing, with the link and a person offered.
"""

from __future__ import annotations

import logging
import re
from typing import Any

from rasa_sdk import Action, Tracker
from rasa_sdk.events import EventType, SlotSet
from rasa_sdk.executor import CollectingDispatcher

from actions.i18n import register, t
from actions.order_common import format_money, language, offer_human_buttons
from actions.store import Product, ProductVariant, StoreError, get_store
from actions.store.mapping import fold
from actions.store.search import COLOURS, colour_of, size_of

logger = logging.getLogger(__name__)

LOW_STOCK = 3  # "¡quedan solo 2!" below this many units

MESSAGES = {
    "catalogue_header": {"es": "{name}: {price}.", "en": "{name}: {price}."},
    "catalogue_price_from": {"es": "desde {price}", "en": "from {price}"},
    "catalogue_in_stock": {
        "es": "Sí, tenemos {name}{variant}: {price}.{units}",
        "en": "Yes, we have {name}{variant}: {price}.{units}",
    },
    "catalogue_units_low": {"es": " ¡Quedan solo {n}!", "en": " Only {n} left!"},
    "catalogue_units": {"es": " Quedan {n}.", "en": " {n} in stock."},
    "catalogue_variant_size": {"es": " en la talla {size}", "en": " in size {size}"},
    "catalogue_variant_colour": {"es": " en {colour}", "en": " in {colour}"},
    "catalogue_colour_units": {"es": "{colour} (quedan {n})", "en": "{colour} ({n} left)"},
    "catalogue_sold_out_both": {
        "es": "Lo siento, la talla {size} en {colour} está agotada ahora mismo.",
        "en": "Sorry, size {size} in {colour} is sold out right now.",
    },
    "catalogue_sold_out_size": {
        "es": "Lo siento, la talla {size} está agotada ahora mismo.",
        "en": "Sorry, size {size} is sold out right now.",
    },
    "catalogue_sold_out_colour": {
        "es": "Lo siento, en {colour} no nos queda stock ahora mismo.",
        "en": "Sorry, we have no stock left in {colour} right now.",
    },
    "catalogue_size_gone_in_colour": {
        "es": "En {colour} la talla {size} está agotada; en {colour} sí tenemos las tallas "
              "{sizes}.",
        "en": "In {colour}, size {size} is sold out; in {colour} we do have sizes {sizes}.",
    },
    "catalogue_other_sizes": {"es": "En {colour} sí tenemos las tallas {sizes}.",
                              "en": "In {colour} we do have sizes {sizes}."},
    "catalogue_other_sizes_any": {"es": "Sí tenemos las tallas {sizes}.",
                                  "en": "We do have sizes {sizes}."},
    "catalogue_other_colours": {"es": "En la talla {size} lo tenemos en {colours}.",
                                "en": "In size {size} we have it in {colours}."},
    "catalogue_unknown_colour": {
        "es": "No tenemos {name} en {colour}: los colores son {values}.",
        "en": "We don't make {name} in {colour}: the colours are {values}.",
    },
    "catalogue_unknown_size": {
        "es": "No tenemos {name} en la talla {size}: las tallas son {values}.",
        "en": "We don't make {name} in size {size}: the sizes are {values}.",
    },
    "catalogue_all_sold_out": {
        "es": "Ahora mismo no nos queda stock de {name} en ninguna talla ni color.",
        "en": "Right now we have no stock of {name} in any size or colour.",
    },
    "catalogue_sizes": {"es": "Tallas disponibles: {sizes}.", "en": "Sizes in stock: {sizes}."},
    "catalogue_colours": {"es": "Colores disponibles: {colours}.",
                          "en": "Colours in stock: {colours}."},
    "catalogue_fact": {"es": "Según la ficha de {name}: {facts}",
                       "en": "From the product page of {name}: {facts}"},
    "catalogue_fact_missing": {
        "es": "La ficha de {name} no dice nada sobre eso y no quiero inventármelo. Aquí la tienes "
              "completa, y si quieres te paso con una persona del equipo.",
        "en": "The product page of {name} says nothing about that and I don't want to guess. "
              "Here it is in full, and I can put you through to someone from the team.",
    },
    "catalogue_link": {"es": "Puedes verlo y comprarlo aquí: {url}",
                       "en": "You can see it and buy it here: {url}"},
    "catalogue_more": {
        "es": "¿Te ayudo con la talla, el envío o algo más?",
        "en": "Can I help with the size, delivery or anything else?",
    },
    "catalogue_not_found": {
        "es": "No encuentro ese producto en nuestro catálogo. ¿Me dices su nombre tal como "
              "aparece en la web?",
        "en": "I can't find that product in our catalogue. Could you tell me its name as it "
              "appears on the website?",
    },
    "catalogue_unavailable": {
        "es": "Lo siento, ahora mismo no puedo consultar el catálogo y no quiero darte un dato "
              "equivocado de stock. ¿Quieres que te pase con una persona del equipo?",
        "en": "Sorry, I can't check the catalogue right now and I don't want to give you wrong "
              "stock information. Would you like me to put you through to a person on our team?",
    },
}
register(MESSAGES)

# what the shopper may ask about a product -> words of the question / of the description
# (folded, both languages; a description sentence answers when it contains one of them)
FACTS: dict[str, tuple[str, ...]] = {
    "water": ("impermeab", "hidrofug", "agua", "lluvia", "moja", "charco", "sumerg", "nadar",
              "bucear", "waterproof", "water", "rain", "wet", "puddle", "swim", "div", "atm"),
    "material": ("material", "hech", "piel", "cuero", "algodon", "lana", "lino", "tela",
                 "tejido", "composic", "made", "fabric", "leather", "cotton", "wool",
                 "linen", "suede", "cashmere", "cachemira", "poliester", "polyester", "plata",
                 "silver", "acero", "steel"),
    "weight": ("pesa", "pesan", "peso", "gramo", "weigh", "gram"),
    "fit": ("horma", "tallan", "talla habitual", "estrech", "ancho", "fit", "run large",
            "run small", "narrow", "wide", "usual size", "media talla", "half a size"),
    "sole": ("suela", "sole", "agarre", "grip", "antidesliz", "non-slip"),
    "care": ("lava", "lavar", "wash", "limpi", "clean", "cuidado", "care", "seco", "dry"),
    "dimensions": ("medida", "tamano", "dimension", "cm", "mm"),
    "sun": ("uv", "polariz", "upf", "solar", "sun"),
    "use": ("correr", "running", "asfalto", "road", "montana", "hiking", "senderismo"),
}
_POLICY = ("envio", "envian", "devol", "devuelv", "cambi", "garant", "shipping", "deliver",
           "return", "exchange", "warrant", "refund", "reembols")
_LIST_SIZES = re.compile(r"\b(que|which|what)\s+(tallas|talles|numeros|sizes)\b")
_LIST_COLOURS = re.compile(r"\b(que|which|what)\s+(colou?res|colou?rs)\b|\bcolou?res\b")


def _mentions(text: str, words: tuple[str, ...]) -> bool:
    """Whether a word of ``text`` starts with one of ``words`` (accents and case ignored)."""
    folded = fold(text)
    return any(re.search(rf"\b{re.escape(w)}", folded) for w in words)


def asked_facts(text: str) -> list[str]:
    """Which product facts a question asks about (water, material, fit...)."""
    return [key for key, words in FACTS.items() if _mentions(text, words)]


def fact_sentences(product: Product, keys: list[str]) -> list[str]:
    """The description sentences that speak about ``keys`` (at most two, in order)."""
    sentences = [s.strip() for s in re.split(r"(?<=[.!?])\s+|\n", product.description)
                 if s.strip()]
    words = tuple(w for key in keys for w in FACTS[key])
    return [s for s in sentences if _mentions(s, words)][:2]


def same_size(a: str | None, b: str | None) -> bool:
    return bool(a and b) and a.strip().upper().replace(",", ".") == \
        b.strip().upper().replace(",", ".")  # type: ignore[union-attr]


def same_colour(variant_colour: str | None, wanted: str | None) -> bool:
    """"Negro" / "Black" / "negras" all mean black."""
    if not variant_colour or not wanted:
        return False
    return (colour_of(variant_colour) or fold(variant_colour)) == wanted


def _size_key(size: str) -> tuple[int, float | str]:
    try:
        return (0, float(size.replace(",", ".")))
    except ValueError:
        order = ["XXS", "XS", "S", "M", "L", "XL", "XXL"]
        return (1, order.index(size.upper()) if size.upper() in order else size)


def nearest_sizes(variants: list[ProductVariant], size: str, limit: int = 3) -> list[str]:
    """Sizes in stock closest to the one asked for (numbers by distance, others in order)."""
    sizes = list(dict.fromkeys(v.option("size") for v in variants
                               if v.available and v.option("size")))
    try:
        target = float(size.replace(",", "."))
        sizes.sort(key=lambda s: (abs(float(s.replace(",", ".")) - target), float(s)))
    except ValueError:
        sizes.sort(key=_size_key)  # type: ignore[arg-type]
    return sorted(sizes[:limit], key=_size_key)  # type: ignore[arg-type]


def units(variant: ProductVariant, lang: str) -> str:
    if variant.stock is None:
        return ""
    if variant.stock <= LOW_STOCK:
        return t("catalogue_units_low", lang, n=variant.stock)
    return t("catalogue_units", lang, n=variant.stock)


def join_words(values: list[str], lang: str) -> str:
    if len(values) <= 1:
        return "".join(values)
    return ", ".join(values[:-1]) + (" y " if lang == "es" else " and ") + values[-1]


def price_of(product: Product, lang: str) -> str:
    prices = sorted({v.price_cents for v in product.variants})
    if not prices:
        return "—"
    currency = product.variants[0].currency
    shown = format_money(prices[0], currency, lang)
    return shown if len(prices) == 1 else t("catalogue_price_from", lang, price=shown)


def _money_of(variants: list[ProductVariant], lang: str) -> str:
    cheapest = min(variants, key=lambda v: v.price_cents)
    return format_money(cheapest.price_cents, cheapest.currency, lang)


def availability(product: Product, size: str | None, colour: str | None, lang: str
                 ) -> list[str]:
    """What the catalogue says about this size and/or colour, with alternatives when sold out."""
    variants = list(product.variants)
    lines: list[str] = []
    names = {colour_of(c) or fold(c): c for c in product.option_values("colour")}
    sizes = product.option_values("size")
    if colour and names and colour not in names:
        asked = next((k for k, v in COLOURS.items() if v == colour), colour)
        lines.append(t("catalogue_unknown_colour", lang, name=product.name, colour=asked,
                       values=join_words(list(names.values()), lang)))
        colour = None
    if size and sizes and not any(same_size(s, size) for s in sizes):
        lines.append(t("catalogue_unknown_size", lang, name=product.name, size=size,
                       values=join_words(sizes, lang)))
        size = None
    if not size and not colour:
        return lines or summary(product, "", lang)
    shown = names.get(colour or "", colour or "")
    matching = [v for v in variants if (not size or same_size(v.option("size"), size))
                and (not colour or same_colour(v.option("colour"), colour))]
    in_stock = [v for v in matching if v.available]
    if size and colour:
        if in_stock:
            best = in_stock[0]
            lines.append(t("catalogue_in_stock", lang, name=product.name,
                           variant=t("catalogue_variant_size", lang, size=size)
                           + t("catalogue_variant_colour", lang, colour=shown),
                           price=_money_of(in_stock, lang), units=units(best, lang)))
            return lines
        lines.append(t("catalogue_sold_out_both", lang, size=size, colour=shown))
        others = [v.option("colour") for v in variants
                  if v.available and same_size(v.option("size"), size) and v.option("colour")]
        if others:
            lines.append(t("catalogue_other_colours", lang, size=size,
                           colours=join_words(list(dict.fromkeys(others)), lang)))
        nearby = nearest_sizes([v for v in variants if same_colour(v.option("colour"), colour)],
                               size)
        if nearby:
            lines.append(t("catalogue_other_sizes", lang, colour=shown,
                           sizes=join_words(nearby, lang)))
        return lines
    if size:
        if in_stock:
            coloured = [v for v in in_stock if v.option("colour")]
            variant = t("catalogue_variant_size", lang, size=size)
            if coloured:
                variant += t("catalogue_variant_colour", lang, colour=join_words(
                    [t("catalogue_colour_units", lang, colour=v.option("colour"), n=v.stock)
                     if v.stock is not None and v.stock <= LOW_STOCK else v.option("colour")
                     for v in coloured], lang))
                extra = ""
            else:
                extra = units(in_stock[0], lang)
            lines.append(t("catalogue_in_stock", lang, name=product.name, variant=variant,
                           price=_money_of(in_stock, lang), units=extra))
            for gone in (v for v in matching if not v.available and v.option("colour")):
                nearby = nearest_sizes([v for v in variants
                                        if v.option("colour") == gone.option("colour")], size)
                if nearby:
                    lines.append(t("catalogue_size_gone_in_colour", lang, size=size,
                                   colour=gone.option("colour"), sizes=join_words(nearby, lang)))
            return lines
        lines.append(t("catalogue_sold_out_size", lang, size=size))
        nearby = nearest_sizes(variants, size)
        if nearby:
            lines.append(t("catalogue_other_sizes_any", lang, sizes=join_words(nearby, lang)))
        return lines
    # colour only
    if in_stock:
        in_sizes = sorted(dict.fromkeys(v.option("size") for v in in_stock if v.option("size")),
                          key=_size_key)
        lines.append(t("catalogue_in_stock", lang, name=product.name,
                       variant=t("catalogue_variant_colour", lang, colour=shown),
                       price=_money_of(in_stock, lang),
                       units="" if in_sizes else units(in_stock[0], lang)))
        if in_sizes:
            lines.append(t("catalogue_sizes", lang, sizes=join_words(in_sizes, lang)))
        return lines
    lines.append(t("catalogue_sold_out_colour", lang, colour=shown))
    others = list(dict.fromkeys(v.option("colour") for v in variants
                                if v.available and v.option("colour")))
    if others:
        lines.append(t("catalogue_colours", lang, colours=join_words(others, lang)))
    return lines


def summary(product: Product, text: str, lang: str) -> list[str]:
    """No size/colour asked: price, and the sizes/colours in stock."""
    lines = [t("catalogue_header", lang, name=product.name, price=price_of(product, lang))]
    if not product.available:
        return [t("catalogue_all_sold_out", lang, name=product.name)]
    folded = fold(text)
    sizes = sorted(dict.fromkeys(v.option("size") for v in product.variants
                                 if v.available and v.option("size")), key=_size_key)
    colours = list(dict.fromkeys(v.option("colour") for v in product.variants
                                 if v.available and v.option("colour")))
    want_sizes, want_colours = _LIST_SIZES.search(folded), _LIST_COLOURS.search(folded)
    if sizes and (want_sizes or not want_colours):
        lines.append(t("catalogue_sizes", lang, sizes=join_words(sizes, lang)))
    if colours and (want_colours or not want_sizes):
        lines.append(t("catalogue_colours", lang, colours=join_words(colours, lang)))
    return lines


def answer(product: Product, text: str, size: str | None, colour: str | None, lang: str
           ) -> tuple[list[str], bool]:
    """The reply lines about ``product`` and whether a person should be offered."""
    if colour and colour in {colour_of(w) for w in re.findall(r"\w+", product.name)}:
        colour = None  # "vaqueros Índigo": part of the name, not a colour asked for
    name_words = {fold(w) for w in re.findall(r"\w+", product.name)}
    question = " ".join(w for w in re.findall(r"\w+", text) if fold(w) not in name_words)
    facts = asked_facts(question)  # "bolso de cuero": the name, not a question about leather
    if facts:
        found = fact_sentences(product, facts)
        if not found:
            return [t("catalogue_fact_missing", lang, name=product.name)], True
        return [t("catalogue_fact", lang, name=product.name, facts=" ".join(found))], False
    if size or colour:
        return availability(product, size, colour, lang), False
    return summary(product, text, lang), False


class ActionProductQuestion(Action):
    def name(self) -> str:
        return "action_product_question"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker,
                  domain: dict[str, Any]) -> list[EventType]:
        lang = language(tracker)
        text = tracker.latest_message.get("text") or ""
        size = size_of(next(tracker.get_latest_entity_values("product_size"), None)) \
            or size_of(text)
        colour = colour_of(next(tracker.get_latest_entity_values("product_colour"), None)) \
            or colour_of(text)
        store = get_store()
        try:
            products = await store.search_products(text, lang=lang, limit=3)
            previous = tracker.get_slot("product")
            if not products and previous and (size or colour):  # "¿y en negro?"
                products = await store.search_products(previous, lang=lang, limit=1)
        except StoreError as exc:
            logger.warning("catalogue lookup failed: %s", exc)
            dispatcher.utter_message(text=t("catalogue_unavailable", lang),
                                     buttons=offer_human_buttons(lang))
            return [SlotSet("handoff_reason", "backend_error")]
        if not products:
            if size or colour:
                dispatcher.utter_message(text=t("catalogue_not_found", lang))
                return [SlotSet("product", None)]
            return await self._knowledge_base(dispatcher, tracker, domain)  # not a product
        product = products[0]
        lines, human = answer(product, text, size, colour, lang)
        if product.url:
            lines.append(t("catalogue_link", lang, url=product.url))
        policy = _mentions(text, _POLICY)
        if not human and not policy:
            lines.append(t("catalogue_more", lang))
        dispatcher.utter_message(text="\n".join(lines),
                                 buttons=offer_human_buttons(lang) if human else [])
        events: list[EventType] = [SlotSet("product", product.name),
                                   SlotSet("product_size", size),
                                   SlotSet("product_colour", colour)]
        if policy:  # "...y si no me quedan, ¿puedo cambiarlas?": the policy is the KB's
            events += await self._knowledge_base(dispatcher, tracker, domain)
        return events

    @staticmethod
    async def _knowledge_base(dispatcher: CollectingDispatcher, tracker: Tracker,
                              domain: dict[str, Any]) -> list[EventType]:
        from actions.kb_answer import ActionAnswerFromKB

        return list(await ActionAnswerFromKB().run(dispatcher, tracker, domain))
