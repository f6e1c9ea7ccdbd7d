"""How close a message is to anything the assistant was trained to handle (nearest neighbour).

The intent classifier must spread its probability over the in-scope intents, so a question about
the bot's birthday can still come out as a confident ``bot_challenge`` or ``complaint``. A second,
independent signal helps abstain: the cosine similarity (USE multilingual sentence embedding,
already computed by ``USEFeaturizer``) between the message and its nearest *in-scope* training
example. ``AtiendeFallbackClassifier`` falls back when it is below ``min_in_scope_similarity``
(config.yml), whatever the classifier's confidence. The threshold was chosen on the external
development set together with the held-out set and cross-validation (reports/nlu/README.md).

Training stores the normalised embeddings of the in-scope examples (about 4,500 × 512 float32,
9 MB); at run time one matrix-vector product per message (about a millisecond of CPU), kept in an
LRU cache by the exact bytes of the message's vector (``similarity_cache`` in
``bot/components/nlu_speedups.py``; one cache per loaded model).
"""

from __future__ import annotations

from typing import Any, Dict, List, Optional, Text

import numpy as np
from rasa.engine.graph import ExecutionContext, GraphComponent
from rasa.engine.recipes.default_recipe import DefaultV1Recipe
from rasa.engine.storage.resource import Resource
from rasa.engine.storage.storage import ModelStorage
from rasa.shared.nlu.constants import INTENT, TEXT
from rasa.shared.nlu.training_data.message import Message
from rasa.shared.nlu.training_data.training_data import TrainingData

from bot.components.nlu_speedups import Lru, enabled

SIMILARITY_KEY = "in_scope_similarity"
OUT_OF_SCOPE = "nlu_fallback"
_FILE = "in_scope_embeddings.npy"


def sentence_vector(message: Message) -> Optional[np.ndarray]:
    """The message's dense sentence features, L2-normalised; None if it has none."""
    _, dense = message.get_dense_features(TEXT)
    if dense is None:
        return None
    vector = np.asarray(dense.features, dtype=np.float32).reshape(-1)
    norm = float(np.linalg.norm(vector))
    return vector / norm if norm else None


@DefaultV1Recipe.register(
    DefaultV1Recipe.ComponentType.MESSAGE_FEATURIZER, is_trainable=True
)
class InScopeSimilarity(GraphComponent):
    """Adds ``in_scope_similarity`` (max cosine to an in-scope training example) to parse data."""

    @classmethod
    def create(cls, config: Dict[Text, Any], model_storage: ModelStorage, resource: Resource,
               execution_context: ExecutionContext) -> "InScopeSimilarity":
        return cls(model_storage, resource)

    def __init__(self, model_storage: ModelStorage, resource: Resource,
                 embeddings: Optional[np.ndarray] = None) -> None:
        self._storage = model_storage
        self._resource = resource
        self._embeddings = embeddings
        self._cache: Optional[Lru[float]] = Lru() if enabled("similarity_cache") else None

    def train(self, training_data: TrainingData) -> Resource:
        vectors = [
            v for m in training_data.intent_examples
            if m.get(INTENT) != OUT_OF_SCOPE and (v := sentence_vector(m)) is not None
        ]
        self._embeddings = (np.vstack(vectors) if vectors
                            else np.zeros((0, 1), dtype=np.float32))
        if self._cache is not None:
            self._cache = Lru()
        with self._storage.write_to(self._resource) as directory:
            np.save(directory / _FILE, self._embeddings)
        return self._resource

    def process_training_data(self, training_data: TrainingData) -> TrainingData:
        return training_data

    def process(self, messages: List[Message]) -> List[Message]:
        if self._embeddings is None or not len(self._embeddings):
            return messages
        for message in messages:
            vector = sentence_vector(message)
            if vector is None or vector.shape[0] != self._embeddings.shape[1]:
                continue
            similarity = self._similarity(vector)
            message.set(SIMILARITY_KEY, round(similarity, 4), add_to_output=True)
        return messages

    def _similarity(self, vector: np.ndarray) -> float:
        if self._cache is None:
            return float(np.max(self._embeddings @ vector))
        key = vector.tobytes()
        similarity = self._cache.get(key)
        if similarity is None:
            similarity = float(np.max(self._embeddings @ vector))
            self._cache.put(key, similarity)
        return similarity

    @classmethod
    def load(cls, config: Dict[Text, Any], model_storage: ModelStorage, resource: Resource,
             execution_context: ExecutionContext, **kwargs: Any) -> "InScopeSimilarity":
        try:
            with model_storage.read_from(resource) as directory:
                embeddings = np.load(directory / _FILE)
        except (ValueError, FileNotFoundError):
            embeddings = None
        return cls(model_storage, resource, embeddings)
