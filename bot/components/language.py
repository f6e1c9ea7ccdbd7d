"""Per-message language detection for the NLU pipeline.

Atiende answers in the shopper's language turn by turn, so every parsed message carries a
``language`` key ("es" or "en") in its parse data. The action server copies it into the
``language`` slot (``actions/session.py``). When the text says too little about its language
(an order number, an e-mail, "ok", a button payload) the component emits nothing, so the slot
keeps its previous value instead of flipping on noise.

The lingua detector is restricted to Spanish and English and built lazily, once per process:
building it loads language models, which must not happen at import time.
"""

from __future__ import annotations

import re
import threading
import unicodedata
from collections import Counter
from typing import Any, Dict, List, Optional, Text

from rasa.engine.graph import ExecutionContext, GraphComponent
from rasa.engine.recipes.default_recipe import DefaultV1Recipe
from rasa.engine.storage.resource import Resource
from rasa.engine.storage.storage import ModelStorage
from rasa.shared.nlu.constants import TEXT
from rasa.shared.nlu.training_data.message import Message
from rasa.shared.nlu.training_data.training_data import TrainingData

LANGUAGE_KEY = "language"
SUPPORTED = ("es", "en")

# Things that carry no language: e-mails, URLs, order ids (AT100234, #100234), numbers, phones.
_NOISE = re.compile(
    r"\S+@\S+|https?://\S+|www\.\S+|#?\b(?:at[-\s]?)?\d[\d\s\-()+.]*\b",
    re.IGNORECASE,
)
_LETTERS = re.compile(r"[^\W\d_]+", re.UNICODE)
# Characters only Spanish uses among our two languages.
_SPANISH_MARKS = set("ñ¿¡áéíóúü")

# Short replies lingua cannot judge reliably but that are unambiguous between es and en.
# Ambiguous ones ("no", "ok", "bot", "hello?") are deliberately absent.
_SHORT_WORDS: Dict[str, str] = {
    **dict.fromkeys(
        "hola si sí vale gracias adios adiós chao chau buenas claro dale listo perfecto "
        "bueno nada ayuda humano persona agente oye porfa".split(),
        "es",
    ),
    **dict.fromkeys(
        "hi hello hey yes yeah yep nope thanks thank thx bye goodbye sure cool great "
        "help human person agent please".split(),
        "en",
    ),
}


# Function words and shop words that belong to one of our two languages only (words shared by
# both, such as "no", "me", "a", "bot", are absent). Lingua's confidence on three- to six-word
# chat messages is often between 0.5 and 0.7 ("cancel my order": en 0.67; "no es correcto":
# es 0.63), and it sometimes follows one long loanword ("tracking de mi orden por favor": en),
# so a clear majority of these words decides before lingua is asked.
_FUNCTION_WORDS: Dict[str, str] = {
    **dict.fromkeys(
        "de del el la los las mi mis tu tus su sus es un una unos unas que por para con sin se "
        "lo le les te nos eres soy estoy esta este esto eso ese esa hay ya muy pero como cuando "
        "donde porque quiero quiere tengo tiene puedo puede hacer pedido pedidos compra orden "
        "envio paquete dinero cuenta favor gracias hola ayuda todavia aun tambien pues".split(),
        "es",
    ),
    **dict.fromkeys(
        "the my your our their is are was were an to of and you it its this that these those "
        "can could would will do does did don't dont with for on in at from what where when how "
        "why who which please order orders parcel package money account want need have has "
        "not just still yet i'm im i've i'd u ur r thanks hello".split(),
        "en",
    ),
}


# Words shoppers use in both languages: a message made only of these says nothing.
_NEUTRAL = frozenset(
    "ok okay no stop bot chat email mail whatsapp tracking online web link pdf".split())


def _strip_accents(text: str) -> str:
    return "".join(c for c in unicodedata.normalize("NFD", text) if not unicodedata.combining(c))


