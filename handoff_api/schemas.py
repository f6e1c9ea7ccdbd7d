"""Request and response bodies (pydantic 2). The packet follows docs/contracts.md."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

Reason = Literal[
    "asked", "repeated_fallback", "frustration", "legal_or_fraud",
    "approval_required", "backend_error", "verification_failed",
]


class TranscriptEntry(BaseModel):
    model_config = ConfigDict(extra="allow")
    role: Literal["user", "bot", "agent"]
    text: str = Field(max_length=20000)
    ts: datetime | float | str | None = None


class Customer(BaseModel):
    model_config = ConfigDict(extra="allow")
    vip: bool = False
    name: str | None = None
    phone: str | None = None
    email: str | None = None


class HandoffPacket(BaseModel):
    model_config = ConfigDict(extra="allow")
    conversation_id: str = Field(min_length=1, max_length=200)
    channel: str = Field(min_length=1, max_length=32)
    language: Literal["es", "en"] = "es"
    reason: Reason
    intent_history: list[str] = Field(default_factory=list, max_length=500)
    slots: dict[str, Any] = Field(default_factory=dict)
    order: dict[str, Any] | None = None
    kb_articles: list[Any] = Field(default_factory=list)
    transcript: list[TranscriptEntry] = Field(default_factory=list, max_length=2000)
    customer: Customer = Field(default_factory=Customer)


class HandoffCreated(BaseModel):
    id: int
    status: str
    position: int
    estimated_wait_seconds: int | None
    within_business_hours: bool
    next_open_at: datetime | None


class ShopperMessageIn(BaseModel):
    message_id: str = Field(min_length=1, max_length=200)
    text: str
    ts: datetime | float | None = None
    channel: str | None = Field(default=None, max_length=32)


class AgentMessageIn(BaseModel):
    text: str = Field(min_length=1)
    client_id: str | None = Field(default=None, max_length=200, description="idempotency key")


class NoteIn(BaseModel):
    text: str = Field(min_length=1, max_length=4000)


class TransferIn(BaseModel):
    agent_username: str = Field(min_length=1, max_length=64)


class RatingIn(BaseModel):
    rating: int = Field(ge=1, le=5)
    comment: str | None = Field(default=None, max_length=2000)


class LoginIn(BaseModel):
    username: str = Field(min_length=1, max_length=64)
    password: str = Field(min_length=1, max_length=200)


class CloseIn(BaseModel):
    note: str | None = Field(default=None, max_length=2000)
