"""Choosing the passage that answers, once the article is chosen.

Retrieval ranks *articles*; the shopper reads one *passage*. The most similar section to the
question is not always the one that answers it: "¿cuánto tarda el reembolso?" is close to every
section of the refund article, and the demo quoted "Si no ves el dinero…" instead of the table of
days by payment method. So passages are ranked by how well they answer:

- the question against the passage (title + heading + text, what article retrieval scored);
- the question against the passage's **heading** alone: a help article's headings are the
  sub-questions it answers ("Cobro duplicado", "¿Devolución en tienda física?"), so this is the
  question-to-question signal inside an article;
- BM25 on the question's words;
- the **kind of answer** asked for: "how long / cuánto tarda / cuándo" wants a duration, "how much /
  cuánto cuesta" an amount — a passage that holds none cannot answer;
- the **things named**: a zone, a country or a payment method named in the question ("Baleares",
  "PayPal", "Argentina") should be named in the passage;
- a small prior for the article's opening paragraph, which states the direct answer;
- an **amount above a section's threshold**: "mi reembolso es de 900 €" belongs under
  "Reembolsos de más de 500 €" — a heading that sets a threshold the question's amount passes.

Weights were chosen by grid search on ``tests/data/kb_passages.jsonl``; the weights best on
one random half score 0.841 on the other half (reports/kb/README.md).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache

import numpy as np

from kb_index.documents import Chunk
from kb_index.lexical import strip_accents


@dataclass(frozen=True)
class PassageWeights:
    full: float = 0.5  # cosine(question, title + heading + text)
    heading: float = 0.25  # cosine(question, heading) (the title for the opening paragraph)
    bm25: float = 0.05  # raw BM25 of the chunk
    kind: float = 0.05  # the passage holds the kind of figure asked for (subtracted if not)
    named: float = 0.3  # share of the question's named things the passage names
    lead: float = 0.03  # the article's opening paragraph
    #: the question's amount passes the heading's threshold: as strong as a named thing
    threshold: float = 0.3


WEIGHTS = PassageWeights()

_DURATION = re.compile(
    r"\b\d+(?:\s?(?:–|-|a|to)\s?\d+)?\s?(?:h\b|horas?|hours?|d[ií]as?|days?|semanas?|weeks?|"
    r"meses|months?|a[nñ]os|years?|minutos|minutes|business days|working days)"
    r"|\b\d{1,2}:\d{2}\b", re.IGNORECASE)  # and clock times: "de 9:00 a 20:00"
_MONEY = re.compile(r"(?:€|£|\$|\b(?:EUR|USD|MXN|ARS|COP|GBP)\b)", re.IGNORECASE)
_NUMBER = r"(\d{1,3}(?:[.,\s]\d{3})+|\d+)(?:[.,](\d{1,2}))?"
_CURRENCY = (r"(?:€|£|\$|eur(?:os?)?\b|usd\b|mxn\b|ars\b|cop\b|gbp\b|d[oó]lar(?:es)?\b|"
             r"dollars?\b|pesos?\b|libras?\b|pounds?\b)")
#: An amount of money in a question: "900 €", "€900", "1.200 euros", "$ 50".
_AMOUNT = re.compile(rf"(?:{_CURRENCY}\s?{_NUMBER}|{_NUMBER}\s?{_CURRENCY})", re.IGNORECASE)
#: A threshold in a heading: "más de 500 €", "over €500", "a partir de 50 €".
_THRESHOLD = re.compile(r"\b(?:m[aá]s de|over|above|more than|a partir de|desde|from|"
                        r"superiores? a)\s+(?P<amount>.{0,12})", re.IGNORECASE)


def _amounts(text: str) -> tuple[float, ...]:
    out = []
    for m in _AMOUNT.finditer(text):
        whole, cents = (m.group(1), m.group(2)) if m.group(1) else (m.group(3), m.group(4))
        value = float(re.sub(r"[.,\s]", "", whole))
        out.append(value + (float(f"0.{cents}") if cents else 0.0))
    return tuple(out)


def heading_threshold(heading: str) -> float | None:
    """The amount a heading sets as a threshold ("Pedidos de más de 500 €" → 500.0)."""
    for m in _THRESHOLD.finditer(heading):
        amounts = _amounts(m.group("amount"))
        if amounts:
            return amounts[0]
    return None

_ASKS_DURATION = {
    "es": re.compile(r"\b(?:tarda\w*|demora\w*|cu[aá]nto tiempo|cu[aá]ntos d[ií]as|cu[aá]ndo|"
                     r"plazo\w*|en cu[aá]nto|hasta cu[aá]ndo|d[ií]as h[aá]biles|horario|"
                     r"a qu[eé] hora)\b", re.IGNORECASE),
    "en": re.compile(r"\b(?:how long|how many days|how soon|when|until when|take[s]?|days?|"
                     r"hours?|what time|opening hours)\b", re.IGNORECASE),
}
_ASKS_MONEY = {
    "es": re.compile(r"\b(?:cu[aá]nto (?:cuesta|vale|es|cobr\w*|me cobr\w*)|precio|coste|costo|"
                     r"recargo|gratis|importe|cu[aá]nto me|a partir de cu[aá]nto|desde cu[aá]nto|"
                     r"descuent\w*)\b", re.IGNORECASE),
    "en": re.compile(r"\b(?:how much|cost\w*|price|fee|free|charge\w*|threshold|minimum|"
                     r"deduct\w*)\b", re.IGNORECASE),
}

#: Things a question can name whose answer differs by thing: zones, countries, payment methods.
#: Each group lists the ways shoppers and articles write one thing (accents folded, lower case).
NAMED = [
    ("peninsula", "peninsular", "mainland", "madrid", "sevilla", "barcelona", "valencia"),
    ("baleares", "balearic", "balearics", "mallorca", "majorca", "menorca", "ibiza"),
    ("canarias", "canary", "canaries", "tenerife", "gran canaria", "ceuta", "melilla"),
    ("mexico", "mexicano", "cdmx", "ciudad de mexico", "mexico city", "guadalajara",
     "monterrey", "oxxo", "cfdi", "meses sin intereses"),
    ("argentina", "argentino", "buenos aires", "cuotas", "factura a", "responsable inscripto"),
    ("colombia", "colombiano", "bogota", "pse", "nequi", "contra entrega", "dian",
     "habeas data"),
    ("estados unidos", "ee. uu", "eeuu", "usa", "united states", "the us", "new york",
     "nueva york", "ups"),
    ("reino unido", "united kingdom", "uk", "londres", "london", "britanico", "british"),
    ("espana", "spain", "spanish", "aepd", "rgpd", "gdpr", "nif", "cif", "bizum", "seur"),
    ("paypal",),
    ("tarjeta", "card", "visa", "mastercard", "amex"),
    ("transferencia", "bank transfer", "transfer"),
    ("contra reembolso", "cash on delivery", "efectivo", "cash"),
    ("vip",),
    ("black friday", "navidad", "christmas", "diciembre", "december"),
]


@lru_cache(maxsize=1)
def _named_patterns() -> list[re.Pattern[str]]:
    return [re.compile(r"\b(?:" + "|".join(re.escape(w) for w in group) + r")\b")
            for group in NAMED]


def _fold(text: str) -> str:
    return strip_accents(text.lower())


def named_groups(text: str) -> frozenset[int]:
    """Which :data:`NAMED` groups a text mentions."""
    folded = _fold(text)
    return frozenset(i for i, p in enumerate(_named_patterns()) if p.search(folded))


def asked_kinds(query: str, lang: str | None) -> tuple[bool, bool]:
    """(asks for a duration, asks for an amount)."""
    langs = [lang] if lang in ("es", "en") else ["es", "en"]
    return (any(_ASKS_DURATION[x].search(query) for x in langs),
            any(_ASKS_MONEY[x].search(query) for x in langs))


@dataclass(frozen=True)
class PassageFacts:
    """What a passage holds, computed once at load time."""

    has_duration: bool
    has_money: bool
    named: frozenset[int]
    lead: bool
    threshold: float | None = None


def passage_facts(chunks: Sequence[Chunk]) -> list[PassageFacts]:
    first: set[str] = set()
    out = []
    for chunk in chunks:
        key = f"{chunk.lang}/{chunk.article_id}"
        text = f"{chunk.heading}\n{chunk.text}"
        out.append(PassageFacts(bool(_DURATION.search(text)), bool(_MONEY.search(text)),
                                named_groups(text), key not in first,
                                heading_threshold(chunk.heading)))
        first.add(key)
    return out


def heading_text(chunk: Chunk) -> str:
    """What the heading vector encodes: the section's heading without the words it shares with
    the article's title ("Devoluciones de compras hechas con tarjeta regalo" in "Tarjetas regalo"
    → "Devoluciones de compras hechas con"), so a heading that repeats the article's topic does
    not pull every question about that topic; the title itself for the opening paragraph."""
    if not chunk.heading or chunk.heading == chunk.title:
        return chunk.title
    title = {_fold(w)[:5] for w in re.findall(r"\w+", chunk.title) if len(w) >= 4}
    words = re.findall(r"\w+|[^\w\s]+", chunk.heading)
    kept = [w for w in words if not (len(w) >= 4 and _fold(w)[:5] in title)]
    text = " ".join(kept).strip()
    return text if re.search(r"\w{3,}", text) else chunk.heading


@dataclass(frozen=True)
class QuestionNeeds:
    """What a question asks for, computed once per search."""

    time: bool
    money: bool
    named: frozenset[int]
    amounts: tuple[float, ...] = ()


def question_needs(query: str, lang: str | None) -> QuestionNeeds:
    time, money = asked_kinds(query, lang)
    return QuestionNeeds(time, money, named_groups(query), _amounts(query))


def score_passages(rows: Sequence[int], query: str, lang: str | None, heading_cos: np.ndarray,
                   full_cos: np.ndarray, bm25: np.ndarray, facts: Sequence[PassageFacts],
                   weights: PassageWeights = WEIGHTS,
                   needs: QuestionNeeds | None = None) -> np.ndarray:
    """One score per row in ``rows`` (chunk positions of one article); higher answers better."""
    needs = needs or question_needs(query, lang)
    wants_time, wants_money, named = needs.time, needs.money, needs.named
    scores = np.empty(len(rows), dtype=np.float64)
    for i, row in enumerate(rows):
        f = facts[row]
        s = (weights.heading * heading_cos[row] + weights.full * full_cos[row]
             + weights.bm25 * bm25[row] + (weights.lead if f.lead else 0.0))
        for wanted, has in ((wants_time, f.has_duration), (wants_money, f.has_money)):
            if wanted:
                s += weights.kind if has else -weights.kind
        if named:
            s += weights.named * len(named & f.named) / len(named)
        if f.threshold is not None and any(a > f.threshold for a in needs.amounts):
            s += weights.threshold
        scores[i] = s
    return scores
