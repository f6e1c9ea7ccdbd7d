"""Legal/fraud detection and the choice of reason code (plain functions, no Rasa)."""

from __future__ import annotations

import pytest

from actions.handoff_triggers import choose_reason, mentions_legal_or_fraud


@pytest.mark.parametrize("text", [
    "Os voy a denunciar", "Ya he hablado con mi ABOGADO", "Esto es una estafa",
    "voy a pedir un contracargo al banco", "Iré a la oficina de consumo",
    "pondré una queja en PROFECO",
    "hay un cargo no autorizado en mi tarjeta", "Esto es un fraude", "demandaré a la tienda",
    "I'm calling my lawyer", "I will sue you", "this is a scam", "I'll file a chargeback",
    "I'll report you to trading standards", "there is an unauthorized charge",
])
def test_legal_and_fraud_mentions_are_detected(text):
    assert mentions_legal_or_fraud(text)


@pytest.mark.parametrize("text", [
    "¿Dónde está mi pedido?", "una lámpara de bajo consumo", "hay mucha demanda estos días",
    "a mi juicio la talla es pequeña", "thanks for the courtesy", "I want to return my shoes",
    "quiero hablar con una persona",
])
def test_ordinary_messages_are_not_legal(text):
    assert not mentions_legal_or_fraud(text)


def test_reason_choice_prefers_the_most_urgent():
    assert choose_reason(intent="human_handoff", texts=["quiero una persona"],
                         slot_reason=None) == "asked"
    assert choose_reason(intent="complaint", texts=["fatal servicio"],
                         slot_reason=None) == "frustration"
    assert choose_reason(intent="complaint", texts=["os denunciaré"],
                         slot_reason=None) == "legal_or_fraud"
    assert choose_reason(intent="affirm", texts=["sí"],
                         slot_reason="repeated_fallback") == "repeated_fallback"
    assert choose_reason(intent="human_handoff", texts=["sí"],
                         slot_reason="verification_failed") == "verification_failed"
    assert choose_reason(intent="complaint", texts=["harto"],
                         slot_reason="repeated_fallback") == "frustration"
    assert choose_reason(intent="human_handoff", texts=["x"], slot_reason="made_up") == "asked"
