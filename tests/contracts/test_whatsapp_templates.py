"""The WhatsApp template registry (contracts/whatsapp_templates.py): the config file, Meta's
template list in its documented shape, the merge of both, parameters and rendering."""

from __future__ import annotations

import pytest

from contracts import whatsapp_templates as wt

# GET /{waba-id}/message_templates, as the Graph API answers it (fields name, language, status,
# category, components; positional and named parameters)
GRAPH_LIST = {"data": [
    {"name": "atiende_seguimiento", "language": "es", "status": "APPROVED",
     "category": "UTILITY", "id": "1180291216",
     "components": [{"type": "BODY", "text": "Hola {{1}}, te escribimos de {{2}} sobre tu "
                                             "consulta: {{3}}. Responde a este mensaje y "
                                             "seguimos por aquí.",
                     "example": {"body_text": [["Lucía", "Atiende Moda", "tu pedido"]]}}]},
    {"name": "atiende_follow_up", "language": "en", "status": "REJECTED",
     "category": "UTILITY", "id": "1180291217",
     "components": [{"type": "BODY", "text": "Hi {{1}}, this is {{2}} about your request: "
                                             "{{3}}."}]},
    {"name": "cita_recordatorio", "language": "es_MX", "status": "APPROVED",
     "category": "UTILITY", "parameter_format": "NAMED", "id": "1180291218",
     "components": [{"type": "HEADER", "format": "TEXT", "text": "Recordatorio"},
                    {"type": "BODY", "text": "Hola {{first_name}}, tu cita es el {{date}}.",
                     "example": {"body_text_named_params": [
                         {"param_name": "first_name", "example": "Ana"},
                         {"param_name": "date", "example": "12/12"}]}},
                    {"type": "BUTTONS", "buttons": [{"type": "QUICK_REPLY", "text": "OK"},
                                                    {"type": "URL", "text": "Web",
                                                     "url": "https://x.example"}]}]},
], "paging": {"cursors": {"before": "a", "after": "b"}}}


def test_the_shipped_registry_file_is_valid_and_bilingual() -> None:
    templates = wt.load_file()
    assert templates, "data/whatsapp_templates.yml must list the templates Atiende uses"
    for use in ("agent", "csat", "order_shipped", "order_delivered", "order_refunded"):
        langs = {t.lang for t in templates if use in t.use}
        assert langs == {"es", "en"}, f"use {use}: templates in {langs}, want es and en"
    for t in templates:
        assert t.category == "UTILITY"
        for p in t.parameters:
            assert p.label.get("es") and p.label.get("en") and p.example, (t.key, p.name)
    csat = [t for t in templates if "csat" in t.use]
    assert all(t.buttons == ("1", "2", "3", "4", "5") for t in csat)


def test_graph_list_shape_is_read() -> None:
    templates = {t.key: t for t in wt.from_graph(GRAPH_LIST["data"])}
    seg = templates["atiende_seguimiento:es"]
    assert seg.approved and [p.name for p in seg.parameters] == ["1", "2", "3"]
    assert seg.parameters[0].example == "Lucía" and not seg.named
    named = templates["cita_recordatorio:es_MX"]
    assert named.named and [p.name for p in named.parameters] == ["first_name", "date"]
    assert named.buttons == ("OK",) and named.lang == "es"
    assert not templates["atiende_follow_up:en"].approved


def test_merge_keeps_labels_and_use_and_marks_what_meta_lacks() -> None:
    merged = {t.key: t for t in wt.merge(wt.load_file(), wt.from_graph(GRAPH_LIST["data"]))}
    seg = merged["atiende_seguimiento:es"]
    assert seg.status == "APPROVED" and seg.use == ("agent",)
    assert seg.parameters[0].label["es"] == "Nombre del cliente"  # the file's label survives
    assert merged["atiende_follow_up:en"].status == "REJECTED"  # Meta's word wins
    assert merged["atiende_valoracion:es"].status == wt.MISSING  # Meta does not know it
    assert merged["cita_recordatorio:es_MX"].use == ()  # only Meta knows it: never auto-used
    # English ones are rejected or missing at Meta: the approved Spanish one is offered instead
    assert wt.pick(merged.values(), "agent", "en").key == "atiende_seguimiento:es"


def test_synced_file_round_trip(tmp_path) -> None:
    assert wt.registry(tmp_path) == wt.load_file()  # no sync yet: the file as written
    wt.save_synced(tmp_path, GRAPH_LIST["data"], "2026-12-07T07:00:00+00:00")
    merged = {t.key: t for t in wt.registry(tmp_path)}
    assert merged["atiende_follow_up:en"].status == "REJECTED"


def test_values_are_checked_against_metas_rules() -> None:
    seg = next(t for t in wt.load_file() if t.key == "atiende_seguimiento:es")
    with pytest.raises(wt.TemplateError, match="parameter 3 is empty"):
        wt.check_values(seg, {"1": "Lucía", "2": "Tienda"})
    with pytest.raises(wt.TemplateError, match="new line"):
        wt.check_values(seg, {"1": "Lucía", "2": "Tienda", "3": "a\nb"})
    with pytest.raises(wt.TemplateError, match="no parameter 9"):
        wt.check_values(seg, {"1": "a", "2": "b", "3": "c", "9": "d"})
    values = wt.check_values(seg, {"1": " Lucía ", "2": "Atiende Moda", "3": "tu devolución"})
    assert wt.render(seg, values).startswith("Hola Lucía, te escribimos de Atiende Moda sobre "
                                             "tu consulta: tu devolución.")


def test_named_components_and_button_payloads() -> None:
    named = next(t for t in wt.from_graph(GRAPH_LIST["data"]) if t.named)
    parts = wt.components(named, {"first_name": "Ana", "date": "12/12"}, ["/ok"])
    assert parts == [
        {"type": "body", "parameters": [
            {"type": "text", "text": "Ana", "parameter_name": "first_name"},
            {"type": "text", "text": "12/12", "parameter_name": "date"}]},
        {"type": "button", "sub_type": "quick_reply", "index": "0",
         "parameters": [{"type": "payload", "payload": "/ok"}]}]


def test_pick_prefers_the_shoppers_language() -> None:
    templates = wt.load_file()
    assert wt.pick(templates, "csat", "en").name == "atiende_rating"
    assert wt.pick(templates, "csat", "es").name == "atiende_valoracion"
    assert wt.pick(templates, "csat", "pt").name == "atiende_valoracion"  # Spanish first
    assert wt.pick(templates, "nothing", "es") is None


def test_error_texts_in_both_languages() -> None:
    assert "no existe" in wt.error_text(132001, "es")
    assert "does not exist" in wt.error_text(132001, "en")
    assert wt.error_text(999999) is None
