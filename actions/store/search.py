"""Finding the product a shopper means in their own words, the same way on every backend.

Shoppers write "¿tenéis las Urban Runner en la 42?" or "is the Chelsea boot waterproof?", not a
product id. :func:`search_terms` keeps the words that can name a product (dropping question words,
sizes, colours and the attribute asked about), the adapters ask their platform's search with those
terms, and :func:`rank` orders what came back by how well each product's name matches, so "bota
chelsea" finds "Botas Chelsea de piel" whatever the platform's own search thinks.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

from actions.store.base import Product
from actions.store.mapping import fold

# Words that never name a product: question and filler words in Spanish (Spain and Latin America)
# and English, size/stock/price vocabulary, and the attributes shoppers ask about.
STOPWORDS = frozenset("""
a al algo alguna alguno algun an and any are as at bien buenas buenos but can cual cuales cuanto
cuanta cuantos cuantas cuesta cuestan de del do does el ella en es esa ese eso esta estan estas
este esto estos for from ha hay have he hola i in is it la las le les lo los me mi mis my no nos o
of on or para pero por precio price puedo que quiero se si sin so son su sus te tei teneis tenes
tenei tengo tiene tienen tienes the their them they this those to tu tus un una uno unos unas vale
vendeis venden vendes was we what which will with would y ya you your hi hello hey please porfa
favor gracias thanks dime decidme sabeis sabes saber know tell want need necesito busco looking
ahora todavia aun still quedan queda quedaria left stock disponible disponibles available
talla tallas talle talles numero numeros size sizes color colores colour colours tono
en_la pie pies foot feet usa us eu uk par pares pair pairs modelo model producto product
articulo item items cuanto_cuesta how much many cost costs costar
impermeable impermeables waterproof agua water lluvia rain material materiales materials hecho
hechas hechos made fabric tela tejido composicion pesan peso weigh weight horma fit fits tallan
run runs grande grandes small pequeno pequena pequenos pequenas ancho wide estrecho narrow lavar
wash washing lavadora care cuidado suela sole forro lining calidos warm calido transpirable
breathable resistente resistant
""".split())

# colour words (folded) -> the same colour in both languages, for matching variant options
COLOURS: dict[str, str] = {
    "negro": "black", "negra": "black", "negros": "black", "negras": "black", "black": "black",
    "blanco": "white", "blanca": "white", "blancos": "white", "blancas": "white", "white": "white",
    "marron": "brown", "marrones": "brown", "cafe": "brown", "brown": "brown",
    "azul": "blue", "azules": "blue", "blue": "blue", "marino": "navy", "navy": "navy",
    "gris": "grey", "grises": "grey", "grey": "grey", "gray": "grey",
    "verde": "green", "verdes": "green", "green": "green",
    "rojo": "red", "roja": "red", "rojos": "red", "rojas": "red", "red": "red",
    "amarillo": "yellow", "amarilla": "yellow", "yellow": "yellow",
    "rosa": "pink", "rosas": "pink", "pink": "pink",
    "beige": "beige", "camel": "tan", "tan": "tan",
    "terracota": "terracotta", "terracotta": "terracotta",
    "plata": "silver", "silver": "silver", "acero": "steel", "steel": "steel",
    "carey": "tortoiseshell", "tortoiseshell": "tortoiseshell",
    "indigo": "indigo", "morado": "purple", "morada": "purple", "purple": "purple",
    "naranja": "orange", "orange": "orange", "dorado": "gold", "gold": "gold",
}

_SIZE_RE = re.compile(
    r"\b(?:talla|talle|numero|size|n[ºo°])(?:\s*(\d{1,2}(?:[.,]5)?)|\s+(xxs|xs|s|m|l|xl|xxl))\b"
    r"|\b(?:en\s+(?:la|el|una|un)|in\s+(?:a|an|size)|la|el|del|a)\s+(\d{1,2}(?:[.,]5)?)\b"
    r"(?!\s*(?:de|%|euros?|eur|dias|days|pares|pairs|unidades|units))"
    r"|\b(\d{2}(?:[.,]5)?)\b(?!\s*(?:%|euros?|eur|dias|days|pares|pairs))",
    re.IGNORECASE)
_ALPHA = {"xxs", "xs", "s", "m", "l", "xl", "xxl"}


def words(text: str) -> list[str]:
    return re.findall(r"[a-z0-9]+(?:-[a-z0-9]+)*", fold(text))


def colour_of(text: str | None) -> str | None:
    """The colour named in ``text`` as an English key ("negro" -> "black"), or None."""
    for word in words(text or ""):
        if word in COLOURS:
            return COLOURS[word]
    return None


def size_of(text: str | None) -> str | None:
    """The size asked about: "en la 42" -> "42", "talla M" -> "M", "size 9.5" -> "9.5"."""
    folded = fold(text or "")
    for match in _SIZE_RE.finditer(folded):
        number, letters, preposition, bare = match.groups()
        if number or letters:
            return number.replace(",", ".") if number else letters.upper()
        value = (preposition or bare).replace(",", ".")
        if preposition or 16 <= float(value) <= 50:
            return value
    return None


def search_terms(text: str) -> list[str]:
    """The words of ``text`` that may name a product, in their original order."""
    out = []
    for word in words(text):
        if word in STOPWORDS or word in COLOURS or word in _ALPHA or word.isdigit():
            continue
        if len(word) < 3 and not re.match(r"^[a-z]{1,3}-?\d", word):
            continue
        out.append(word)
    return list(dict.fromkeys(out))


def platform_terms(text: str) -> list[str]:
    """The same words as :func:`search_terms`, as the shopper spelt them (lower case, accents
    kept) for the platform's own search: "Bañador" is not found by "banador" everywhere."""
    kept = set(search_terms(text))
    out = []
    for word in re.findall(r"[^\W_]+(?:-[^\W_]+)*", text.lower()):
        if fold(word) in kept and word not in out:
            out.append(word)
    return out


