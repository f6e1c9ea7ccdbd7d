"""A dedicated in-scope vs out-of-scope model on the USE sentence embedding (issue #12).

The intent classifier's out-of-scope class (``nlu_fallback``, trained on our own
``out_of_scope*.yml``) must share its probability with 20 in-scope intents and only knows the
off-topic messages the team wrote. This component answers one question instead — "is this a
message for a shop assistant at all?" — with a logistic regression on the normalised USE
multilingual embedding that ``USEFeaturizer`` already computed (no second encoder per message:
one 512-d dot product). It learns from:

* in scope: every training example whose intent is not ``nlu_fallback``;
* out of scope: our ``nlu_fallback`` examples plus a licensed corpus of requests to general
  assistants written by other people (``data/out_of_scope_corpus/{es,en}.txt``, built by
  ``scripts/oos_corpus.py``; sources, commits, licences and filtering in its SOURCES.md), which
  is never the external development set's sources.

It writes ``out_of_scope_probability`` into the parse data; ``fallback_decision`` in
``fallback_classifier.py`` uses it (settings ``out_of_scope_above`` / ``in_scope_below``). The
corpus is encoded once per training (about 3,200 sentences, some 30 s on two busy cores).

**Not in config.yml**: cross-validation on the training data (``scripts/nlu_oos_detector.py``,
reports/nlu/README.md "Sixth pass") found no setting that beats "off" by more than split noise,
so the pipeline does not pay for it. To switch it on, add it after ``InScopeSimilarity`` and set
the two fallback settings.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Dict, List, Optional, Text

import numpy as np
from rasa.engine.graph import ExecutionContext, GraphComponent
from rasa.engine.recipes.default_recipe import DefaultV1Recipe
from rasa.engine.storage.resource import Resource
from rasa.engine.storage.storage import ModelStorage
from rasa.shared.nlu.constants import INTENT
from rasa.shared.nlu.training_data.message import Message
from rasa.shared.nlu.training_data.training_data import TrainingData

from bot.components.in_scope_similarity import OUT_OF_SCOPE, sentence_vector

PROBABILITY_KEY = "out_of_scope_probability"
_FILE = "out_of_scope_detector.npz"
ROOT = Path(__file__).resolve().parents[2]


def read_corpus(directory: Path) -> List[str]:
    """Every non-empty line of ``<directory>/*.txt`` (one sentence a line)."""
    texts: List[str] = []
    for path in sorted(directory.glob("*.txt")):
        texts += [line.strip() for line in path.read_text(encoding="utf-8").splitlines()
                  if line.strip()]
    return texts


def encode_corpus(texts: List[str], batch_size: int = 64) -> np.ndarray:
    """USE embeddings of ``texts``, L2-normalised (the same encoder as ``USEFeaturizer``)."""
    from bot.components.use_featurizer import _Encoder

    if not texts:
        return np.zeros((0, 512), dtype=np.float32)
    vectors = np.vstack([_Encoder.encode(texts[i:i + batch_size])
                         for i in range(0, len(texts), batch_size)])
    norms = np.linalg.norm(vectors, axis=1, keepdims=True)
    return (vectors / np.where(norms == 0, 1, norms)).astype(np.float32)


def fit(in_scope: np.ndarray, out_of_scope: np.ndarray, c: float,
        balanced: bool = True) -> tuple[np.ndarray, float]:
    """Logistic regression weights and intercept (label 1 = out of scope)."""
    from sklearn.linear_model import LogisticRegression

    x = np.vstack([in_scope, out_of_scope])
    y = np.r_[np.zeros(len(in_scope)), np.ones(len(out_of_scope))]
    model = LogisticRegression(C=c, max_iter=2000,
                               class_weight="balanced" if balanced else None)
    model.fit(x, y)
    return model.coef_.reshape(-1).astype(np.float32), float(model.intercept_[0])


def probability(weights: np.ndarray, bias: float, vectors: np.ndarray) -> np.ndarray:
    return 1.0 / (1.0 + np.exp(-(vectors @ weights + bias)))


@DefaultV1Recipe.register(
    DefaultV1Recipe.ComponentType.MESSAGE_FEATURIZER, is_trainable=True
)
class OutOfScopeDetector(GraphComponent):
    """Adds ``out_of_scope_probability`` (dedicated in/out-of-scope model) to parse data."""

    @staticmethod
    def get_default_config() -> Dict[Text, Any]:
        return {"corpus_dir": "data/out_of_scope_corpus", "C": 1.0, "balanced": True}

    @classmethod
    def create(cls, config: Dict[Text, Any], model_storage: ModelStorage, resource: Resource,
               execution_context: ExecutionContext) -> "OutOfScopeDetector":
        return cls({**cls.get_default_config(), **config}, model_storage, resource)

    def __init__(self, config: Dict[Text, Any], model_storage: ModelStorage, resource: Resource,
                 weights: Optional[np.ndarray] = None, bias: float = 0.0) -> None:
        self._config = config
        self._storage = model_storage
        self._resource = resource
        self._weights = weights
        self._bias = bias

    def _corpus_dir(self) -> Path:
        path = Path(self._config["corpus_dir"])
        return path if path.is_absolute() else ROOT / path

    def train(self, training_data: TrainingData) -> Resource:
        inside, outside = [], []
        for message in training_data.intent_examples:
            vector = sentence_vector(message)
            if vector is not None:
                (outside if message.get(INTENT) == OUT_OF_SCOPE else inside).append(vector)
        corpus = encode_corpus(read_corpus(self._corpus_dir()))
        if inside and (outside or len(corpus)):
            outside_matrix = np.vstack([*outside, corpus]) if outside else corpus
            self._weights, self._bias = fit(np.vstack(inside), outside_matrix,
                                            float(self._config["C"]),
                                            bool(self._config["balanced"]))
            with self._storage.write_to(self._resource) as directory:
                np.savez(directory / _FILE, weights=self._weights, bias=self._bias)
        return self._resource

    def process_training_data(self, training_data: TrainingData) -> TrainingData:
        return training_data

    def process(self, messages: List[Message]) -> List[Message]:
        if self._weights is None:
            return messages
        for message in messages:
            vector = sentence_vector(message)
            if vector is None or vector.shape[0] != self._weights.shape[0]:
                continue
            p = float(probability(self._weights, self._bias, vector))
            message.set(PROBABILITY_KEY, round(p, 4), add_to_output=True)
        return messages

    @classmethod
    def load(cls, config: Dict[Text, Any], model_storage: ModelStorage, resource: Resource,
             execution_context: ExecutionContext, **kwargs: Any) -> "OutOfScopeDetector":
        config = {**cls.get_default_config(), **config}
        try:
            with model_storage.read_from(resource) as directory:
                stored = np.load(directory / _FILE)
                return cls(config, model_storage, resource, stored["weights"],
                           float(stored["bias"]))
        except (ValueError, FileNotFoundError):
            return cls(config, model_storage, resource)

    @classmethod
    def validate_config(cls, config: Dict[Text, Any]) -> None:
        if float(config.get("C", 1.0)) <= 0:
            raise ValueError("OutOfScopeDetector C must be positive")
