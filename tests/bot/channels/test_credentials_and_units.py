"""credentials.yml as ``rasa run`` reads it, and the pure helpers of the channels."""

from __future__ import annotations

from pathlib import Path

import pytest
from rasa.core.run import create_http_input_channels
from rasa.shared.exceptions import RasaException

from bot.channels.messenger import MessengerInput
from bot.channels.rest import HandoffAwareRestInput
from bot.channels.socketio import HandoffAwareSocketIOInput
from bot.channels.texts import language_from_phone, unsupported_text
from bot.channels.whatsapp import WhatsAppInput, extract_text
from bot.channels.whatsapp_output import interactive_messages, split_text

CREDENTIALS = str(Path(__file__).resolve().parents[3] / "bot" / "credentials.yml")
META_VARS = ["WHATSAPP_ACCESS_TOKEN", "WHATSAPP_APP_SECRET", "WHATSAPP_VERIFY_TOKEN",
             "WHATSAPP_PHONE_NUMBER_ID", "MESSENGER_PAGE_ACCESS_TOKEN", "MESSENGER_APP_SECRET",
             "MESSENGER_VERIFY_TOKEN"]


def test_credentials_load_with_empty_vars_in_development(
        monkeypatch: pytest.MonkeyPatch) -> None:
    for var in META_VARS:
        monkeypatch.setenv(var, "")
    channels = {c.name(): c for c in create_http_input_channels(None, CREDENTIALS)}
    assert set(channels) == {"rest", "socketio", "whatsapp", "messenger", "atiende"}
    assert isinstance(channels["rest"], HandoffAwareRestInput)
    socket = channels["socketio"]
    assert isinstance(socket, HandoffAwareSocketIOInput) and socket.session_persistence
    assert (socket.user_message_evt, socket.bot_message_evt) == ("user_uttered", "bot_uttered")
    whatsapp = channels["whatsapp"]
    assert isinstance(whatsapp, WhatsAppInput) and whatsapp.app_secret == ""
    assert whatsapp.graph_url == "https://graph.facebook.com/v19.0"
    assert isinstance(channels["messenger"], MessengerInput)


def test_credentials_take_secrets_and_graph_url_from_env(
        monkeypatch: pytest.MonkeyPatch) -> None:
    for var in META_VARS:
        monkeypatch.setenv(var, f"value-of-{var.lower()}")
    monkeypatch.setenv("WHATSAPP_GRAPH_URL", "http://127.0.0.1:9/v19.0")
    channels = {c.name(): c for c in create_http_input_channels(None, CREDENTIALS)}
    assert channels["whatsapp"].app_secret == "value-of-whatsapp_app_secret"
    assert channels["whatsapp"].phone_number_id == "value-of-whatsapp_phone_number_id"
    assert channels["whatsapp"].graph_url == "http://127.0.0.1:9/v19.0"
    assert channels["messenger"].verify_token == "value-of-messenger_verify_token"


def test_rasa_refuses_to_start_when_a_var_is_unset(monkeypatch: pytest.MonkeyPatch) -> None:
    """Rasa's own ${VAR} expansion raises for unset vars: .env.example must define them."""
    for var in META_VARS:
        monkeypatch.setenv(var, "")
    monkeypatch.delenv("WHATSAPP_APP_SECRET")
    with pytest.raises(RasaException, match="WHATSAPP_APP_SECRET"):
        create_http_input_channels(None, CREDENTIALS)


def test_split_text_respects_limit_and_keeps_everything() -> None:
    text = ("palabra " * 1500).strip()
    parts = split_text(text, 4096)
    assert all(len(p) <= 4096 for p in parts) and " ".join(parts) == text
    assert split_text("corto") == ["corto"]
    assert split_text("x" * 5000, 4096) == ["x" * 4096, "x" * 904]


def test_interactive_rendering_boundaries() -> None:
    three = [{"title": str(i), "payload": f"/p{i}"} for i in range(3)]
    four = [{"title": str(i), "payload": f"/p{i}"} for i in range(4)]
    twelve = [{"title": str(i), "payload": f"/p{i}"} for i in range(12)]
    assert interactive_messages("1", "t", three)[0]["interactive"]["type"] == "button"
    assert interactive_messages("1", "t", four)[0]["interactive"]["type"] == "list"
    lists = interactive_messages("1", "t", twelve, "en")
    rows = [len(m["interactive"]["action"]["sections"][0]["rows"]) for m in lists]
    assert rows == [10, 2]  # no option dropped, ≤ 10 rows per message
    assert lists[0]["interactive"]["action"]["button"] == "See options"
    long_body = interactive_messages("1", "a" * 1500, three)
    assert long_body[0]["type"] == "text" and long_body[-1]["type"] == "interactive"


@pytest.mark.parametrize("phone,lang", [("34612345678", "es"), ("5215512345678", "es"),
                                        ("16315551181", "en"), ("18095551234", "es"),
                                        ("447700900123", "en"), ("5491155556666", "es")])
def test_language_from_phone(phone: str, lang: str) -> None:
    assert language_from_phone(phone) == lang


def test_unsupported_texts_exist_in_both_languages() -> None:
    assert "audios" in unsupported_text("audio", "es")
    assert "voice notes" in unsupported_text("voice", "en")
    assert "este tipo de mensaje" in unsupported_text("sticker_pack", "es")


def test_extract_text_of_template_quick_reply_button() -> None:
    assert extract_text({"type": "button", "button": {"payload": "/affirm", "text": "Sí"}}) \
        == "/affirm"
    assert extract_text({"type": "audio", "audio": {"id": "1"}}) is None
