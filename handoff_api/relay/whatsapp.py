"""WhatsApp relay: an agent's reply goes to the shopper through the WhatsApp Cloud API.

WhatsApp only accepts free-form messages within 24 hours of the shopper's last message (the
customer-service window); after that only pre-approved templates may be sent. The relay
refuses a reply outside the window *before* calling Meta, with reason
``whatsapp_window_closed``, so the agent console shows why. When the handoff API does not know
the last shopper message time it lets Meta decide and maps Meta's 131047 error to the same
reason.

Settings (environment, or ``context.extra["whatsapp"]`` in tests): ``WHATSAPP_ACCESS_TOKEN``,
``WHATSAPP_PHONE_NUMBER_ID``, ``WHATSAPP_GRAPH_URL`` (default
https://graph.facebook.com/v19.0). The conversation id is the shopper's number (``wa_id``).
"""

from __future__ import annotations

import logging
import os
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx

from handoff_api.relay.base import DeliveryResult, RelayContext, RelayTarget

logger = logging.getLogger(__name__)

DEFAULT_GRAPH_URL = "https://graph.facebook.com/v19.0"
WINDOW = timedelta(hours=24)
TEXT_LIMIT = 4096
WINDOW_CLOSED = "whatsapp_window_closed"
#: Graph API error codes meaning "outside the customer-service window".
WINDOW_ERROR_CODES = {131047, 131026}


def split_text(text: str, limit: int) -> list[str]:
    """Chunks of at most ``limit`` characters, cut at paragraph, line or word boundaries."""
    text = text.strip()
    chunks: list[str] = []
    while len(text) > limit:
        window = text[:limit]
        cut = window.rfind("\n\n")
        if cut < limit // 2:
            cut = window.rfind("\n")
        if cut < limit // 2:
            cut = window.rfind(" ")
        if cut <= 0:
            cut = limit
        chunks.append(text[:cut].rstrip())
        text = text[cut:].lstrip()
    if text:
        chunks.append(text)
    return chunks


def _now() -> datetime:
    return datetime.now(UTC)


def _aware(ts: datetime) -> datetime:
    return ts if ts.tzinfo is not None else ts.replace(tzinfo=UTC)


def graph_error(response: httpx.Response) -> tuple[int | None, str]:
    """(code, message) of a Graph API error answer."""
    try:
        error = response.json().get("error") or {}
    except ValueError:
        return None, response.text[:200]
    return error.get("code"), str(error.get("message") or error.get("title") or "")[:200]


class GraphClient:
    """The lazily opened HTTP client both Meta relays use for the Graph API."""

    timeout: float
    _client: httpx.AsyncClient | None = None

    def _http(self) -> httpx.AsyncClient:
        if self._client is None:
            self._client = httpx.AsyncClient(timeout=self.timeout)
        return self._client

    async def aclose(self) -> None:
        if self._client is not None:
            await self._client.aclose()
            self._client = None


    @staticmethod
    def refusal(response: httpx.Response, label: str, window_codes: Any,
                window_closed: str) -> DeliveryResult:
        """A Graph API error as the reason the agent sees: a closed messaging window is named as
        such (never retried); 5xx and rate limits are retryable."""
        code, message = graph_error(response)
        logger.warning("%s relay HTTP %s code=%s: %s", label.lower(), response.status_code, code,
                       message)
        if code in window_codes:
            return DeliveryResult.refused(
                f"{window_closed}: {label} refused it ({code}: {message})")
        return DeliveryResult.refused(
            f"{label.lower()}_error: HTTP {response.status_code} ({code}: {message})",
            retryable=response.status_code >= 500 or response.status_code == 429)


