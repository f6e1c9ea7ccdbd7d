"""The SMTP adapter against a real local SMTP server (aiosmtpd): plain, STARTTLS with a login,
permanent and temporary failures."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from handoff_api.mail import DisabledMailer, Mail, MailError, SmtpMailer, build_mailer
from handoff_api.settings import Settings
from tests.handoff_api.smtp_server import (
    PASSWORD,
    REFUSED,
    REJECTING_SENDER,
    USER,
    SmtpServer,
    free_port,
)

SPANISH = Mail(to="lucia.garcia@example.com", subject="Respuesta a tu caso #12 · Tienda",
               text="Hola Lucía:\n\nTu devolución está aprobada. ¡Gracias!\n", language="es",
               message_id="<case-12@shop.example>")


@pytest.fixture
def server() -> Iterator[SmtpServer]:
    s = SmtpServer().start()
    yield s
    s.stop()


@pytest.fixture
def tls_server(tmp_path: Any) -> Iterator[SmtpServer]:
    s = SmtpServer(tls_dir=tmp_path).start()
    yield s
    s.stop()


async def test_plain_smtp_delivers_utf8_spanish_mail(server: SmtpServer) -> None:
    mailer = SmtpMailer(host="127.0.0.1", port=server.port, sender="Tienda <ayuda@shop.example>")
    assert await mailer.send(SPANISH) == "<case-12@shop.example>"
    [msg] = server.messages
    assert msg["To"] == "lucia.garcia@example.com"
    assert msg["From"] == "Tienda <ayuda@shop.example>"
    assert msg["Subject"] == "Respuesta a tu caso #12 · Tienda"
    assert msg["Content-Language"] == "es"
    assert msg["Message-ID"] == "<case-12@shop.example>"
    assert msg.get_content().replace("\r\n", "\n") == SPANISH.text
    assert server.inbox.envelopes[0].rcpt_tos == ["lucia.garcia@example.com"]


async def test_starttls_with_login_and_the_servers_certificate(tls_server: SmtpServer) -> None:
    mailer = SmtpMailer(host="127.0.0.1", port=tls_server.port, sender="ayuda@shop.example",
                        username=USER, password=PASSWORD, starttls=True,
                        ca_file=str(tls_server.cert))
    await mailer.send(SPANISH)
    assert [m["Subject"] for m in tls_server.messages] == [SPANISH.subject]


async def test_wrong_password_is_a_permanent_failure(tls_server: SmtpServer) -> None:
    mailer = SmtpMailer(host="127.0.0.1", port=tls_server.port, sender="ayuda@shop.example",
                        username=USER, password="wrong", starttls=True,
                        ca_file=str(tls_server.cert))
    with pytest.raises(MailError) as err:
        await mailer.send(SPANISH)
    assert not err.value.retryable and "SMTP_USER" in err.value.reason
    assert tls_server.messages == []


async def test_untrusted_certificate_is_refused(tls_server: SmtpServer) -> None:
    """Without the server's CA the STARTTLS upgrade fails: no mail (nor password) in clear."""
    mailer = SmtpMailer(host="127.0.0.1", port=tls_server.port, sender="ayuda@shop.example",
                        username=USER, password=PASSWORD, starttls=True)
    with pytest.raises(MailError) as err:
        await mailer.send(SPANISH)
    assert err.value.retryable
    assert tls_server.messages == []


async def test_refused_recipient_is_permanent(server: SmtpServer) -> None:
    mailer = SmtpMailer(host="127.0.0.1", port=server.port, sender="ayuda@shop.example")
    with pytest.raises(MailError) as err:
        await mailer.send(Mail(to=REFUSED, subject="x", text="y"))
    assert not err.value.retryable and "550" in err.value.reason
    assert REFUSED not in err.value.reason  # no address in what ends up in logs


async def test_rejected_message_is_permanent_and_the_reason_names_no_address(
        server: SmtpServer) -> None:
    mailer = SmtpMailer(host="127.0.0.1", port=server.port, sender=REJECTING_SENDER)
    with pytest.raises(MailError) as err:
        await mailer.send(SPANISH)
    assert not err.value.retryable and "554" in err.value.reason
    assert "rejected as spam" in err.value.reason and "@" not in err.value.reason


async def test_server_down_is_retryable() -> None:
    mailer = SmtpMailer(host="127.0.0.1", port=free_port(), sender="ayuda@shop.example",
                        timeout=2)
    with pytest.raises(MailError) as err:
        await mailer.send(SPANISH)
    assert err.value.retryable


async def test_no_smtp_host_means_a_disabled_mailer_with_a_reason(tmp_path: Any) -> None:
    mailer = build_mailer(Settings(smtp_host="", data_dir=tmp_path))
    assert isinstance(mailer, DisabledMailer)
    with pytest.raises(MailError) as err:
        await mailer.send(SPANISH)
    assert not err.value.retryable and "SMTP_HOST" in err.value.reason


def test_starttls_and_implicit_tls_exclude_each_other() -> None:
    with pytest.raises(ValueError, match="exclude"):
        SmtpMailer(host="h", port=1, sender="a@b.c", starttls=True, tls=True)
