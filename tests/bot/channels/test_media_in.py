"""Media in from WhatsApp and Messenger, through HTTP: the Sanic channel, the Graph API stand-in
serving media in Meta's documented shapes, the real media store in a temporary folder."""

from __future__ import annotations

import asyncio
import io
import warnings
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from rasa.shared.core.domain import Domain
from rasa.shared.core.events import ActionExecuted, ActiveLoop, SlotSet, UserUttered
from rasa.shared.core.trackers import DialogueStateTracker

from bot.channels import media_download, media_in
from bot.channels.messenger import MessengerInput
from bot.channels.meta import MetaStateStore
from bot.channels.whatsapp import WhatsAppInput
from bot.handoff_gate import HandoffGate
from media_store import open_store, settings_from_env
from tests.bot.channels.graph_standin import PDF, GraphStandIn, jpeg
from tests.bot.channels.harness import FakeAgent, Recorder, SanicHarness, load_fixture

SECRET, VERIFY = "wa-app-secret", "wa-verify-token"
HOOK = "/webhooks/whatsapp/webhook"
MS_HOOK = "/webhooks/messenger/webhook"
SHOPPER = "5215512345678"
PSID = "6543210987654321"
IMAGE_ID, DOC_ID, AUDIO_ID, VIDEO_ID = ("1003383421387256", "2004383421387257",
                                        "3004383421387258", "4004383421387259")
MEDIA_FIXTURES = Path(__file__).parents[2] / "media_store" / "fixtures"


