"""BM25 keyword ranking with Spanish and English stemming.

Dense vectors miss exact words a shopper types ("contrareembolso", a carrier's name, a size
chart); BM25 catches them. Words are stemmed in the language of the text so "devoluciones" finds
"devolver" and "returns" finds "returning".
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Sequence
from functools import lru_cache

import numpy as np
import snowballstemmer
from rank_bm25 import BM25Okapi

#: Spanish stems are cut to this many characters: Snowball leaves "devolu" (devoluciones) and
#: "devolv" (devolver) apart, and prefix truncation at 5 is known to work as well as stemming for
#: Spanish retrieval while joining such derivational families.
SPANISH_PREFIX = 5

STOPWORDS = {
    "es": set("""a al algo algun alguna algunas alguno algunos ante antes como con contra cual
        cuando de del desde donde dos el ella ellas ellos en entre era es esa esas ese eso esos esta
        estaba estan estar este esto estos estoy fue ha hay hasta la las le les lo los mas me mi mis
        muy mucho nada ni no nos o os otra otro para pero poco por porque que quien se ser si sin
        sobre son su sus tambien te tengo ti tiene tu tus un una uno unos y ya yo puedo puede
        quiero hola gracias hacer hago como cómo qué cuál dónde cuándo más también está
        están""".split()),
    "en": set("""a about after all am an and any are as at be been but by can could did do does
        for from had has have he her his how i if in into is it its me my no not of on or our
        please so that the their them then there these they this to up us was we were what when
        where which who why will with would you your yours hi hello thanks want get""".split()),
}


def strip_accents(text: str) -> str:
    return "".join(c for c in unicodedata.normalize("NFKD", text) if not unicodedata.combining(c))


@lru_cache(maxsize=4)
def _stemmer(lang: str) -> snowballstemmer.stemmer:  # type: ignore[name-defined]
    return snowballstemmer.stemmer("spanish" if lang == "es" else "english")


def tokenize(text: str, lang: str) -> list[str]:
    """Lower-cased, stop-word-free, stemmed, accent-free tokens of ``text`` read as ``lang``."""
    lang = "es" if lang == "es" else "en"
    words = [w for w in re.findall(r"\w+", text.lower()) if not w.isdigit() or len(w) > 2]
    stop = STOPWORDS[lang]
    words = [w for w in words if w not in stop and strip_accents(w) not in stop]
    stems = _stemmer(lang).stemWords(words)
    out = [strip_accents(s) for s in stems]
    if lang == "es":
        out = [s[:SPANISH_PREFIX] for s in out]
    return [s for s in out if s]


def tokenize_query(text: str, lang: str | None) -> list[str]:
    """Query tokens; with no known language both analyses are used so either corpus can match."""
    if lang in ("es", "en"):
        return tokenize(text, lang)
    seen: dict[str, None] = {}
    for token in tokenize(text, "es") + tokenize(text, "en"):
        seen.setdefault(token)
    return list(seen)


class BM25Ranker:
    """BM25 over texts that each carry their own language.

    rank_bm25 (BM25Okapi) computes the statistics (idf with its epsilon floor, lengths); its
    ``get_scores`` loops in Python over every document for every query word, which was most of a
    search's time at 1,000 chunks. The same per-(document, word) BM25 weights are therefore laid
    out once as a sparse matrix, and a query's scores are the sum of its words' columns — equal to
    ``get_scores`` (tests/kb_index/test_lexical.py checks it) at a fraction of the cost.
    """

    def __init__(self, texts: Sequence[str], langs: Sequence[str]) -> None:
        from scipy.sparse import csc_matrix

        corpus = [tokenize(text, lang) for text, lang in zip(texts, langs, strict=True)]
        # rank_bm25 divides by the average length; an empty corpus or all-empty docs must not crash.
        self._empty = not any(corpus)
        self._bm25 = BM25Okapi([doc or ["\u2205"] for doc in corpus]) if corpus else None
        self.size = len(corpus)
        self._columns: dict[str, int] = {}
        self._weights = csc_matrix((self.size, 0), dtype=np.float64)
        if self._bm25 is None or self._empty:
            return
        bm25 = self._bm25
        rows, cols, values = [], [], []
        for row, freqs in enumerate(bm25.doc_freqs):
            norm = bm25.k1 * (1 - bm25.b + bm25.b * bm25.doc_len[row] / bm25.avgdl)
            for word, tf in freqs.items():
                col = self._columns.setdefault(word, len(self._columns))
                rows.append(row)
                cols.append(col)
                values.append((bm25.idf.get(word) or 0) * tf * (bm25.k1 + 1) / (tf + norm))
        self._weights = csc_matrix((values, (rows, cols)), shape=(self.size, len(self._columns)))

    def scores(self, query: str, lang: str | None) -> np.ndarray:
        """One BM25 score per text (0 when no query word occurs in it)."""
        tokens = tokenize_query(query, lang)
        columns = [self._columns[t] for t in tokens if t in self._columns]
        if not columns:
            return np.zeros(self.size, dtype=np.float32)
        # a word asked twice counts twice, as in BM25Okapi.get_scores
        counts = np.bincount(columns, minlength=len(self._columns)).astype(np.float64)
        return np.asarray(self._weights @ counts, dtype=np.float32).ravel()
