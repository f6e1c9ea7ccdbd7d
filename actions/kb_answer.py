"""Answers from the store's own help articles, with the source cited, or an honest "not sure".

``action_answer_from_kb`` searches the index built by ``python -m kb_index build``. A confident
match is answered with the passage that answers best (kb_index.passages) plus a link to the
article. Answers are Markdown — paragraphs, lists, **bold**, tables, links — which each channel
renders its own way: the widget as safe HTML, WhatsApp with its own marks, Messenger as plain text
(bot/channels/formatting.py, handoff_api/static/widget/markdown.js). Below the calibrated
threshold the assistant does not guess: it offers the three closest articles as buttons and a
human. Unanswered questions go to ``var/kb_gaps.jsonl`` so the store learns what to write next.
``action_kb_feedback`` records whether an answer helped.

The index (and its encoder model, seconds to load) is loaded lazily once per process and shared
by all conversations; loading, encoding and file writes run in worker threads so one search never
stalls the action server's event loop.
"""

from __future__ import annotations

import asyncio
import json
import logging
import os
import re
import threading
import time
from pathlib import Path
from typing import Any

from rasa_sdk import Action, Tracker
from rasa_sdk.events import EventType, SlotSet
from rasa_sdk.executor import CollectingDispatcher

from actions.i18n import normalize_language, register, t
from kb_index.index import Hit, KBIndex
from kb_index.persist import KBIndexError
from kb_index.settings import answer_threshold, data_dir, index_dir
from privacy.records import analytics_record, append_jsonl, privacy_key

logger = logging.getLogger(__name__)

#: Whole Markdown blocks up to this many characters: room for a table and the sentence before it.
ANSWER_MAX_CHARS = 700
SHOWN_HISTORY = 10
#: The NLU marks a question it kept as ``faq`` although it was unsure (``faq_low_confidence``,
#: bot/components/fallback_classifier.py): it may not be about the shop at all. Such a question is
#: answered outright only if the KB is this much surer than usual; otherwise the shopper gets the
#: closest articles as choices, so an off-topic question never turns into a store answer.
LOW_INTENT_KEY = "faq_low_confidence"
LOW_INTENT_MARGIN = 0.1

MESSAGES = {
    "kb_answer": {
        "es": "{answer}\n\nMás información: {link}",
        "en": "{answer}\n\nMore information: {link}",
    },
    "kb_other_language": {
        "es": "(Este artículo solo está disponible en inglés.)",
        "en": "(This article is only available in Spanish.)",
    },
    "kb_helpful_question": {"es": "¿Te ha servido?", "en": "Was this helpful?"},
    "kb_button_yes": {"es": "Sí", "en": "Yes"},
    "kb_button_no": {"es": "No", "en": "No"},
    "kb_not_sure": {
        "es": "No estoy seguro de tener la respuesta. ¿Es alguno de estos artículos?",
        "en": "I'm not sure I have the answer. Is it one of these articles?",
    },
    "kb_no_match": {
        "es": "No he encontrado nada sobre eso en nuestra ayuda.",
        "en": "I couldn't find anything about that in our help centre.",
    },
    "kb_button_human": {"es": "Hablar con una persona", "en": "Talk to a person"},
    "kb_unavailable": {
        "es": "Ahora mismo no puedo consultar nuestros artículos de ayuda. "
              "Si quieres, te paso con una persona del equipo.",
        "en": "I can't look up our help articles right now. "
              "If you like, I can put you through to someone from the team.",
    },
    "kb_unknown_article": {
        "es": "No encuentro ese artículo; te muestro lo más parecido.",
        "en": "I can't find that article; here is the closest match.",
    },
    "kb_feedback_thanks": {
        "es": "¡Gracias! Me alegro de haberte ayudado. ¿Algo más?",
        "en": "Thanks! Glad it helped. Anything else?",
    },
    "kb_feedback_sorry": {
        "es": "Siento que no te haya servido. ¿Quieres que te pase con una persona?",
        "en": "Sorry it didn't help. Would you like me to put you through to a person?",
    },
    "kb_button_no_thanks": {"es": "No, gracias", "en": "No, thanks"},
}
register(MESSAGES)


