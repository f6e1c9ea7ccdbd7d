"""The interface every channel relay implements.

While a person has the conversation, the agent's replies must reach the shopper on the channel the
shopper is using (web widget, WhatsApp, Messenger). The handoff API does not know the details of
each channel; it hands a :class:`RelayTarget` and the text to the relay registered for that channel
and reports the :class:`DeliveryResult` to the agent console (a refused delivery becomes a 409 with
the reason, e.g. WhatsApp's 24-hour customer-service window has closed).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any, Protocol, runtime_checkable

if TYPE_CHECKING:  # pragma: no cover - typing only
    from handoff_api.broker import Broker
    from handoff_api.settings import Settings


@dataclass(frozen=True)
class RelayTarget:
    """Where a reply goes: the shopper's conversation on its own channel.

    ``conversation_id`` is Rasa's sender id (for WhatsApp the shopper's phone number, for Messenger
    the page-scoped id). ``last_shopper_message_at`` (timezone-aware UTC, or ``None`` if unknown)
    lets channels with a messaging window (WhatsApp 24 h, Messenger 24 h) refuse before calling the
    API.
    """

    conversation_id: str
    channel: str
    language: str = "es"
    last_shopper_message_at: datetime | None = None
    #: free details of the message being sent; the webchat relay forwards ``message_id`` (the
    #: stored message's sequence number) so the widget can de-duplicate live pushes and replays.
    metadata: dict[str, Any] = field(default_factory=dict, compare=False, hash=False)


@dataclass(frozen=True)
class DeliveryResult:
    """Outcome of one delivery.

    ``reason`` says why a delivery was refused, in words for the agent.
    """

    ok: bool
    reason: str | None = None
    external_id: str | None = None  # id given by the channel (e.g. WhatsApp message id), if any
    retryable: bool = False  # True when the channel failed transiently (network, 5xx)

    @classmethod
    def delivered(cls, external_id: str | None = None) -> DeliveryResult:
        return cls(ok=True, external_id=external_id)

    @classmethod
    def refused(cls, reason: str, *, retryable: bool = False) -> DeliveryResult:
        return cls(ok=False, reason=reason, retryable=retryable)


@runtime_checkable
class ChannelRelay(Protocol):
    """Sends an agent's text to the shopper on one channel. Must not raise for channel errors:
    return ``DeliveryResult.refused(reason)`` instead so the console can show the reason."""

    async def send_text(self, conversation: RelayTarget, text: str) -> DeliveryResult: ...


@dataclass
class RelayContext:
    """What relay factories may use: the service settings, the in-process event broker and a free
    ``extra`` dict (tests put fakes there). Passed to every ``create_relay(context)`` factory."""

    settings: Settings
    broker: Broker
    extra: dict[str, Any] = field(default_factory=dict)
