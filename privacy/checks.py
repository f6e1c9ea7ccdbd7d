"""Validity checks behind the detectors: check digits and phone metadata.

Every check takes the candidate as written (separators included) and answers yes or no. They are
cached, because logs repeat the same values (a WhatsApp sender id on every line of a turn), and
the libraries are imported on first use so ``import privacy`` stays cheap.
"""

from __future__ import annotations

import re
from functools import lru_cache
from typing import Any

# Markets Atiende serves (and the English-speaking ones shoppers write from), in the order a bare
# national number is tried.
PHONE_REGIONS = ("ES", "MX", "AR", "CO", "CL", "US", "GB", "PE")
# Country calling codes of those markets: an 11-13 digit run that starts with one of these and is a
# valid number once a "+" is put in front is a phone written without its "+" (WhatsApp ids).
MARKET_CALLING_CODES = ("34", "52", "54", "56", "57", "51", "44", "1")
NON_DIGIT = re.compile(r"\D")


@lru_cache(maxsize=1)
def _libs() -> dict[str, Any]:
    import phonenumbers
    from stdnum import iban, luhn
    from stdnum.ar import cbu, cuit
    from stdnum.cl import rut
    from stdnum.co import nit
    from stdnum.es import ccc, dni, nie
    from stdnum.mx import curp, rfc

    return {"phonenumbers": phonenumbers, "iban": iban, "luhn": luhn, "cbu": cbu, "cuit": cuit,
            "rut": rut, "nit": nit, "ccc": ccc, "dni": dni, "nie": nie, "curp": curp, "rfc": rfc}


def digits_of(text: str) -> str:
    return NON_DIGIT.sub("", text)


# ----------------------------------------------------------------------------------- cards
# Issuer prefixes (ISO/IEC 7812 IIN ranges of the networks shoppers pay with): Visa 4, Mastercard
# 51-55 and 2221-2720, Amex 34/37, Diners 30/36/38/39, Discover/UnionPay/Maestro 6, JCB 35,
# Maestro 50/56-58. A Luhn-valid number outside these is more likely a reference than a card.
_CARD_PREFIX = re.compile(r"^(?:4|5[0-8]|2[2-7]|3[0456789]|6)")
# How people group card digits: 4-4-4-4(-3), Amex 4-6-5, Diners 4-6-4, or no separators.
_CARD_GROUPS = {(4, 4, 4, 4), (4, 4, 4, 4, 3), (4, 6, 5), (4, 6, 4), (4, 4, 4, 1), (4, 4, 4, 3),
                (4, 4, 4, 2)}
_GROUP_SPLIT = re.compile(r"[\s\-.]+")


def card_grouping_ok(text: str) -> bool:
    groups = tuple(len(g) for g in _GROUP_SPLIT.split(text.strip()) if g)
    return len(groups) == 1 or groups in _CARD_GROUPS


@lru_cache(maxsize=4096)
def is_card(text: str) -> bool:
    """A payment card number: 13-19 digits, Luhn-valid, a card network prefix, card grouping."""
    digits = digits_of(text)
    if not 13 <= len(digits) <= 19 or not _CARD_PREFIX.match(digits):
        return False
    return card_grouping_ok(text) and _libs()["luhn"].is_valid(digits)


# ------------------------------------------------------------------------ bank accounts
@lru_cache(maxsize=4096)
def is_iban(text: str) -> bool:
    return bool(_libs()["iban"].is_valid(text.replace("-", " ")))


def _clabe_ok(digits: str) -> bool:
    """Mexican CLABE (18 digits): weights 3, 7, 1 over the first 17, check = (10 - sum % 10) % 10.
    (python-stdnum has no CLABE module; the rule is Banxico's.)"""
    total = sum(int(d) * (3, 7, 1)[i % 3] % 10 for i, d in enumerate(digits[:17]))
    return (10 - total % 10) % 10 == int(digits[17])


@lru_cache(maxsize=4096)
def is_bank_account(text: str) -> bool:
    """Spanish CCC (20 digits), Argentine CBU (22) or Mexican CLABE (18), check digits valid."""
    digits = digits_of(text)
    libs = _libs()
    if len(digits) == 20:
        return bool(libs["ccc"].is_valid(digits))
    if len(digits) == 22:
        return bool(libs["cbu"].is_valid(digits))
    if len(digits) == 18:
        return _clabe_ok(digits)
    return False


# -------------------------------------------------------------------------- national ids
@lru_cache(maxsize=4096)
def national_id_kind(text: str) -> str | None:
    """Which check-digit id ``text`` is (es.dni, es.nie, mx.curp, mx.rfc, ar.cuit, cl.rut,
    co.nit), or None. Uses python-stdnum's validators."""
    libs = _libs()
    compact = re.sub(r"[\s.\-]", "", text).upper()
    if not compact:
        return None
    checks: tuple[tuple[str, str], ...]
    if compact[0] in "XYZ" and len(compact) == 9:
        checks = (("es.nie", "nie"),)
    elif compact[0].isdigit() and compact[-1].isalpha() and len(compact) == 9:
        checks = (("es.dni", "dni"), ("cl.rut", "rut"))
    elif len(compact) == 18 and compact[:4].isalpha():
        checks = (("mx.curp", "curp"),)
    elif len(compact) in (12, 13) and not compact[:3].isdigit():
        checks = (("mx.rfc", "rfc"),)
    elif compact.isdigit() and len(compact) == 11:
        checks = (("ar.cuit", "cuit"),)
    elif compact.isdigit() and len(compact) == 10:
        checks = (("co.nit", "nit"), ("cl.rut", "rut"))
    elif len(compact) in (8, 9):
        checks = (("cl.rut", "rut"),)
    else:
        return None
    for kind, module in checks:
        if libs[module].is_valid(compact):
            return kind
    return None


# --------------------------------------------------------------------------------- phones
def _international(text: str) -> Any:
    """Parse a number written with its country code ("+" optional)."""
    pn = _libs()["phonenumbers"]
    number = pn.parse("+" + text.lstrip("+"), None)
    national = str(number.national_number)
    if number.country_code == 52 and len(national) == 11 and national.startswith("1"):
        # "+52 1 55 …": the mobile prefix Mexico dropped in 2019, still widely written
        number.national_number = int(national[1:])
    return number


@lru_cache(maxsize=8192)
def phone_ok(text: str, *, lenient: bool) -> bool:
    """Whether ``text`` is a phone number.

    ``+``/``00`` numbers: a known country code and a possible length (``lenient``) or a valid
    number. Otherwise the national number must be valid (possible when ``lenient``: a word such
    as "teléfono" said so) in one of :data:`PHONE_REGIONS`, or, for 11-13 digits, be a valid
    international number without its "+" in one of the markets (WhatsApp ids).
    """
    pn = _libs()["phonenumbers"]
    test = pn.is_possible_number if lenient else pn.is_valid_number
    stripped = text.strip()
    try:
        if stripped.startswith(("+", "00")):
            number = _international(stripped[2:] if stripped.startswith("00") else stripped)
            return bool(test(number) or pn.is_valid_number(number))
        digits = digits_of(stripped)
        for region in PHONE_REGIONS:
            try:
                if test(pn.parse(digits, region)):
                    return True
            except pn.NumberParseException:
                continue
        if 11 <= len(digits) <= 13 and digits.startswith(MARKET_CALLING_CODES):
            return bool(pn.is_valid_number(_international(digits)))
    except pn.NumberParseException:
        return False
    return False