# --------------------------------------------------------------------------- index cache
class _IndexCache:
    """One loaded index per process, reloaded when the index on disk is rebuilt."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._index: KBIndex | None = None
        self._key: tuple[str, float] | None = None

    def get(self) -> KBIndex:
        directory = index_dir()
        meta = directory / "meta.json"
        try:
            key = (str(directory.resolve()), meta.stat().st_mtime)
        except OSError:
            key = None
        with self._lock:
            if self._index is None or key != self._key:
                self._index = KBIndex.load(directory, os.environ.get("KB_ENCODER") or None)
                self._key = key
            return self._index

    def clear(self) -> None:
        with self._lock:
            self._index, self._key = None, None


INDEX = _IndexCache()


# --------------------------------------------------------------------------- pure helpers
def clean_markdown(text: str) -> str:
    """Markdown reduced to its words (kept for callers that need plain text, e.g. logs)."""
    text = re.sub(r"\[([^\]]+)\]\([^)]+\)", r"\1", text)
    text = re.sub(r"(\*\*|__|`)", "", text)
    text = re.sub(r"^\s*#+\s*", "", text, flags=re.MULTILINE)
    text = re.sub(r"^\s*[*+]\s+", "- ", text, flags=re.MULTILINE)
    return re.sub(r"\n{3,}", "\n\n", text).strip()


def markdown_blocks(text: str) -> list[str]:
    """Paragraphs, lists and tables of a Markdown passage (a table is one block, even when no
    blank line separates it from the sentence above it)."""
    blocks: list[str] = []
    current: list[str] = []
    in_table = False
    for line in text.strip().splitlines():
        is_row = line.lstrip().startswith("|")
        if not line.strip() or (current and is_row != in_table):
            if current:
                blocks.append("\n".join(current))
            current = []
        if line.strip():
            current.append(line)
            in_table = is_row
    if current:
        blocks.append("\n".join(current))
    return blocks


def _cut(text: str, limit: int) -> str:
    """At most ``limit`` characters, after a whole sentence or line, never mid-word."""
    window = text[:limit]
    cut = max(window.rfind(". "), window.rfind(".\n"), window.rfind("\n"))
    if cut >= limit // 3:
        return window[:cut + 1].rstrip()
    return window.rsplit(" ", 1)[0].rstrip(" ,;:") + "…"


def trim_answer(text: str, limit: int = ANSWER_MAX_CHARS) -> str:
    """The passage as Markdown, in whole blocks up to ``limit`` characters.

    A first block longer than the limit is cut after a whole table row, sentence or line. Headings
    inside the passage become bold lines (chat bubbles have no heading sizes).
    """
    text = re.sub(r"^\s*#{1,6}\s+(.+?)\s*#*\s*$", r"**\1**", text.strip(), flags=re.MULTILINE)
    kept: list[str] = []
    size = 0
    for block in markdown_blocks(text):
        if kept and size + len(block) + 2 > limit:
            break
        if not kept and len(block) > limit:
            kept.append(_cut(block, limit))
            break
        kept.append(block)
        size += len(block) + 2
    return "\n\n".join(kept)


def _link(title: str, url: str) -> str:
    label = title.replace("[", "(").replace("]", ")")
    return f"[{label}]({url})" if url.startswith(("http://", "https://")) else title


def format_answer(hit: Hit, lang: str) -> str:
    """The shopper's answer in Markdown: the section's name, the passage, the article's link."""
    answer = trim_answer(hit.text)
    if hit.heading and hit.heading != hit.title and len(hit.heading) < 80:
        answer = f"**{hit.heading}**\n{answer}"  # the section's name gives context
    text = t("kb_answer", lang, answer=answer, link=_link(hit.title, hit.url)).rstrip()
    if hit.lang != lang:
        text += "\n" + t("kb_other_language", lang)
    return text


def faq_payload(article_id: str) -> str:
    return "/faq" + json.dumps({"kb_article": article_id}, separators=(",", ":"))


def _append_jsonl(path: Path, record: dict[str, Any]) -> None:
    """Analytics lines carry no personal data: text redacted, conversation id pseudonymised."""
    append_jsonl(path, analytics_record(record, privacy_key()))


async def _record(name: str, record: dict[str, Any]) -> None:
    """Append to ``$ATIENDE_DATA_DIR/var-file``; a full disk must not break the conversation."""
    try:
        await asyncio.to_thread(_append_jsonl, data_dir() / name, record)
    except OSError:
        logger.exception("could not write %s", name)


def _shown(tracker: Tracker, new: list[str]) -> list[str]:
    previous = tracker.get_slot("kb_articles_shown") or []
    merged = [a for a in previous if a not in new] + new
    return merged[-SHOWN_HISTORY:]