@pytest.fixture(autouse=True)
def quick_retries(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(media_download, "RETRY_DELAYS", (0.01, 0.01))


@pytest.fixture
async def meta() -> AsyncIterator[GraphStandIn]:
    standin = await GraphStandIn().start()
    yield standin
    await standin.stop()


@pytest.fixture
def wa(meta: GraphStandIn, tmp_path: Path) -> WhatsAppInput:
    return WhatsAppInput(access_token="wa-access", app_secret=SECRET, verify_token=VERIFY,
                         phone_number_id="106540352242922", graph_url=meta.url,
                         state=MetaStateStore(tmp_path / "meta.db"))


@pytest.fixture
def ms(meta: GraphStandIn, tmp_path: Path) -> MessengerInput:
    return MessengerInput(page_access_token="page-token", app_secret=SECRET,
                          verify_token=VERIFY, graph_url=meta.url,
                          state=MetaStateStore(tmp_path / "meta-ms.db"))


@pytest.fixture
async def server(wa: WhatsAppInput, ms: MessengerInput, agent: FakeAgent,
                 gate: HandoffGate) -> AsyncIterator[SanicHarness]:
    agent.responder = lambda message: []  # only the channel's own replies reach the stand-in
    harness = await SanicHarness([wa, ms], agent, gate).start()
    yield harness
    await harness.stop()


async def post(server: SanicHarness, channel: object, payload: dict, hook: str = HOOK) -> None:
    status, _ = await server.post_signed(hook, payload, SECRET)
    assert status == 200
    await channel.tasks.drain()  # type: ignore[attr-defined]


async def stored(conversation: str) -> list:
    return await open_store(settings_from_env()).list_conversation(conversation)


async def claim_asks_for_photo(agent: FakeAgent, sender: str) -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        domain = Domain.from_dict({
            "slots": {"claim_photo": {"type": "text", "mappings": [{"type": "custom"}]}},
            "forms": {"claim_form": {"required_slots": ["claim_photo"]}}})
    tracker = DialogueStateTracker.from_events(sender, [
        ActionExecuted("action_listen"), UserUttered("me llegó roto"),
        ActionExecuted("claim_form"), ActiveLoop("claim_form"),
        SlotSet("requested_slot", "claim_photo")], slots=domain.slots)
    await agent.tracker_store.save(tracker)


# --- WhatsApp ---------------------------------------------------------------------------------

async def test_image_is_downloaded_in_two_steps_stored_clean_and_acknowledged(
        server: SanicHarness, wa: WhatsAppInput, agent: FakeAgent, meta: GraphStandIn) -> None:
    meta.add(IMAGE_ID, jpeg(gps=True), "image/jpeg")
    await post(server, wa, load_fixture("wa_image.json"))
    [media] = await stored(SHOPPER)
    assert (media.kind, media.mime_type, media.source) == ("image", "image/jpeg", "whatsapp")
    _, data = await open_store(settings_from_env()).get(media.key)
    from PIL import Image
    with Image.open(io.BytesIO(data)) as image:
        assert not image.getexif()  # the phone's GPS position and make are gone
    paths = [r["path"] for r in meta.requests if r["method"] == "GET"]
    assert paths == [f"/{IMAGE_ID}"] and meta.downloads == [IMAGE_ID]
    [ack] = meta.texts()
    assert ack.startswith("He recibido tu foto")
    # the caption goes to the bot as what the shopper said, with the stored key
    [message] = agent.handled
    assert message.text == "la caja llegó rota"
    assert message.metadata[media_in.MEDIA_KEY][0]["key"] == media.key


async def test_image_while_the_claim_form_asks_for_a_photo_answers_the_form(
        server: SanicHarness, wa: WhatsAppInput, agent: FakeAgent, meta: GraphStandIn) -> None:
    await claim_asks_for_photo(agent, SHOPPER)
    meta.add(IMAGE_ID, jpeg(), "image/jpeg")
    await post(server, wa, load_fixture("wa_image.json"))
    [message] = agent.handled
    assert message.text == "/inform"  # the form's validator finds the photo in the store
    [media] = await stored(SHOPPER)
    assert message.metadata[media_in.MEDIA_KEY] == [{
        "key": media.key, "kind": "image", "mime_type": "image/jpeg", "filename": None}]
    assert not any(t.startswith("He recibido") for t in meta.texts())  # the form thanks


async def test_document_keeps_its_name_for_display(
        server: SanicHarness, wa: WhatsAppInput, agent: FakeAgent, meta: GraphStandIn) -> None:
    meta.add(DOC_ID, PDF, "application/pdf")
    await post(server, wa, load_fixture("wa_document.json"))
    [media] = await stored(SHOPPER)
    assert (media.kind, media.filename) == ("document", "factura 1234.pdf")
    assert meta.texts() == ["He recibido tu documento «factura 1234.pdf»."]
    assert [m.text for m in agent.handled] == ["la factura"]


async def test_voice_note_is_stored_and_answered_with_a_text_only_note(
        server: SanicHarness, wa: WhatsAppInput, agent: FakeAgent, meta: GraphStandIn) -> None:
    meta.add(AUDIO_ID, (MEDIA_FIXTURES / "voice_note.ogg").read_bytes(), "audio/ogg")
    await agent.set_language(SHOPPER, "en")
    await post(server, wa, load_fixture("wa_audio.json"))
    [media] = await stored(SHOPPER)
    assert media.kind == "audio"
    [note] = meta.texts()
    assert "voice note" in note and "can only read text" in note
    assert agent.handled == []


async def test_video_is_stored(server: SanicHarness, wa: WhatsAppInput, agent: FakeAgent,
                               meta: GraphStandIn) -> None:
    meta.add(VIDEO_ID, (MEDIA_FIXTURES / "clip.mp4").read_bytes(), "video/mp4")
    await post(server, wa, load_fixture("wa_video.json"))
    assert [m.kind for m in await stored(SHOPPER)] == ["video"]
    assert meta.texts()[0].startswith("He recibido tu vídeo")


async def test_sticker_is_not_downloaded(server: SanicHarness, wa: WhatsAppInput,
                                         agent: FakeAgent, meta: GraphStandIn) -> None:
    await post(server, wa, load_fixture("wa_sticker.json"))
    assert meta.downloads == [] and await stored(SHOPPER) == []
    assert "stickers" in meta.texts()[0]


async def test_a_failing_download_is_retried_and_then_stored(
        server: SanicHarness, wa: WhatsAppInput, agent: FakeAgent, meta: GraphStandIn) -> None:
    meta.add(IMAGE_ID, jpeg(), "image/jpeg")
    meta.fail[IMAGE_ID] = 2
    await post(server, wa, load_fixture("wa_image.json"))
    assert meta.downloads == [IMAGE_ID] * 3
    assert len(await stored(SHOPPER)) == 1


async def test_a_download_that_keeps_failing_gets_a_polite_reply_and_is_not_lost(
        server: SanicHarness, wa: WhatsAppInput, agent: FakeAgent, meta: GraphStandIn,
        gate: HandoffGate) -> None:
    meta.add(IMAGE_ID, jpeg(), "image/jpeg")
    meta.fail[IMAGE_ID] = 10
    await post(server, wa, load_fixture("wa_image.json"))
    assert meta.downloads == [IMAGE_ID] * 3 and await stored(SHOPPER) == []
    assert meta.texts() == ["Perdona, tu foto no me ha llegado bien. ¿Puedes intentarlo de "
                            "nuevo en un momento?"]
    # the caption still reaches the bot; the delivery is marked done in the durable inbox
    assert [m.text for m in agent.handled] == ["la caja llegó rota"]
    assert await asyncio.to_thread(gate.ledger.inbox_take, None, 10, "whatsapp") == []


async def test_bytes_that_do_not_match_metas_hash_are_refetched_then_refused(
        server: SanicHarness, wa: WhatsAppInput, agent: FakeAgent, meta: GraphStandIn) -> None:
    meta.add(IMAGE_ID, jpeg(), "image/jpeg")
    meta.corrupt.add(IMAGE_ID)
    await post(server, wa, load_fixture("wa_image.json"))
    assert len(meta.downloads) == 3 and await stored(SHOPPER) == []


async def test_an_announced_size_over_the_limit_is_not_downloaded(
        server: SanicHarness, wa: WhatsAppInput, agent: FakeAgent, meta: GraphStandIn) -> None:
    meta.add(IMAGE_ID, jpeg(), "image/jpeg")
    meta.announced_size[IMAGE_ID] = 200 * 1024 * 1024
    await post(server, wa, load_fixture("wa_image.json"))
    assert meta.downloads == [] and await stored(SHOPPER) == []
    assert "pesa demasiado" in meta.texts()[0] and "25 MB" in meta.texts()[0]


async def test_a_body_larger_than_the_limit_is_cut_off(
        server: SanicHarness, wa: WhatsAppInput, agent: FakeAgent, meta: GraphStandIn,
        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MEDIA_MAX_IMAGE_MB", "0.001")
    monkeypatch.setenv("MEDIA_MAX_DOCUMENT_MB", "0.001")
    monkeypatch.setenv("MEDIA_MAX_AUDIO_MB", "0.001")
    monkeypatch.setenv("MEDIA_MAX_VIDEO_MB", "0.001")
    meta.add(IMAGE_ID, jpeg(width=400, height=400) + b"\0" * 4096, "image/jpeg")
    meta.announced_size[IMAGE_ID] = 10  # lies about its size
    await post(server, wa, load_fixture("wa_image.json"))
    assert await stored(SHOPPER) == []
    assert "pesa demasiado" in meta.texts()[0]


async def test_html_sent_as_an_image_is_refused_by_content(
        server: SanicHarness, wa: WhatsAppInput, agent: FakeAgent, meta: GraphStandIn) -> None:
    meta.add(IMAGE_ID, b"<html><script>alert(1)</script></html>", "image/jpeg")
    await post(server, wa, load_fixture("wa_image.json"))
    assert await stored(SHOPPER) == []
    assert "no puedo abrir tu foto" in meta.texts()[0]


async def test_image_during_a_handoff_goes_to_the_agent_with_its_key_and_no_bot_reply(
        server: SanicHarness, wa: WhatsAppInput, agent: FakeAgent, meta: GraphStandIn,
        handoff_api: Recorder) -> None:
    await agent.pause(SHOPPER)
    meta.add(IMAGE_ID, jpeg(), "image/jpeg")
    await post(server, wa, load_fixture("wa_image.json"))
    [media] = await stored(SHOPPER)
    [forwarded] = handoff_api.requests
    assert forwarded["json"]["text"] == f"[image] · media:{media.key}\nla caja llegó rota"
    assert meta.texts() == [] and agent.handled == []


# --- Messenger ---------------------------------------------------------------------------------

async def test_messenger_image_is_downloaded_and_acknowledged(
        server: SanicHarness, ms: MessengerInput, agent: FakeAgent, meta: GraphStandIn) -> None:
    meta.add("m1", jpeg(), "image/jpeg")
    payload = load_fixture("ms_image.json")
    payload["entry"][0]["messaging"][0]["message"]["attachments"][0]["payload"]["url"] = \
        f"{meta.url}/cdn/m1"
    await post(server, ms, payload, MS_HOOK)
    [media] = await stored(PSID)
    assert (media.kind, media.source) == ("image", "messenger")
    [ack] = meta.texts()
    assert ack.startswith("He recibido tu foto") and agent.handled == []


async def test_messenger_voice_clip_mp4_is_stored_as_audio(
        server: SanicHarness, ms: MessengerInput, agent: FakeAgent, meta: GraphStandIn) -> None:
    meta.add("a1", (MEDIA_FIXTURES / "audio_only.mp4").read_bytes(), "video/mp4")
    payload = load_fixture("ms_attachment.json")
    payload["entry"][0]["messaging"][0]["message"]["attachments"][0]["payload"]["url"] = \
        f"{meta.url}/cdn/a1"
    await post(server, ms, payload, MS_HOOK)
    [media] = await stored(PSID)
    assert (media.kind, media.mime_type) == ("audio", "audio/mp4")
    assert "nota de voz" in meta.texts()[0]


async def test_the_form_answer_fills_claim_photo_under_the_real_domain() -> None:
    """What the channel sends (``/inform``) is parsed by Rasa's regex handler and fills
    ``claim_photo`` through the real domain's mapping, so ``validate_claim_photo`` runs and finds
    the stored photo (tests/actions/test_claims.py)."""
    from rasa.core.actions.action import ActionExtractSlots
    from rasa.core.channels.channel import CollectingOutputChannel
    from rasa.core.nlg import TemplatedNaturalLanguageGenerator
    from rasa.nlu.classifiers.regex_message_handler import RegexMessageHandler
    from rasa.shared.nlu.training_data.message import Message

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        domain = Domain.load(Path(__file__).parents[3] / "domain.yml")
    [parsed] = RegexMessageHandler().process([Message(data={"text": media_in.FORM_ANSWER})],
                                             domain)
    tracker = DialogueStateTracker.from_events("s", [
        ActionExecuted("action_listen"), ActionExecuted("claim_form"), ActiveLoop("claim_form"),
        SlotSet("requested_slot", "claim_photo"), ActionExecuted("action_listen"),
        UserUttered(media_in.FORM_ANSWER, intent=parsed.get("intent"))], slots=domain.slots)
    events = await ActionExtractSlots(None).run(
        CollectingOutputChannel(), TemplatedNaturalLanguageGenerator(domain.responses), tracker,
        domain)
    assert SlotSet("claim_photo", media_in.FORM_ANSWER) in events
