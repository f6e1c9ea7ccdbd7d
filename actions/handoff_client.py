"""Adapter to the handoff API for the action server (no rasa_sdk here, so it is testable alone).

Every call has a short timeout: a slow handoff service must not stall the conversation. Errors are
raised as :class:`HandoffUnavailable` (network, 5xx, timeouts) or :class:`HandoffRejected` (4xx),
so the action decides what the shopper hears.

What goes out and comes back is checked against the bot<->handoff contract
(``contracts/handoff_api.openapi.json``, made from the API's own models): a packet that breaks it is
refused here, before the network, and an answer that breaks it is not trusted (the creation is
cancelled, so no agent picks up a conversation the shopper was told failed).
"""

from __future__ import annotations

import asyncio
import os
import uuid
import weakref
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from urllib.parse import quote

import httpx

import contracts

DEFAULT_URL = "http://127.0.0.1:8000"
#: (loop id, base URL, timeout, transport id) -> (the loop, its client); see HandoffClient._client
_CLIENTS: dict[tuple, tuple[weakref.ref, httpx.AsyncClient]] = {}


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


class ContractBroken(HandoffRejected):
    """What we would send, or what the API answered, does not match the contract."""

    def __init__(self, violation: contracts.ContractViolation):
        super().__init__(0, str(violation))
        self.problems = violation.problems


def check_contract(schema: str, instance: Any) -> None:
    try:
        contracts.validate(schema, instance)
    except contracts.ContractViolation as exc:
        raise ContractBroken(exc) from None


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
    agents_present: int = 0
    answer_due_at: datetime | None = None

    @classmethod
    def from_json(cls, body: dict[str, Any], *, already_open: bool = False) -> QueueTicket:
        next_open = body.get("next_open_at")
        due = body.get("answer_due_at")
        return cls(
            id=int(body["id"]),
            status=str(body.get("status", "queued")),
            position=int(body.get("position") or 0),
            estimated_wait_seconds=body.get("estimated_wait_seconds"),
            within_business_hours=bool(body.get("within_business_hours", True)),
            next_open_at=datetime.fromisoformat(next_open.replace("Z",
                                                                  "+00:00")) if next_open else None,
            already_open=already_open,
            agents_present=int(body.get("agents_present") or 0),
            answer_due_at=datetime.fromisoformat(due.replace("Z", "+00:00")) if due else None,
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

    def _client(self) -> httpx.AsyncClient:
        """The HTTP client shared by every ``HandoffClient`` of this event loop with the same URL,
        timeout and transport. Building an ``httpx.AsyncClient`` loads the CA bundle into a new
        SSL context (20 ms on a quiet machine, 180-440 ms on our busy one), on the event loop:
        once per request, as before, it stalled every action of the process."""
        loop = asyncio.get_running_loop()
        key = (id(loop), self.base_url, self.timeout, id(self._transport))
        entry = _CLIENTS.get(key)
        if entry is None or entry[0]() is not loop or entry[1].is_closed:
            if len(_CLIENTS) > 64:  # loops come and go in tests: forget the dead ones
                for stale in [k for k, (ref, _) in _CLIENTS.items() if ref() is None]:
                    del _CLIENTS[stale]
            client = httpx.AsyncClient(
                base_url=self.base_url,
                timeout=httpx.Timeout(self.timeout, connect=min(self.timeout, 2.0)),
                transport=self._transport,
            )
            entry = (weakref.ref(loop), client)
            _CLIENTS[key] = entry
        return entry[1]

    async def _request(self, method: str, path: str, json: Any = None,
                       headers: dict[str, str] | None = None) -> httpx.Response:
        try:
            response = await self._client().request(
                method, path, json=json,
                headers={"Authorization": f"Bearer {self.token}", **(headers or {})})
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

    async def create_handoff(self, packet: dict[str, Any], *, key: str | None = None,
                             attempts: int = 3, backoff: float = 0.5) -> QueueTicket:
        """Queue the conversation, exactly once: every attempt carries the same client-generated
        ``Idempotency-Key``, so a creation that committed but answered after our timeout is
        returned by the retry instead of being created twice. If no attempt gets an answer, the
        key is cancelled (a late copy of the request is refused, a handoff it created is
        abandoned) before :class:`HandoffUnavailable` is raised — the shopper is told we could
        not put them through, and no agent can pick up a ghost conversation."""
        check_contract("HandoffPacket", packet)
        key = key or f"ho-{uuid.uuid4().hex}"
        error: HandoffUnavailable | None = None
        for attempt in range(attempts):
            if attempt:
                await asyncio.sleep(backoff * 2 ** (attempt - 1))
            try:
                response = await self._request("POST", "/api/handoffs", json=packet,
                                               headers={"Idempotency-Key": key})
            except HandoffUnavailable as exc:
                error = exc
                continue
            self._raise_for_4xx(response)
            try:
                body = response.json()
                check_contract("HandoffCreated", body)
            except (ValueError, ContractBroken) as exc:
                await self.cancel_request(key)  # never leave a handoff we could not read
                if isinstance(exc, ContractBroken):
                    raise
                raise HandoffUnavailable("the handoff API's answer is not JSON") from exc
            return QueueTicket.from_json(body, already_open=response.status_code == 200)
        await self.cancel_request(key)
        assert error is not None
        raise error

    async def cancel_request(self, key: str, attempts: int = 3) -> bool:
        """Cancel creation ``key`` (best effort, a few tries); True if the API confirmed."""
        for attempt in range(attempts):
            try:
                response = await self._request("POST", f"/api/handoff-requests/{key}/cancel")
            except HandoffUnavailable:
                await asyncio.sleep(0.2 * (attempt + 1))
                continue
            return response.status_code == 200
        return False

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

    async def send_mail(self, mail: dict[str, Any]) -> bool:
        """Ask the handoff API to e-mail a confirmation (``POST /api/mail``: its template
        catalogue and durable outbox; idempotent by ``mail["key"]``). True when it was queued or
        sent (now or by an earlier call with the same key)."""
        check_contract("ConfirmationMailIn", mail)
        response = await self._request("POST", "/api/mail", json=mail)
        self._raise_for_4xx(response)
        return response.status_code in (200, 201)

    async def record_withdrawal(self, withdrawal: dict[str, Any]) -> bool:
        """Record a confirmed withdrawal (``POST /api/withdrawals``: the agents' offline case and
        the acknowledgement e-mail in the durable outbox; idempotent by ``withdrawal["code"]``).
        True when the acknowledgement was sent or queued."""
        check_contract("WithdrawalIn", withdrawal)
        response = await self._request("POST", "/api/withdrawals", json=withdrawal)
        self._raise_for_4xx(response)
        try:
            body = response.json()
            check_contract("WithdrawalOut", body)
        except (ValueError, ContractBroken) as exc:
            raise HandoffUnavailable("the handoff API's answer is not a withdrawal") from exc
        return body["mail_status"] in ("sent", "pending")

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
