"""Plain functions that turn a platform's values into Atiende's: money, dates, markets, languages,
payment methods, product categories and option names.

Every adapter (and, later, the order-event webhooks) goes through these, so "what a WooCommerce
``bacs`` payment is" or "which category a ``Botas Chelsea`` line is" is decided in one place.
Nothing here does I/O; everything is unit-tested on its own.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable, Mapping
from datetime import UTC, datetime
from decimal import Decimal, InvalidOperation

from actions.store.base import Customer

#: markets with a policy file (data/policies/*.yml); other countries use the default market
MARKET_COUNTRIES = {"ES", "MX", "AR", "CO", "US", "GB"}
ENGLISH_MARKETS = {"US", "GB"}


def fold(text: str | None) -> str:
    """Lower case without accents: "Botín Marrón" -> "botin marron"."""
    decomposed = unicodedata.normalize("NFKD", text or "")
    return "".join(c for c in decomposed if not unicodedata.combining(c)).lower().strip()


def to_cents(amount: object) -> int:
    """``"89.90"`` / ``89.9`` / ``"5190"`` -> minor units; platforms send money as decimal text."""
    if amount is None or amount == "":
        return 0
    try:
        value = Decimal(str(amount).replace(",", "")) if not isinstance(amount, Decimal) else amount
    except InvalidOperation:
        raise ValueError(f"not an amount: {amount!r}") from None
    return int((value * 100).quantize(Decimal(1)))


def parse_datetime(value: object, *, naive_tz: object = UTC) -> datetime | None:
    """ISO 8601 in the spellings platforms use (``Z``, ``+0000``, ``-03:00``, no zone = GMT)."""
    if value in (None, "", False):
        return None
    text = str(value).strip().replace("Z", "+00:00")
    text = re.sub(r"([+-]\d{2})(\d{2})$", r"\1:\2", text)  # +0000 -> +00:00 (Tiendanube)
    text = text.replace(" ", "T", 1) if re.match(r"\d{4}-\d{2}-\d{2} \d", text) else text
    try:
        parsed = datetime.fromisoformat(text)
    except ValueError:
        raise ValueError(f"not a date-time: {value!r}") from None
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=naive_tz)  # type: ignore[arg-type]
    return parsed.astimezone(UTC)


def market_for(country: str | None, default: str) -> str:
    """The policy market of an ISO country code; other countries get the store's default."""
    code = (country or "").strip().upper()
    return code if code in MARKET_COUNTRIES else default


def language_for(raw: str | None, market: str) -> str:
    """``es``/``en`` from a locale (``es-AR``, ``en``, ``pt-BR``...), else from the market."""
    code = (raw or "").strip().lower()[:2]
    if code in {"es", "en"}:
        return code
    return "en" if market in ENGLISH_MARKETS else "es"


# Atiende's payment method codes (actions/order_common.py labels, policy refund timelines) and
# the words platforms use for them (gateway ids, titles). First match wins; order matters.
_PAYMENT_WORDS: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("cash_on_delivery", ("cod", "cash on delivery", "contra entrega", "contrareembolso",
                          "contra reembolso", "pago contra", "cash_on_delivery", "efectivo")),
    ("mercadopago", ("mercado pago", "mercadopago", "mercado_pago", "woo-mercado-pago")),
    ("paypal", ("paypal", "ppcp", "ppec")),
    ("bizum", ("bizum",)),
    ("oxxo", ("oxxo",)),
    ("pse", ("pse",)),
    ("nequi", ("nequi",)),
    ("apple_pay", ("apple pay", "apple_pay")),
    ("google_pay", ("google pay", "google_pay")),
    ("bank_transfer", ("bacs", "bank", "transfer", "transferencia", "deposit", "cheque",
                       "wire", "offline", "manual")),
    ("card", ("card", "tarjeta", "stripe", "redsys", "shopify_payments", "shopify payments",
              "woocommerce_payments", "credit", "debit", "adyen", "braintree", "square")),
)


