"""WhatsApp and Messenger relays against a local fake Graph API."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from types import SimpleNamespace

import pytest

from handoff_api.relay import RelayContext, RelayRegistry, RelayTarget
from handoff_api.relay.messenger import MessengerRelay
from handoff_api.relay.whatsapp import WhatsAppRelay
from tests.handoff_api.relay.conftest import FakeGraph

NOW = datetime(2026, 11, 22, 12, 0, tzinfo=UTC)
PHONE = "5215512345678"


def target(channel: str, hours_ago: float | None, cid: str = PHONE) -> RelayTarget:
    last = None if hours_ago is None else NOW - timedelta(hours=hours_ago)
    return RelayTarget(conversation_id=cid, channel=channel, language="es",
                       last_shopper_message_at=last)


def wa(graph: FakeGraph) -> WhatsAppRelay:
    return WhatsAppRelay(access_token="wa-token", phone_number_id="106540352242922",
                         graph_url=graph.url, now=lambda: NOW)


async def test_whatsapp_sends_within_the_window(graph: FakeGraph) -> None:
    relay = wa(graph)
    result = await relay.send_text(target("whatsapp", 2), "Hola Lucía, soy Marta. Ya lo miro.")
    await relay.aclose()
    assert result.ok and result.external_id == "wamid.out.1"
    [req] = graph.requests
    assert req["path"] == "/v19.0/106540352242922/messages"
    assert req["headers"]["authorization"] == "Bearer wa-token"
    assert req["json"]["to"] == PHONE and req["json"]["type"] == "text"
    assert req["json"]["text"]["body"] == "Hola Lucía, soy Marta. Ya lo miro."


async def test_whatsapp_refuses_outside_the_24h_window(graph: FakeGraph) -> None:
    relay = wa(graph)
    result = await relay.send_text(target("whatsapp", 24.5), "¿Sigues ahí?")
    await relay.aclose()
    assert not result.ok and result.reason.startswith("whatsapp_window_closed")
    assert graph.requests == []  # refused before calling Meta


async def test_whatsapp_maps_meta_window_error_when_time_unknown(graph: FakeGraph) -> None:
    graph.status = 400
    graph.reply = {"error": {"code": 131047, "message": "Re-engagement message"}}
    relay = wa(graph)
    result = await relay.send_text(target("whatsapp", None), "hola")
    await relay.aclose()
    assert not result.ok and result.reason.startswith("whatsapp_window_closed")
    assert not result.retryable


async def test_whatsapp_server_error_is_retryable(graph: FakeGraph) -> None:
    graph.status = 503
    graph.reply = {"error": {"code": 2, "message": "Service temporarily unavailable"}}
    relay = wa(graph)
    result = await relay.send_text(target("whatsapp", 1), "hola")
    await relay.aclose()
    assert not result.ok and result.retryable and "503" in (result.reason or "")


async def test_whatsapp_long_reply_is_split(graph: FakeGraph) -> None:
    relay = wa(graph)
    result = await relay.send_text(target("whatsapp", 1), ("Texto largo. " * 700).strip())
    await relay.aclose()
    assert result.ok and len(graph.requests) == 3
    assert all(len(r["json"]["text"]["body"]) <= 4096 for r in graph.requests)


async def test_whatsapp_unconfigured_is_refused_clearly() -> None:
    relay = WhatsAppRelay(access_token="", phone_number_id="")
    result = await relay.send_text(target("whatsapp", 1), "hola")
    assert not result.ok and "WHATSAPP_ACCESS_TOKEN" in (result.reason or "")


async def test_registry_builds_the_relays_from_context(graph: FakeGraph) -> None:
    extra = {"whatsapp": {"access_token": "t", "phone_number_id": "42", "graph_url": graph.url},
             "messenger": {"page_access_token": "p", "graph_url": graph.url}}
    context = RelayContext(settings=SimpleNamespace(), broker=None,  # type: ignore[arg-type]
                           extra=extra)
    registry = RelayRegistry(context)
    recent = datetime.now(UTC) - timedelta(minutes=5)
    wa_result = await registry.send_text(
        RelayTarget(PHONE, "whatsapp", "es", recent), "hola")
    ms_result = await registry.send_text(
        RelayTarget("6543210987654321", "messenger", "es", recent), "hola")
    await registry.aclose()
    assert wa_result.ok and ms_result.ok
    assert [r["path"] for r in graph.requests] == ["/v19.0/42/messages", "/v19.0/me/messages"]


# --- Messenger ----------------------------------------------------------------------------

def ms(graph: FakeGraph, tag: bool = False) -> MessengerRelay:
    return MessengerRelay(page_access_token="page-token", graph_url=graph.url,
                          human_agent_tag=tag, now=lambda: NOW)


async def test_messenger_sends_a_response_within_24h(graph: FakeGraph) -> None:
    relay = ms(graph)
    result = await relay.send_text(target("messenger", 3, "6543210987654321"), "Hola, soy Marta")
    await relay.aclose()
    assert result.ok and result.external_id == "m_out_1"
    body = graph.requests[0]["json"]
    assert body == {"recipient": {"id": "6543210987654321"}, "messaging_type": "RESPONSE",
                    "message": {"text": "Hola, soy Marta", "metadata": "atiende"}}
    assert graph.requests[0]["headers"]["authorization"] == "Bearer page-token"


@pytest.mark.parametrize("tag,hours,ok", [(False, 30, False), (True, 30, True),
                                          (True, 24 * 8, False)])
async def test_messenger_window_and_human_agent_tag(graph: FakeGraph, tag: bool, hours: float,
                                                    ok: bool) -> None:
    relay = ms(graph, tag)
    result = await relay.send_text(target("messenger", hours, "6543210987654321"), "hola")
    await relay.aclose()
    assert result.ok is ok
    if ok:
        assert graph.requests[0]["json"]["messaging_type"] == "MESSAGE_TAG"
        assert graph.requests[0]["json"]["tag"] == "HUMAN_AGENT"
    else:
        assert result.reason.startswith("messenger_window_closed") and graph.requests == []


async def test_messenger_maps_meta_window_error_to_its_own_reason(graph: FakeGraph) -> None:
    graph.status = 400
    graph.reply = {"error": {"code": 10, "message": "outside of allowed window"}}
    relay = ms(graph)
    result = await relay.send_text(target("messenger", 1, cid="6543210987654321"), "hola")
    await relay.aclose()
    assert not result.ok and result.reason.startswith("messenger_window_closed")
    assert not result.retryable


# --- issue #17: template errors in words, Messenger's HUMAN_AGENT rules ---------------------------

@pytest.mark.parametrize("code,prefix,words", [
    (132001, "whatsapp_template_error", "does not exist in that language"),
    (132000, "whatsapp_template_error", "number of parameters"),
    (131047, "whatsapp_window_closed", "only an approved template"),
])
async def test_whatsapp_template_refusal_names_metas_error(graph: FakeGraph, code: int,
                                                           prefix: str, words: str) -> None:
    graph.status = 400  # Meta's documented error shape for a refused send
    graph.reply = {"error": {"message": "(#132001) Template name does not exist in the "
                                        "translation", "type": "OAuthException", "code": code,
                             "error_data": {"messaging_product": "whatsapp",
                                            "details": "template name (x) does not exist in es"},
                             "fbtrace_id": "AbCdEf"}}
    relay = wa(graph)
    result = await relay.send_template(PHONE, "atiende_seguimiento", "es", [])
    await relay.aclose()
    assert not result.ok and not result.retryable
    assert result.reason.startswith(prefix), result.reason
    assert str(code) in result.reason and words in result.reason
    assert "atiende_seguimiento (es)" in result.reason


async def test_whatsapp_template_send_shape(graph: FakeGraph) -> None:
    from contracts import whatsapp_templates as wt

    template = next(t for t in wt.load_file() if t.name == "atiende_seguimiento")
    values = wt.check_values(template, {"1": "Lucía", "2": "Atiende Moda",
                                        "3": "tu devolución"})
    relay = wa(graph)
    result = await relay.send_template(PHONE, template.name, template.language,
                                       wt.components(template, values))
    await relay.aclose()
    assert result.ok and result.external_id == "wamid.out.1"
    body = graph.requests[0]["json"]
    assert body["type"] == "template" and body["to"] == PHONE
    assert body["template"]["name"] == "atiende_seguimiento"
    assert body["template"]["language"] == {"code": "es"}
    assert body["template"]["components"] == [{"type": "body", "parameters": [
        {"type": "text", "text": "Lucía"}, {"type": "text", "text": "Atiende Moda"},
        {"type": "text", "text": "tu devolución"}]}]


async def test_messenger_reply_within_24h_never_carries_human_agent(graph: FakeGraph) -> None:
    relay = ms(graph, tag=True)  # the page has the permission, but it is not needed yet
    result = await relay.send_text(target("messenger", 23.5, "6543210987654321"), "hola")
    await relay.aclose()
    assert result.ok
    body = graph.requests[0]["json"]
    assert body["messaging_type"] == "RESPONSE" and "tag" not in body


@pytest.mark.parametrize("tag,hours,words", [
    (True, 24 * 7 + 1, "more than 7 days ago"),
    (False, 30, "does not use the tag"),
])
async def test_messenger_refusal_says_why(graph: FakeGraph, tag: bool, hours: float,
                                         words: str) -> None:
    relay = ms(graph, tag)
    result = await relay.send_text(target("messenger", hours, "6543210987654321"), "hola")
    await relay.aclose()
    assert not result.ok and words in (result.reason or "") and graph.requests == []
