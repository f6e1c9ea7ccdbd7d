"""Lemmas let the classifier see "devolver", "devuelvo" and "devolví" as one word."""

from __future__ import annotations

from rasa.shared.nlu.training_data.message import Message

from bot.components.lemma_tokenizer import LemmaTokenizer, lemmatize


def _tokens(text: str, language: str | None = None, **config: object) -> list[tuple[str, str]]:
    tokenizer = LemmaTokenizer({**LemmaTokenizer.get_default_config(), **config})
    message = Message(data={"text": text})
    if language:
        message.set("language", language)
    return [(tok.text, tok.lemma) for tok in tokenizer.tokenize(message, "text")]


def test_spanish_verb_forms_share_a_lemma() -> None:
    assert {lemmatize(w, "es") for w in ("devolver", "devuelvo", "devolví")} == {"devolver"}


def test_capitalised_words_are_lowercased_first() -> None:
    assert lemmatize("Quiero", "es") == "querer"


def test_english_table_when_language_is_english() -> None:
    assert lemmatize("returned", "en") == "return"
    assert lemmatize("orders", "en") == "order"


def test_unknown_language_tries_spanish_then_english() -> None:
    assert lemmatize("compré", None) == "comprar"
    assert lemmatize("cancelled", None) == "cancel"


def test_unknown_words_stay_lowercased() -> None:
    assert lemmatize("AT100234", "es") == "at100234"


def test_tokens_keep_surface_text_and_offsets() -> None:
    tokens = _tokens("Quiero devolver las zapatillas", "es")
    assert tokens == [
        ("Quiero", "querer"),
        ("devolver", "devolver"),
        ("las", "los"),
        ("zapatillas", "zapatilla"),
    ]


def test_lemmatize_can_be_switched_off_for_comparison() -> None:
    assert _tokens("devolví las zapatillas", "es", lemmatize=False) == [
        ("devolví", "devolví"),
        ("las", "las"),
        ("zapatillas", "zapatillas"),
    ]
