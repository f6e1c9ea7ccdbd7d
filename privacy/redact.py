"""Find and replace personal data in free text (chat lines, log lines, analytics fields).

What is found, and how (precision matters as much as recall: an order number, an amount, a date
or a tracking number redacted by mistake makes a log useless to whoever debugs a shopper's case):

* ``EMAIL``  addresses, also spelled out ("carmen arroba gmail punto com").
* ``CARD``   13-19 digits that pass the Luhn check, start like a card network and are grouped
  like a card; any 13-19 digits right after "tarjeta"/"card"; a CVV/CVC after its keyword.
* ``IBAN``   IBANs (python-stdnum: country format + mod-97) and national bank accounts with check
  digits: Spanish CCC, Argentine CBU, Mexican CLABE.
* ``ID``     ids with check digits, validated with python-stdnum wherever they appear: Spanish
  DNI/NIE (check letter), Mexican CURP and RFC, Argentine CUIT/CUIL, Chilean RUT, Colombian NIT.
  Ids without a check digit (Colombian cédula, Argentine DNI, passports) and mistyped ones are
  redacted only when a keyword introduces them ("cédula 1.020.345.678", "DNI 30.123.456").
* ``PHONE``  numbers with "+"/"00" and a real country code; national numbers valid in one of the
  markets (libphonenumber metadata via ``phonenumbers``), unless a word before them says they are
  an order, tracking number, amount or code; after "teléfono"/"móvil"/"phone"/"from=" any
  possible number.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass

from privacy import checks
from privacy.checks import MARKET_CALLING_CODES

PLACEHOLDERS = {"EMAIL": "[EMAIL]", "PHONE": "[PHONE]", "CARD": "[CARD]", "IBAN": "[IBAN]",
                "ID": "[ID]"}
_PRIORITY = {"EMAIL": 5, "CARD": 4, "IBAN": 3, "ID": 2, "PHONE": 1}


@dataclass(frozen=True, order=True)
class Span:
    start: int
    end: int
    type: str


# ------------------------------------------------------------------------------ patterns
_EMAIL = re.compile(
    r"(?<![\w.+-])[\w.+-]{1,64}@[\w-]{1,63}(?:\.[\w-]{1,63})*\.[^\W\d_]{2,24}(?![\w-])")
_EMAIL_SPOKEN = re.compile(
    r"(?i)(?<![\w.+-])[\w.+-]{1,64}\s*(?:\(at\)|\[at\]|\s+arroba\s+)\s*[\w-]{1,63}"
    r"(?:\s*(?:\.|\(dot\)|\[dot\]|\s+punto\s+|\s+dot\s+)\s*[\w-]{1,63}){1,3}")

# A run of digit chunks separated by single spaces: "+34 655 90 81 72", "4273-9666-4581-5642".
_CHUNK = r"\(?\+?\d(?:[\d().\-]*\d)?\)?"
_NUMBER = re.compile(rf"(?<![\w+.,-]){_CHUNK}(?:[ \u00a0]{{1,2}}{_CHUNK})*(?![\w])")
_CHUNKS = re.compile(_CHUNK)

# Ids with check digits, one scan: DNI (8 digits + letter), NIE, CURP, RFC, RUT, NIT.
_IDS = re.compile(
    r"(?<![\w.,&-])(?:"
    r"\d{1,2}\.?\d{3}\.?\d{3}(?:-?[A-Za-z]| [A-Z])"            # es.dni, cl.rut with K
    r"|[XYZxyz]-?\d{7}-?[A-Za-z]"                                # es.nie
    r"|[A-Za-z]{4}\d{6}[HMXhmx][A-Za-z]{5}[A-Za-z\d]\d"          # mx.curp
    r"|[A-ZÑ&a-zñ]{3,4}(?P<sep>[ -]?)\d{6}(?P=sep)[A-Za-z\d]{3}"  # mx.rfc
    r"|\d{1,2}\.?\d{3}\.?\d{3}-\d"                              # cl.rut
    r"|\d{3}\.?\d{3}\.?\d{3}-\d"                                # co.nit
    r")(?![\w])")
_IDS_GATE = re.compile(r"\d{3}[.\-]?\d{3}")
_ID_KEYS = ("dni", "nie", "nif", "cif", "curp", "rfc", "rut", "run", "cuit", "cuil", "nit",
            "dula", "c.c", "cc", "pasaporte", "passport", "ssn", "social security", "documento",
            "identificaci", "id number", "national id", "tax id", "carn")
_IBAN = re.compile(
    r"(?i)(?<![\w])[A-Z]{2}\d{2}(?:[ -]?[A-Z\d]{4}){2,7}(?:[ -]?[A-Z\d]{1,3})?(?![\w])")
_IBAN_GATE = re.compile(r"[A-Za-z]{2}\d{2}[ -]?[A-Za-z\d]{4}")

# Words that introduce a value. Each context pattern must END the text before the candidate
# (fillers such as "es", "is", ":", "nº" may follow the keyword).
_FILL = (r"(?:[\s:=#.,()\-]|\b(?:es|is|son|are|my|mi|el|la|the|no|n[º°o]|num|número|numero|"
         r"number|de|of|al|a|at|on|to|y|and)\b)*$")
_ID_WORDS = (r"dni|nie|nif|cif|curp|rfc|rut|run|cuit|cuil|nit|c[ée]dula(?: de ciudadan[íi]a)?|"
             r"c\.\s?c\.?|cc|pasaporte|passport|ssn|social security(?: number)?|"
             r"documento(?: de identidad| nacional de identidad)?|identificaci[óo]n|id number|"
             r"national id|tax id|carn[ée] de extranjer[íi]a")
_ID_CTX = re.compile(rf"(?i)\b(?:{_ID_WORDS}){_FILL}")
_ID_LED = re.compile(
    rf"(?i)\b(?:{_ID_WORDS})(?:[\s:=#.,\-]|\b(?:es|is|n[º°o]|no|número|numero|number|de)\b)*"
    r"(?P<id>(?<![\w])[A-Z]{0,3}-?\d[\d.\- ]{4,13}[\dA-Z](?![\w]))")
_PHONE_CTX = re.compile(
    r"(?i)(?:\b(?:tel[ée]fono|tel[ée]fonos|tel|tlf|tlfno|tfno|tf|m[óo]vil|celular|cel|cell|"
    r"whatsapp|wasap|wsp|phone(?: number)?|mobile|cellphone|call me|ll[aá]ma(?:me|nos)?|"
    r"ll[aá]menme|ll[aá]meme|n[úu]mero de contacto|contact number|contacto|contact|fax|"
    r"from|to|sender|sender_id|recipient|recipient_id|wa_id|wa)\b"
    rf"|\bn[úu]mero\b|\bnumber\b){_FILL}")
# Words that say a number is something else (an order, a parcel, money, a code): they count when
# they appear among the last few words before the number, and block guesses (not check digits).
_NOT_PII = (r"pedido|pedidos|orden|order|order number|seguimiento|tracking|track|gu[íi]a|env[íi]o|"
            r"paquete|parcel|shipment|factura|invoice|ref|referencia|reference|c[óo]digo|code|"
            r"albar[áa]n|folio|ticket|importe|total|amount|precio|price|cp|c\.p\.|postal|postcode|"
            r"zip|id|message_id|mid|handoff|sku|ean|isbn|lote|serie|serial|modelo|model|incidencia|"
            r"confirmation|confirmaci[óo]n|routing")
_NEG_CTX = re.compile(rf"(?i)\b(?:{_NOT_PII})\b(?:\W+\w+){{0,3}}\W*$")
_NEG_PHONE_CTX = re.compile(
    rf"(?i)\b(?:{_NOT_PII}|cuenta|account|socio|member|cliente|customer)\b(?:\W+\w+){{0,3}}\W*$")
_CARD_CTX = re.compile(
    r"(?i)\b(?:tarjeta(?: de cr[ée]dito| de d[ée]bito)?|card(?: number)?|visa|mastercard|"
    r"master card|amex|american express|maestro)\b" + _FILL)
_BANK_CTX = re.compile(r"(?i)\b(?:cuenta|account|iban|clabe|cbu|ccc|bank|banco|transferencia|"
                       r"transfer)\b(?:\W+\w+){0,3}\W*$")
_NEG_WORDS = frozenset(
    "pedido pedidos orden order seguimiento tracking track guía guia envío envio paquete parcel "
    "shipment factura invoice ref referencia reference código codigo code albarán albaran folio "
    "ticket importe total amount precio price cp c postal postcode zip id message_id mid handoff "
    "sku ean isbn lote serie serial modelo model incidencia confirmation confirmación "
    "confirmacion routing".split())
_NEG_PHONE_WORDS = _NEG_WORDS | {"cuenta", "account", "socio", "member", "cliente", "customer"}
_CARD_WORDS = frozenset("tarjeta card visa mastercard master amex american maestro".split())
_BANK_WORDS = frozenset("cuenta account iban clabe cbu ccc bank banco transferencia "
                        "transfer".split())
_CVV = re.compile(
    r"(?i)\b(?:cvv2?|cvc2?|c[óo]digo de seguridad|security code)\b[^\w]{0,3}"
    r"(?:(?:es|is|:)[^\w]{0,3})?(?P<cvv>\d{3,4})(?![\w])")
_UNIT_AFTER = re.compile(
    r"(?i)^\s?(?:€|\$|eur|euros?|usd|mxn|ars|cop|clp|gbp|pesos?|d[óo]lares|dollars?|%|ms|kb|mb|"
    r"gb|km|kg|g\b|cm|mm|uds|unidades|units|items|d[íi]as|days|horas|hours|min|seg)")
_DATE = re.compile(r"^\(?\d{4}[-.]\d{1,2}[-.]\d{1,2}|^\d{1,2}[-.]\d{1,2}[-.]\d{2,4}$"
                   r"|^(?:19|20)\d{2}-\d{3,}$")  # dates; year-prefixed references (2025-000481)
_IPV4 = re.compile(r"^\d{1,3}(?:\.\d{1,3}){3}$")
_DIGITS3 = re.compile(r"\d{3}")
_CONTEXT_CHARS = 40


# ---------------------------------------------------------------------------- detectors
def _emails(text: str, lowered: str) -> Iterable[Span]:
    if "@" in text:
        for m in _EMAIL.finditer(text):
            yield Span(m.start(), m.end(), "EMAIL")
    if "arroba" in lowered or "(at)" in lowered or "[at]" in lowered:
        for m in _EMAIL_SPOKEN.finditer(text):
            yield Span(m.start(), m.end(), "EMAIL")


def _trim_iban(value: str) -> int:
    """Length of the longest prefix of ``value`` (whole 4-char groups) that is a valid IBAN."""
    parts = re.split(r"([ -])", value)
    for stop in range(len(parts), 0, -2):
        candidate = "".join(parts[:stop])
        if len(re.sub(r"[ -]", "", candidate)) >= 15 and checks.is_iban(candidate):
            return len(candidate)
    return 0


def _alnum_ids(text: str, lowered: str) -> Iterable[Span]:
    keyword = any(k in lowered for k in _ID_KEYS)
    if _IBAN_GATE.search(text):
        for m in _IBAN.finditer(text):
            if length := _trim_iban(m.group()):
                yield Span(m.start(), m.start() + length, "IBAN")
    if _IDS_GATE.search(text):
        for m in _IDS.finditer(text):
            if checks.national_id_kind(m.group()) or (
                    keyword and _ID_CTX.search(_before(text, m.start()))):
                yield Span(m.start(), m.end(), "ID")
    if keyword:
        for m in _ID_LED.finditer(text):
            if sum(c.isdigit() for c in m.group("id")) >= 5:
                yield Span(m.start("id"), m.end("id"), "ID")
    if "cv" in lowered or "segur" in lowered or "security" in lowered:
        for m in _CVV.finditer(text):
            yield Span(m.start("cvv"), m.end("cvv"), "CARD")


def _before(text: str, start: int) -> str:
    return text[max(0, start - _CONTEXT_CHARS):start]


_WORD = re.compile(r"\w+")


class _Context:
    """The words before a candidate number, with lazily evaluated (cached) context tests."""

    __slots__ = ("text", "words", "_seen")

    def __init__(self, text: str) -> None:
        self.text = text
        self.words = set(_WORD.findall(text.lower()))
        self._seen: dict[str, bool] = {}

    def _test(self, name: str, pattern: re.Pattern[str]) -> bool:
        if name not in self._seen:
            self._seen[name] = bool(self.words) and bool(pattern.search(self.text))
        return self._seen[name]

    @property
    def negative(self) -> bool:
        return bool(self.words & _NEG_WORDS) and self._test("neg", _NEG_CTX)

    @property
    def negative_phone(self) -> bool:
        return bool(self.words & _NEG_PHONE_WORDS) and self._test("neg_phone", _NEG_PHONE_CTX)

    @property
    def phone(self) -> bool:
        return self._test("phone", _PHONE_CTX)

    @property
    def card(self) -> bool:
        return bool(self.words & _CARD_WORDS) and self._test("card", _CARD_CTX)

    @property
    def bank(self) -> bool:
        return bool(self.words & _BANK_WORDS) and self._test("bank", _BANK_CTX)


def _classify(value: str, ctx: _Context, after: str, *, phones: bool = True) -> str | None:
    """The type of one run of digits (``value``), given the text around it, or None."""
    digits = checks.digits_of(value)
    n = len(digits)
    if n < 7 or _DATE.match(value) or _IPV4.match(value):
        return None
    plus = value.lstrip("(").startswith("+")
    if 13 <= n <= 19 and not plus:
        if ctx.card or (checks.is_card(value) and not ctx.negative):
            return "CARD"
    if n in (18, 20, 22) and not plus and checks.is_bank_account(value) \
            and (ctx.bank or not ctx.negative):
        return "IBAN"
    if n == 11 and not plus and re.fullmatch(r"\d{2}-?\d{8}-?\d", value) \
            and checks.national_id_kind(value) == "ar.cuit" and not ctx.phone:
        return "ID"
    if not phones or n > 15 or (not plus and _UNIT_AFTER.match(after)):
        return None
    positive = ctx.phone
    # A bare 11-13 digit run that starts with a market's calling code is a phone written without
    # its "+" (a WhatsApp id: "sender id '34655908172'"), whatever word precedes it.
    whatsapp_id = 11 <= n <= 13 and value.isdigit() and digits.startswith(MARKET_CALLING_CODES)
    if not plus and not positive and (n < 9 or (ctx.negative_phone and not whatsapp_id)):
        return None
    return "PHONE" if checks.phone_ok(value.lstrip("(").replace(")", " ", 1)
                                      if value.startswith("(+") else value,
                                      lenient=positive) else None


def _numbers(text: str) -> Iterable[Span]:
    for m in _NUMBER.finditer(text):
        chunks = [(c.start() + m.start(), c.end() + m.start()) for c in _CHUNKS.finditer(m.group())]
        # One run longer than any phone is one number (an account, a tracking number): its parts
        # are not phones. A number after "+CC" belongs to that country code.
        phones = len(checks.digits_of(m.group())) <= 15
        i = 0
        while i < len(chunks):
            found = None
            after_plus = i > 0 and text[chunks[i - 1][0]:chunks[i - 1][1]].lstrip("(")[:1] == "+"
            ctx = _Context(_before(text, chunks[i][0]))
            for j in range(len(chunks) - 1, i - 1, -1):  # longest window first
                start, end = chunks[i][0], chunks[j][1]
                kind = _classify(text[start:end], ctx, text[end:end + 8],
                                 phones=phones and not after_plus)
                if kind:
                    found = (j, Span(start, end, kind))
                    break
            if found:
                yield found[1]
                i = found[0] + 1
            else:
                i += 1


# ----------------------------------------------------------------------------------- API
def find_pii(text: str) -> list[Span]:
    """Non-overlapping spans of personal data in ``text``, in order."""
    if not text:
        return []
    lowered = text.lower()
    if "@" not in text and not _DIGITS3.search(text) and "arroba" not in lowered \
            and "(at)" not in lowered and "[at]" not in lowered:
        return []
    candidates = [*_emails(text, lowered), *_alnum_ids(text, lowered), *_numbers(text)]
    if not candidates:
        return []
    chosen: list[Span] = []
    for span in sorted(candidates, key=lambda s: (s.end - s.start, _PRIORITY[s.type]),
                       reverse=True):
        if all(span.end <= c.start or span.start >= c.end for c in chosen):
            chosen.append(span)
    return sorted(chosen)


def redact(text: str) -> str:
    """``text`` with every span of :func:`find_pii` replaced by its placeholder."""
    spans = find_pii(text) if text else []
    if not spans:
        return text
    out, last = [], 0
    for span in spans:
        out.append(text[last:span.start])
        out.append(PLACEHOLDERS[span.type])
        last = span.end
    out.append(text[last:])
    return "".join(out)
