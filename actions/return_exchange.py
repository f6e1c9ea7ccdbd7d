"""Free size/colour exchanges: the ``return_exchange`` slot format, how a variant is named and
the catalogue stock check done before an exchange is offered or created."""

from __future__ import annotations

import logging
from dataclasses import dataclass

import actions.return_texts  # noqa: F401 - registers the return texts
from actions.catalogue import nearest_sizes, same_colour, same_size
from actions.i18n import t
from actions.store import OrderItem, ProductVariant, StoreBackend, StoreError
from actions.store.mapping import fold
from actions.store.search import colour_of

logger = logging.getLogger("actions.return_exchange")


def variant_label(size: str, colour: str | None, lang: str) -> str:
    """"talla 42" / "size 9 in black"."""
    if colour:
        return t("return_variant_size_colour", lang, size=size, colour=colour)
    return t("return_variant_size", lang, size=size)


def parse_exchange(value: str | None) -> tuple[str | None, str | None]:
    """``"size=42;colour=black"`` (the validated ``return_exchange`` slot) → ("42", "black")."""
    fields = dict(part.split("=", 1) for part in (value or "").split(";") if "=" in part)
    return fields.get("size"), fields.get("colour")


def exchange_slot(size: str, colour: str | None) -> str:
    return f"size={size}" + (f";colour={colour}" if colour else "")


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

