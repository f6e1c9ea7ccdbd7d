"""Passage selection inside the chosen article (kb_index.passages), with the hashing encoder."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from kb_index.documents import chunk_articles, load_sources
from kb_index.encoders import HashingEncoder
from kb_index.index import KBIndex
from kb_index.passages import (
    PassageFacts,
    asked_kinds,
    heading_threshold,
    named_groups,
    passage_facts,
    question_needs,
    score_passages,
)

ARTICLE = """---
id: refunds
lang: es
title: Reembolsos
---
# Reembolsos

Te devolvemos el dinero al mismo medio de pago cuando revisamos la devolución.

## Plazos
A tarjeta tarda 3–5 días hábiles y a PayPal 1–2 días.

## Si no ves el dinero
Comprueba el email del reembolso y pregunta a tu banco.

## En Baleares
El reembolso de los portes a Baleares es de 5,95 €.
"""


def _index(tmp_path: Path) -> KBIndex:
    (tmp_path / "es").mkdir()
    (tmp_path / "es" / "refunds.md").write_text(ARTICLE, encoding="utf-8")
    return KBIndex.build(chunk_articles(load_sources([tmp_path], policies=None)),
                         HashingEncoder(128), progress=False)


def test_what_kind_of_answer_a_question_asks_for() -> None:
    assert asked_kinds("¿cuánto tarda el reembolso?", "es") == (True, False)
    assert asked_kinds("¿cuánto cuesta el envío a Canarias?", "es") == (False, True)
    assert asked_kinds("how long does a refund take?", "en") == (True, False)
    assert asked_kinds("how much is shipping?", "en") == (False, True)
    assert asked_kinds("¿puedo devolver un bikini?", "es") == (False, False)


def test_named_things_fold_accents_and_synonyms() -> None:
    assert named_groups("envío a Mallorca") == named_groups("Baleares")
    assert named_groups("pagué con paypal") & named_groups("PayPal 1–2 días")
    assert not named_groups("¿cuánto tarda?")
    assert not named_groups("contact us")  # "us" alone is not the United States


def test_the_kind_of_figure_asked_for_breaks_a_near_tie() -> None:
    """Two passages equally similar to the question: the one holding a duration answers
    "how long", the one holding an amount answers "how much"."""
    facts = [PassageFacts(has_duration=True, has_money=False, named=frozenset(), lead=False),
             PassageFacts(has_duration=False, has_money=True, named=frozenset(), lead=False)]
    cos = np.array([0.40, 0.41])
    zero = np.zeros(2)
    how_long = score_passages([0, 1], "¿cuánto tarda?", "es", zero, cos, zero, facts)
    how_much = score_passages([0, 1], "¿cuánto cuesta?", "es", zero, cos, zero, facts)
    assert how_long.argmax() == 0 and how_much.argmax() == 1


def test_a_named_zone_pulls_its_passage(tmp_path: Path) -> None:
    index = _index(tmp_path)
    assert index.rank_passages("reembolso de portes en Mallorca", "refunds", "es")[0].heading \
        == "En Baleares"


def test_an_unknown_article_has_no_passages(tmp_path: Path) -> None:
    assert _index(tmp_path).rank_passages("hola", "nope", "es") == []


def test_thresholds_in_headings_and_amounts_in_questions() -> None:
    assert heading_threshold("Reembolsos de más de 500 €") == 500.0
    assert heading_threshold("Orders over €1,000") == 1000.0
    assert heading_threshold("Pedidos a partir de 49,90 €") == 49.9
    assert heading_threshold("Plazos por método de pago") is None
    assert heading_threshold("Más de 30 días") is None  # days, not money
    assert question_needs("mi reembolso es de 900 € y tarda", "es").amounts == (900.0,)
    assert question_needs("my refund is €1,250.50", "en").amounts == (1250.5,)
    assert question_needs("pedido 123456, talla 42", "es").amounts == ()


def test_an_amount_over_a_sections_threshold_pulls_that_section() -> None:
    """Equal similarity otherwise: 900 € goes under "más de 500 €", 90 € does not."""
    facts = [PassageFacts(has_duration=True, has_money=False, named=frozenset(), lead=True),
             PassageFacts(has_duration=True, has_money=True, named=frozenset(), lead=False,
                          threshold=500.0)]
    cos, zero = np.array([0.45, 0.40]), np.zeros(2)
    big = score_passages([0, 1], "mi reembolso de 900 € tarda", "es", zero, cos, zero, facts)
    small = score_passages([0, 1], "mi reembolso de 90 € tarda", "es", zero, cos, zero, facts)
    assert big.argmax() == 1 and small.argmax() == 0


def test_years_and_clock_times_answer_when_and_how_long() -> None:
    from kb_index.documents import Chunk

    def facts(text: str) -> PassageFacts:
        return passage_facts([Chunk("c#0", "a", "es", "T", "", "H", text)])[0]

    assert facts("La tarjeta es válida 2 años.").has_duration
    assert facts("Atendemos de 9:00 a 20:00.").has_duration
    assert not facts("Talla 42, pecho 96.").has_duration
