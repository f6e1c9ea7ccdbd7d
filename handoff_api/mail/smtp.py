"""SMTP adapter (aiosmtplib): plain, STARTTLS or implicit TLS, optional login.

Permanent refusals (5xx: unknown recipient, message rejected; bad credentials) are not retried;
connection failures, timeouts and 4xx answers are.
"""

from __future__ import annotations

import asyncio
import re
import ssl
from email.message import EmailMessage
from email.utils import formatdate, make_msgid
from typing import TYPE_CHECKING

import aiosmtplib

from handoff_api.mail.base import Mail, MailError

if TYPE_CHECKING:  # pragma: no cover - typing only
    from handoff_api.settings import Settings

_ADDRESS = re.compile(r"<?[^\s<>@]+@[^\s<>]+>?")


class SmtpMailer:
    def __init__(self, *, host: str, port: int, sender: str, username: str = "",
                 password: str = "", starttls: bool = False, tls: bool = False,
                 ca_file: str = "", timeout: float = 20.0, reply_to: str = "") -> None:
        if starttls and tls:
            raise ValueError("SMTP_STARTTLS and SMTP_TLS exclude each other: STARTTLS upgrades a "
                             "plain connection (port 587), SMTP_TLS starts encrypted (port 465)")
        self.host, self.port, self.sender = host, port, sender
        self.username, self.password = username, password
        self.starttls, self.tls, self.timeout, self.reply_to = starttls, tls, timeout, reply_to
        self.tls_context = ssl.create_default_context(cafile=ca_file or None)

    @classmethod
    def from_settings(cls, s: Settings) -> SmtpMailer:
        return cls(host=s.smtp_host, port=s.smtp_port, sender=s.smtp_from, username=s.smtp_user,
                   password=s.smtp_password, starttls=s.smtp_starttls, tls=s.smtp_tls,
                   ca_file=s.smtp_ca_file, timeout=s.smtp_timeout_seconds,
                   reply_to=s.smtp_reply_to)

    def build(self, mail: Mail) -> EmailMessage:
        message = EmailMessage()
        message["From"] = self.sender
        message["To"] = mail.to
        message["Subject"] = mail.subject
        message["Date"] = formatdate(localtime=False, usegmt=True)
        message["Message-ID"] = mail.message_id or make_msgid(domain="atiende.invalid")
        if self.reply_to:
            message["Reply-To"] = self.reply_to
        for name, value in mail.headers.items():
            message[name] = value
        message.set_content(mail.text, charset="utf-8")
        message["Content-Language"] = mail.language  # after set_content, which clears Content-*
        return message

    async def send(self, mail: Mail) -> str:
        message = self.build(mail)
        try:
            await aiosmtplib.send(
                message, hostname=self.host, port=self.port, timeout=self.timeout,
                username=self.username or None, password=self.password or None,
                use_tls=self.tls, start_tls=True if self.starttls else False,
                tls_context=self.tls_context if (self.tls or self.starttls) else None)
        except aiosmtplib.SMTPRecipientsRefused as exc:
            raise MailError(f"the mail server refused the recipient ({_codes(exc)})",
                            retryable=False) from None
        except aiosmtplib.SMTPAuthenticationError as exc:
            raise MailError(f"the mail server refused our login ({exc.code}); check SMTP_USER "
                            "and SMTP_PASSWORD", retryable=False) from None
        except aiosmtplib.SMTPResponseException as exc:
            said = _ADDRESS.sub("<address>", exc.message[:200])  # reasons end up in logs
            raise MailError(f"the mail server answered {exc.code}: {said}",
                            retryable=exc.code < 500) from None
        except (aiosmtplib.SMTPException, OSError, asyncio.TimeoutError, ssl.SSLError) as exc:
            raise MailError(f"could not reach the mail server: {type(exc).__name__}",
                            retryable=True) from None
        return str(message["Message-ID"])


def _codes(exc: aiosmtplib.SMTPRecipientsRefused) -> str:
    return ", ".join(str(r.code) for r in exc.recipients) or "refused"
