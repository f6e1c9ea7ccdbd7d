"""The shared entity patterns of data/nlu/common.yml (order_id, email, phone).

RegexEntityExtractor (case-insensitive, no word boundaries added) extracts exactly what these
patterns match, in both languages, so what they catch and what they must leave alone is
checked here without a trained model.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import yaml

COMMON = Path(__file__).resolve().parents[2] / "data" / "nlu" / "common.yml"


def pattern(name: str) -> re.Pattern[str]:
    for block in yaml.safe_load(COMMON.read_text(encoding="utf-8"))["nlu"]:
        if block.get("regex") == name:
            lines = [ln.strip()[2:] for ln in block["examples"].splitlines() if ln.strip()]
            return re.compile("|".join(lines), re.IGNORECASE)
    raise AssertionError(f"no regex {name!r} in {COMMON}")


@pytest.mark.parametrize("text, expected", [
    ("AT100234", "AT100234"),
    ("mi pedido es el at-100234, gracias", "at-100234"),
    ("order AT 100234 please", "AT 100234"),
    ("¿Mi pedido AT 108 331 ya fue enviado?", "AT 108 331"),
    ("where's order at-104-882?", "at-104-882"),
    ("el número es #100234", "#100234"),
    ("100234", "100234"),
])
def test_order_numbers_as_shoppers_type_them(text: str, expected: str) -> None:
    match = pattern("order_id").search(text)
    assert match and match.group(0) == expected


@pytest.mark.parametrize("text", [
    "llámame al +34 612 345 678",
    "my number is 415 555 0134",
    "AT12345",
    "código postal 28013",
    "ana.100234@gmail.com",
    "1234567",
])
def test_things_that_are_not_order_numbers(text: str) -> None:
    assert pattern("order_id").search(text) is None


def test_email_and_phone() -> None:
    assert pattern("email").search("escribe a laura.gomez+tienda@gmail.com ya").group(0) == \
        "laura.gomez+tienda@gmail.com"
    assert pattern("phone").search("mi cel es +52 55 1234 5678").group(0) == "+52 55 1234 5678"
    assert pattern("phone").search("AT100234") is None
