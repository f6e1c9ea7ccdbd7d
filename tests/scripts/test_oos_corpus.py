"""The licensed out-of-scope corpus stays licensed, external-free and free of shop requests."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from scripts.oos_corpus import STORE_WORDS, excluded_texts, normalise, select

ROOT = Path(__file__).resolve().parents[2]
CORPUS = ROOT / "data" / "out_of_scope_corpus"


def _lines(lang: str) -> list[str]:
    return [line for line in (CORPUS / f"{lang}.txt").read_text(encoding="utf-8").splitlines()
            if line.strip()]


@pytest.mark.parametrize("lang", ["es", "en"])
def test_every_corpus_file_has_a_source_row(lang: str) -> None:
    sources = (CORPUS / "SOURCES.md").read_text(encoding="utf-8")
    assert f"`{lang}.txt`" in sources and "CC BY 4.0" in sources
    assert len(_lines(lang)) >= 500


@pytest.mark.parametrize("lang", ["es", "en"])
def test_no_corpus_sentence_is_an_external_or_training_message(lang: str) -> None:
    """Any length: the external set must stay a fair yardstick."""
    excluded = excluded_texts()
    clashes = [s for s in _lines(lang) if normalise(s) in excluded]
    assert not clashes, clashes[:5]


@pytest.mark.parametrize("lang", ["es", "en"])
def test_no_corpus_sentence_mentions_a_store_word(lang: str) -> None:
    store = re.compile(rf"\b({STORE_WORDS[lang]})", re.IGNORECASE)
    assert not [s for s in _lines(lang) if store.search(s)]


def test_select_filters_store_words_excluded_texts_and_duplicates() -> None:
    by_intent = {"a": ["Turn on the lights", "turn on the lights!", "where is my order",
                       "play jazz", "tell me a joke"], "b": ["what's the weather"]}
    chosen = select(by_intent, "en", {normalise("tell me a joke")}, per_intent=10, seed=1)
    assert sorted(chosen) == ["Turn on the lights", "play jazz", "what's the weather"]
    assert len(select(by_intent, "en", set(), per_intent=1, seed=1)) == 2
