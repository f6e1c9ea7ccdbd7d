"""The mail interface every sender implements, and the choice of sender from the settings."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Protocol, runtime_checkable

if TYPE_CHECKING:  # pragma: no cover - typing only
    from handoff_api.settings import Settings


@dataclass(frozen=True)
class Mail:
    """One plain-text e-mail. ``message_id`` is fixed by the caller (from the outbox row), so a
    retry after an uncertain failure carries the same Message-ID and mail clients can tell."""

    to: str
    subject: str
    text: str
    language: str = "es"
    message_id: str | None = None
    headers: dict[str, str] = field(default_factory=dict)


class MailError(Exception):
    """A mail could not be sent. ``retryable``: the server or network failed for now (retry
    later); otherwise the refusal is permanent (bad recipient, no SMTP configured)."""

    def __init__(self, reason: str, *, retryable: bool) -> None:
        super().__init__(reason)
        self.reason = reason
        self.retryable = retryable


@runtime_checkable
class Mailer(Protocol):
    async def send(self, mail: Mail) -> str:
        """Send ``mail``; returns its Message-ID. Raises :class:`MailError`."""
        ...


class DisabledMailer:
    """No SMTP server configured: every send is refused (permanently), with a reason an agent
    and an operator understand."""

    async def send(self, mail: Mail) -> str:
        raise MailError("e-mail is not configured on this server (SMTP_HOST is empty)",
                        retryable=False)


def build_mailer(settings: Settings) -> Mailer:
    if not settings.smtp_host:
        return DisabledMailer()
    from handoff_api.mail.smtp import SmtpMailer

    return SmtpMailer.from_settings(settings)
