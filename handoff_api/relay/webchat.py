"""Relay for the web widget (channels ``socketio`` and ``rest``).

The reply is already stored by the messages route before the relay runs (so
``GET /api/widget/messages?after=``, with the conversation token, can replay it after a
reconnect); this relay pushes it to the widget's live SSE stream. Delivery succeeds even with
no widget connected: the widget replays missed messages when it reconnects.
"""

from __future__ import annotations

from datetime import UTC, datetime

from handoff_api.broker import Broker, widget_topic
from handoff_api.relay.base import DeliveryResult, RelayContext, RelayTarget


class WebchatRelay:
    def __init__(self, broker: Broker) -> None:
        self.broker = broker

    async def send_text(self, conversation: RelayTarget, text: str) -> DeliveryResult:
        self.broker.publish(
            widget_topic(conversation.conversation_id),
            "agent_message",
            {
                "id": conversation.metadata.get("message_id"),
                "role": "agent",
                "text": text,
                "ts": conversation.metadata.get("ts") or datetime.now(UTC).isoformat(),
                "agent_name": conversation.metadata.get("agent_name"),
            },
        )
        return DeliveryResult.delivered()


def create_relay(context: RelayContext) -> WebchatRelay:
    return WebchatRelay(context.broker)
