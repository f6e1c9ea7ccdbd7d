"""Nearest in-scope training example: trained, stored, loaded and used on real USE embeddings."""

from __future__ import annotations

from pathlib import Path

from rasa.engine.graph import ExecutionContext
from rasa.engine.storage.local_model_storage import LocalModelStorage
from rasa.engine.storage.resource import Resource
from rasa.shared.nlu.training_data.message import Message
from rasa.shared.nlu.training_data.training_data import TrainingData

from bot.components.in_scope_similarity import SIMILARITY_KEY, InScopeSimilarity

TRAIN = [("¿dónde está mi pedido?", "order_status"), ("quiero devolver unas zapatillas",
         "return_request"), ("where is my parcel?", "order_status"),
         ("cuéntame un chiste", "nlu_fallback"), ("tell me a joke", "nlu_fallback")]


def test_similarity_is_high_for_a_paraphrase_and_low_for_chit_chat(
        tmp_path: Path, featurize) -> None:
    storage = LocalModelStorage(tmp_path)
    resource = Resource("in_scope")
    context = ExecutionContext(node_name="in_scope", graph_schema=None)  # type: ignore[arg-type]
    component = InScopeSimilarity.create({}, storage, resource, context)
    component.train(TrainingData(featurize(TRAIN)))
    loaded = InScopeSimilarity.load({}, storage, resource, context)
    near, far, joke = featurize([("¿dónde está mi paquete?", None),
                                             ("¿cuál es la capital de Australia?", None),
                                             ("tell me a funny joke", None)])
    loaded.process([near, far, joke])
    assert near.get(SIMILARITY_KEY) > 0.6
    assert far.get(SIMILARITY_KEY) < near.get(SIMILARITY_KEY) - 0.2
    # out-of-scope training examples are not neighbours: a joke request is not "in scope"
    assert joke.get(SIMILARITY_KEY) < 0.6


def test_without_trained_embeddings_nothing_is_added(tmp_path: Path) -> None:
    component = InScopeSimilarity(LocalModelStorage(tmp_path), Resource("x"))
    message = Message(data={"text": "hola"})
    component.process([message])
    assert message.get(SIMILARITY_KEY) is None
