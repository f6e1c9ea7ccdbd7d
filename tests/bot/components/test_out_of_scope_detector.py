"""Dedicated out-of-scope detector: trained on real USE embeddings with a corpus, stored, loaded."""

from __future__ import annotations

from pathlib import Path

import pytest
from rasa.engine.graph import ExecutionContext
from rasa.engine.storage.local_model_storage import LocalModelStorage
from rasa.engine.storage.resource import Resource
from rasa.shared.nlu.training_data.message import Message
from rasa.shared.nlu.training_data.training_data import TrainingData

from bot.components.out_of_scope_detector import (
    PROBABILITY_KEY,
    OutOfScopeDetector,
    read_corpus,
)

TRAIN = [("¿dónde está mi pedido?", "order_status"), ("quiero devolver unas zapatillas",
         "return_request"), ("where is my parcel?", "order_status"),
         ("I want to return these trainers", "return_request"),
         ("¿hacéis envíos a Canarias?", "faq"), ("do you ship to Ireland?", "faq"),
         ("cuéntame un chiste", "nlu_fallback"), ("tell me a joke", "nlu_fallback")]
CORPUS = ["enciende la luz del salón", "apaga la calefacción", "¿qué tiempo hace en Madrid?",
          "pon música de los ochenta", "turn on the kitchen lights", "what's the weather like",
          "play some jazz", "set an alarm for seven"]


def test_assistant_requests_score_out_of_scope_and_shop_requests_in_scope(
        tmp_path: Path, featurize) -> None:
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    (corpus / "mixed.txt").write_text("\n".join(CORPUS) + "\n\n", encoding="utf-8")
    config = {"corpus_dir": str(corpus), "C": 10.0}
    (tmp_path / "model").mkdir()
    storage = LocalModelStorage(tmp_path / "model")
    resource = Resource("oos")
    context = ExecutionContext(node_name="oos", graph_schema=None)  # type: ignore[arg-type]
    OutOfScopeDetector.create(config, storage, resource, context).train(
        TrainingData(featurize(TRAIN)))
    loaded = OutOfScopeDetector.load(config, storage, resource, context)
    shop, lights = featurize([("¿cuándo llega mi paquete?", None),
                                          ("baja las persianas del dormitorio", None)])
    loaded.process([shop, lights])
    assert 0.0 <= shop.get(PROBABILITY_KEY) < 0.5 < lights.get(PROBABILITY_KEY) <= 1.0


def test_untrained_detector_adds_nothing(tmp_path: Path) -> None:
    component = OutOfScopeDetector(OutOfScopeDetector.get_default_config(),
                                   LocalModelStorage(tmp_path), Resource("x"))
    message = Message(data={"text": "hola"})
    component.process([message])
    assert message.get(PROBABILITY_KEY) is None


def test_the_shipped_corpus_is_read_one_sentence_a_line() -> None:
    root = Path(__file__).resolve().parents[3] / "data" / "out_of_scope_corpus"
    sentences = read_corpus(root)
    assert len(sentences) > 2000 and all(s == s.strip() and s for s in sentences)


def test_c_must_be_positive() -> None:
    with pytest.raises(ValueError):
        OutOfScopeDetector.validate_config({"C": 0})
