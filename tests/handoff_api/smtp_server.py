"""A real local SMTP server for tests (aiosmtpd in a thread): keeps what it receives, can require
STARTTLS and a login, refuse a recipient, or be stopped to play a mail server that is down."""

from __future__ import annotations

import email
import email.policy
import socket
import subprocess
from email.message import EmailMessage
from pathlib import Path
from typing import Any

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword

REFUSED = "nobody@refused.example"  # the server answers 550 for this recipient
REJECTING_SENDER = "reject@shop.example"  # mail from here is refused at DATA, naming the address
USER, PASSWORD = "atiende", "smtp-password-123"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class Inbox:
    """aiosmtpd handler that keeps every accepted message (parsed) and its envelope."""

    def __init__(self) -> None:
        self.messages: list[EmailMessage] = []
        self.envelopes: list[Any] = []

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):  # noqa: N802
        if address == REFUSED:
            return "550 5.1.1 No such user here"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):  # noqa: N802
        if envelope.mail_from == REJECTING_SENDER:
            return f"554 5.7.1 Message to <{envelope.rcpt_tos[0]}> rejected as spam"
        self.envelopes.append(envelope)
        self.messages.append(email.message_from_bytes(envelope.original_content,
                                                      policy=email.policy.default))
        return "250 Message accepted for delivery"


def _authenticator(server, session, envelope, mechanism, auth_data):  # noqa: ANN001
    ok = isinstance(auth_data, LoginPassword) and auth_data.login == USER.encode() \
        and auth_data.password == PASSWORD.encode()
    return AuthResult(success=ok, handled=False)  # handled=False: the server answers 535


def self_signed_cert(directory: Path) -> tuple[Path, Path]:
    """A certificate for 127.0.0.1 / localhost made with the openssl command."""
    cert, key = directory / "smtp-cert.pem", directory / "smtp-key.pem"
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2",
                    "-subj", "/CN=localhost",
                    "-addext", "subjectAltName=DNS:localhost,IP:127.0.0.1",
                    "-keyout", str(key), "-out", str(cert)], check=True, capture_output=True)
    return cert, key


class SmtpServer:
    def __init__(self, *, tls_dir: Path | None = None, port: int | None = None) -> None:
        self.inbox = Inbox()
        self.port = port or free_port()
        kwargs: dict[str, Any] = {}
        self.cert: Path | None = None
        if tls_dir is not None:
            import ssl

            self.cert, key = self_signed_cert(tls_dir)
            context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
            context.load_cert_chain(self.cert, key)
            kwargs = {"tls_context": context, "require_starttls": True,
                      "authenticator": _authenticator, "auth_require_tls": True,
                      "auth_required": True}
        self.controller = Controller(self.inbox, hostname="127.0.0.1", port=self.port,
                                     server_hostname="localhost", **kwargs)

    def start(self) -> SmtpServer:
        self.controller.start()
        return self

    def stop(self) -> None:
        self.controller.stop()

    @property
    def messages(self) -> list[EmailMessage]:
        return self.inbox.messages
