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
* ``lr_features`` — ``LinearIntentClassifier._create_X``: the row of a message was built with
  Rasa's ``get_sparse_features``, which also stacks the *sequence* features (one row per token,
  never used here) and deep-copies them, then with three scipy ``hstack``/``vstack`` round trips
  through COO (1.6 ms per message on a quiet machine, 2-4 ms under load). :func:`sentence_row`
  builds the same canonical CSR row (same values, same column order) from the sentence
  features directly; anything it does not expect (a multi-row feature, no sparse or no dense
  feature) goes to the stock code.

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
PARTS = ("use_cache", "similarity_cache", "lr_layout", "lr_features")
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


def sentence_row(message: Any, weight: float) -> Any:
    """``LinearIntentClassifier``'s feature row of ``message`` — ``hstack([normalize(log1p(
    sparse sentence features)), dense sentence features × weight])`` as a canonical CSR row, the
    matrix stock ``_create_X`` gives for one message — or None when the stock code must build it.

    Stock: Rasa combines the sparse sentence features by ``hstack`` (COO, in feature order), the
    classifier converts that to CSR (duplicates summed, columns sorted), ``log1p`` and L2
    normalisation keep that structure, and the dense part becomes a CSR of its non-zeros after
    it; the final COO → CSR sorts by column again. Here: the same CSR conversion of the same
    COO entries, the same ``log1p`` and ``normalize`` calls, and the non-zero dense values
    appended (their columns come after every sparse one, so the row is already sorted)."""
    import numpy as np
    from rasa.shared.nlu.constants import FEATURE_TYPE_SENTENCE, TEXT
    from scipy.sparse import coo_matrix, csr_matrix
    from sklearn.preprocessing import normalize

    sparse = [f.features for f in message.features
              if f.attribute == TEXT and f.type == FEATURE_TYPE_SENTENCE and f.is_sparse()]
    dense = message.get_dense_features(attribute=TEXT)[1]
    if not sparse or dense is None or any(m.shape[0] != 1 for m in sparse):
        return None
    dense_row = np.asarray(dense.features, dtype=np.float64)
    if dense_row.ndim != 2 or dense_row.shape[0] != 1:
        return None
    cols, values, width = [], [], 0
    for matrix in sparse:
        coo = matrix.tocoo()
        cols.append(coo.col.astype(np.int64) + width)
        values.append(coo.data)
        width += matrix.shape[1]
    col = np.concatenate(cols)
    # hstack's dtype: the common type of the blocks (int64 counts, float64 regex matches)
    data = np.concatenate(values).astype(np.result_type(*(m.dtype for m in sparse)))
    combined = coo_matrix((data, (np.zeros(len(col), dtype=np.int64), col)), shape=(1, width))
    counts = normalize(csr_matrix(combined, dtype=np.float64).log1p())
    scaled = dense_row[0] * weight
    nonzero = np.flatnonzero(scaled)
    indices = np.concatenate([counts.indices.astype(np.int64), nonzero + width])
    values_out = np.concatenate([counts.data, scaled[nonzero]])
    return csr_matrix((values_out, indices, np.array([0, len(indices)])),
                      shape=(1, width + dense_row.shape[1]))
