"""Query normalisation: missing accents and small typos, against the corpus's own vocabulary.

Shoppers type fast on phones: "envio", "devolucion", "reembolzo", "contrasena", "tarjta". BM25
folds accents already, but a typo ("reembolzo") matches nothing, and the sentence encoder reads
"devolucion" and "devolución" as different words. Before a query is encoded and scored, each word
that is not in the corpus is replaced by the corpus word it most likely meant:

- same letters once accents and "ñ" are folded: the corpus's most frequent spelling ("envio" →
  "envío", "contrasena" → "contraseña");
- otherwise, for words of 7+ letters, one edit away (a letter missing, extra, wrong, or two
  letters swapped); for words of 5-6 letters only a missing letter or two swapped letters
  ("tarjta", "retrun"), because a wrong letter in a short word is as often another real word
  the articles happen not to use ("stuck"/"stock", "orden"/"order", "fees"/"feet"). Same first
  letter; the most frequent candidate wins (ties: alphabetical, so the result is deterministic).
  Candidates are found through deletion variants (SymSpell), so a look-up is a few dictionary
  reads, not a scan of the vocabulary.

The vocabulary is the store's own articles, not a dictionary of the language (none ships offline),
which is why the rules are strict: a correction can only move a word towards a word the KB uses,
and a word that is merely absent from the KB but spelled right must stay as typed. Words under 5
letters are only given their accents; numbers and order numbers are never touched.
"""

from __future__ import annotations

import re
import unicodedata
from collections import Counter
from collections.abc import Iterable

_WORD = re.compile(r"[^\W\d_]+", re.UNICODE)
#: Shorter words only get their accents back.
MIN_LENGTH = 5
#: Words this long may have any one edit; shorter ones only a missing letter or a swap.
ANY_EDIT_FROM = 7


def fold(word: str) -> str:
    """Lower case, accents and ñ folded: the key under which spellings are compared."""
    return "".join(c for c in unicodedata.normalize("NFKD", word.lower())
                   if not unicodedata.combining(c))


def _deletes(word: str, depth: int) -> set[str]:
    """``word`` and every string made by deleting up to ``depth`` letters (SymSpell's trick: two
    words within edit distance d share a deletion variant of depth <= d)."""
    out, frontier = {word}, {word}
    for _ in range(depth):
        frontier = {w[:i] + w[i + 1:] for w in frontier for i in range(len(w))}
        out |= frontier
    return out


def distance(a: str, b: str) -> int:
    """Damerau-Levenshtein distance (optimal string alignment: a swap of neighbours is 1)."""
    previous2: list[int] = []
    previous = list(range(len(b) + 1))
    for i in range(1, len(a) + 1):
        current = [i] + [0] * len(b)
        for j in range(1, len(b) + 1):
            cost = a[i - 1] != b[j - 1]
            current[j] = min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + cost)
            if i > 1 and j > 1 and a[i - 1] == b[j - 2] and a[i - 2] == b[j - 1]:
                current[j] = min(current[j], previous2[j - 2] + 1)
        previous2, previous = previous, current
    return previous[-1]


class QueryNormaliser:
    """Built once per index (and language) from its texts; :meth:`normalise` is a few
    dictionary look-ups."""

    def __init__(self, texts: Iterable[str]) -> None:
        counts: Counter[str] = Counter()
        for text in texts:
            counts.update(w.lower() for w in _WORD.findall(text))
        self.words = set(counts)
        spellings: dict[str, list[tuple[int, str]]] = {}
        for word, n in counts.items():
            spellings.setdefault(fold(word), []).append((n, word))
        #: folded form → the most frequent spelling in the corpus (accented, when it is)
        self.spelling = {key: max(options, key=lambda o: (o[0], o[1]))[1]
                         for key, options in spellings.items()}
        self.frequency = {key: sum(n for n, _ in options) for key, options in spellings.items()}
        self._variants: dict[str, set[str]] = {}
        for key in self.spelling:
            if len(key) >= MIN_LENGTH:
                for variant in _deletes(key, 1):
                    self._variants.setdefault(variant, set()).add(key)

    def correct(self, word: str) -> str | None:
        """The corpus word ``word`` most likely means, or ``None`` to keep it as typed."""
        lower = word.lower()
        if len(lower) < 3 or lower in self.words:
            return None
        key = fold(lower)
        if key in self.spelling:
            return self.spelling[key]
        if len(key) < MIN_LENGTH:
            return None
        candidates = {c for v in _deletes(key, 1) for c in self._variants.get(v, ())
                      if c[0] == key[0] and distance(key, c) == 1}
        if len(key) < ANY_EDIT_FROM:  # only a missing letter or a swap of neighbours
            candidates = {c for c in candidates if len(c) == len(key) + 1 or
                          (len(c) == len(key) >= 6 and sorted(c) == sorted(key))}
        # Another form of a word the articles use is not a typo ("incorrecto"/"incorrecta",
        # "recibiré"/"recibir", "tiempos"/"tiempo"): a difference only in the last letter, or
        # one word the other plus an ending, is left alone.
        candidates = {c for c in candidates
                      if c[:-1] != key[:-1] and not c.startswith(key) and not key.startswith(c)}
        if not candidates:
            return None
        return self.spelling[min(candidates, key=lambda c: (-self.frequency[c], c))]

    def normalise(self, query: str) -> str:
        """``query`` with unknown words replaced by their corpus spelling (case kept for the
        first letter); everything else, punctuation included, as typed."""
        def replace(match: re.Match[str]) -> str:
            word = match.group(0)
            fixed = self.correct(word)
            if fixed is None:
                return word
            return fixed[0].upper() + fixed[1:] if word[0].isupper() else fixed
        return _WORD.sub(replace, query)
