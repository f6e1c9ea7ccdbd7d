"""action_product_question on the demo store's catalogue (and on a platform stand-in): stock of
the exact size/colour with alternatives when sold out, price and link, facts from the product
page, nothing invented, the KB for policies and non-products, a polite message when the store is
down."""

from __future__ import annotations

from typing import Any

import pytest

from actions.catalogue import ActionProductQuestion
from actions.store import get_store


def ask(make_tracker: Any, text: str, lang: str = "es", **slots: Any) -> Any:
    return make_tracker({"language": lang, **slots}, text=text, intent="product_question")


@pytest.fixture
def kb_calls(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Record what is handed to the KB action instead of loading the index."""
    calls: list[str] = []

    async def fake_run(self: Any, dispatcher: Any, tracker: Any, domain: Any) -> list[Any]:
        calls.append(tracker.latest_message.get("text"))
        dispatcher.utter_message(text="[KB answer]")
        return []

    monkeypatch.setattr("actions.kb_answer.ActionAnswerFromKB.run", fake_run)
    return calls


async def test_urban_runner_42_in_stock_in_white_with_black_alternatives(
        store_db, make_tracker, dispatcher, domain, said, slots_of):
    events = await ActionProductQuestion().run(
        dispatcher, ask(make_tracker, "¿tenéis las Urban Runner en la 42?"), domain)
    text = said(dispatcher)
    assert "Sí, tenemos Zapatillas Urban Runner en la talla 42 en Blanco: 79,90 €" in text
    assert "En Negro la talla 42 está agotada; en Negro sí tenemos las tallas 40, 41 y 43" in text
    assert "https://tienda.atiende-demo.example/productos/zapatillas-urban-runner" in text
    assert slots_of(events) == {"product": "Zapatillas Urban Runner", "product_size": "42",
                                "product_colour": None}


async def test_chelsea_boot_in_black_lists_the_sizes(store_db, make_tracker, dispatcher, domain,
                                                      said):
    tracker = make_tracker({"language": "es"}, text="¿hay la bota Chelsea en negro?",
                           intent="product_question",
                           entities=[{"entity": "product_colour", "value": "negro"}])
    await ActionProductQuestion().run(dispatcher, tracker, domain)
    text = said(dispatcher)
    assert "Sí, tenemos Botas Chelsea de piel en Negro: 119,00 €" in text
    assert "Tallas disponibles: 36, 37, 38, 39, 41, 42, 43 y 44" in text  # 40 and 45 sold out


async def test_sold_out_variant_offers_other_colour_and_nearest_sizes(
        store_db, make_tracker, dispatcher, domain, said):
    await ActionProductQuestion().run(
        dispatcher, ask(make_tracker, "do you have the brown Chelsea boots in a 36?", "en"),
        domain)
    text = said(dispatcher)
    assert "Sorry, size 36 in Brown is sold out right now." in text
    assert "In size 36 we have it in Black." in text
    assert "In Brown we do have sizes 37, 38 and 39." in text


async def test_waterproof_is_answered_from_the_product_page_in_english(
        store_db, make_tracker, dispatcher, domain, said):
    await ActionProductQuestion().run(
        dispatcher, ask(make_tracker, "is the Chelsea boot waterproof?", "en"), domain)
    text = said(dispatcher)
    assert text.startswith("From the product page of Leather Chelsea boots:")
    assert "water-repellent" in text and "not a fully waterproof boot" in text


async def test_a_fact_the_page_does_not_state_is_not_invented(store_db, make_tracker, dispatcher,
                                                              domain, said):
    await ActionProductQuestion().run(
        dispatcher, ask(make_tracker, "¿cuánto pesan las Urban Runner?"), domain)
    assert "no dice nada sobre eso" in said(dispatcher)
    assert dispatcher.messages[0]["buttons"][0]["payload"] == "/human_handoff"


async def test_unknown_colour_and_size_name_what_exists(store_db, make_tracker, dispatcher,
                                                        domain, said):
    await ActionProductQuestion().run(
        dispatcher, ask(make_tracker, "¿tenéis las botas Chelsea en verde en la 47?"), domain)
    text = said(dispatcher)
    assert "No tenemos Botas Chelsea de piel en verde: los colores son Negro y Marrón." in text
    assert "No tenemos Botas Chelsea de piel en la talla 47" in text


async def test_follow_up_keeps_the_product(store_db, make_tracker, dispatcher, domain, said):
    tracker = ask(make_tracker, "¿y en marrón?", product="Botas Chelsea de piel")
    await ActionProductQuestion().run(dispatcher, tracker, domain)
    assert "Sí, tenemos Botas Chelsea de piel en Marrón" in said(dispatcher)


async def test_price_question_in_english(store_db, make_tracker, dispatcher, domain, said):
    await ActionProductQuestion().run(
        dispatcher, ask(make_tracker, "how much are the Urban Runners?", "en"), domain)
    text = said(dispatcher)
    assert "Urban Runner sneakers: €79.90." in text and "Colours in stock: White and Black" in text


async def test_policy_part_goes_to_the_knowledge_base_after_the_product(
        store_db, make_tracker, dispatcher, domain, said, kb_calls):
    text = "¿tenéis las Urban Runner en la 42? y si no me quedan bien, ¿puedo cambiarlas?"
    await ActionProductQuestion().run(dispatcher, ask(make_tracker, text), domain)
    assert kb_calls == [text]
    assert said(dispatcher).index("Sí, tenemos") < said(dispatcher).index("[KB answer]")


async def test_no_product_in_the_message_is_a_knowledge_base_question(
        store_db, make_tracker, dispatcher, domain, said, kb_calls):
    await ActionProductQuestion().run(
        dispatcher, ask(make_tracker, "¿hacéis envíos a Canarias?"), domain)
    assert kb_calls == ["¿hacéis envíos a Canarias?"] and said(dispatcher) == "[KB answer]"


async def test_unknown_product_with_a_size_asks_for_its_name(store_db, make_tracker, dispatcher,
                                                             domain, said, kb_calls):
    await ActionProductQuestion().run(
        dispatcher, ask(make_tracker, "¿tenéis las Air Max en la 42?"), domain)
    assert "No encuentro ese producto" in said(dispatcher) and kb_calls == []


async def test_store_down_is_polite_and_offers_a_person(tmp_path, monkeypatch, make_tracker,
                                                        dispatcher, domain, said, slots_of):
    monkeypatch.setenv("STORE_DATABASE", str(tmp_path / "gone.db"))
    get_store.cache_clear()
    try:
        events = await ActionProductQuestion().run(
            dispatcher, ask(make_tracker, "¿tenéis las Urban Runner en la 42?"), domain)
    finally:
        get_store.cache_clear()
    assert "no puedo consultar el catálogo" in said(dispatcher)
    assert slots_of(events)["handoff_reason"] == "backend_error"


async def test_same_answer_from_a_tiendanube_store(tn, monkeypatch, make_tracker, dispatcher,
                                                   domain, said):
    monkeypatch.setenv("STORE_BACKEND", "tiendanube")
    monkeypatch.setenv("TIENDANUBE_API_URL", tn.url + "/v1")
    monkeypatch.setenv("TIENDANUBE_STORE_ID", tn.store_id)
    monkeypatch.setenv("TIENDANUBE_ACCESS_TOKEN", tn.token)
    monkeypatch.setenv("TIENDANUBE_USER_AGENT", "Atiende tests (dev@atiende.invalid)")
    get_store.cache_clear()
    try:
        await ActionProductQuestion().run(
            dispatcher, ask(make_tracker, "do you have the Urban Runners in a 42?", "en"), domain)
    finally:
        get_store.cache_clear()
    text = said(dispatcher)
    assert "Yes, we have Urban Runner sneakers in size 42 in White: €79.90." in text
    assert "in Black we do have sizes 40, 41 and 43" in text
