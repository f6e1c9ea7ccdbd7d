"""The ``problem`` entity: which of damaged / wrong item / missing a shopper reports."""

from __future__ import annotations

import pytest
from rasa.shared.nlu.training_data.message import Message

from bot.components.problem_extractor import ProblemEntityExtractor, find_problem


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        ("me llegó el producto roto", "damaged"),
        ("vinieron rayados", "damaged"),
        ("no enciende y huele a quemado", "damaged"),
        ("la pantalla vino rajada", "damaged"),
        ("el buzo vino descosido", "damaged"),
        ("el celu no prende", "damaged"),
        ("my shoes arrived broken", "damaged"),
        ("the mug is cracked", "damaged"),
        ("it doesn't turn on", "damaged"),
        ("me enviaron una talla equivocada", "wrong_item"),
        ("me mandaron otro modelo", "wrong_item"),
        ("no es lo que pedí", "wrong_item"),
        ("llegó un color distinto", "wrong_item"),
        ("they sent the wrong size", "wrong_item"),
        ("this is not what I ordered", "wrong_item"),
        ("falta una pieza", "missing"),
        ("el paquete vino incompleto", "missing"),
        ("no venía el cargador en la caja", "missing"),
        ("solo me llegó una zapatilla", "missing"),
        ("the charger is missing", "missing"),
        ("the cable wasn't in the box", "missing"),
        # the first problem mentioned wins
        ("me llegó otro modelo y encima roto", "wrong_item"),
        ("arrived broken and a part is missing", "damaged"),
    ],
)
def test_finds_the_problem(text: str, problem: str) -> None:
    found = find_problem(text)
    assert found is not None and found["value"] == problem


@pytest.mark.parametrize(
    "text",
    ["¿dónde está mi pedido?", "qué falta de respeto", "quiero devolver unas zapatillas",
     "where is my order", "hola", "", "gracias, todo perfecto"],
)
def test_no_problem(text: str) -> None:
    assert find_problem(text) is None


def test_span_points_at_the_words_in_the_original_text() -> None:
    text = "Me llegó la TAZA ROTA"
    found = find_problem(text)
    assert found is not None
    assert text[found["start"]:found["end"]] == "ROTA"


def test_component_adds_the_entity_and_keeps_others() -> None:
    message = Message.build(text="pedido AT100234: vino dañado")
    message.set("entities", [{"entity": "order_id", "value": "AT100234", "start": 7, "end": 15}])
    ProblemEntityExtractor().process([message])
    entities = message.get("entities")
    assert entities[0]["entity"] == "order_id"
    assert entities[1]["entity"] == "problem" and entities[1]["value"] == "damaged"
    assert entities[1]["extractor"] == "ProblemEntityExtractor"


def test_component_leaves_messages_without_a_problem_alone() -> None:
    message = Message.build(text="hola")
    ProblemEntityExtractor().process([message])
    assert not message.get("entities")
