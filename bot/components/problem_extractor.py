"""What is wrong with a delivered item: the ``problem`` entity (damaged / wrong_item / missing).

An ``item_problem`` message ("me llegó la taza rota", "they sent the wrong size", "falta una pieza")
opens the return form with the reason already filled, and later the damaged-or-wrong-item flow
needs to know which of the three it is. Shoppers name the problem with a small, closed
vocabulary in both languages (roto, dañado, no enciende, equivocado, otra talla, falta, broken,
faulty, wrong size, missing…), so a lexicon over the accent-stripped, lower-cased text is
deterministic, needs no annotated training data and is tested phrase by phrase
(tests/bot/components/test_problem_extractor.py). The entity is added to every message; the
``problem`` slot only takes it when the intent is ``item_problem`` (domain.yml).

When a message names more than one problem ("me llegó otro modelo y encima roto") the first one
mentioned wins: it is what the shopper leads with.
"""

from __future__ import annotations

import re
import unicodedata
from typing import Any, Dict, List, Optional, Text

from rasa.engine.graph import ExecutionContext, GraphComponent
from rasa.engine.recipes.default_recipe import DefaultV1Recipe
from rasa.engine.storage.resource import Resource
from rasa.engine.storage.storage import ModelStorage
from rasa.nlu.extractors.extractor import EntityExtractorMixin
from rasa.shared.nlu.constants import (
    ENTITIES,
    ENTITY_ATTRIBUTE_END,
    ENTITY_ATTRIBUTE_START,
    ENTITY_ATTRIBUTE_TYPE,
    ENTITY_ATTRIBUTE_VALUE,
    TEXT,
)
from rasa.shared.nlu.training_data.message import Message
from rasa.shared.nlu.training_data.training_data import TrainingData

ENTITY = "problem"
DAMAGED, WRONG_ITEM, MISSING = "damaged", "wrong_item", "missing"

_ES_OBJ = r"(?:producto|articulo|pedido|paquete|modelo|talla|color|numero|tamano|cosa)"
PATTERNS: Dict[str, List[str]] = {
    MISSING: [
        r"\bfalta(?:n|ba|ban|ria)?\b(?! de (?:respeto|seriedad|educacion|profesionalidad))",
        r"\bfaltante", r"\bincomplet[oa]s?\b", r"\b(?:caja|paquete|bolsa) vaci[oa]\b",
        r"\bno (?:venia|vino|venian|vinieron|trae|traia|traen|traian|incluia|incluye|estaba|"
        r"estaban) (?:el|la|los|las|un|una|ningun|ninguna|nada)\b",
        r"\bsolo (?:me )?(?:llego|llegaron|vino|vinieron|recibi)\b",
        r"\bmissing\b", r"\bincomplete\b", r"\bempty (?:box|parcel|package)\b",
        r"\b(?:isn t|wasn t|weren t|was not|is not|not) (?:in|inside) the (?:box|parcel|package)\b",
        r"\bonly (?:got|received|came with)\b", r"\bleft out\b",
        r"\b(?:didn t|did not|doesn t) (?:come|arrive) with\b",
    ],
    WRONG_ITEM: [
        r"\bequivocad[oa]s?\b", r"\bincorrect[oa]s?\b", r"\berrone[oa]s?\b",
        r"\b(?:otr[oa]|distint[oa]|diferente) " + _ES_OBJ,
        r"\b" + _ES_OBJ + r" (?:distint[oa]|diferente|equivocad[oa])\b",
        r"\bno (?:es|era|son|eran) (?:lo|el|la|los|las) que (?:pedi|compre|ordene|encargue|elegi)",
        r"\bno (?:corresponde|coincide)\b",
        r"\b(?:me )?(?:mandaron|enviaron|llego|vino|mandasteis|enviasteis|mandaste|enviaste) "
        r"(?:otr[oa]|uno distinto|una distinta|cualquier cosa)\b",
        r"\bwrong (?:item|size|colou?r|product|model|one|thing|order|shoes?|pair|book|parcel)\b",
        r"\bnot what i (?:ordered|bought|paid for)\b", r"\bsomeone else s (?:order|parcel)\b",
        r"\bdifferent (?:item|colou?r|size|model|product) (?:than|from|to)\b",
        r"\bsent (?:me )?(?:a|the) wrong\b",
    ],
    DAMAGED: [
        r"\brot[oa]s?\b", r"\brompi(?:o|eron|da|do|das|dos)\b", r"\bdanad[oa]s?\b",
        r"\bdefectuos[oa]s?\b", r"\bfallad[oa]s?\b", r"\baveriad[oa]s?\b", r"\brayad[oa]s?\b",
        r"\brajad[oa]s?\b", r"\bquebrad[oa]s?\b", r"\babollad[oa]s?\b", r"\bestropead[oa]s?\b",
        r"\bdescosid[oa]s?\b", r"\bmanchad[oa]s?\b", r"\bpartid[oa]s?\b", r"\bagujere",
        r"\bdesarmad[oa]s?\b", r"\bmojad[oa]s?\b", r"\bhuele a quemado\b", r"\bcon (?:un )?golpe",
        r"\bno (?:funciona|funcionan|enciende|encienden|prende|prenden|carga|cargan|anda|andan|"
        r"arranca|suena|sirve)\b", r"\bse (?:rompio|danio|dano|descosio|despego|quebro|partio)\b",
        r"\bbroken?\b", r"\bbroke\b", r"\bdamaged?\b", r"\bdefective\b", r"\bfaulty\b",
        r"\bcracked\b", r"\bsmashed\b", r"\bdented\b", r"\bscratched\b", r"\btorn\b",
        r"\bripped\b", r"\bstained\b", r"\bshattered\b", r"\bleaking\b", r"\bdead on arrival\b",
        r"\b(?:doesn t|does not|don t|won t|will not) (?:work|turn on|switch on|charge)\b",
        r"\b(?:not|stopped) working\b",
    ],
}
_COMPILED = [(kind, re.compile(p)) for kind, ps in PATTERNS.items() for p in ps]


