"""Adapter to the handoff API for the action server (no rasa_sdk here, so it is testable alone).

Every call has a short timeout: a slow handoff service must not stall the conversation. Errors are
raised as :class:`HandoffUnavailable` (network, 5xx, timeouts) or :class:`HandoffRejected` (4xx),
so the action decides what the shopper hears.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from urllib.parse import quote

import httpx

DEFAULT_URL = "http://127.0.0.1:8000"


class HandoffAPIError(Exception):
    """Base class: the handoff API could not do what we asked."""


class HandoffUnavailable(HandoffAPIError):
    """Network error, timeout or server error: worth retrying later."""


class HandoffRejected(HandoffAPIError):
    """The API refused the request (4xx): retrying the same request will not help."""

    def __init__(self, status_code: int, detail: str):
        super().__init__(f"{status_code}: {detail}")
        self.status_code = status_code
        self.detail = detail


@dataclass(frozen=True)
class QueueTicket:
    """What the API answered to a handoff request."""

    id: int
    status: str
    position: int
    estimated_wait_seconds: int | None
    within_business_hours: bool
    next_open_at: datetime | None
    already_open: bool = False

    @classmethod
    def from_json(cls, body: dict[str, Any], *, already_open: bool = False) -> QueueTicket:
        next_open = body.get("next_open_at")
        return cls(
            id=int(body["id"]),
            status=str(body.get("status", "queued")),
            position=int(body.get("position") or 0),
            estimated_wait_seconds=body.get("estimated_wait_seconds"),
            within_business_hours=bool(body.get("within_business_hours", True)),
            next_open_at=datetime.fromisoformat(next_open.replace("Z",
                                                                  "+00:00")) if next_open else None,
            already_open=already_open,
        )


class HandoffClient:
    def __init__(
        self,
        base_url: str | None = None,
        token: str | None = None,
        *,
        timeout: float | None = None,
        transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        self.base_url = (base_url or os.environ.get("HANDOFF_API_URL") or DEFAULT_URL).rstrip("/")
        self.token = token if token is not None else os.environ.get("HANDOFF_BOT_TOKEN",
                                                                    "change-me")
        self.timeout = timeout or float(os.environ.get("HANDOFF_TIMEOUT_SECONDS", "5"))
        self._transport = transport

    async def _request(self, method: str, path: str, json: Any = None) -> httpx.Response:
        try:
            async with httpx.AsyncClient(
                base_url=self.base_url,
                timeout=httpx.Timeout(self.timeout, connect=min(self.timeout, 2.0)),
                headers={"Authorization": f"Bearer {self.token}"},
                transport=self._transport,
            ) as client:
                response = await client.request(method, path, json=json)
        except httpx.HTTPError as exc:
            raise HandoffUnavailable(f"{type(exc).__name__}: {exc}") from exc
        if response.status_code >= 500:
            raise HandoffUnavailable(f"handoff API answered {response.status_code}")
        return response

    @staticmethod
    def _raise_for_4xx(response: httpx.Response) -> None:
        if 400 <= response.status_code < 500:
            try:
                detail = response.json().get("detail")
            except ValueError:
                detail = response.text
            raise HandoffRejected(response.status_code, str(detail))

    async def create_handoff(self, packet: dict[str, Any]) -> QueueTicket:
        """Queue the conversation; an already open handoff is returned (``already_open``)."""
        response = await self._request("POST", "/api/handoffs", json=packet)
        self._raise_for_4xx(response)
        return QueueTicket.from_json(response.json(), already_open=response.status_code == 200)

    async def open_handoff(self, conversation_id: str) -> dict[str, Any] | None:
        conversation = quote(conversation_id, safe="")
        response = await self._request("GET", f"/api/conversations/{conversation}/handoff")
        if response.status_code == 404:
            return None
        self._raise_for_4xx(response)
        return response.json()

    async def send_rating(self, handoff_id: int | str, rating: int,
                          comment: str | None = None) -> None:
        body: dict[str, Any] = {"rating": rating}
        if comment:
            body["comment"] = comment
        response = await self._request("POST", f"/api/handoffs/{int(handoff_id)}/rating", json=body)
        self._raise_for_4xx(response)

    async def forward_message(self, conversation_id: str, message_id: str, text: str,
                              channel: str, ts: float | None = None) -> bool:
        """Store a shopper message for the agent; True if new, False if already stored."""
        body = {"message_id": message_id, "text": text, "channel": channel, "ts": ts}
        response = await self._request(
            "POST", f"/api/conversations/{quote(conversation_id, safe='')}/messages", json=body)
        self._raise_for_4xx(response)
        return response.status_code == 201


def get_handoff_client() -> HandoffClient:
    """The client configured from the environment (read on each call: cheap, test-friendly)."""
    return HandoffClient()
