"""The rating after a handback (``actions.rating``): buttons, effort question, comment, and the
rating reaching the real handoff API."""

from __future__ import annotations

import pytest
from rasa_sdk.executor import CollectingDispatcher

from actions.handoff import ActionHandoff
from actions.handoff_client import HandoffClient
from actions.rating import ActionCsatThanks, ActionStoreRating, ValidateCsatForm
from tests.actions.handoff_helpers import (
    BOT_TOKEN,
    client_for,
    make_app,
    slots_set,
    stored,
    tracker,
)


async def test_rating_and_comment_reach_the_api(tmp_path):
    app = make_app(tmp_path)
    client = client_for(app)
    hid = slots_set(await ActionHandoff(client).run(CollectingDispatcher(), tracker(),
                                                    {}))["handoff_id"]
    events = await ActionStoreRating(client).run(
        CollectingDispatcher(), tracker({"rating": "4", "handoff_id": hid}, intent="rate"), {})
    assert slots_set(events)["rating"] == "4"
    assert stored(app).rating == 4

    validated = await ValidateCsatForm().validate_csat_comment("  Muy amables  ",
                                                               CollectingDispatcher(), tracker(),
                                                               {})
    assert validated == {"csat_comment": "Muy amables"}
    dispatcher = CollectingDispatcher()
    events = await ActionCsatThanks(client).run(
        dispatcher, tracker({"rating": "4", "handoff_id": hid, "csat_comment": "Muy amables"}), {})
    assert stored(app).rating_comment == "Muy amables"
    assert "Gracias por tu opinión" in dispatcher.messages[0]["text"]
    assert slots_set(events)["handoff_id"] is None


@pytest.mark.parametrize(("answer", "expected"), [
    ("4", "4"), ("5", "5"), ("muy fácil", "5"), ("Fácil", "4"), ("difícil!", "2"),
    ("very easy", "5"), ("hard", "2"), ("3/5", "3"), ("un 2", "2"),
    # anything else is a skip: the form goes on to the comment, never asks twice
    ("-", "-"), ("9", "-"), ("no sé, ¿y mi pedido?", "-"), ("", "-"),
])
async def test_the_effort_question_reads_buttons_and_typed_answers(answer, expected):
    validated = await ValidateCsatForm().validate_ces(answer, CollectingDispatcher(), tracker(),
                                                      {})
    assert validated == {"ces": expected}


async def test_a_new_rating_asks_its_own_effort_question_and_comment():
    events = await ActionStoreRating(HandoffClient("http://127.0.0.1:9", BOT_TOKEN)).run(
        CollectingDispatcher(), tracker({"rating": "5", "ces": "4", "csat_comment": "-"},
                                        intent="rate"), {})
    assert slots_set(events) == {"rating": "5", "ces": None, "csat_comment": None}
    thanks = await ActionCsatThanks(HandoffClient("http://127.0.0.1:9", BOT_TOKEN)).run(
        CollectingDispatcher(), tracker({"rating": "5", "ces": "4"}), {})
    assert slots_set(thanks)["ces"] is None


async def test_invalid_rating_asks_again():
    dispatcher = CollectingDispatcher()
    events = await ActionStoreRating(HandoffClient("http://127.0.0.1:9", BOT_TOKEN)).run(
        dispatcher, tracker({"rating": "9"}, intent="rate"), {})
    assert slots_set(events)["rating"] is None
    assert "del 1 al 5" in dispatcher.messages[0]["text"]

