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
    # media from WhatsApp / Messenger (bot/channels/media_in.py)
    "media_received": {
        "es": "He recibido {what}{name}. ¿En qué te ayudo? Si es por un artículo dañado o "
              "equivocado, cuéntame qué le pasa.",
        "en": "I've received {what}{name}. How can I help? If it's about a damaged or wrong "
              "item, tell me what's wrong with it.",
    },
    "media_received_caption": {"es": "He recibido {what}{name}.",
                               "en": "I've received {what}{name}."},
    "media_voice_note": {
        "es": "He recibido tu nota de voz, pero solo puedo leer texto: no puedo escucharla. "
              "¿Me lo escribes? Si te atiende una persona del equipo, ella sí podrá oírla.",
        "en": "I've received your voice note, but I can only read text, so I can't listen to "
              "it. Could you type it for me? If a person from our team helps you, they can "
              "listen to it.",
    },
    "media_too_large": {
        "es": "Perdona, {what} pesa demasiado: el máximo son {mb} MB. ¿Puedes enviar una "
              "versión más pequeña?",
        "en": "Sorry, {what} is too large: the limit is {mb} MB. Could you send a smaller "
              "version?",
    },
    "media_download_failed": {
        "es": "Perdona, {what} no me ha llegado bien. ¿Puedes intentarlo de nuevo en un momento?",
        "en": "Sorry, {what} didn't reach me properly. Could you send it again in a moment?",
    },
    "media_not_accepted": {
        "es": "Perdona, no puedo abrir {what}: ese tipo de archivo no se admite. Puedes enviar "
              "fotos (JPG, PNG, WebP), PDF o documentos de Office.",
        "en": "Sorry, I can't open {what}: that type of file isn't accepted. You can send "
              "photos (JPG, PNG, WebP), PDFs or Office documents.",
    },
    "media_what_image": {"es": "tu foto", "en": "your photo"},
    "media_what_document": {"es": "tu documento", "en": "your document"},
    "media_what_video": {"es": "tu vídeo", "en": "your video"},
    "media_what_audio": {"es": "tu audio", "en": "your audio"},
    "too_long": {
        "es": "Tu mensaje es demasiado largo: el máximo son {limit} caracteres. ¿Me lo puedes "
              "enviar más corto o en varias partes?",
        "en": "Your message is too long: the limit is {limit} characters. Could you send it "
              "shorter, or in several parts?",
    },
    "slow_down": {
        "es": "Voy un poco despacio: dame unos segundos para responderte antes de enviar más "
              "mensajes. No he podido leer el último; ¿me lo vuelves a enviar en un momento?",
        "en": "I'm a little behind: please give me a few seconds to answer before sending more "
              "messages. I couldn't read the last one; could you send it again in a moment?",
    },
    # a turn not admitted: the bot is answering many people at once (bot/channels/admission.py)
    "busy": {
        "es": "Ahora mismo estoy atendiendo a muchas personas a la vez y no he podido leer tu "
              "último mensaje. ¿Me lo vuelves a enviar en unos segundos?",
        "en": "I'm helping a lot of people at once right now and couldn't read your last "
              "message. Could you send it again in a few seconds?",
    },
    "more_options": {"es": "Más opciones:", "en": "More options:"},
    # a turn whose custom action could not run (action server down, or it failed):
    # bot/action_fallback.py
    "action_unavailable": {
        "es": "Perdona, ahora mismo tengo un problema técnico y no he podido completar lo que me "
              "pides. ¿Me lo vuelves a escribir en unos minutos?",
        "en": "Sorry, I'm having a technical problem right now and couldn't finish what you "
              "asked. Could you send it again in a few minutes?",
    },
    # the "stop" button under an order notice (a WhatsApp template, handoff_api.store_events)
    "notices_stopped": {
        "es": "Hecho: no te enviaremos más avisos de tus pedidos. Puedes seguir escribiéndome "
              "cuando quieras para consultarlos.",
        "en": "Done: we won't send you order notices any more. You can still write to me any "
              "time to ask about your orders.",
    },
    "notices_stop_failed": {
        "es": "Perdona, ahora mismo no he podido darte de baja de los avisos. ¿Puedes volver a "
              "pulsar el botón en unos minutos?",
        "en": "Sorry, I couldn't stop the notices just now. Could you tap the button again in a "
              "few minutes?",
    },
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
    from bot.tracker_peek import peek

    try:
        tracker = await peek(store, sender_id)  # looked at, never changed
    except Exception:
        logger.exception("channels.tracker_language_failed sender=%s", sender_id)
        return None
    if tracker is None:
        return None
    value = tracker.get_slot("language")
    return value if value in ("es", "en") else None
