"""Whitespace tokenizer that fills Rasa ``Token.lemma`` from spaCy lookup tables.

Shoppers write "devolver", "devuelvo", "devolví"; with lemmas these share one feature
("devolver") in ``CountVectorsFeaturizer(use_lemma=True)``, which matters for a Spanish bot
trained on a few hundred examples per intent. spaCy's lookup lemmatizer (``spacy.blank(lang)``
+ ``lemmatizer`` in ``lookup`` mode, tables from ``spacy-lookups-data``) is a word → lemma
dictionary, so we load the tables directly: no pipeline, no model download, microseconds per word.

The table used is the message's ``language`` (set earlier by ``LanguageDetector``). When the
language is unknown the Spanish table is tried first (Spanish is Atiende's first language),
then the English one.
"""

from __future__ import annotations

import threading
from typing import Any, Dict, List, Optional, Text

from rasa.engine.recipes.default_recipe import DefaultV1Recipe
from rasa.nlu.tokenizers.tokenizer import Token
from rasa.nlu.tokenizers.whitespace_tokenizer import WhitespaceTokenizer
from rasa.shared.nlu.training_data.message import Message

from bot.components.language import LANGUAGE_KEY


class _LemmaTables:
    """Lazily loaded, process-wide spaCy lemma lookup tables (one per language)."""

    _tables: Dict[str, Any] = {}
    _lock = threading.Lock()

    @classmethod
    def get(cls, language: str) -> Any:
        table = cls._tables.get(language)
        if table is None:
            with cls._lock:
                table = cls._tables.get(language)
                if table is None:
                    from spacy.lookups import load_lookups

                    lookups = load_lookups(language, ["lemma_lookup"])
                    table = lookups.get_table("lemma_lookup")
                    cls._tables[language] = table
        return table


def lemmatize(word: str, language: Optional[str]) -> str:
    """Lower-cased lemma of ``word``; the lower-cased word itself when no table knows it.

    spaCy's tables are keyed by lower-case forms ("Quiero" is absent, "quiero" → "querer").
    """
    lowered = word.lower()
    order = [language] if language in ("es", "en") else ["es", "en"]
    for lang in order:
        lemma = _LemmaTables.get(lang).get(lowered, None)
        if lemma:
            return str(lemma).lower()
    return lowered


@DefaultV1Recipe.register(
    DefaultV1Recipe.ComponentType.MESSAGE_TOKENIZER, is_trainable=False
)
class LemmaTokenizer(WhitespaceTokenizer):
    """``WhitespaceTokenizer`` whose tokens carry language-aware spaCy lemmas."""

    @staticmethod
    def get_default_config() -> Dict[Text, Any]:
        return {**WhitespaceTokenizer.get_default_config(), "lemmatize": True}

    @staticmethod
    def required_packages() -> List[Text]:
        return ["spacy", "spacy_lookups_data"]

    def tokenize(self, message: Message, attribute: Text) -> List[Token]:
        tokens = super().tokenize(message, attribute)
        if not self._config.get("lemmatize", True):
            return tokens
        language = message.get(LANGUAGE_KEY)
        for token in tokens:
            token.lemma = lemmatize(token.text, language)
        return tokens
