"""action_answer_from_kb / action_kb_feedback against a tiny index built in a temp folder."""

from __future__ import annotations

import json
import logging
import os
from pathlib import Path
from typing import Any

import pytest
from rasa_sdk import Tracker
from rasa_sdk.executor import CollectingDispatcher

from actions.kb_answer import INDEX, ActionAnswerFromKB, ActionKBFeedback, trim_answer
from kb_index.documents import chunk_articles, load_sources
from kb_index.encoders import HashingEncoder
from kb_index.index import KBIndex
from privacy.records import privacy_key, pseudonym

ARTICLES = {
    "es/return-policy.md": """---
id: return-policy
lang: es
title: Política de devoluciones
url: https://tienda.example/ayuda/devoluciones
---
# Política de devoluciones

Tienes **30 días** desde la entrega para devolver cualquier artículo sin usar y con etiquetas.

## Qué no se puede devolver
Ropa interior, bañadores sin precinto y tarjetas regalo.
""",
    "en/return-policy.md": """---
id: return-policy
lang: en
title: Return policy
url: https://shop.example/help/returns
---
You have 30 days from delivery to return any unused item with its tags.
""",
    "es/shipping-times.md": """---
id: shipping-times
lang: es
title: Plazos de envío
url: https://tienda.example/ayuda/envios
---
Los pedidos llegan en 2 a 4 días laborables a la península.
""",
    "es/gift-cards.md": """---
id: gift-cards
lang: es
title: Tarjetas regalo
url: https://tienda.example/ayuda/tarjetas-regalo
---
Las tarjetas regalo no caducan y se pueden usar en varias compras.
""",
}


