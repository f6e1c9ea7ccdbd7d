"""Widget photos through the socket.io channel: the widget uploads to the handoff API
(``POST /api/widget/media``) and names the stored key in its message (``metadata.media``); the
channel checks the key belongs to this conversation, then answers, fills the claim form, or
forwards the photo to the agent."""

# ruff: noqa: F811 - the socket.io fixtures of test_web_channels are reused by name
from __future__ import annotations

import io

from bot.channels import media_in
from bot.handoff_gate import HandoffGate
from media_store import open_store, settings_from_env
from tests.bot.channels.harness import FakeAgent, Recorder
from tests.bot.channels.test_media_in import claim_asks_for_photo
from tests.bot.channels.test_web_channels import Widget, server, widget  # noqa: F401


def jpeg() -> bytes:
    from PIL import Image

    buffer = io.BytesIO()
    Image.new("RGB", (30, 20), (0, 90, 0)).save(buffer, "JPEG")
    return buffer.getvalue()


async def uploaded(conversation_id: str) -> str:
    """What ``POST /api/widget/media`` stores for this conversation (same store, same rules)."""
    media = await open_store(settings_from_env()).put(
        jpeg(), declared_type="image/jpeg", filename="roto.jpg",
        conversation_id=conversation_id, source="widget")
    return media.key


async def test_a_photo_outside_a_claim_is_acknowledged_without_a_bot_turn(
        widget: Widget, agent: FakeAgent, gate: HandoffGate) -> None:
    sid = await widget.connect()
    key = await uploaded(sid)
    await widget.send(sid, "[foto]", "p-1", customData={"language": "es", "media": [key]})
    await widget.wait_acks(1)
    assert widget.acks == [{"message_id": "p-1", "status": "media"}]
    assert agent.handled == []
    assert widget.bot[0]["text"].startswith("He recibido tu foto «roto.jpg».")


async def test_a_photo_while_the_claim_form_asks_for_one_answers_the_form(
        widget: Widget, agent: FakeAgent) -> None:
    sid = await widget.connect()
    await claim_asks_for_photo(agent, sid)
    key = await uploaded(sid)
    await widget.send(sid, "[foto]", "p-2", customData={"language": "es", "media": [key]})
    await widget.wait_acks(1)
    [message] = agent.handled
    assert message.text == "/inform"
    assert message.metadata[media_in.MEDIA_KEY][0]["key"] == key
    assert "media" not in message.metadata


async def test_a_photo_during_a_handoff_goes_to_the_agent(
        widget: Widget, agent: FakeAgent, handoff_api: Recorder) -> None:
    sid = await widget.connect()
    await agent.pause(sid)
    key = await uploaded(sid)
    await widget.send(sid, "[foto]", "p-3", customData={"language": "es", "media": [key]})
    await widget.wait_acks(1)
    assert widget.acks[0]["status"] == "forwarded"
    assert handoff_api.requests[0]["json"]["text"] == f"[image] roto.jpg · media:{key}"
    assert widget.bot == []  # no bot message over the agent


async def test_a_key_of_another_conversation_or_a_forged_one_is_ignored(
        widget: Widget, agent: FakeAgent, handoff_api: Recorder) -> None:
    sid = await widget.connect()
    foreign = await uploaded("web-" + "Z" * 24)
    await widget.send(sid, "[foto]", "p-4", customData={"media": [foreign, "../../etc/passwd"]})
    # a browser cannot set the server's own key either
    await widget.send(sid, "hola", "p-5", customData={media_in.MEDIA_KEY: [{"key": foreign}]})
    await widget.wait_acks(2)
    [message] = agent.handled
    assert message.text == "hola" and media_in.MEDIA_KEY not in message.metadata
    assert handoff_api.requests == []
