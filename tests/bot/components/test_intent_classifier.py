"""LinearIntentClassifier: scaled n-grams + embeddings, trained and persisted like Rasa's own."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from rasa.engine.graph import ExecutionContext
from rasa.engine.storage.local_model_storage import LocalModelStorage
from rasa.engine.storage.resource import Resource
from rasa.nlu.featurizers.sparse_featurizer.count_vectors_featurizer import (
    CountVectorsFeaturizer,
)
from rasa.shared.nlu.training_data.message import Message
from rasa.shared.nlu.training_data.training_data import TrainingData

from bot.components.intent_classifier import LinearIntentClassifier
from bot.components.lemma_tokenizer import LemmaTokenizer
from bot.components.use_featurizer import USEFeaturizer

EXAMPLES = {
    "order_status": ["dónde está mi pedido", "mi paquete no llega", "where is my order",
                     "track my parcel", "cuándo llega mi compra", "has my order shipped"],
    "return_request": ["quiero devolver unas zapatillas", "cómo devuelvo la camiseta",
                       "I want to return my jacket", "send back these shoes",
                       "devolver un producto", "return an item"],
    "greet": ["hola", "buenas tardes", "hello", "hi there", "buenos días", "good morning"],
}


@pytest.fixture()
def storage(tmp_path: Path) -> LocalModelStorage:
    return LocalModelStorage(tmp_path)


def _pipeline(storage: LocalModelStorage):
    tokenizer = LemmaTokenizer(LemmaTokenizer.get_default_config())
    counts = CountVectorsFeaturizer.create({**CountVectorsFeaturizer.get_default_config(),
                                            "analyzer": "char_wb", "min_ngram": 2, "max_ngram": 4},
                                           storage, Resource("cvf"), ExecutionContext(None))
    use = USEFeaturizer(USEFeaturizer.get_default_config(), "use")
    return tokenizer, counts, use


def _trained(storage: LocalModelStorage) -> tuple[LinearIntentClassifier, tuple]:
    parts = _pipeline(storage)
    data = TrainingData([Message(data={"text": t, "intent": i})
                         for i, texts in EXAMPLES.items() for t in texts])
    tokenizer, counts, use = parts
    tokenizer.process_training_data(data)
    counts.train(data)
    counts.process_training_data(data)
    use.process_training_data(data)
    classifier = LinearIntentClassifier.create(LinearIntentClassifier.get_default_config(), storage,
                                               Resource("clf"), ExecutionContext(None))
    classifier.train(data)
    return classifier, parts


def _predict(classifier: LinearIntentClassifier, parts: tuple, text: str) -> dict:
    message = Message(data={"text": text})
    for part in parts:
        part.process([message])
    classifier.process([message])
    return message.get("intent")


def test_config_reaches_the_estimator(storage: LocalModelStorage) -> None:
    classifier = LinearIntentClassifier.create({"C": 5.0}, storage, Resource("c"),
                                               ExecutionContext(None))
    assert classifier.clf.C == 5.0 and classifier.clf.class_weight is None


def test_features_are_scaled_rows(storage: LocalModelStorage) -> None:
    classifier, (tokenizer, counts, use) = _trained(storage)
    message = Message(data={"text": "dónde está mi pedido dónde está mi pedido"})
    for part in (tokenizer, counts, use):
        part.process([message])
    row = classifier._create_X([message]).toarray()[0]
    dense = row[-512:]
    sparse = row[:-512]
    assert abs(np.linalg.norm(sparse) - 1.0) < 1e-6, "repeated words must not inflate the row"
    assert abs(np.linalg.norm(dense) - classifier.config["dense_weight"]) < 1e-3


def test_unseen_paraphrases_are_classified(storage: LocalModelStorage) -> None:
    classifier, parts = _trained(storage)
    assert _predict(classifier, parts, "¿me podés decir por dónde anda mi encomienda?")["name"] \
        == "order_status"
    assert _predict(classifier, parts,
                    "I'd like to send the boots back")["name"] == "return_request"


def test_persist_and_load_keep_predictions(storage: LocalModelStorage) -> None:
    classifier, parts = _trained(storage)
    before = _predict(classifier, parts, "buenas noches")
    classifier.persist()
    loaded = LinearIntentClassifier.load(LinearIntentClassifier.get_default_config(), storage,
                                         Resource("clf"), ExecutionContext(None))
    after = _predict(loaded, parts, "buenas noches")
    assert after["name"] == before["name"] == "greet"
    assert abs(after["confidence"] - before["confidence"]) < 1e-9


def _rows_of(classifier: LinearIntentClassifier, messages: list[Message], fast: bool) -> object:
    classifier.fast_rows = fast
    return classifier._create_X(messages)


def _same_matrix(a: object, b: object) -> bool:
    return (a.shape == b.shape and a.data.dtype == b.data.dtype  # type: ignore[attr-defined]
            and np.array_equal(a.indptr, b.indptr)  # type: ignore[attr-defined]
            and np.array_equal(a.indices, b.indices)  # type: ignore[attr-defined]
            and a.data.tobytes() == b.data.tobytes())  # type: ignore[attr-defined]


def test_feature_rows_are_built_without_the_sequence_features_and_are_identical(
        storage: LocalModelStorage, monkeypatch: pytest.MonkeyPatch) -> None:
    """``lr_features`` (bot/components/nlu_speedups.py): the same canonical CSR, bit for bit, one
    message or a batch, and Rasa's ``get_sparse_features`` (which also stacks every token's
    sequence features) is not asked."""
    from rasa.nlu.featurizers.sparse_featurizer.regex_featurizer import RegexFeaturizer
    from rasa.shared.nlu.training_data.message import Message as RasaMessage

    classifier, (tokenizer, counts, use) = _trained(storage)
    regex = RegexFeaturizer({**RegexFeaturizer.get_default_config()}, storage,
                            Resource("regex"), ExecutionContext(None),
                            known_patterns=[{"name": "order", "pattern": r"AT\d{6}"}])
    texts = [t for ts in EXAMPLES.values() for t in ts] + [
        "¿dónde está mi pedido AT101001?", "hola hola hola", "x", "¡¡¡", "AT101001 AT101002",
        "quiero devolver el pedido AT105001, llegó roto", "thanks a lot"]
    messages = [Message(data={"text": t}) for t in texts]
    for part in (tokenizer, counts, regex, use):
        part.process(messages)
    stock = [_rows_of(classifier, [m], fast=False) for m in messages]
    asked: list[str] = []
    original = RasaMessage.get_sparse_features

    def counted(self: RasaMessage, *args: object, **kwargs: object) -> object:
        asked.append(self.get("text"))
        return original(self, *args, **kwargs)

    monkeypatch.setattr(RasaMessage, "get_sparse_features", counted)
    fast = [_rows_of(classifier, [m], fast=True) for m in messages]
    assert asked == []
    assert all(_same_matrix(a, b) for a, b in zip(stock, fast, strict=True))
    assert _same_matrix(_rows_of(classifier, messages, fast=False),
                        _rows_of(classifier, messages, fast=True))
    assert any(m.shape[1] > 512 + 10 and m.nnz for m in fast)  # type: ignore[attr-defined]


@pytest.mark.parametrize("off", ["", "lr_features"])
def test_fast_rows_follow_the_switch(storage: LocalModelStorage, monkeypatch: pytest.MonkeyPatch,
                                     off: str) -> None:
    monkeypatch.setenv("ATIENDE_RASA_SPEEDUPS_OFF", off)
    classifier = LinearIntentClassifier.create({}, storage, Resource("s"), ExecutionContext(None))
    assert classifier.fast_rows is (off == "")
