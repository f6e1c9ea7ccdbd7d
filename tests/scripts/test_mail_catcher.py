"""`make run` without a mail server: e-mails go to a local catcher that keeps them as .eml files
under <data dir>/mail, started by scripts.run next to the handoff API."""

from __future__ import annotations

import asyncio
import email
import email.policy
from pathlib import Path

import pytest

from handoff_api.mail import Mail, SmtpMailer
from handoff_api.mail.catcher import serve
from scripts import run, settings
from tests.handoff_api.smtp_server import free_port


@pytest.fixture()
def clean_env(monkeypatch: pytest.MonkeyPatch) -> None:
    for var in ("HANDOFF_PORT", "SMTP_HOST", "SMTP_PORT", "MAIL_CATCHER_PORT"):
        monkeypatch.delenv(var, raising=False)


async def test_catcher_keeps_each_mail_as_an_eml_file(tmp_path: Path) -> None:
    port = free_port()
    server = asyncio.create_task(serve(tmp_path / "mail", "127.0.0.1", port))
    try:
        for _ in range(50):  # wait until it listens
            try:
                _, writer = await asyncio.open_connection("127.0.0.1", port)
                writer.close()
                break
            except OSError:
                await asyncio.sleep(0.05)
        mailer = SmtpMailer(host="127.0.0.1", port=port, sender="ayuda@shop.example")
        await mailer.send(Mail(to="ana@example.com", subject="Caso #3 · ñandú",
                               text="Respuesta en español: ¡gracias!"))
    finally:
        server.cancel()
    [eml] = list((tmp_path / "mail").glob("*.eml"))
    message = email.message_from_bytes(eml.read_bytes(), policy=email.policy.default)
    assert message["Subject"] == "Caso #3 · ñandú" and message["To"] == "ana@example.com"
    assert message.get_content().strip() == "Respuesta en español: ¡gracias!"


def test_run_starts_the_catcher_when_no_smtp_server_is_configured(tmp_path: Path,
                                                                  clean_env: None) -> None:
    s = settings.load({"ATIENDE_DATA_DIR": str(tmp_path), "HANDOFF_PORT": "8100"})
    assert s.mail_catcher_port == 8125
    assert (s.env["SMTP_HOST"], s.env["SMTP_PORT"]) == ("127.0.0.1", "8125")
    [mail] = [svc for svc in run.build_services(s) if svc.name == "mail"]
    assert mail.health_url == "tcp://127.0.0.1:8125" and str(tmp_path / "mail") in mail.cmd


def test_a_configured_smtp_server_is_used_as_is(tmp_path: Path, clean_env: None) -> None:
    s = settings.load({"ATIENDE_DATA_DIR": str(tmp_path), "SMTP_HOST": "smtp.shop.example",
                       "SMTP_PORT": "587", "SMTP_STARTTLS": "true"})
    assert s.mail_catcher_port == 0
    assert s.env["SMTP_HOST"] == "smtp.shop.example" and s.env["SMTP_STARTTLS"] == "true"
    assert [svc.name for svc in run.build_services(s)] == ["actions", "handoff", "rasa"]