def query_variants(terms: list[str], limit: int = 3) -> list[str]:
    """What to ask a platform's search, in order: all the words, then each word alone (longest
    first), since platform searches AND their words ("chelsea boot" finds no "Botas Chelsea")."""
    variants = [" ".join(terms), *sorted(terms, key=len, reverse=True)]
    return list(dict.fromkeys(variants))[:limit]


def _stem(word: str) -> str:
    """Cheap plural/gender folding for es/en names: botas -> bota, runners -> runner."""
    for suffix in ("es", "s"):
        if len(word) > 4 and word.endswith(suffix):
            return word[: -len(suffix)]
    return word


def score(product: Product, terms: Iterable[str]) -> float:
    """How well ``terms`` name ``product``: exact SKU beats name words; 0 means no match."""
    terms = list(terms)
    if not terms:
        return 0.0
    sku = product.sku.lower()
    if any(t == sku or t == v.sku.lower() for t in terms for v in product.variants):
        return 100.0
    name_words = {_stem(w) for w in words(product.name) if w not in STOPWORDS}
    hits = sum(1 for t in terms if _stem(t) in name_words)
    if not hits:
        return 0.0
    # all name words matched ranks above a partial match with the same hits
    coverage = hits / max(len(name_words), 1)
    return hits + coverage


def rank(products: Iterable[Product], text: str, limit: int = 5) -> list[Product]:
    """``products`` that match ``text``, best first (ties keep the platform's order)."""
    terms = search_terms(text)
    scored = [(score(p, terms), n, p) for n, p in enumerate(products)]
    best = sorted((s for s in scored if s[0] > 0), key=lambda s: (-s[0], s[1]))
    unique: dict[str, Product] = {}
    for _, _, product in best:
        unique.setdefault(product.id, product)
    return list(unique.values())[:limit]
