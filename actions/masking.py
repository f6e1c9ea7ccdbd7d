"""Masking of personal data in bot replies.

Chat transcripts end up in logs, in the handoff queue and on shared screens, so the bot never
repeats a full email, phone number or street address back, even to a verified shopper: enough to
recognise it ("l***n@example.com", "··· 678", "…, 28012 Madrid"), not enough to reuse it.
"""

from __future__ import annotations

import re


def mask_email(email: str | None) -> str:
    """``lucia.martin@example.com`` → ``l***n@example.com``."""
    if not email or "@" not in email:
        return "***"
    local, _, domain = email.strip().partition("@")
    if len(local) <= 2:
        shown = local[:1] + "***"
    else:
        shown = f"{local[0]}***{local[-1]}"
    return f"{shown}@{domain}"


def mask_phone(phone: str | None) -> str:
    """Only the last three digits: ``+34 612 345 678`` → ``··· 678``."""
    digits = re.sub(r"\D", "", phone or "")
    return f"··· {digits[-3:]}" if len(digits) >= 3 else "***"


_POSTCODE = re.compile(r"\b([A-Z]?\d{4,5}[A-Z]{0,3})\b")


def mask_address(address: str | None) -> str:
    """Keep the town and a partly hidden postcode; hide street, number and flat.

    ``Calle de Atocha 27, 3º B, 28012 Madrid`` → ``***, 280** Madrid``. Addresses without a comma
    show only their last word, which is usually the town.
    """
    if not address:
        return "***"
    parts = [p.strip() for p in address.split(",") if p.strip()]
    tail = parts[-1] if len(parts) > 1 else (address.split()[-1] if address.split() else "")
    # "Jal.", "TX 78704": a state or postcode alone says too little, take the town before it.
    if len(parts) > 2 and len(re.sub(r"[^A-Za-zÀ-ÿ]", "", tail)) < 4:
        tail = f"{parts[-2]}, {tail}"
    if _POSTCODE.search(tail):
        tail = _POSTCODE.sub(lambda m: m.group(1)[:3] + "*" * (len(m.group(1)) - 3), tail)
    else:  # no postcode: hide any other number (street numbers in one-part addresses)
        tail = re.sub(r"\d{2,}", lambda m: m.group(0)[:1] + "*" * (len(m.group(0)) - 1), tail)
    return f"***, {tail}"
