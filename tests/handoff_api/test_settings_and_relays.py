"""Settings refuse placeholder secrets outside development; the relay registry finds channels."""

from __future__ import annotations

import pytest

from handoff_api.broker import Broker
from handoff_api.relay import (
    _EXTRA_FACTORIES,
    DeliveryResult,
    RelayContext,
    RelayRegistry,
    RelayTarget,
    register_relay,
)
from handoff_api.settings import Settings


def test_placeholder_secrets_refused_outside_development(monkeypatch):
    monkeypatch.setenv("ATIENDE_ENV", "production")
    monkeypatch.setenv("HANDOFF_BOT_TOKEN", "change-me")
    with pytest.raises(ValueError, match="HANDOFF_BOT_TOKEN"):
        Settings(_env_file=None)
    monkeypatch.setenv("HANDOFF_BOT_TOKEN", "a-real-long-bot-token-123")
    monkeypatch.setenv("HANDOFF_SECRET_KEY", "a-real-long-secret-key-456")
    monkeypatch.setenv("HANDOFF_DATABASE_URL", "postgresql+psycopg2://u@h/db")
    s = Settings(_env_file=None)
    assert s.database_url.startswith("postgresql") and not s.is_sqlite


def test_development_defaults(monkeypatch, tmp_path):
    for var in ("ATIENDE_ENV", "HANDOFF_BOT_TOKEN", "HANDOFF_DATABASE_URL", "HANDOFF_PORT"):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setenv("ATIENDE_DATA_DIR", str(tmp_path))
    s = Settings(_env_file=None)
    assert s.environment == "development" and s.port == 8000
    assert s.database_url == f"sqlite:///{tmp_path / 'handoff.db'}"


@pytest.mark.parametrize("variable, value", [("BUSINESS_TZ", "Europe/Madird"),
                                             ("BUSINESS_TZ", "../etc/passwd"),
                                             ("BUSINESS_HOURS", "mon-fri 09:00-24:30")])
def test_a_wrong_zone_or_opening_hours_fail_at_start_naming_the_variable(monkeypatch, variable,
                                                                          value):
    monkeypatch.setenv(variable, value)
    with pytest.raises(ValueError, match=variable):
        Settings(_env_file=None)


def _registry() -> RelayRegistry:
    settings = Settings(_env_file=None, environment="development")
    return RelayRegistry(RelayContext(settings=settings, broker=Broker()))


async def test_webchat_relay_pushes_to_the_widget_topic():
    registry = _registry()
    broker = registry.context.broker
    async with broker.subscribe("widget:c-1") as queue:
        result = await registry.send_text(
            RelayTarget("c-1", "socketio", metadata={"message_id": 7}), "Hola")
        assert result.ok
        event = queue.get_nowait()
    assert event["event"] == "agent_message"
    assert event["data"]["text"] == "Hola" and event["data"]["id"] == 7


async def test_unknown_or_missing_relays_are_refused_with_a_reason(monkeypatch):
    registry = _registry()
    result = await registry.send_text(RelayTarget("c", "carrier-pigeon"), "hola")
    assert not result.ok and "carrier-pigeon" in result.reason
    monkeypatch.setitem(__import__("handoff_api.relay", fromlist=["x"]).RELAY_MODULES,
                        "fax", "handoff_api.relay.fax_does_not_exist")
    result = await registry.send_text(RelayTarget("c", "fax"), "hola")
    assert not result.ok and "not installed" in result.reason


async def test_register_relay_and_crashing_relay(monkeypatch):
    class Boom:
        async def send_text(self, conversation, text):
            raise RuntimeError("socket closed")

    class Echo:
        async def send_text(self, conversation, text):
            return DeliveryResult.delivered(external_id=f"{conversation.channel}:{text}")

    monkeypatch.setitem(_EXTRA_FACTORIES, "echo", lambda ctx: Echo())
    register_relay("boom", lambda ctx: Boom())
    try:
        registry = _registry()
        ok = await registry.send_text(RelayTarget("c", "echo"), "hi")
        assert ok.ok and ok.external_id == "echo:hi"
        failed = await registry.send_text(RelayTarget("c", "boom"), "hi")
        assert not failed.ok and failed.retryable and "socket closed" in failed.reason
    finally:
        _EXTRA_FACTORIES.pop("boom", None)
