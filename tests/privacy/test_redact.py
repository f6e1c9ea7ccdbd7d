"""The redactor on the cases that matter most: each entity type, each market's ids, and the
look-alikes that must stay (order numbers, amounts, dates, tracking numbers, bad check digits).
The labelled set in tests/data/pii_redaction.jsonl measures it at scale (test_evaluate.py)."""

from __future__ import annotations

import pytest

from privacy import find_pii, redact


@pytest.mark.parametrize(("text", "expected"), [
    ("mi email es carmen.navarro@example.com, gracias",
     "mi email es [EMAIL], gracias"),
    ("escríbeme a carmen arroba gmail punto com", "escríbeme a [EMAIL]"),
    ("my email is OLIVIA.SMITH@example.org.", "my email is [EMAIL]."),
    ("mi teléfono es +34 655 908 172", "mi teléfono es [PHONE]"),
    ("655908172", "[PHONE]"),
    ("llámame al 612 34 56 78 por la tarde", "llámame al [PHONE] por la tarde"),
    ("cel +52 81 8340 1122", "cel [PHONE]"),
    ("whatsapp 0054 9 341 612 7788", "whatsapp [PHONE]"),
    ("mi celular 315 234 6611", "mi celular [PHONE]"),
    ("call me at (512) 555-0142", "call me at [PHONE]"),
    ("whatsapp.received id=wamid.X1 from=34655908172 type=text",
     "whatsapp.received id=wamid.X1 from=[PHONE] type=text"),
    # Rasa's own DEBUG lines name the conversation, which on WhatsApp is the phone
    ("Can't retrieve tracker matching sender id '34655908172' from SQL storage.",
     "Can't retrieve tracker matching sender id '[PHONE]' from SQL storage."),
    ("Starting a new session for conversation ID '5215512345678'.",
     "Starting a new session for conversation ID '[PHONE]'."),
    ("tarjeta 4273 9666 4581 5642, cvv 123", "tarjeta [CARD], cvv [CARD]"),
    ("card 378282246310005 exp 09/27", "card [CARD] exp 09/27"),
    ("IBAN ES91 2100 0418 4502 0005 1332 por favor", "IBAN [IBAN] por favor"),
    ("CBU 2850590940090418135201", "CBU [IBAN]"),
    ("mi DNI es 12345678-Z", "mi DNI es [ID]"),
    ("NIE X2482300W", "NIE [ID]"),
    ("CURP BOXW310820HNERXN09", "CURP [ID]"),
    ("RFC GODE561231GR8", "RFC [ID]"),
    ("CUIT 20-05536168-2", "CUIT [ID]"),
    ("RUT 12.531.909-2", "RUT [ID]"),
    ("NIT 213.123.432-1", "NIT [ID]"),
    ("cédula 1.020.345.678", "cédula [ID]"),
    ("C.C. 79456123", "C.C. [ID]"),
    ("DNI 30.123.456 (Argentina)", "DNI [ID] (Argentina)"),
])
def test_personal_data_is_replaced_by_typed_placeholders(text: str, expected: str) -> None:
    assert redact(text) == expected


@pytest.mark.parametrize("text", [
    "¿dónde está mi pedido AT101001?",
    "el pedido #100234 y el 100234",
    "total 2.778,00 MXN; 17,580.00 MXN; 3.955.500,00 COP; 879.000 ARS",
    "llegó el 22/11/2025 a las 14:30 al CP 28012",
    "2025-11-22 14:30:01,123 INFO rasa.core: took 1733500000 ms",
    "tracking 1Z999AA10123456784, DHL 00340434161094042557",
    "número de seguimiento 1234567890123456",  # Luhn-valid? not a card network prefix
    "el código 12345678A no funciona",  # wrong DNI check letter, no keyword
    "referencia 4273 9666 4581 5641",  # 16 digits, Luhn fails
    "GET /api/handoffs/12/messages HTTP/1.1 200",
    "127.0.0.1:5005 and 192.168.100.200",
    "order 402-3456789-1234567 arrived",
])
def test_look_alikes_are_left_alone(text: str) -> None:
    assert redact(text) == text


def test_spans_are_typed_and_ordered() -> None:
    text = "soy ana@example.com, tel 655908172 y DNI 12345678Z"
    assert [(s.type, text[s.start:s.end]) for s in find_pii(text)] == [
        ("EMAIL", "ana@example.com"), ("PHONE", "655908172"), ("ID", "12345678Z")]


def test_empty_and_plain_text_are_cheap_no_ops() -> None:
    assert redact("") == ""
    assert find_pii("hola, quiero devolver unas zapatillas") == []