class WhatsAppRelay(GraphClient):
    """``ChannelRelay`` for the ``whatsapp`` channel."""

    def __init__(self, *, access_token: str, phone_number_id: str,
                 graph_url: str = DEFAULT_GRAPH_URL, timeout: float = 10.0,
                 now: Callable[[], datetime] = _now) -> None:
        self.access_token = access_token
        self.phone_number_id = phone_number_id
        self.graph_url = (graph_url or DEFAULT_GRAPH_URL).rstrip("/")
        self.timeout = timeout
        self.now = now
        self._client: httpx.AsyncClient | None = None

    async def send_text(self, conversation: RelayTarget, text: str) -> DeliveryResult:
        if not (self.access_token and self.phone_number_id):
            return DeliveryResult.refused(
                "whatsapp_not_configured: set WHATSAPP_ACCESS_TOKEN and WHATSAPP_PHONE_NUMBER_ID")
        last = conversation.last_shopper_message_at
        if last is not None and self.now() - _aware(last) >= WINDOW:
            logger.info("whatsapp relay refused to=%s: last shopper message %s",
                        conversation.conversation_id, last.isoformat())
            return DeliveryResult.refused(
                f"{WINDOW_CLOSED}: the shopper's last message was more than 24 hours ago; "
                "WhatsApp only allows approved template messages now")
        url = f"{self.graph_url}/{self.phone_number_id}/messages"
        headers = {"Authorization": f"Bearer {self.access_token}"}
        ids: list[str] = []
        for chunk in split_text(text, TEXT_LIMIT):
            body: dict[str, Any] = {
                "messaging_product": "whatsapp", "recipient_type": "individual",
                "to": conversation.conversation_id, "type": "text",
                "text": {"preview_url": False, "body": chunk}}
            try:
                response = await self._http().post(url, json=body, headers=headers)
            except httpx.HTTPError as exc:
                logger.warning("whatsapp relay network error: %s", exc)
                return DeliveryResult.refused(f"whatsapp_unreachable: {type(exc).__name__}",
                                              retryable=True)
            if response.is_success:
                data = response.json() if response.content else {}
                ids.extend(m.get("id", "") for m in data.get("messages") or [])
                continue
            return self.refusal(response, "WhatsApp", WINDOW_ERROR_CODES, WINDOW_CLOSED)
        return DeliveryResult.delivered(",".join(i for i in ids if i) or None)

    @property
    def configured(self) -> bool:
        return bool(self.access_token and self.phone_number_id)

    async def send_template(self, to: str, name: str, language: str,
                            components: list[dict[str, Any]] | None = None) -> DeliveryResult:
        """An approved template message (allowed at any time, also outside the 24 h window):
        used for order notices. ``to`` is the shopper's WhatsApp id (digits)."""
        if not self.configured:
            return DeliveryResult.refused(
                "whatsapp_not_configured: set WHATSAPP_ACCESS_TOKEN and WHATSAPP_PHONE_NUMBER_ID")
        body: dict[str, Any] = {
            "messaging_product": "whatsapp", "recipient_type": "individual", "to": to,
            "type": "template",
            "template": {"name": name, "language": {"code": language},
                         **({"components": components} if components else {})}}
        try:
            response = await self._http().post(
                f"{self.graph_url}/{self.phone_number_id}/messages", json=body,
                headers={"Authorization": f"Bearer {self.access_token}"})
        except httpx.HTTPError as exc:
            logger.warning("whatsapp template network error: %s", type(exc).__name__)
            return DeliveryResult.refused(f"whatsapp_unreachable: {type(exc).__name__}",
                                          retryable=True)
        if not response.is_success:
            return self.template_refusal(response, name, language)
        data = response.json() if response.content else {}
        ids = [m.get("id", "") for m in data.get("messages") or []]
        return DeliveryResult.delivered(",".join(i for i in ids if i) or None)

    @staticmethod
    def template_refusal(response: httpx.Response, name: str, language: str) -> DeliveryResult:
        """A refused template in words the agent understands: Meta's code, what it means
        (:data:`contracts.whatsapp_templates.TEMPLATE_ERRORS`: 132001 the template does not
        exist in that language, 132000 wrong parameter count, 131047…) and Meta's own message.
        5xx and rate limits are retryable; the rest will not change by retrying."""
        from contracts.whatsapp_templates import error_text

        code, message = graph_error(response)
        logger.warning("whatsapp template %s (%s) refused: HTTP %s code=%s", name, language,
                       response.status_code, code)
        meaning = error_text(code if isinstance(code, int) else None, "en")
        prefix = WINDOW_CLOSED if code in WINDOW_ERROR_CODES else "whatsapp_template_error"
        return DeliveryResult.refused(
            f"{prefix}: template {name} ({language}) refused by WhatsApp ({code}: "
            f"{meaning + '; ' if meaning else ''}{message})",
            retryable=response.status_code >= 500 or response.status_code == 429)


def _setting(context: RelayContext, key: str, env: str, default: str = "") -> str:
    extra = (context.extra.get("whatsapp") or {}) if context.extra else {}
    if key in extra:
        return str(extra[key])
    return str(getattr(context.settings, f"whatsapp_{key}", None) or os.environ.get(env, default))


def create_relay(context: RelayContext) -> WhatsAppRelay:
    """Factory used by :class:`handoff_api.relay.RelayRegistry` for the ``whatsapp`` channel."""
    return WhatsAppRelay(
        access_token=_setting(context, "access_token", "WHATSAPP_ACCESS_TOKEN"),
        phone_number_id=_setting(context, "phone_number_id", "WHATSAPP_PHONE_NUMBER_ID"),
        graph_url=_setting(context, "graph_url", "WHATSAPP_GRAPH_URL", DEFAULT_GRAPH_URL),
    )
