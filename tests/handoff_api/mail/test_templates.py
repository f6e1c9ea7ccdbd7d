"""The one mail catalogue: every kind in Spanish and English with the same fields."""

from __future__ import annotations

import pytest

from handoff_api.mail.templates import CATALOGUE, CHAT_TEXTS, LANGUAGES, fields_of, render


@pytest.mark.parametrize("kind", sorted(CATALOGUE))
def test_every_mail_exists_in_every_language_with_the_same_fields(kind: str) -> None:
    entry = CATALOGUE[kind]
    assert set(entry) == set(LANGUAGES)
    es = {part: fields_of(text) for part, text in entry["es"].items()}
    for language in LANGUAGES:
        assert {part: fields_of(text) for part, text in entry[language].items()} == es


@pytest.mark.parametrize("kind", sorted(CHAT_TEXTS))
def test_chat_texts_exist_in_every_language(kind: str) -> None:
    entry = CHAT_TEXTS[kind]
    assert set(entry) == set(LANGUAGES)
    assert fields_of(entry["es"]) == fields_of(entry["en"])


def test_render_in_the_shoppers_language_and_spanish_by_default() -> None:
    fields = {"case": 7, "store": "Tienda", "name": " Ana", "due": "lunes 14/12 a las 10:00"}
    subject, body = render("offline_reminder", "en", **fields)
    assert subject.startswith("We're on your question (case #7)") and body.startswith("Hi Ana,")
    subject, body = render("offline_reminder", "pt", **fields)
    assert subject.startswith("Seguimos con tu consulta (caso #7)") and "Hola Ana:" in body


def test_a_missing_field_is_refused_not_sent_with_a_hole() -> None:
    with pytest.raises(KeyError, match="due"):
        render("offline_reminder", "es", case=1, store="x", name="")