def payment_method_for(*raw: str | None) -> str:
    """Atiende's code for a platform's payment gateway id/title; unknown gateways count as card."""
    for value in raw:
        text = fold(value).replace("-", " ")
        if not text:
            continue
        for code, words in _PAYMENT_WORDS:
            if any(re.search(rf"(?<![a-z]){re.escape(w)}(?![a-z])", text) for w in words):
                return code
    return "card"


# Policy categories (actions/policy.py) from product names, types, categories or tags.
_CATEGORY_WORDS: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("gift_card", ("tarjeta regalo", "gift card", "giftcard", "cheque regalo")),
    ("personalised", ("personaliz", "grabad", "engraved", "personalis", "monogram")),
    ("swimwear", ("banador", "bikini", "malla", "swim", "traje de bano")),
    ("underwear", ("calcet", "ropa interior", "underwear", "sock", "lenceria", "boxer")),
    ("footwear", ("zapat", "bota", "botin", "calzado", "tenis", "sandalia", "shoe", "sneaker",
                  "trainer", "boot", "runner", "footwear", "mocasin", "loafer")),
    ("accessories", ("bolso", "gafas", "reloj", "cartera", "cinturon", "bag", "sunglasses",
                     "watch", "wallet", "belt", "accesorio", "accessor")),
)


def category_for(*texts: str | None, overrides: Mapping[str, str] | None = None) -> str:
    """The policy category of a product from its names/types/categories/tags.

    ``overrides`` (``STORE_CATEGORY_MAP``: platform category or type -> policy category) win over
    the built-in words; anything unrecognised is ``apparel``, the most common and least strict.
    """
    folded = [fold(t) for t in texts if t]
    for text in folded:
        for key, category in (overrides or {}).items():
            if fold(key) == text or fold(key) in text.split(","):
                return category
    for category, words in _CATEGORY_WORDS:
        if any(w in text for text in folded for w in words):
            return category
    return "apparel"


_OPTION_NAMES = {
    "size": ("talla", "talle", "size", "numero", "tamano", "medida", "pa_talla", "pa_size",
             "pa_talle", "tallas", "sizes"),
    "colour": ("color", "colour", "colores", "colors", "pa_color", "pa_colour", "cor"),
}


def option_key(name: str | None) -> str:
    """``size`` / ``colour`` for the option names stores use (Talla, Talle, Size, pa_color...);
    other option names are kept, folded."""
    folded = fold(name)
    for key, names in _OPTION_NAMES.items():
        if folded in names:
            return key
    return folded or "option"


def join_address(*parts: object) -> str:
    """One line from address parts, skipping blanks and repeats."""
    seen: list[str] = []
    for part in parts:
        text = " ".join(str(part or "").split())
        if text and text not in seen:
            seen.append(text)
    return ", ".join(seen)


def html_to_text(html: str | None) -> str:
    """Product descriptions arrive as HTML; shoppers get plain sentences."""
    text = re.sub(r"<\s*(br|/p|/li|/h\d)\s*/?>", "\n", html or "", flags=re.IGNORECASE)
    text = re.sub(r"<[^>]+>", " ", text)
    text = (text.replace("&nbsp;", " ").replace("&amp;", "&").replace("&ndash;", "–")
            .replace("&quot;", '"').replace("&#39;", "'"))
    return "\n".join(" ".join(line.split()) for line in text.splitlines() if line.strip())


def pick_language(value: object, lang: str, fallback: str = "es") -> str:
    """A multilingual field (Tiendanube ``{"es": ..., "pt": ...}``) in ``lang``, else any."""
    if isinstance(value, Mapping):
        for key in (lang, fallback, *value.keys()):
            if value.get(key):
                return str(value[key])
        return ""
    return str(value or "")


def order_digits(order_id: str) -> str:
    """The number part of Atiende's canonical id: ``AT101003`` -> ``101003``."""
    return re.sub(r"\D", "", order_id)