class _Lingua:
    """Process-wide lazily built lingua detector (thread-safe, built at most once)."""

    _detector: Any = None
    _lock = threading.Lock()

    @classmethod
    def get(cls) -> Any:
        if cls._detector is None:
            with cls._lock:
                if cls._detector is None:
                    from lingua import Language, LanguageDetectorBuilder

                    cls._detector = LanguageDetectorBuilder.from_languages(
                        Language.SPANISH, Language.ENGLISH
                    ).build()
        return cls._detector


def detect_language(
    text: Optional[str], min_letters: int = 4, min_confidence: float = 0.7
) -> Optional[str]:
    """"es", "en" or None when the text does not say enough to decide.

    None keeps the conversation's language unchanged, which is the safe choice for
    payloads ("/rate{...}"), order numbers, e-mails, phone numbers and one-word replies
    such as "ok" or "no" that exist in both languages.
    """
    if not text or not text.strip() or text.lstrip().startswith("/"):
        return None
    cleaned = _NOISE.sub(" ", text.lower())
    words = _LETTERS.findall(cleaned)
    letters = sum(len(w) for w in words)
    if not words:
        return None
    if _SPANISH_MARKS.intersection(cleaned):
        return "es"
    if all(w in _NEUTRAL for w in words):
        return None
    if len(words) <= 2:
        votes = {_SHORT_WORDS.get(w) or _SHORT_WORDS.get(_strip_accents(w)) for w in words}
        votes.discard(None)
        if len(votes) == 1:
            return votes.pop()
    votes = Counter(_FUNCTION_WORDS.get(_strip_accents(w)) for w in words)
    votes.pop(None, None)
    lead, other = (votes.most_common(2) + [(None, 0), (None, 0)])[:2]
    if lead[0] is not None and lead[1] >= 2 * other[1] + 1 and lead[1] >= 2:
        return lead[0]
    if letters < min_letters:
        return None
    detector = _Lingua.get()
    values = detector.compute_language_confidence_values(" ".join(words))
    if not values:
        return None
    best = values[0]
    if best.value < min_confidence:
        return None
    return "es" if best.language.name == "SPANISH" else "en"


@DefaultV1Recipe.register(
    DefaultV1Recipe.ComponentType.MESSAGE_FEATURIZER, is_trainable=False
)
class LanguageDetector(GraphComponent):
    """Adds ``language`` ("es"/"en") to each message's parse data when it can tell.

    Place it first in the pipeline: the lemma tokenizer reads the key to pick its lemma table.
    """

    @staticmethod
    def get_default_config() -> Dict[Text, Any]:
        return {"min_letters": 4, "min_confidence": 0.7}

    def __init__(self, config: Dict[Text, Any]) -> None:
        self._min_letters = int(config.get("min_letters", 4))
        self._min_confidence = float(config.get("min_confidence", 0.7))

    @classmethod
    def create(
        cls,
        config: Dict[Text, Any],
        model_storage: ModelStorage,
        resource: Resource,
        execution_context: ExecutionContext,
    ) -> "LanguageDetector":
        return cls(config)

    @staticmethod
    def supported_languages() -> Optional[List[Text]]:
        return None

    @staticmethod
    def required_packages() -> List[Text]:
        # Not ["lingua"]: Rasa checks this list both as import names (validation) and as
        # distribution names (fingerprinting), and lingua's are "lingua" vs
        # "lingua-language-detector". The import in _Lingua.get() fails clearly instead.
        return []

    def _annotate(self, message: Message, add_to_output: bool) -> None:
        language = detect_language(
            message.get(TEXT), self._min_letters, self._min_confidence
        )
        if language is not None:
            message.set(LANGUAGE_KEY, language, add_to_output=add_to_output)

    def process_training_data(self, training_data: TrainingData) -> TrainingData:
        """Training examples get the key too, so the tokenizer lemmatizes them like live text."""
        for example in training_data.training_examples:
            if example.get(TEXT):
                self._annotate(example, add_to_output=False)
        return training_data

    def process(self, messages: List[Message]) -> List[Message]:
        for message in messages:
            self._annotate(message, add_to_output=True)
        return messages