# --------------------------------------------------------------------------- actions
class ActionAnswerFromKB(Action):
    def name(self) -> str:
        return "action_answer_from_kb"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker,
                  domain: dict[str, Any]) -> list[EventType]:
        lang = normalize_language(tracker.get_slot("language"))
        try:
            index = await asyncio.to_thread(INDEX.get)
        except (KBIndexError, OSError, ValueError) as exc:
            logger.error("knowledge base unavailable: %s", exc)
            dispatcher.utter_message(text=t("kb_unavailable", lang), buttons=[
                {"title": t("kb_button_human", lang), "payload": "/human_handoff"}])
            return []
        query = (tracker.latest_message or {}).get("text") or ""
        requested = next(tracker.get_latest_entity_values("kb_article"), None)
        if requested:
            hit = index.article(str(requested), lang)
            if hit is not None:
                return self._answer(dispatcher, tracker, hit, lang)
            dispatcher.utter_message(text=t("kb_unknown_article", lang))
            query = str(requested).replace("-", " ")
        if query.startswith("/"):
            query = ""
        hits = await asyncio.to_thread(index.search, query, 3, None, lang) if query else []
        threshold = answer_threshold(index.meta["encoder"])
        if (tracker.latest_message or {}).get(LOW_INTENT_KEY) and not requested:
            threshold += LOW_INTENT_MARGIN
        if hits and hits[0].confidence >= threshold:
            return self._answer(dispatcher, tracker, hits[0], lang)
        await _record("kb_gaps.jsonl", {
            "ts": time.time(), "conversation_id": tracker.sender_id, "lang": lang,
            "query": query, "threshold": threshold,
            "candidates": [{"article": h.article_id, "confidence": round(h.confidence, 4)}
                           for h in hits],
        })
        logger.info("kb: no confident answer (%.3f < %.3f) for %r",
                    hits[0].confidence if hits else -1.0, threshold, query)
        buttons = [{"title": h.title, "payload": faq_payload(h.article_id)} for h in hits]
        buttons.append({"title": t("kb_button_human", lang), "payload": "/human_handoff"})
        dispatcher.utter_message(text=t("kb_not_sure" if hits else "kb_no_match", lang),
                                 buttons=buttons)
        return [SlotSet("kb_articles_shown", _shown(tracker, [h.article_id for h in hits]))]

    @staticmethod
    def _answer(dispatcher: CollectingDispatcher, tracker: Tracker, hit: Hit,
                lang: str) -> list[EventType]:
        dispatcher.utter_message(text=format_answer(hit, lang))
        dispatcher.utter_message(text=t("kb_helpful_question", lang), buttons=[
            {"title": t("kb_button_yes", lang), "payload": '/kb_feedback{"helpful":"yes"}'},
            {"title": t("kb_button_no", lang), "payload": '/kb_feedback{"helpful":"no"}'},
        ])
        return [SlotSet("kb_last_article", hit.article_id),
                SlotSet("kb_articles_shown", _shown(tracker, [hit.article_id]))]


class ActionKBFeedback(Action):
    def name(self) -> str:
        return "action_kb_feedback"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker,
                  domain: dict[str, Any]) -> list[EventType]:
        lang = normalize_language(tracker.get_slot("language"))
        value = str(next(tracker.get_latest_entity_values("helpful"), "") or "").lower()
        helpful = value in ("yes", "si", "sí", "true", "1")
        article = tracker.get_slot("kb_last_article")
        record = {"ts": time.time(), "conversation_id": tracker.sender_id, "lang": lang,
                  "article": article, "helpful": helpful}
        await _record("kb_feedback.jsonl", record)
        if helpful:
            dispatcher.utter_message(text=t("kb_feedback_thanks", lang))
            return []
        await _record("kb_gaps.jsonl", {**record, "query": _last_question(tracker),
                                        "reason": "not_helpful"})
        dispatcher.utter_message(text=t("kb_feedback_sorry", lang), buttons=[
            {"title": t("kb_button_human", lang), "payload": "/human_handoff"},
            {"title": t("kb_button_no_thanks", lang), "payload": "/deny"},
        ])
        return []


def _last_question(tracker: Tracker) -> str:
    """The shopper's last typed message before the feedback button (what the article missed)."""
    for event in reversed(tracker.events):
        text = event.get("text") if event.get("event") == "user" else None
        if text and not text.startswith("/"):
            return str(text)
    return ""
