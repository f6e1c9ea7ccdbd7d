"""The passage-ranker bench: folds never split an article, the listwise fit learns what decides,
and its features on the tiny corpus are the signals the hand-set picker adds up."""

from __future__ import annotations

import numpy as np

from bench.kb_passage_ranker import FEATURES, HAND, Featurizer, article_folds, cross_validate, fit
from kb_index.documents import Chunk
from kb_index.encoders import HashingEncoder
from kb_index.index import KBIndex


def test_every_question_of_an_article_lands_in_one_fold():
    articles = ["a", "b", "a", "c", "d", "b", "e", "a", "f"]
    for seed in (0, 1, 2):
        folds = article_folds(articles, 3, seed)
        by_article: dict[str, set[int]] = {}
        for article, fold in zip(articles, folds, strict=True):
            by_article.setdefault(article, set()).add(fold)
        assert all(len(f) == 1 for f in by_article.values())
        assert set(folds) == {0, 1, 2}


def _samples(rng: np.random.Generator, n: int) -> list[tuple[np.ndarray, np.ndarray]]:
    """Questions with 4 passages: feature 0 is noise, feature 1 marks the accepted passage
    (plus noise), so a ranker that learns feature 1 is right far more often than chance."""
    out = []
    for _ in range(n):
        y = np.zeros(4)
        y[rng.integers(4)] = 1.0
        x = rng.normal(size=(4, 2))
        x[:, 1] += 2.0 * y
        out.append((x, y))
    return out


def test_the_listwise_fit_weighs_the_feature_that_decides():
    w = fit(_samples(np.random.default_rng(0), 200), l2=1.0)
    assert w[1] > 0 and abs(w[1]) > 3 * abs(w[0])


def test_cross_validation_is_measured_on_held_out_articles():
    rng = np.random.default_rng(1)
    samples = _samples(rng, 120)
    articles = [f"article-{i % 12}" for i in range(120)]
    langs = ["es" if i % 2 else "en" for i in range(120)]
    learned = cross_validate(samples, langs, articles, [0, 1], 1.0, 4, [0])
    noise_only = cross_validate(samples, langs, articles, [0], 1.0, 4, [0])
    assert set(learned) == {"en", "es"}
    assert min(learned.values()) > 0.7 > max(noise_only.values())


SECTIONS = {
    "es": ("Plazos de reembolso", ["", "Por tarjeta", "Por PayPal"],
           ["Devolvemos el dinero al recibir la devolución.", "A tarjeta tarda 3–5 días hábiles.",
            "A PayPal tarda 1–2 días."]),
    "en": ("Refund times", ["", "By card", "By PayPal"],
           ["We refund once the return arrives.", "To a card it takes 3–5 business days.",
            "To PayPal it takes 1–2 days."]),
}


def _index() -> KBIndex:
    chunks = [Chunk(f"refund-times/{lang}/{i}", "refund-times", lang, title, "https://x.example",
                    heading or title, text)
              for lang, (title, headings, texts) in SECTIONS.items()
              for i, (heading, text) in enumerate(zip(headings, texts, strict=True))]
    return KBIndex.build(chunks, HashingEncoder(), progress=False)


def test_features_hold_the_hand_set_signals_and_the_other_language_version():
    index = _index()
    featurizer = Featurizer(index)
    query = "¿cuánto tarda el reembolso con PayPal?"
    qv = index.encode_query(index.normalise_query(query, "es"))
    rows, x = featurizer.matrix(query, "es", "refund-times", qv)
    other, _ = featurizer.rows("refund-times", "en")
    column = FEATURES.index
    assert x.shape == (3, len(FEATURES))
    assert np.allclose(x[:, column("full")], index.vectors[rows] @ qv)
    assert np.allclose(x[:, column("other_lang_full")], index.vectors[other] @ qv)
    assert list(x[:, column("lead")]) == [1.0, 0.0, 0.0]
    # asks for a duration: the opening paragraph holds none
    assert list(x[:, column("kind")]) == [-1.0, 1.0, 1.0]
    # PayPal is named only in the third passage
    assert list(x[:, column("named")]) == [0.0, 0.0, 1.0]
    assert set(HAND) == set(FEATURES[:7])
