"""The NLU's exact shortcuts: same numbers as without them, and the work really skipped."""

from __future__ import annotations

import asyncio
from typing import Any

import numpy as np
import pytest
from rasa.nlu.classifiers.logistic_regression_classifier import LogisticRegressionClassifier
from rasa.shared.nlu.constants import FEATURE_TYPE_SENTENCE, TEXT
from rasa.shared.nlu.training_data.features import Features
from rasa.shared.nlu.training_data.message import Message
from scipy.sparse import random as sparse_random
from sklearn.linear_model import LogisticRegression

from bot.components import nlu_speedups
from bot.components.in_scope_similarity import SIMILARITY_KEY, InScopeSimilarity
from bot.components.intent_classifier import LinearIntentClassifier
from bot.components.nlu_speedups import Lru, enabled, fortran_coef
from bot.components.use_featurizer import USEFeaturizer, _Encoder
from tests.bot.trained_model import model_test_marks


def test_lru_keeps_the_most_recently_used_and_counts() -> None:
    cache: Lru[int] = Lru(size=2)
    cache.put("a", 1)
    cache.put("b", 2)
    assert cache.get("a") == 1  # "b" is now the oldest
    cache.put("c", 3)
    assert cache.get("b") is None and cache.get("a") == 1 and cache.get("c") == 3
    assert (cache.hits, cache.misses, len(cache)) == (3, 1, 2)


