"""Who a "delete this customer's data" request is about: conversation ids, e-mails, phones.

E-mails are compared case-insensitively. Phones are normalised to E.164 digits (``34655908172``),
whatever the format they were given or stored in ("+34 655 90 81 72", "655908172", a WhatsApp id),
so a phone typed with spaces in a chat line is found by a request that gives it without.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, field, replace
from functools import lru_cache

from privacy.checks import PHONE_REGIONS, digits_of
from privacy.records import keyed_hash
from privacy.redact import find_pii

_EMAIL = re.compile(r"^[^@\s]{1,64}@[^@\s]+\.[^@\s]{2,}$")
_DIGIT_RUN = re.compile(r"\+?\d[\d\s().\-]{5,20}\d")


@lru_cache(maxsize=4096)
def normalise_phone(value: str) -> str | None:
    """E.164 digits of ``value`` (``+34 655 908 172`` → ``34655908172``), or None."""
    import phonenumbers as pn

    text = value.strip()
    if text.startswith("00"):
        text = "+" + text[2:]
    candidates = [(text, None)] if text.startswith("+") else [
        (text, region) for region in PHONE_REGIONS]
    digits = digits_of(text)
    if not text.startswith("+") and 11 <= len(digits) <= 15:
        candidates.insert(0, ("+" + digits, None))  # a WhatsApp id: the phone without "+"
    for number, region in candidates:
        try:
            parsed = pn.parse(number, region)
        except pn.NumberParseException:
            continue
        if pn.is_valid_number(parsed) or (region is None and pn.is_possible_number(parsed)):
            return f"{parsed.country_code}{parsed.national_number}"
    return None


@dataclass(frozen=True)
class Subject:
    conversation_ids: frozenset[str] = field(default_factory=frozenset)
    emails: frozenset[str] = field(default_factory=frozenset)
    phones: frozenset[str] = field(default_factory=frozenset)  # E.164 digits

    @classmethod
    def build(cls, *, conversation_ids: Iterable[str] = (), emails: Iterable[str] = (),
              phones: Iterable[str] = ()) -> Subject:
        """Validated and normalised; raises ValueError with a reason for bad input."""
        ids = frozenset(c.strip() for c in conversation_ids if c and c.strip())
        mails = frozenset(e.strip().lower() for e in emails if e and e.strip())
        for mail in mails:
            if not _EMAIL.match(mail):
                raise ValueError(f"not an e-mail address: {len(mail)} characters without a valid "
                                 "user@domain form")
        numbers = set()
        for phone in phones:
            if phone and phone.strip():
                normal = normalise_phone(phone)
                if normal is None:
                    raise ValueError("not a phone number (give it with its country code, e.g. "
                                     "+34 655 908 172)")
                numbers.add(normal)
        subject = cls(ids, mails, frozenset(numbers))
        if subject.empty:
            raise ValueError("give at least one of: conversation id, e-mail, phone")
        return subject

    @property
    def empty(self) -> bool:
        return not (self.conversation_ids or self.emails or self.phones)

    def with_conversations(self, ids: Iterable[str]) -> Subject:
        return replace(self, conversation_ids=self.conversation_ids | frozenset(ids))

    def phone_conversation_ids(self) -> set[str]:
        """Conversation ids that are the phone itself (WhatsApp: E.164 digits, no "+")."""
        return set(self.phones) | {f"+{p}" for p in self.phones}

    def like_patterns(self) -> list[str]:
        """SQL LIKE patterns that every row mentioning the subject matches (a prefilter; confirm
        with :meth:`mentioned_in`). A phone's last two digits are never split by formatting."""
        patterns = [f"%{e}%" for e in self.emails]
        patterns += [f"%{p[-2:]}%" for p in self.phones]
        return patterns

    def mentioned_in(self, text: str | None) -> bool:
        """Whether ``text`` contains one of the e-mails or phones (any formatting)."""
        if not text:
            return False
        lowered = text.lower()
        if any(e in lowered for e in self.emails):
            return True
        if not self.phones:
            return False
        for span in find_pii(text):
            if span.type == "PHONE" and normalise_phone(text[span.start:span.end]) in self.phones:
                return True
        for m in _DIGIT_RUN.finditer(text):  # ids and numbers the redactor would not call phones
            digits = digits_of(m.group())
            if digits in self.phones or any(p.endswith(digits) and len(digits) >= 9
                                            for p in self.phones):
                return True
        return False

    def fingerprint(self, key: bytes) -> str:
        """A keyed hash of the identifiers given: shows later which request this was, without
        storing the identifiers themselves."""
        parts = sorted(self.conversation_ids) + sorted(self.emails) + sorted(self.phones)
        return keyed_hash("\x1f".join(parts), key)
