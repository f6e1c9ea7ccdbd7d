"""Request and response bodies (pydantic 2): the bot<->handoff contract.

These models are the ONE definition of the contract: the API publishes them as OpenAPI
(``/openapi.json``), ``python -m handoff_api openapi`` writes that document to
``contracts/handoff_api.openapi.json``, a test keeps the file equal to what the app publishes, and
the bot side (``actions/handoff_client.py``, ``bot/handoff_client.py``) validates what it sends and
reads against the file (``contracts/``). Change a shape here, regenerate, and both sides' tests
tell you what else must change.

Text fields refuse what would break later: empty or whitespace-only messages, lone UTF-16
surrogates (valid JSON, but not encodable as UTF-8, so they used to crash the database write with a
500), and NUL characters.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated, Any, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field

Reason = Literal[
    "asked", "repeated_fallback", "frustration", "legal_or_fraud",
    "approval_required", "backend_error", "verification_failed",
    "answered_from_phone",  # a person replied from the business phone app (issue #17)
]
MAX_ID = 2**63 - 1  # ids are 64-bit signed integers in every database we support


def _encodable(value: str) -> str:
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        raise ValueError("text contains a lone UTF-16 surrogate (not valid Unicode)") from None
    if "\x00" in value:
        raise ValueError("text contains a NUL character")
    return value


def _not_blank(value: str) -> str:
    if not value.strip():
        raise ValueError("text is empty or only whitespace")
    return value


SafeStr = Annotated[str, AfterValidator(_encodable)]
MessageText = Annotated[str, Field(min_length=1, max_length=20000), AfterValidator(_encodable),
                        AfterValidator(_not_blank)]
IdStr = Annotated[str, Field(min_length=1, max_length=200, pattern=r"^[^\x00-\x1f]+$"),
                  AfterValidator(_encodable)]


class TranscriptEntry(BaseModel):
    model_config = ConfigDict(extra="allow")
    role: Literal["user", "bot", "agent"]
    text: Annotated[SafeStr, Field(max_length=20000)]
    ts: datetime | float | str | None = None


class Customer(BaseModel):
    model_config = ConfigDict(extra="allow")
    vip: bool = False
    name: SafeStr | None = Field(default=None, max_length=200)
    phone: SafeStr | None = Field(default=None, max_length=64)
    email: SafeStr | None = Field(default=None, max_length=320)


class HandoffPacket(BaseModel):
    """Everything the assistant knew, sent by ``action_handoff``."""

    model_config = ConfigDict(extra="allow")
    conversation_id: IdStr
    channel: Annotated[SafeStr, Field(min_length=1, max_length=32)]
    language: Literal["es", "en"] = "es"
    reason: Reason
    intent_history: list[Annotated[SafeStr, Field(max_length=100)]] = Field(
        default_factory=list, max_length=500)
    slots: dict[str, Any] = Field(default_factory=dict)
    order: dict[str, Any] | None = None
    kb_articles: list[Any] = Field(default_factory=list, max_length=200)
    transcript: list[TranscriptEntry] = Field(default_factory=list, max_length=2000)
    customer: Customer = Field(default_factory=Customer)


class QueueTicket(BaseModel):
    """What the shopper is told: their real place in the queue (or the offline case)."""

    id: int
    status: Literal["queued", "assigned", "offline", "resolved", "handed_back", "abandoned"]
    position: int = Field(description="1-based place in the queue; 0 when not queued")
    estimated_wait_seconds: int | None = Field(
        description="null when no agent is present to give an honest figure")
    within_business_hours: bool
    next_open_at: datetime | None
    agents_present: int = 0
    answer_due_at: datetime | None = Field(
        default=None, description="offline case: the answer is promised by then")


class HandoffCreated(QueueTicket):
    pass


class OpenHandoff(QueueTicket):
    model_config = ConfigDict(extra="allow")
    conversation_id: str
    channel: str


class ShopperMessageIn(BaseModel):
    """A shopper message relayed by the bot side while a person has the conversation."""

    message_id: IdStr
    text: MessageText
    ts: datetime | float | None = None
    channel: Annotated[SafeStr, Field(max_length=32)] | None = None


class ShopperMessageStored(BaseModel):
    model_config = ConfigDict(extra="allow")
    id: int
    message_id: str
    handoff_id: int
    duplicate: bool
    handoff_status: str | None = None
    rerouted_to_bot: bool = Field(
        default=False, description="the handoff had just closed: the resumed bot answers it")


class LeaveQueueIn(ShopperMessageIn):
    """The shopper asked to leave the queue (the gate classified the text with the NLU model)."""


class LeaveQueueOut(BaseModel):
    left: bool = Field(description="true: the handoff was still queued and is now abandoned; "
                                   "false: an agent already has it and the text was stored for "
                                   "them")
    handoff_id: int
    status: str


class CancelRequestOut(BaseModel):
    key: str
    handoff_id: int | None
    status: str | None


class DeadLetterIn(BaseModel):
    """A shopper message the bot side could not deliver for good."""

    conversation_id: IdStr
    message_id: IdStr
    channel: Annotated[SafeStr, Field(min_length=1, max_length=32)]
    text: Annotated[SafeStr, Field(max_length=20000)]
    reason: Annotated[SafeStr, Field(min_length=1, max_length=500)]


class AgentMessageIn(BaseModel):
    text: MessageText
    client_id: IdStr | None = Field(default=None, description="idempotency key: the same id is "
                                                            "delivered to the shopper once")


class NoteIn(BaseModel):
    text: Annotated[MessageText, Field(max_length=4000)]


class TransferIn(BaseModel):
    agent_username: Annotated[SafeStr, Field(min_length=1, max_length=64)]


class ConfirmationMailIn(BaseModel):
    """A confirmation e-mail the bot asks for (a claim it opened); rendered from the template
    catalogue in the shopper's language and sent through the durable mail outbox."""

    key: Annotated[str, Field(min_length=8, max_length=100, pattern=r"^[A-Za-z0-9._:-]+$",
                              description="idempotency key: the same key is mailed once")]
    kind: Literal["claim_confirmation"]
    to: Annotated[SafeStr, Field(min_length=3, max_length=254,
                                 pattern=r"^[^@\s<>,;]+@[^@\s<>,;]+\.[^@\s<>,;]+$")]
    language: Literal["es", "en"]
    name: Annotated[SafeStr, Field(max_length=200)] = ""
    claim: Annotated[str, Field(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9._:#-]+$")]
    order: Annotated[str, Field(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9._:#-]+$")]
    items: Annotated[SafeStr, Field(min_length=1, max_length=1000)]
    problem: Annotated[SafeStr, Field(min_length=1, max_length=200)]
    remedy: Annotated[SafeStr, Field(min_length=1, max_length=200)]
    next: Annotated[SafeStr, Field(min_length=1, max_length=1000)]


class ConfirmationMailOut(BaseModel):
    id: int
    status: str
    duplicate: bool


class RatingIn(BaseModel):
    rating: int = Field(ge=1, le=5)
    comment: Annotated[SafeStr, Field(max_length=2000)] | None = None


class LoginIn(BaseModel):
    username: Annotated[SafeStr, Field(min_length=1, max_length=64)]
    password: Annotated[SafeStr, Field(min_length=1, max_length=200)]


class CloseIn(BaseModel):
    note: Annotated[SafeStr, Field(max_length=2000)] | None = None
    seen_message_id: int | None = Field(
        default=None, ge=0, le=MAX_ID,
        description="the last message the console showed the agent: later shopper messages go "
                    "to the resumed bot")


class FollowUpIn(BaseModel):
    """An agent's written answer to an offline case."""

    text: MessageText
    client_id: IdStr | None = Field(default=None, description="idempotency key: the same id is "
                                                            "delivered to the shopper once")
    via: Literal["auto", "channel", "email"] = Field(
        default="auto", description="auto: the shopper's channel when it can reach them now, "
                                    "e-mail otherwise (when known)")


class ErrorOut(BaseModel):
    detail: Any


HandbackOutcome = Literal["resolved", "handed_back", "abandoned", "offline", "messages"]


class HandbackMessage(BaseModel):
    """A shopper message nobody answered while the handoff was closing: the resumed bot does."""

    message_id: IdStr
    text: MessageText
    ts: datetime | None = None


class HandbackIn(BaseModel):
    """What the handoff API sends the Rasa process when a handoff ends (the ``handback`` webhook,
    ``POST {RASA_URL}/webhooks/atiende/handback``, served by ``bot/channels/handback.py``).
    Delivered at least once; the bot applies it once per ``outbox_id``."""

    outbox_id: int = Field(ge=1, le=MAX_ID, description="idempotency key of this hand-back")
    handoff_id: int = Field(ge=1, le=MAX_ID)
    conversation_id: IdStr
    outcome: HandbackOutcome = Field(description="``messages``: late shopper messages only; the "
                                                 "conversation was already handed back")
    channel: Annotated[SafeStr, Field(min_length=1, max_length=32)] | None = None
    language: Literal["es", "en"] | None = None
    answer_due_at: datetime | None = Field(
        default=None, description="offline case: the written answer is promised by then")
    contact: Literal["email", "channel"] | None = Field(
        default=None, description="offline case: how the answer will reach the shopper")
    messages: list[HandbackMessage] = Field(default_factory=list, max_length=500)


class HandbackAck(BaseModel):
    status: Literal["done", "already"] = Field(description="``already``: this ``outbox_id`` was "
                                                           "applied before (a retry)")


class WithdrawalFunction(BaseModel):
    """The withdrawal button of one market (from its policy file), for the store page and the
    widget menu."""

    market: str
    available: bool = Field(description="the market has a legal withdrawal function: show the "
                                        "button")
    label: str | None = Field(description="the button's label in the language asked for")
    confirm_label: str | None
    payload: str = Field(description="what the button sends to the bot")
    days: int = Field(description="statutory withdrawal period (0: none)")
    business_days: bool
    law: str | None


class WithdrawalIn(BaseModel):
    """A withdrawal the shopper confirmed in the chat (``action_submit_withdrawal``): recorded,
    turned into an offline case for the agents and acknowledged by e-mail."""

    code: Annotated[str, Field(min_length=3, max_length=64, pattern=r"^[A-Za-z0-9._:-]+$",
                               description="one per order; the idempotency key")]
    order: Annotated[str, Field(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9._:#-]+$")]
    market: Annotated[str, Field(pattern=r"^[A-Z]{2}$")]
    language: Literal["es", "en"]
    conversation_id: IdStr
    channel: Annotated[SafeStr, Field(min_length=1, max_length=32)]
    name: Annotated[SafeStr, Field(min_length=1, max_length=200)]
    email: Annotated[SafeStr, Field(min_length=3, max_length=254,
                                    pattern=r"^[^@\s<>,;]+@[^@\s<>,;]+\.[^@\s<>,;]+$")]
    declared_at: datetime = Field(description="when the shopper confirmed (UTC)")
    when: Annotated[SafeStr, Field(min_length=1, max_length=200,
                                   description="the same moment as the shopper was told it")]
    within_period: bool
    deadline: date | None = None
    items: Annotated[SafeStr, Field(min_length=1, max_length=1000)]
    law: Annotated[SafeStr, Field(min_length=1, max_length=300)]
    next: Annotated[SafeStr, Field(min_length=1, max_length=1000)]
    note: Annotated[SafeStr, Field(min_length=1, max_length=2000,
                                   description="the withdrawal written out for the agent")]
    store_recorded: bool


class WithdrawalOut(BaseModel):
    id: int
    code: str
    case_id: int
    mail_status: str
    duplicate: bool


class WithdrawalView(BaseModel):
    id: int
    code: str
    order: str
    market: str
    language: str
    name: str
    email: str
    declared_at: str
    within_period: bool
    deadline: str | None
    store_recorded: bool
    conversation_id: str
    channel: str
    case_id: int | None
    mail_id: int | None
    created_at: str