def numbers_match(platform_number: object, order_id: str, prefix: str = "") -> bool:
    """Whether a platform's order number/name (``101003``, ``#101003``, ``AT101003``) is the order
    the shopper named; a configured prefix (``STORE_ORDER_PREFIX``) may precede the digits."""
    text = str(platform_number or "").strip().lstrip("#").strip()
    if prefix and text.upper().startswith(prefix.upper()):
        text = text[len(prefix):]
    text = re.sub(r"^AT[\s-]?", "", text, flags=re.IGNORECASE)
    return bool(text) and text == order_digits(order_id)


def canonical_order_id(number: object) -> str:
    """Atiende's id for a platform's order number/name (``101003``, ``#101003`` -> ``AT101003``);
    numbers Atiende cannot read are kept as the platform writes them."""
    from actions.store import normalize_order_id

    text = str(number or "").strip()
    return normalize_order_id(text) or text


def customer_from(*, cid: object, name: str, email: str, phone: str, country: str | None,
                  locale: str | None, default_market: str, vip: bool = False) -> Customer:
    """A :class:`Customer` with market and language derived the same way on every platform."""
    market = market_for(country, default_market)
    try:
        numeric = int(re.sub(r"\D", "", str(cid or "")) or 0)
    except ValueError:  # pragma: no cover - re.sub leaves digits only
        numeric = 0
    return Customer(id=numeric, name=" ".join(name.split()), email=(email or "").strip(),
                    phone=(phone or "").strip(), language=language_for(locale, market),
                    market=market, vip=vip)


def gid_number(gid: object) -> int:
    """``gid://shopify/LineItem/123`` -> 123 (Shopify's global ids end with the numeric id)."""
    digits = re.findall(r"\d+", str(gid or ""))
    return int(digits[-1]) if digits else 0


def first(values: Iterable[object]) -> str:
    """The first non-empty value as text ("" when none)."""
    return next((str(v) for v in values if v not in (None, "")), "")


_POSTCODE = re.compile(r"\b([A-Z]?\d{4,5}(?:-\d{4})?[A-Z]{0,3})\b")


def split_address(line: str, country: str | None = None) -> dict[str, str]:
    """A one-line address as typed by a shopper, split into the fields platforms store.

    "Calle Mayor 5, 2º A, 28013 Madrid" -> address1 "Calle Mayor 5", address2 "2º A", postcode
    "28013", city "Madrid"; "245 W 17th St, Apt 4C, New York, NY 10011" -> state "NY". A line it
    cannot read goes whole into ``address1``: the order still carries exactly what was typed, and
    :func:`format_address` gives the same line back.
    """
    parts = [p.strip() for p in line.split(",") if p.strip()]
    fields = {"address1": "", "address2": "", "postcode": "", "city": "", "state": ""}
    if len(parts) < 2:
        fields["address1"] = " ".join(line.split())
        return fields
    last = parts[-1]
    match = _POSTCODE.search(last)
    if (country or "").upper() == "US" or re.fullmatch(r"[A-Z]{2}\s+\d{5}(-\d{4})?", last):
        if match and len(parts) >= 3:
            fields["state"] = last[: match.start()].strip()
            fields["postcode"] = match.group(1)
            fields["city"] = parts[-2]
            fields["address1"], fields["address2"] = parts[0], ", ".join(parts[1:-2])
            return fields
    if match and last.startswith(match.group(1)):
        fields["postcode"] = match.group(1)
        fields["city"] = last[match.end():].strip()
    else:
        fields["city"] = last
    fields["address1"], fields["address2"] = parts[0], ", ".join(parts[1:-1])
    return fields


def format_address(*, address1: str = "", address2: str = "", postcode: str = "", city: str = "",
                   state: str = "") -> str:
    """The one-line address shown to shoppers, the inverse of :func:`split_address`."""
    if state and postcode and re.fullmatch(r"[A-Z]{2}", state.strip()):
        return join_address(address1, address2, city, f"{state} {postcode}")
    return join_address(address1, address2, " ".join(filter(None, (postcode, city))), state)


def same_address(a: str | None, b: str | None) -> bool:
    """Whether two one-line addresses say the same, ignoring case, accents and punctuation."""
    def key(text: str | None) -> str:
        return " ".join(re.findall(r"[a-z0-9]+", fold(text)))
    return bool(key(a)) and key(a) == key(b)
