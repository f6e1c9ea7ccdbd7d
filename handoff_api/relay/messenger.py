"""Messenger relay: an agent's reply goes to the shopper through the Send API.

Messenger's standard messaging window is 24 hours after the shopper's last message. Pages
approved for the *Human Agent* permission may answer up to 7 days later with the
``HUMAN_AGENT`` message tag — exactly the hand-off case; enable it with
``MESSENGER_HUMAN_AGENT_TAG=1`` once Meta granted the permission. Outside what is allowed the
relay refuses with reason ``messenger_window_closed``.

Settings (environment, or ``context.extra["messenger"]``): ``MESSENGER_PAGE_ACCESS_TOKEN``,
``MESSENGER_GRAPH_URL`` (default https://graph.facebook.com/v19.0),
``MESSENGER_HUMAN_AGENT_TAG``. The conversation id is the page-scoped id (PSID).
"""

from __future__ import annotations

import logging
import os
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx

from handoff_api.relay.base import DeliveryResult, RelayContext, RelayTarget
from handoff_api.relay.whatsapp import DEFAULT_GRAPH_URL, GraphClient, split_text

logger = logging.getLogger(__name__)

STANDARD_WINDOW = timedelta(hours=24)
HUMAN_AGENT_WINDOW = timedelta(days=7)
TEXT_LIMIT = 2000
WINDOW_CLOSED = "messenger_window_closed"
WINDOW_ERROR_CODES = {10, 551}  # "outside of allowed window" / "person isn't available"
#: our sends carry it; Messenger echoes it back, so the bot tells them from a person's replies
#: on the page inbox (bot.channels.coexistence.OUR_METADATA)
ECHO_METADATA = "atiende"


def _now() -> datetime:
    return datetime.now(UTC)


class MessengerRelay(GraphClient):
    """``ChannelRelay`` for the ``messenger`` channel."""

    def __init__(self, *, page_access_token: str, graph_url: str = DEFAULT_GRAPH_URL,
                 human_agent_tag: bool = False, timeout: float = 10.0,
                 now: Callable[[], datetime] = _now) -> None:
        self.token = page_access_token
        self.graph_url = (graph_url or DEFAULT_GRAPH_URL).rstrip("/")
        self.human_agent_tag = human_agent_tag
        self.timeout = timeout
        self.now = now
        self._client: httpx.AsyncClient | None = None

    def _messaging(self, last: datetime | None) -> dict[str, str] | None:
        """The messaging type (and tag) allowed now, or None when nothing is allowed."""
        if last is None:
            return {"messaging_type": "RESPONSE"}  # unknown: Meta decides
        age = self.now() - (last if last.tzinfo else last.replace(tzinfo=UTC))
        if age < STANDARD_WINDOW:
            return {"messaging_type": "RESPONSE"}
        if self.human_agent_tag and age < HUMAN_AGENT_WINDOW:
            return {"messaging_type": "MESSAGE_TAG", "tag": "HUMAN_AGENT"}
        return None

    async def send_text(self, conversation: RelayTarget, text: str) -> DeliveryResult:
        if not self.token:
            return DeliveryResult.refused(
                "messenger_not_configured: set MESSENGER_PAGE_ACCESS_TOKEN")
        messaging = self._messaging(conversation.last_shopper_message_at)
        if messaging is None:
            if self.human_agent_tag:
                return DeliveryResult.refused(
                    f"{WINDOW_CLOSED}: the shopper's last message was more than 7 days ago; "
                    "Messenger allows no message (not even with the HUMAN_AGENT tag) until the "
                    "shopper writes again")
            return DeliveryResult.refused(
                f"{WINDOW_CLOSED}: the shopper's last message was more than 24 hours ago; "
                "Messenger only allows HUMAN_AGENT-tagged replies now, and this page does not "
                "use the tag (MESSENGER_HUMAN_AGENT_TAG)")
        url = f"{self.graph_url}/me/messages"
        headers = {"Authorization": f"Bearer {self.token}"}
        ids: list[str] = []
        for chunk in split_text(text, TEXT_LIMIT):
            body: dict[str, Any] = {"recipient": {"id": conversation.conversation_id},
                                    **messaging,
                                    # echoed back with this metadata: not a person on the inbox
                                    "message": {"text": chunk, "metadata": ECHO_METADATA}}
            try:
                response = await self._http().post(url, json=body, headers=headers)
            except httpx.HTTPError as exc:
                logger.warning("messenger relay network error: %s", exc)
                return DeliveryResult.refused(f"messenger_unreachable: {type(exc).__name__}",
                                              retryable=True)
            if response.is_success:
                ids.append(str((response.json() if response.content else {})
                               .get("message_id", "")))
                continue
            return self.refusal(response, "Messenger", WINDOW_ERROR_CODES, WINDOW_CLOSED)
        return DeliveryResult.delivered(",".join(i for i in ids if i) or None)


def create_relay(context: RelayContext) -> MessengerRelay:
    """Factory used by :class:`handoff_api.relay.RelayRegistry` for the ``messenger`` channel."""
    extra = (context.extra.get("messenger") or {}) if context.extra else {}

    def get(key: str, env: str, default: str = "") -> str:
        if key in extra:
            return str(extra[key])
        return str(getattr(context.settings, f"messenger_{key}", None)
                   or os.environ.get(env, default))

    return MessengerRelay(
        page_access_token=get("page_access_token", "MESSENGER_PAGE_ACCESS_TOKEN"),
        graph_url=get("graph_url", "MESSENGER_GRAPH_URL", DEFAULT_GRAPH_URL),
        human_agent_tag=get("human_agent_tag", "MESSENGER_HUMAN_AGENT_TAG").lower()
        in ("1", "true", "yes"),
    )
