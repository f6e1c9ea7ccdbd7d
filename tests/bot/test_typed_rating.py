"""A rating typed instead of tapped (``bot/typed_rating.py``): what reads as a rating, when the
question was really asked, and the trained model's parse turned into the button's."""

from __future__ import annotations

import asyncio

import pytest

from bot.typed_rating import RATE_PAYLOAD, rating_was_asked, read_rating
from tests.bot.trained_model import MODEL, model_test_marks

BUTTONS = [{"title": f"{n} · x", "payload": f'/rate{{"rating":"{n}"}}'} for n in range(1, 6)]


@pytest.mark.parametrize(("text", "expected"), [
    ("5", 5), (" 4 ", 4), ("un 4", 4), ("4/5", 4), ("4 / 5", 4), ("3 de 5", 3), ("le doy un 5", 5),
    ("cinco", 5), ("5 estrellas", 5), ("muy bien", 5), ("Muy bien!", 5), ("excelente", 5),
    ("Excelente, gracias", 5), ("bien", 4), ("regular", 3), ("mal", 2), ("fatal", 1),
    ("pésimo", 1), ("very good", 5), ("good", 4), ("ok", 3), ("poor", 2), ("awful", 1),
    ("I'd give 4", 4), ("2 stars", 2), ("3 out of 5", 3),
])
def test_a_whole_message_that_is_a_rating(text, expected):
    assert read_rating(text) == expected


@pytest.mark.parametrize("text", [
    "6", "0", "10", "AT100234", "5 pares de zapatillas", "bien, pero ¿y mi pedido?",
    "quiero devolver 2", "no", "gracias", "hola", "", "muy bien " * 20,
])
def test_anything_else_is_left_to_the_nlu(text):
    assert read_rating(text) is None


def test_only_when_the_last_bot_message_asked_and_nobody_answered_yet():
    from rasa.shared.core.events import ActionExecuted, BotUttered, UserUttered

    asked = BotUttered("¿Qué tal te han atendido?", data={"buttons": BUTTONS})
    assert rating_was_asked([ActionExecuted("action_listen"), asked])
    assert rating_was_asked([asked, ActionExecuted("action_listen")])
    assert not rating_was_asked([asked, UserUttered("5"), BotUttered("¡Gracias!")])
    assert not rating_was_asked([asked, UserUttered("hola")])
    other = BotUttered("¿Qué artículo?", data={"buttons": [{"title": "1", "payload": "1"}]})
    assert not rating_was_asked([other])
    assert not rating_was_asked([BotUttered("CES", data={"buttons": [
        {"title": "5", "payload": '/inform{"ces":"5"}'}]})])
    assert all(RATE_PAYLOAD.match(b["payload"]) for b in BUTTONS)


@pytest.fixture(scope="module")
def agent():
    from rasa.core.agent import Agent

    from bot import typed_rating

    typed_rating.install()
    return Agent.load(str(MODEL))


def test_the_trained_model_parse_becomes_the_buttons(agent):
    from rasa.core.channels.channel import UserMessage
    from rasa.shared.core.events import ActionExecuted, BotUttered
    from rasa.shared.core.trackers import DialogueStateTracker

    def parse(text: str, events: list) -> dict:
        tracker = DialogueStateTracker.from_events("typed-rating", events)
        return asyncio.run(agent.processor.parse_message(UserMessage(text), tracker))

    asked = [ActionExecuted("action_listen"),
             BotUttered("¿Qué tal te han atendido?", data={"buttons": BUTTONS}),
             ActionExecuted("action_listen")]
    for text, value in (("muy bien", "5"), ("5", "5"), ("un 3", "3"), ("fatal", "1")):
        parsed = parse(text, asked)
        assert parsed["intent"]["name"] == "rate", text
        assert [(e["entity"], e["value"]) for e in parsed["entities"]] == [("rating", value)]
    # the same words without the question: the NLU's own answer
    plain = [ActionExecuted("action_listen"), BotUttered("¿En qué te ayudo?"),
             ActionExecuted("action_listen")]
    assert parse("muy bien", plain)["intent"]["name"] != "rate"
    # a question after the rating: untouched
    assert parse("¿dónde está mi pedido AT100234?", asked)["intent"]["name"] != "rate"


for _mark in model_test_marks("the typed-rating test with the trained model"):
    test_the_trained_model_parse_becomes_the_buttons = _mark(
        test_the_trained_model_parse_becomes_the_buttons)
