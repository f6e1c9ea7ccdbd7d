"""Spanish passage features the English ranker lacks: stems, question type, heading match.

The learned passage ranker (kb_index.passage_ranker) lifts English with MiniLM's cosines; Spanish
has no second encoder that helps (reports/kb/README.md). These features are cheap and lexical, so
they apply to any Spanish question:

- **stems shared with the heading / the passage**: the question's content words (stop words
  dropped, Snowball Spanish stems cut to five letters, as BM25 tokenises them,
  :func:`kb_index.lexical.tokenize`) found in the section heading (title words removed,
  :func:`kb_index.passages.heading_text`) and in the passage text, as shares of the question's
  words; the heading share relative to the article's best heading;
- **stems only this section has**: the question's words weighted by how few of the article's
  sections hold them (in-article IDF), so a word every section shares counts for nothing;
- **question type to passage content**: "¿cuánto cuesta?" wants an amount, "¿cuánto tarda?" /
  "¿cuándo?" a duration or date, "¿cuántos?" a number, "¿dónde?" a place (shop, address, page,
  menu), "¿cómo?" steps (a numbered list or instructions), "¿puedo…?" / "¿se puede?" a yes or no
  (permission words); each is +1 when asked and held, −1 when asked and missing, 0 when not asked.
"""

from __future__ import annotations

import math
import re
from collections.abc import Sequence
from functools import lru_cache

import numpy as np

from kb_index.lexical import strip_accents, tokenize

#: Names of the columns :func:`spanish_features` returns, in order.
FEATURES_ES = ("stem_heading", "stem_heading_rel", "stem_text", "stem_idf", "stem_idf_rel",
               "type_amount", "type_time", "type_count", "type_place", "type_steps",
               "type_yesno")

_Q = {
    "amount": re.compile(r"\bcu[aá]nto (?:cuesta|vale|es|cobr\w*|me cobr\w*|pago|hay que pagar)|"
                         r"\bprecio|\bcoste|\bcosto|\brecargo|\bgratis|\bimporte|\bm[ií]nimo",
                         re.IGNORECASE),
    "time": re.compile(r"\bcu[aá]ndo|\bcu[aá]nto (?:tiempo|tarda\w*|demora\w*)|\btarda\w*|"
                       r"\bdemora\w*|\bplazo|\bhorario|\ba qu[eé] hora|\bhasta cu[aá]ndo|"
                       r"\bqu[eé] d[ií]a", re.IGNORECASE),
    "count": re.compile(r"\bcu[aá]nt[oa]s\b", re.IGNORECASE),
    "place": re.compile(r"\bd[oó]nde\b|\ba qu[eé] direcci[oó]n|\ben qu[eé] (?:tienda|sitio|parte|"
                        r"secci[oó]n|apartado)", re.IGNORECASE),
    "steps": re.compile(r"\bc[oó]mo (?:\w+ )?(?:puedo|hago|se hace|hacer|cambio|pido|solicito|"
                        r"devuelvo|cancelo|uso|aplico|canjeo|activo|descargo|modifico|"
                        r"cambiar|pedir|solicitar|devolver|cancelar|usar|aplicar|canjear|"
                        r"activar|descargar|modificar|env[ií]o|tramito)|\bpasos\b|"
                        r"\bqu[eé] tengo que hacer|\bqu[eé] hago", re.IGNORECASE),
    "yesno": re.compile(r"^\W*(?:puedo|se puede|es posible|hay|tienen|ten[eé]is|aceptan|"
                        r"acept[aá]is|hacen|hac[eé]is|env[ií]an|envi[aá]is|necesito|"
                        r"tengo que|debo|me cobran|cobran|incluye|vale|sirve)\b",
                        re.IGNORECASE),
}
_HAS = {
    "amount": re.compile(r"€|\$|£|\b(?:EUR|USD|MXN|ARS|COP|euros?|pesos?|gratis|gratuit\w*)\b",
                         re.IGNORECASE),
    "time": re.compile(r"\b\d+(?:\s?(?:–|-|a)\s?\d+)?\s?(?:h\b|horas?|d[ií]as?|semanas?|meses|"
                       r"a[nñ]os|minutos)|\b\d{1,2}:\d{2}\b|\b(?:lunes|martes|mi[eé]rcoles|"
                       r"jueves|viernes|s[aá]bados?|domingos?|enero|febrero|marzo|abril|mayo|"
                       r"junio|julio|agosto|septiembre|octubre|noviembre|diciembre|inmediat\w*|"
                       r"al momento|en el acto)\b", re.IGNORECASE),
    "count": re.compile(r"\b\d+\b|\b(?:un|una|dos|tres|cuatro|cinco|seis|siete|ocho|nueve|diez|"
                        r"solo|s[oó]lo|varios|varias|ilimitad\w*)\b", re.IGNORECASE),
    "place": re.compile(r"«|\b(?:tienda|tiendas|direcci[oó]n|web|p[aá]gina|men[uú]|apartado|"
                        r"secci[oó]n|enlace|app|correo|email|oficina|punto|almac[eé]n|"
                        r"mi cuenta|mis pedidos|chat|formulario)\b", re.IGNORECASE),
    "steps": re.compile(r"(?m)^\s*\d+\.\s|\b(?:pulsa|entra|ve a|elige|escribe|abre|rellena|"
                        r"indica|selecciona|descarga|imprime|env[ií]a|escr[ií]benos|"
                        r"ll[aá]manos|introduce|a[nñ]ade|copia|pega)\b", re.IGNORECASE),
    "yesno": re.compile(r"\b(?:s[ií]|no|puedes|podr[aá]s|no se puede|no es posible|solo|"
                        r"s[oó]lo|siempre|nunca|permit\w*|acept\w*|admit\w*)\b",
                        re.IGNORECASE),
}


