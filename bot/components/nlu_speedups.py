"""Exact shortcuts for the NLU's per-message work (issue #15, reports/perf/README.md).

Each one gives bit-identical parse results (intent ranking, confidences, entities, language,
in-scope similarity): ``scripts/nlu_parse_identity.py`` parses the training data, both held-out
sets and the external set with all of them off and on and compares every parse exactly.

* ``use_cache`` — ``USEFeaturizer``: the sentence embedding of a single message, kept by its
  exact text (LRU). Shoppers repeat "hola", "sí", "gracias", button titles; the encoder is the
  largest NLU cost (~6 ms CPU of ~14 per parse). Only single-message calls (a parse) use it: a
  batch is encoded as before, since the encoder's output for a text depends on its batch.
* ``similarity_cache`` — ``InScopeSimilarity``: the similarity kept by the exact bytes of the
  normalised sentence vector (same vector, same matrix, same maximum).
* ``lr_layout`` — ``LinearIntentClassifier``: scikit-learn computes ``X @ coef_.T``; with
  ``coef_`` in C order that transpose is not contiguous and scipy copies the whole coefficient
  matrix (classes × n-gram vocabulary) for every message. Stored in Fortran order the transpose
  is contiguous: same numbers, same summation, no copy.

Like ``bot/rasa_speedups.py``: ``ATIENDE_RASA_SPEEDUPS=0`` turns everything off (stock), and
``ATIENDE_RASA_SPEEDUPS_OFF=use_cache+lr_layout`` turns off the parts named. The switches are
read when a component is built or loaded (a model load), not per message.

Not done, measured: one BLAS thread for the single-message encoder halves its CPU (7 → 3 ms) but
changes the embeddings in the 7th decimal (OpenBLAS's result depends on its thread count), so
the parses would not be bit-identical.
"""

from __future__ import annotations

import os
import re
from collections import OrderedDict
from typing import Any, Generic, Hashable, Optional, TypeVar

#: the parts of this module, each can be turned off alone
PARTS = ("use_cache", "similarity_cache", "lr_layout")
CACHE_SIZE = 4096

V = TypeVar("V")


def enabled(part: str) -> bool:
    """Same variables as ``bot.rasa_speedups.enabled`` (that module's parts are its own)."""
    assert part in PARTS, part
    if os.environ.get("ATIENDE_RASA_SPEEDUPS", "1").strip().lower() in ("0", "false", "no"):
        return False
    off = set(re.split(r"[,+\s]+", os.environ.get("ATIENDE_RASA_SPEEDUPS_OFF", "")))
    return part not in off


class Lru(Generic[V]):
    """A bounded least-recently-used mapping that counts its hits and misses (not thread-safe:
    Rasa parses on its event loop; a lost update under threads only costs a recomputation)."""

    def __init__(self, size: int = CACHE_SIZE) -> None:
        self.size = size
        self.hits = 0
        self.misses = 0
        self._items: OrderedDict[Hashable, V] = OrderedDict()

    def get(self, key: Hashable) -> Optional[V]:
        value = self._items.get(key)
        if value is None:
            self.misses += 1
            return None
        self.hits += 1
        self._items.move_to_end(key)
        return value

    def put(self, key: Hashable, value: V) -> None:
        self._items[key] = value
        self._items.move_to_end(key)
        while len(self._items) > self.size:
            self._items.popitem(last=False)

    def __len__(self) -> int:
        return len(self._items)


def fortran_coef(clf: Any) -> None:
    """Store a fitted linear model's ``coef_`` in Fortran order (values unchanged)."""
    import numpy as np

    coef = getattr(clf, "coef_", None)
    if coef is not None and coef.ndim == 2 and not coef.flags.f_contiguous:
        clf.coef_ = np.asfortranarray(coef)