def test_each_part_can_be_switched_off_and_all_with_the_global_switch(
        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("ATIENDE_RASA_SPEEDUPS", raising=False)
    monkeypatch.setenv("ATIENDE_RASA_SPEEDUPS_OFF", "ted_cache+use_cache")
    assert not enabled("use_cache") and enabled("lr_layout") and enabled("similarity_cache")
    monkeypatch.setenv("ATIENDE_RASA_SPEEDUPS_OFF", "")
    monkeypatch.setenv("ATIENDE_RASA_SPEEDUPS", "0")
    assert not any(enabled(part) for part in nlu_speedups.PARTS)
    with pytest.raises(AssertionError):
        enabled("no_such_part")


@pytest.fixture()
def counted_encoder(monkeypatch: pytest.MonkeyPatch) -> list[list[str]]:
    """A fresh encoder cache, and every call of the real encoder recorded."""
    calls: list[list[str]] = []
    original = _Encoder.encode.__func__  # type: ignore[attr-defined]

    def encode(cls: Any, texts: list[str]) -> np.ndarray:
        calls.append(list(texts))
        return original(cls, texts)

    monkeypatch.setattr(_Encoder, "encode", classmethod(encode))
    monkeypatch.setattr(_Encoder, "cache", Lru())
    return calls


def _parse_one(featurizer: USEFeaturizer, text: str) -> np.ndarray:
    message = Message(data={TEXT: text})
    featurizer.process([message])
    return message.get_dense_features(TEXT)[1].features


def test_a_repeated_message_is_encoded_once_with_the_same_vector(
        counted_encoder: list[list[str]], monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("ATIENDE_RASA_SPEEDUPS_OFF", raising=False)
    monkeypatch.delenv("ATIENDE_RASA_SPEEDUPS", raising=False)
    featurizer = USEFeaturizer(USEFeaturizer.get_default_config(), "use")
    first, again = _parse_one(featurizer, "hola"), _parse_one(featurizer, "hola")
    _parse_one(featurizer, "gracias")
    assert counted_encoder == [["hola"], ["gracias"]]
    expected = _Encoder.encode(["hola"])[0]  # computed now, uncached
    assert np.array_equal(first.reshape(-1), expected) and np.array_equal(again, first)
    cached = _Encoder.cache.get("hola")  # shared by every parse of "hola": nobody may change it
    with pytest.raises(ValueError):
        cached[0] = 1.0


def test_without_the_cache_every_parse_encodes(counted_encoder: list[list[str]],
                                               monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ATIENDE_RASA_SPEEDUPS_OFF", "use_cache")
    featurizer = USEFeaturizer(USEFeaturizer.get_default_config(), "use")
    _parse_one(featurizer, "hola")
    _parse_one(featurizer, "hola")
    assert counted_encoder == [["hola"], ["hola"]]


def test_batches_are_encoded_as_before_and_not_cached(counted_encoder: list[list[str]],
                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("ATIENDE_RASA_SPEEDUPS_OFF", raising=False)
    featurizer = USEFeaturizer(USEFeaturizer.get_default_config(), "use")
    messages = [Message(data={TEXT: t}) for t in ("hola", "gracias")]
    featurizer.process(messages)
    assert counted_encoder == [["hola", "gracias"]] and len(_Encoder.cache) == 0


def _with_vector(vector: np.ndarray) -> Message:
    message = Message(data={TEXT: "x"})
    message.add_features(Features(vector.reshape(1, -1), FEATURE_TYPE_SENTENCE, TEXT, "use"))
    return message


@pytest.mark.parametrize("off", ["", "similarity_cache"])
def test_the_similarity_of_a_known_vector_is_reused_exactly(
        monkeypatch: pytest.MonkeyPatch, off: str) -> None:
    monkeypatch.setenv("ATIENDE_RASA_SPEEDUPS_OFF", off)
    rng = np.random.default_rng(3)
    embeddings = rng.normal(size=(300, 64)).astype(np.float32)
    embeddings /= np.linalg.norm(embeddings, axis=1, keepdims=True)
    component = InScopeSimilarity(None, None, embeddings)  # type: ignore[arg-type]
    vector, other = rng.normal(size=64).astype(np.float32), rng.normal(size=64).astype(np.float32)
    messages = [_with_vector(v) for v in (vector, other, vector.copy())]
    for message in messages:
        component.process([message])
    norm = vector / np.linalg.norm(vector)
    assert messages[0].get(SIMILARITY_KEY) == round(float(np.max(embeddings @ norm)), 4)
    assert messages[2].get(SIMILARITY_KEY) == messages[0].get(SIMILARITY_KEY)
    assert messages[1].get(SIMILARITY_KEY) != messages[0].get(SIMILARITY_KEY)
    if off:
        assert component._cache is None
    else:
        assert (component._cache.hits, component._cache.misses) == (1, 2)


def _fitted() -> tuple[LogisticRegression, Any]:
    rng = np.random.default_rng(5)
    X = sparse_random(400, 3000, density=0.01, format="csr", random_state=5) * 3
    y = rng.integers(0, 6, size=400)
    return LogisticRegression(C=30.0, max_iter=500).fit(X, y), X


def test_fortran_coefficients_give_the_same_probabilities_without_a_transpose_copy() -> None:
    clf, X = _fitted()
    expected = clf.predict_proba(X)
    assert not clf.coef_.T.flags.c_contiguous  # what scipy would copy per call
    fortran_coef(clf)
    assert clf.coef_.T.flags.c_contiguous
    assert np.array_equal(clf.predict_proba(X), expected)
    assert all(np.array_equal(clf.predict_proba(X[i]), expected[i:i + 1]) for i in range(40))


@pytest.mark.parametrize("off", ["", "lr_layout"])
def test_a_loaded_classifier_gets_the_layout_unless_switched_off(
        monkeypatch: pytest.MonkeyPatch, off: str) -> None:
    clf, _ = _fitted()
    monkeypatch.setenv("ATIENDE_RASA_SPEEDUPS_OFF", off)

    def stock_load(cls: Any, *args: Any, **kwargs: Any) -> Any:
        component = cls.__new__(cls)
        component.clf = clf
        return component

    monkeypatch.setattr(LogisticRegressionClassifier, "load", classmethod(stock_load))
    loaded = LinearIntentClassifier.load({}, None, None, None)  # type: ignore[arg-type]
    assert loaded.clf.coef_.flags.f_contiguous is (off == "")


def _needs_model(test: Any) -> Any:
    for mark in model_test_marks("the NLU speed-ups' parse identity on the trained model"):
        test = mark(test)
    return test


@_needs_model
def test_the_trained_model_parses_a_sample_of_every_set_identically() -> None:
    from scripts.nlu_parse_identity import SETS, compare, load_agent, texts_of

    stock, fast = load_agent(off=True), load_agent(off=False)

    async def run() -> list[dict[str, Any]]:
        return [await compare(stock, fast, texts_of(directory)[::60])
                for directory in SETS.values()]

    results = asyncio.run(run())
    assert all(r["messages"] > 5 for r in results)
    assert [r["differing"] for r in results] == [0, 0, 0, 0], [r["examples"] for r in results]