def question_types(query: str) -> dict[str, bool]:
    """Which kinds of answer a Spanish question asks for (several may hold)."""
    text = query.strip().lstrip("¿¡").strip()
    out = {kind: bool(p.search(text)) for kind, p in _Q.items()}
    if out["amount"]:
        out["count"] = False
    return out


@lru_cache(maxsize=64)
def _query_stems(query: str) -> frozenset[str]:
    """A question's stems: a search ranks up to three articles' passages for one question."""
    return frozenset(tokenize(query, "es"))


def stem_sets(texts: Sequence[str]) -> list[frozenset[str]]:
    """The Spanish stems of each text (kb_index.lexical.tokenize), computed once per passage."""
    return [frozenset(tokenize(t, "es")) for t in texts]


def spanish_features(query: str, heads: Sequence[frozenset[str]],
                     bodies: Sequence[frozenset[str]], texts: Sequence[str] | None = None
                     ) -> np.ndarray:
    """One row of :data:`FEATURES_ES` per passage of one Spanish article version.

    ``heads`` / ``bodies``: :func:`stem_sets` of what each passage's heading vector encodes
    (kb_index.passages.heading_text) and of its heading and text; ``texts`` (heading and text)
    only for the question-type columns, left 0 without them."""
    q = _query_stems(query)
    n = len(bodies)
    idf = {s: math.log((n + 1) / (sum(s in b for b in bodies) + 0.5)) for s in q}
    total_idf = sum(idf.values()) or 1.0
    asks = question_types(query)
    out = np.zeros((n, len(FEATURES_ES)))
    for i in range(n):
        if q:
            out[i, 0] = len(q & heads[i]) / len(q)
            out[i, 2] = len(q & bodies[i]) / len(q)
            out[i, 3] = sum(idf[s] for s in q & bodies[i]) / total_idf
        if texts is not None:
            folded = strip_accents(texts[i])
            out[i, 5:] = [(1.0 if _HAS[k].search(texts[i]) or _HAS[k].search(folded) else -1.0)
                          if asks[k] else 0.0
                          for k in ("amount", "time", "count", "place", "steps", "yesno")]
    out[:, 1] = out[:, 0] - out[:, 0].max(initial=0.0)
    out[:, 4] = out[:, 3] - out[:, 3].max(initial=0.0)
    return out
