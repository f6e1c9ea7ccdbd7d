"""Words that send a conversation straight to a person as ``legal_or_fraud``.

Threats of legal action, consumer authorities, fraud and chargebacks are not for a bot to handle:
they jump the human queue. Plain functions (no Rasa) so they are easy to test and extend. Matching
is accent- and case-insensitive on whole words or word stems, Spanish (Spain and Latin America) and
English.
"""

from __future__ import annotations

import re
import unicodedata

# stems: "denunci" matches denuncia, denunciar, denunciaré...
_LEGAL_PATTERNS_ES = [
    r"abogad[oa]s?", r"denunci\w*", r"demandar\w*", r"demandare\w*", r"demandaremos",
    r"(?:poner|ponerles|interponer|presentar) una demanda", r"(?:llevar|ir) a juicio",
    r"juzgado\w*",
    r"tribunal(?:es)?", r"accion(?:es)? legal(?:es)?", r"via (?:judicial|legal)", r"querella\w*",
    r"(?:oficina|autoridad|departamento|ministerio|direccion general) de consumo",
    r"oficina (?:municipal )?de (?:informacion al )?consumidor\w*", r"omic",
    r"profeco", r"sernac", r"indecopi", r"hoja de reclamaciones?", r"libro de reclamaciones?",
    r"defensa del consumidor", r"facua", r"ocu\b", r"fraude\w*", r"estafa\w*", r"estafador\w*",
    r"timo\b", r"timad[oa]s?", r"contracargo\w*", r"devolucion del cargo", r"retroceder el cargo",
    r"cargo no autorizado", r"cargos no autorizados", r"suplantacion", r"me han robado",
    r"robo de (?:identidad|tarjeta)", r"policia", r"guardia civil", r"proteccion de datos", r"rgpd",
]
_LEGAL_PATTERNS_EN = [
    r"lawyers?", r"attorneys?", r"solicitors?", r"sue\b", r"suing", r"lawsuits?", r"legal action",
    r"court", r"small claims", r"trading standards",
    r"consumer (?:protection|authority|rights agency)",
    r"better business bureau", r"bbb\b", r"ftc\b", r"fraud\w*", r"scam\w*", r"chargebacks?",
    r"charge ?back", r"dispute the (?:charge|payment)",
    r"unauthori[sz]ed (?:charge|payment|transaction)s?",
    r"stolen card", r"identity theft", r"police", r"gdpr",
]
_LEGAL_RE = re.compile(
    r"\b(?:" + "|".join(_LEGAL_PATTERNS_ES + _LEGAL_PATTERNS_EN) + r")\b", re.IGNORECASE
)


def fold(text: str) -> str:
    """Lower-case without accents: "Denunciaré" -> "denunciare"."""
    decomposed = unicodedata.normalize("NFKD", text or "")
    return "".join(c for c in decomposed if not unicodedata.combining(c)).lower()


def legal_or_fraud_terms(text: str) -> list[str]:
    """The legal/fraud expressions found in ``text`` (empty when none)."""
    return [m.group(0) for m in _LEGAL_RE.finditer(fold(text))]


def mentions_legal_or_fraud(text: str) -> bool:
    return bool(legal_or_fraud_terms(text))


#: reason codes of the contract, in the order they jump the queue (highest first)
REASON_WEIGHT = {
    "legal_or_fraud": 30,
    "frustration": 20,
    "approval_required": 20,
    "verification_failed": 10,
    "backend_error": 10,
    "repeated_fallback": 5,
    "asked": 0,
}


def choose_reason(*, intent: str | None, texts: list[str], slot_reason: str | None) -> str:
    """Pick the most urgent applicable reason code.

    ``texts`` are the shopper's latest messages; ``slot_reason`` is what another action recorded in
    the ``handoff_reason`` slot (``repeated_fallback``, ``verification_failed``...).
    """
    candidates = ["asked"]
    if any(mentions_legal_or_fraud(t) for t in texts):
        candidates.append("legal_or_fraud")
    if intent == "complaint":
        candidates.append("frustration")
    if slot_reason in REASON_WEIGHT:
        candidates.append(slot_reason)
    return max(candidates, key=REASON_WEIGHT.__getitem__)