def _fold(text: str) -> str:
    """Lower-case, accents dropped, apostrophes and punctuation as spaces; same length kept."""
    folded = []
    for char in text.lower():
        base = unicodedata.normalize("NFKD", char)
        base = "".join(c for c in base if not unicodedata.combining(c)) or " "
        folded.append(base[0] if base[0].isalnum() else " ")
    return "".join(folded)


def find_problem(text: Optional[str]) -> Optional[Dict[str, Any]]:
    """The first problem the text names, as ``{"value", "start", "end"}``; None if none."""
    if not text:
        return None
    folded = _fold(text)
    best: Optional[Dict[str, Any]] = None
    for kind, pattern in _COMPILED:
        match = pattern.search(folded)
        if match and (best is None or match.start() < best["start"]):
            best = {"value": kind, "start": match.start(), "end": match.end()}
    return best


@DefaultV1Recipe.register(
    DefaultV1Recipe.ComponentType.ENTITY_EXTRACTOR, is_trainable=False
)
class ProblemEntityExtractor(GraphComponent, EntityExtractorMixin):
    """Adds a ``problem`` entity (damaged / wrong_item / missing) found by the lexicon."""

    @classmethod
    def create(cls, config: Dict[Text, Any], model_storage: ModelStorage, resource: Resource,
               execution_context: ExecutionContext) -> "ProblemEntityExtractor":
        return cls()

    def process_training_data(self, training_data: TrainingData) -> TrainingData:
        return training_data

    def process(self, messages: List[Message]) -> List[Message]:
        for message in messages:
            found = find_problem(message.get(TEXT))
            if found is None:
                continue
            entity = {
                ENTITY_ATTRIBUTE_TYPE: ENTITY,
                ENTITY_ATTRIBUTE_VALUE: found["value"],
                ENTITY_ATTRIBUTE_START: found["start"],
                ENTITY_ATTRIBUTE_END: found["end"],
            }
            entities = [*message.get(ENTITIES, []), *self.add_extractor_name([entity])]
            message.set(ENTITIES, entities, add_to_output=True)
        return messages