@pytest.fixture
def kb_env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A hashing-encoder index under a temp ATIENDE_DATA_DIR; returns the data dir."""
    src = tmp_path / "kb"
    for name, text in ARTICLES.items():
        (src / name).parent.mkdir(parents=True, exist_ok=True)
        (src / name).write_text(text, encoding="utf-8")
    index = KBIndex.build(chunk_articles(load_sources([src])), HashingEncoder(256),
                          progress=False)
    index.save(tmp_path / "var" / "kb_index")
    monkeypatch.setenv("ATIENDE_DATA_DIR", str(tmp_path / "var"))
    monkeypatch.setenv("KB_INDEX_DIR", str(tmp_path / "var" / "kb_index"))
    monkeypatch.setenv("KB_MIN_SCORE", "0.2")
    monkeypatch.delenv("KB_ENCODER", raising=False)
    INDEX.clear()
    yield tmp_path / "var"
    INDEX.clear()


def tracker(text: str, language: str = "es", entities: list[dict[str, Any]] | None = None,
            slots: dict[str, Any] | None = None,
            events: list[dict[str, Any]] | None = None) -> Tracker:
    return Tracker(
        sender_id="conv-1", slots={"language": language, **(slots or {})},
        latest_message={"text": text, "intent": {"name": "faq"}, "entities": entities or []},
        events=events or [], paused=False, followup_action=None, active_loop={},
        latest_action_name="action_listen")


async def run_answer(t: Tracker) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    dispatcher = CollectingDispatcher()
    events = await ActionAnswerFromKB().run(dispatcher, t, {})
    return dispatcher.messages, events


def slots(events: list[dict[str, Any]]) -> dict[str, Any]:
    return {e["name"]: e["value"] for e in events if e.get("event") == "slot"}


async def test_confident_answer_cites_article_and_asks_feedback(kb_env: Path) -> None:
    messages, events = await run_answer(
        tracker("¿tienes 30 días desde la entrega para devolver un artículo?"))
    answer, question = messages
    # Markdown kept: each channel renders it (bot/channels/formatting.py, widget markdown.js)
    assert answer["text"].startswith("Tienes **30 días** desde la entrega")
    assert answer["text"].endswith(
        "Más información: [Política de devoluciones](https://tienda.example/ayuda/devoluciones)")
    assert question["text"] == "¿Te ha servido?"
    assert [b["payload"] for b in question["buttons"]] == [
        '/kb_feedback{"helpful":"yes"}', '/kb_feedback{"helpful":"no"}']
    assert slots(events) == {"kb_last_article": "return-policy",
                             "kb_articles_shown": ["return-policy"]}
    assert not (kb_env / "kb_gaps.jsonl").exists()


async def test_english_shopper_gets_english_article(kb_env: Path) -> None:
    messages, _ = await run_answer(tracker("30 days to return an unused item?", language="en"))
    assert "More information: [Return policy](https://shop.example/help/returns)" in \
        messages[0]["text"]
    assert messages[1]["text"] == "Was this helpful?"
    assert [b["title"] for b in messages[1]["buttons"]] == ["Yes", "No"]


async def test_spanish_only_article_is_flagged_for_english_shopper(kb_env: Path) -> None:
    messages, _ = await run_answer(tracker("tarjetas regalo caducan", language="en"))
    assert "More information: [Tarjetas regalo](https://" in messages[0]["text"]
    assert "only available in Spanish" in messages[0]["text"]


async def test_button_payload_answers_that_article(kb_env: Path) -> None:
    t = tracker('/faq{"kb_article":"shipping-times"}',
                entities=[{"entity": "kb_article", "value": "shipping-times"}],
                slots={"kb_articles_shown": ["gift-cards"]})
    messages, events = await run_answer(t)
    assert messages[0]["text"].startswith("Los pedidos llegan en 2 a 4 días")
    assert "https://tienda.example/ayuda/envios" in messages[0]["text"]
    assert slots(events)["kb_articles_shown"] == ["gift-cards", "shipping-times"]


async def test_unsure_offers_three_articles_and_a_human_and_logs_gap(kb_env: Path) -> None:
    messages, events = await run_answer(tracker("¿vendéis bicicletas eléctricas plegables?"))
    [offer] = messages
    assert offer["text"].startswith("No estoy seguro")
    payloads = [b["payload"] for b in offer["buttons"]]
    assert len(payloads) == 4 and payloads[-1] == "/human_handoff"
    assert all(p.startswith('/faq{"kb_article":"') for p in payloads[:3])
    assert offer["buttons"][-1]["title"] == "Hablar con una persona"
    assert "kb_last_article" not in slots(events)
    assert len(slots(events)["kb_articles_shown"]) == 3
    [gap] = [json.loads(line) for line in (kb_env / "kb_gaps.jsonl").read_text().splitlines()]
    assert gap["query"] == "¿vendéis bicicletas eléctricas plegables?"
    # the conversation id is pseudonymised (on WhatsApp it is the shopper's phone number)
    assert gap["conversation_id"] == pseudonym("conv-1", privacy_key()) and gap["lang"] == "es"
    assert len(gap["candidates"]) == 3


async def test_unsure_intent_needs_a_surer_kb_match(kb_env: Path,
                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    """A question the NLU kept as faq without being sure is answered only on a clearly better
    match: just above the usual threshold it gets choices instead of a store answer."""
    query = "¿tienes 30 días desde la entrega para devolver un artículo?"
    INDEX.clear()
    confidence = INDEX.get().search(query, 3, None, "es")[0].confidence
    monkeypatch.setenv("KB_MIN_SCORE", str(confidence - 0.05))
    answered, _ = await run_answer(tracker(query))
    assert "30 días" in answered[0]["text"] and "Política de devoluciones" in answered[0]["text"]
    unsure = tracker(query)
    unsure.latest_message["faq_low_confidence"] = True
    [offer], events = await run_answer(unsure)
    assert offer["text"].startswith("No estoy seguro")
    assert "kb_last_article" not in slots(events)


async def test_missing_index_is_a_polite_message(kb_env: Path, tmp_path: Path,
                                                 monkeypatch: pytest.MonkeyPatch,
                                                 caplog: pytest.LogCaptureFixture) -> None:
    monkeypatch.setenv("KB_INDEX_DIR", str(tmp_path / "nowhere"))
    INDEX.clear()
    with caplog.at_level(logging.ERROR, logger="actions.kb_answer"):
        messages, events = await run_answer(tracker("devoluciones", language="en"))
    assert messages[0]["text"].startswith("I can't look up our help articles right now")
    assert messages[0]["buttons"][0]["payload"] == "/human_handoff"
    assert events == []
    assert "knowledge base unavailable" in caplog.text and "kb_index build" in caplog.text


async def test_encoder_mismatch_is_a_polite_message(kb_env: Path,
                                                    monkeypatch: pytest.MonkeyPatch,
                                                    caplog: pytest.LogCaptureFixture) -> None:
    monkeypatch.setenv("KB_ENCODER", "hash:32")
    with caplog.at_level(logging.ERROR, logger="actions.kb_answer"):
        messages, _ = await run_answer(tracker("devoluciones"))
    assert messages[0]["text"].startswith("Ahora mismo no puedo consultar")
    assert "built with encoder 'hash:256'" in caplog.text


async def test_index_is_loaded_once_and_reloaded_after_rebuild(kb_env: Path) -> None:
    first = INDEX.get()
    assert INDEX.get() is first
    meta = kb_env / "kb_index" / "meta.json"
    stat = meta.stat()
    os.utime(meta, (stat.st_atime, stat.st_mtime + 5))
    assert INDEX.get() is not first


async def test_feedback_yes_is_recorded(kb_env: Path) -> None:
    dispatcher = CollectingDispatcher()
    t = tracker('/kb_feedback{"helpful":"yes"}', entities=[{"entity": "helpful", "value": "yes"}],
                slots={"kb_last_article": "return-policy"})
    assert await ActionKBFeedback().run(dispatcher, t, {}) == []
    assert dispatcher.messages[0]["text"].startswith("¡Gracias!")
    [record] = [json.loads(x) for x in (kb_env / "kb_feedback.jsonl").read_text().splitlines()]
    assert record["article"] == "return-policy" and record["helpful"] is True


async def test_feedback_no_offers_a_human_and_logs_gap(kb_env: Path) -> None:
    dispatcher = CollectingDispatcher()
    t = tracker('/kb_feedback{"helpful":"no"}', language="en",
                entities=[{"entity": "helpful", "value": "no"}],
                slots={"kb_last_article": "shipping-times"},
                events=[{"event": "user", "text": "when does my parcel arrive?"},
                        {"event": "user", "text": '/kb_feedback{"helpful":"no"}'}])
    await ActionKBFeedback().run(dispatcher, t, {})
    [message] = dispatcher.messages
    assert message["text"].startswith("Sorry it didn't help")
    assert message["buttons"][0]["payload"] == "/human_handoff"
    feedback = json.loads((kb_env / "kb_feedback.jsonl").read_text())
    assert feedback["helpful"] is False and feedback["article"] == "shipping-times"
    gap = json.loads((kb_env / "kb_gaps.jsonl").read_text())
    assert gap["query"] == "when does my parcel arrive?" and gap["reason"] == "not_helpful"


def test_trim_answer_cuts_at_sentence() -> None:
    text = "Primera frase corta. " * 30
    trimmed = trim_answer(text, limit=100)
    assert len(trimmed) <= 100 and trimmed.endswith(".")
    assert trim_answer("Ver [la guía](https://x.example) **ya**.") == \
        "Ver [la guía](https://x.example) **ya**."  # Markdown is kept for the channels
    assert trim_answer("palabra " * 100, limit=50).endswith("…")


def test_trim_answer_keeps_whole_tables_and_blocks() -> None:
    table = ("| Destino | Estándar |\n|---|---|\n| Península | 3,95 € |\n"
             "| Baleares | 5,95 € |")
    text = f"Precios por zona:\n{table}\n\nOtro párrafo largo. " + "Más texto. " * 80
    trimmed = trim_answer(text)
    assert trimmed == f"Precios por zona:\n\n{table}"  # the table whole, the long tail left out
    assert trim_answer("## Plazos\nA tarjeta 3–5 días.") == "**Plazos**\nA tarjeta 3–5 días."
    long_table = "| a | b |\n|---|---|\n" + "| fila | 12345 |\n" * 80
    cut = trim_answer(long_table, limit=200)
    assert len(cut) <= 200 and cut.endswith("|")  # cut after a whole row


async def test_answer_from_a_section_names_the_section(kb_env: Path) -> None:
    messages, _ = await run_answer(
        tracker("¿se pueden devolver bañadores sin precinto o ropa interior?"))
    assert messages[0]["text"].startswith(
        "**Qué no se puede devolver**\nRopa interior, bañadores sin precinto y tarjetas regalo.")
