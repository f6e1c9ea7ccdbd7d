"""Spanish passage features (kb_index.passage_features_es) and the Spanish learned ranker that uses
them (kb_index.passage_ranker): what a shopper's words and question type say about a section."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from kb_index import passage_ranker
from kb_index.index import KBIndex
from kb_index.passage_features_es import FEATURES_ES, question_types, spanish_features, stem_sets

HEADINGS = ["Plazos de reembolso", "Por tarjeta", "Por PayPal", "Devoluciones en tienda física"]
TEXTS = ["Devolvemos el dinero cuando recibimos tu devolución.",
         "Por tarjeta\nA tarjeta el reembolso tarda 3–5 días hábiles.",
         "Por PayPal\nA PayPal tarda 1–2 días.",
         "Devoluciones en tienda física\n1. Ve a cualquier tienda con el ticket. "
         "2. Entrega el artículo en caja."]


def features(query: str) -> dict[str, np.ndarray]:
    x = spanish_features(query, stem_sets(HEADINGS), stem_sets(TEXTS), TEXTS)
    return {name: x[:, i] for i, name in enumerate(FEATURES_ES)}


def test_the_section_whose_heading_holds_the_question_words_leads_the_heading_share():
    f = features("¿cuánto tarda si pagué con PayPal?")
    assert int(np.argmax(f["stem_heading"])) == 2
    assert f["stem_heading_rel"][2] == 0.0 and np.all(f["stem_heading_rel"] <= 0.0)


def test_word_forms_meet_through_their_stems():
    # "devolver" (question) and "Devoluciones" (heading) share the five-letter stem "devol"
    f = features("¿puedo devolver en una tienda física?")
    assert int(np.argmax(f["stem_heading"])) == 3
    assert f["stem_heading"][3] == pytest.approx(1.0)


def test_a_word_every_section_holds_counts_for_nothing_a_rare_one_for_much():
    # "tarda" is in two sections, "PayPal" in one: the PayPal section has the rarer words
    f = features("tarda paypal")
    assert f["stem_idf"][2] > f["stem_idf"][1] > f["stem_idf"][0] == 0.0
    assert f["stem_idf_rel"][2] == 0.0


@pytest.mark.parametrize("query, kinds", [
    ("¿Cuánto cuesta el envío a Canarias?", {"amount"}),
    ("¿cuánto tarda el reembolso?", {"time"}),
    ("¿cuántos códigos puedo usar?", {"count"}),
    ("¿dónde veo mis pedidos?", {"place"}),
    ("¿cómo devuelvo un artículo?", {"steps"}),
    ("¿Puedo pagar con Bizum?", {"yesno"}),
    ("mi pedido no ha llegado", set()),
])
def test_question_types(query, kinds):
    assert {k for k, asked in question_types(query).items() if asked} == kinds


def test_an_asked_type_is_plus_one_where_held_minus_one_where_missing_zero_if_not_asked():
    f = features("¿cómo devuelvo en tienda?")
    assert list(f["type_steps"]) == [-1.0, -1.0, -1.0, 1.0]
    assert not np.any(f["type_amount"]) and not np.any(f["type_time"])


def test_without_texts_the_question_type_columns_stay_zero():
    x = spanish_features("¿cómo devuelvo en tienda?", stem_sets(HEADINGS), stem_sets(TEXTS))
    assert not np.any(x[:, FEATURES_ES.index("type_steps")])


def test_the_shipped_spanish_weights_file_names_known_features():
    model = passage_ranker.learned_weights_es()
    assert model is not None
    base, extra, weights = model
    assert len(base) + len(extra) == len(weights) and extra
    assert np.all(np.isfinite(weights)) and np.any(weights != 0)


def test_a_weights_file_with_unknown_features_is_refused(tmp_path: Path,
                                                         monkeypatch: pytest.MonkeyPatch):
    bad = tmp_path / "passage_ranker_es.json"
    bad.write_text(json.dumps({"features": ["full", "not_a_feature"], "weights": [1.0, 2.0]}))
    monkeypatch.setattr(passage_ranker, "WEIGHTS_FILE_ES", bad)
    passage_ranker.learned_weights_es.cache_clear()
    try:
        with pytest.raises(ValueError, match="not_a_feature"):
            passage_ranker.learned_weights_es()
    finally:
        passage_ranker.learned_weights_es.cache_clear()


def test_spanish_passages_are_ranked_by_the_spanish_model(kb_dir: Path,
                                                          monkeypatch: pytest.MonkeyPatch):
    from kb_index.documents import chunk_articles, load_sources
    from kb_index.encoders import HashingEncoder

    index = KBIndex.build(chunk_articles(load_sources([kb_dir])), HashingEncoder(),
                          progress=False)
    heading = FEATURES_ES.index("stem_heading")

    def only(sign: float) -> tuple[list[int], list[int], np.ndarray]:
        return [], [heading], np.array([sign])

    # the opening's heading is the title "Política de devoluciones": it holds "devolver"'s stem,
    # the section's heading (title words removed: "Qué no se puede") does not
    question = "¿qué no se puede devolver?"
    monkeypatch.setattr(passage_ranker, "learned_weights_es", lambda: only(1.0))
    more = index.rank_passages(question, "return-policy", "es")
    monkeypatch.setattr(passage_ranker, "learned_weights_es", lambda: only(-1.0))
    fewer = index.rank_passages(question, "return-policy", "es")
    assert [c.heading for c in more] == ["Política de devoluciones", "Qué no se puede devolver"]
    assert [c.chunk_id for c in fewer] == [c.chunk_id for c in reversed(more)]
    # without the Spanish weights file the hand-set score decides (no error)
    monkeypatch.setattr(passage_ranker, "learned_weights_es", lambda: None)
    assert index.rank_passages(question, "return-policy", "es")
