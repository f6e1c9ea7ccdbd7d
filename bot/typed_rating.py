"""A rating typed instead of tapped counts like the button: "5", "un 4", "4/5", "muy bien",
"excelente", "fatal", "very good", "3 stars".

The rating question (``action_handback`` after a person helped, ``action_offer_rating`` after a
task the assistant resolved alone, and the "choose a number from 1 to 5" repeat) carries five
buttons whose payload is ``/rate{"rating":"N"}``. A shopper who types the answer instead (on
WhatsApp and Messenger the buttons are a numbered list, so typing is the normal way) got the
classifier's guess — ``inform``, ``thank``, ``affirm``, a fallback — and the rating was lost.

:func:`install` wraps ``MessageProcessor.parse_message``: when the conversation's last bot message
carried those buttons and the shopper has not written since, and the *whole* message reads as a
rating (:func:`read_rating`), the parse result becomes what the button sends — intent ``rate``
with the ``rating`` entity — so the same rule stores it, asks the follow-up questions and the
event broker logs it. Anything else ("5 pares de zapatillas", "bien, pero ¿y mi pedido?") is left
to the NLU untouched. Installed by ``bot.serve`` (the Rasa server) and by the tests that load the
trained model; no effect anywhere else.
"""

from __future__ import annotations

import functools
import re
import unicodedata
from typing import Any

RATE_PAYLOAD = re.compile(r'^/rate\{"rating":\s*"?[1-5]"?\}$')

#: words that are a rating on their own, both languages (accents, case and punctuation folded);
#: the scale of the buttons: 1 muy mal / very poor … 5 excelente / excellent
WORDS = {
    1: ("muy mal", "fatal", "pesimo", "pesima", "horrible", "terrible", "malisimo", "malisima",
        "muy malo", "muy mala", "un desastre", "very poor", "very bad", "awful", "terrible",
        "horrible", "dreadful"),
    2: ("mal", "malo", "mala", "regular tirando a mal", "poor", "bad", "not good"),
    3: ("normal", "regular", "mas o menos", "ni bien ni mal", "aceptable", "ok", "okay",
        "so so", "so-so", "average", "fine", "meh"),
    4: ("bien", "bueno", "buena", "bastante bien", "good", "pretty good", "quite good"),
    5: ("excelente", "muy bien", "muy bueno", "muy buena", "genial", "perfecto", "perfecta",
        "estupendo", "estupenda", "fantastico", "fantastica", "de diez", "inmejorable",
        "excellent", "very good", "great", "perfect", "amazing", "fantastic", "awesome",
        "outstanding"),
}
SPELLED = {"uno": 1, "una": 1, "dos": 2, "tres": 3, "cuatro": 4, "cinco": 5, "one": 1, "two": 2,
           "three": 3, "four": 4, "five": 5}
_WORD_VALUE = {w: n for n, words in WORDS.items() for w in words}
_NUMBER = r"([1-5]|uno|una|dos|tres|cuatro|cinco|one|two|three|four|five)"
#: a few lead-in words ("le doy un 5", "mi nota es 4", "I'd give 4") before the number
_LEAD = r"(?:(?:le|te|les|doy|pongo|un|una|a|i|id|give|rate|rating|nota|mi|my|es|is)\s+){0,4}"
_PATTERNS = [
    re.compile(rf"^{_LEAD}{_NUMBER}(?:\s*(?:/|de|sobre|out of|of)\s*5)?"
               rf"(?:\s+(?:estrellas?|stars?|puntos?))?$"),
]

def _fold(text: str) -> str:
    folded = unicodedata.normalize("NFKD", text.lower())
    folded = "".join(c for c in folded if not unicodedata.combining(c))
    folded = re.sub(r"['’]", "", folded)  # I'd -> id
    folded = re.sub(r"[!¡¿?.,;:()\"*·]+", " ", folded)
    folded = re.sub(r"\s*/\s*", "/", folded)
    return " ".join(folded.split())


def read_rating(text: Any) -> int | None:
    """1-5 when the whole message is a rating, else ``None``."""
    if not isinstance(text, str) or len(text) > 60:
        return None
    folded = _fold(text)
    if folded.endswith(" gracias") or folded.endswith(" thanks") or folded.endswith(" thank you"):
        folded = folded.rsplit(" ", 2 if folded.endswith(" thank you") else 1)[0]
    if folded in _WORD_VALUE:
        return _WORD_VALUE[folded]
    folded = folded.replace("/", " / ")
    folded = " ".join(folded.split())
    for pattern in _PATTERNS:
        match = pattern.match(folded)
        if match:
            token = match.group(1)
            return int(token) if token.isdigit() else SPELLED[token]
    return None


def rating_was_asked(events: Any) -> bool:
    """The last bot message carried the 1-5 rating buttons and no user message came after it."""
    for event in reversed(list(events or [])):
        kind = getattr(event, "type_name", None) or (event.get("event") if isinstance(
            event, dict) else None)
        if kind == "user":
            return False
        if kind == "bot":
            data = getattr(event, "data", None) or (event.get("data") if isinstance(
                event, dict) else None) or {}
            buttons = data.get("buttons") or []
            return bool(buttons) and any(RATE_PAYLOAD.match(str(b.get("payload", "")))
                                         for b in buttons if isinstance(b, dict))
    return False


def as_rating(parse_data: dict[str, Any], rating: int) -> dict[str, Any]:
    """What the button ``/rate{"rating":"N"}`` parses to, keeping the text."""
    text = parse_data.get("text", "")
    return {**parse_data,
            "intent": {"name": "rate", "confidence": 1.0},
            "entities": [{"entity": "rating", "value": str(rating), "start": 0,
                          "end": len(text), "extractor": "TypedRating"}],
            "intent_ranking": [{"name": "rate", "confidence": 1.0}],
            "atiende_typed_rating": True}


_installed = False


def install() -> None:
    global _installed
    if _installed:
        return
    _installed = True
    from rasa.core.processor import MessageProcessor

    parse = MessageProcessor.__dict__["parse_message"]

    @functools.wraps(parse)
    async def parse_message(self: Any, message: Any, tracker: Any = None,
                            *args: Any, **kwargs: Any) -> Any:
        result = await parse(self, message, tracker, *args, **kwargs)
        text = getattr(message, "text", None)
        if tracker is None or not isinstance(text, str) or text.startswith("/"):
            return result
        rating = read_rating(text)
        if rating is not None and rating_was_asked(tracker.events):
            return as_rating(result, rating)
        return result

    MessageProcessor.parse_message = parse_message  # type: ignore[method-assign]
