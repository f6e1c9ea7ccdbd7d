"""Texts the channels themselves send (Spanish first) and how they pick the language.

The connectors answer a few things without Rasa (a photo or a voice note the bot cannot read),
so they need the shopper's language: the tracker's ``language`` slot when the conversation
exists, otherwise a guess from the phone's country code (WhatsApp), otherwise Spanish.
"""

from __future__ import annotations

import logging
from typing import Any

logger = logging.getLogger(__name__)

TEXTS: dict[str, dict[str, str]] = {
    "unsupported": {
        "es": "Gracias. De momento solo puedo leer mensajes de texto y los botones que te "
              "envío; no puedo abrir {what}. ¿Me lo puedes escribir?",
        "en": "Thanks! For now I can only read text messages and the buttons I send you; "
              "I can't open {what}. Could you type it for me?",
    },
    "list_button": {"es": "Ver opciones", "en": "See options"},
    "more_options": {"es": "Más opciones:", "en": "More options:"},
}

WHAT: dict[str, dict[str, str]] = {
    "image": {"es": "imágenes", "en": "images"},
    "sticker": {"es": "stickers", "en": "stickers"},
    "audio": {"es": "audios ni notas de voz", "en": "audio or voice notes"},
    "voice": {"es": "audios ni notas de voz", "en": "audio or voice notes"},
    "video": {"es": "vídeos", "en": "videos"},
    "document": {"es": "documentos", "en": "documents"},
    "file": {"es": "archivos", "en": "files"},
    "location": {"es": "ubicaciones", "en": "locations"},
    "contacts": {"es": "contactos", "en": "contacts"},
    "reaction": {"es": "reacciones", "en": "reactions"},
}
_DEFAULT_WHAT = {"es": "este tipo de mensaje", "en": "this kind of message"}


def t(key: str, lang: str, **fields: Any) -> str:
    texts = TEXTS[key]
    return texts.get(lang, texts["es"]).format(**fields)


def unsupported_text(kind: str, lang: str) -> str:
    """Polite reply to a message type the bot cannot read, saying what it can read."""
    lang = lang if lang in ("es", "en") else "es"
    what = WHAT.get(kind, _DEFAULT_WHAT)[lang]
    return t("unsupported", lang, what=what)


# Country calling codes where English is the shopper's likely language. Everything else
# (Spain, Latin America, and unknown prefixes) defaults to Spanish: Atiende is Spanish first.
_ENGLISH_PREFIXES = ("44", "61", "64", "353", "27", "234", "254", "233", "65", "63")
# +1 is mostly English, except the Spanish-speaking NANP areas (Dominican Republic, Puerto Rico).
_SPANISH_NANP = ("1809", "1829", "1849", "1787", "1939")


def language_from_phone(phone: str) -> str:
    """Guess es/en from an international number such as ``5215512345678`` or ``+1 631…``."""
    digits = "".join(ch for ch in phone if ch.isdigit())
    if digits.startswith("1"):
        return "es" if digits.startswith(_SPANISH_NANP) else "en"
    if digits.startswith(_ENGLISH_PREFIXES):
        return "en"
    return "es"


async def tracker_language(agent: Any, sender_id: str) -> str | None:
    """The ``language`` slot of an existing conversation, if any."""
    store = getattr(agent, "tracker_store", None)
    if store is None:
        return None
    try:
        tracker = await store.retrieve(sender_id)
    except Exception:
        logger.exception("channels.tracker_language_failed sender=%s", sender_id)
        return None
    if tracker is None:
        return None
    value = tracker.get_slot("language")
    return value if value in ("es", "en") else None
