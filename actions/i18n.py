"""Bilingual message catalogue for actions.

Spanish is the first language of Atiende, so every message is written in Spanish and English and a
missing or unknown language falls back to Spanish. Each action module keeps its own ``MESSAGES``
dictionary next to the code that says them and registers it here, so texts stay close to their use;
a flow whose texts alone would make its module too long keeps them in a sibling ``<flow>_texts.py``
(``withdrawal_texts.py``, ``claim_texts.py``) that the flow imports.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

DEFAULT_LANGUAGE = "es"
SUPPORTED_LANGUAGES = ("es", "en")

_CATALOGUE: dict[str, dict[str, str]] = {}


def register(messages: Mapping[str, Mapping[str, str]]) -> None:
    """Add a module's messages; every key must have both languages."""
    for key, variants in messages.items():
        missing = [lang for lang in SUPPORTED_LANGUAGES if lang not in variants]
        if missing:
            raise ValueError(f"message {key!r} lacks languages {missing}")
        if key in _CATALOGUE and dict(variants) != _CATALOGUE[key]:
            raise ValueError(f"message {key!r} is registered twice with different texts")
        _CATALOGUE[key] = dict(variants)


def normalize_language(language: Any) -> str:
    """Map a slot value such as ``"en"``, ``"EN-us"`` or ``None`` to a supported language code."""
    if isinstance(language, str):
        code = language.strip().lower()[:2]
        if code in SUPPORTED_LANGUAGES:
            return code
    return DEFAULT_LANGUAGE


def t(key: str, language: Any, **fields: Any) -> str:
    """The message ``key`` in ``language`` with ``fields`` formatted in."""
    try:
        variants = _CATALOGUE[key]
    except KeyError:
        raise KeyError(f"unknown message key {key!r}; register it with "
                       "actions.i18n.register") from None
    return variants[normalize_language(language)].format(**fields)


def has(key: str) -> bool:
    return key in _CATALOGUE
