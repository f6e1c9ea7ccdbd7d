"""POST /api/mail: the claim confirmation the action server asks for, rendered from the one
template catalogue in the shopper's language, queued in the durable outbox and received by a
real local SMTP server (aiosmtpd); idempotent by key; bad input is a 422 with a reason."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import update

from handoff_api.app import create_app
from handoff_api.models import MailOutbox
from tests.handoff_api.conftest import BOT, make_settings
from tests.handoff_api.smtp_server import SmtpServer, free_port


def claim(**overrides: Any) -> dict[str, Any]:
    return {"key": "claim:RMA-101005-02", "kind": "claim_confirmation",
            "to": "carmen.navarro@example.com", "language": "es", "name": "Carmen",
            "claim": "RMA-101005-02", "order": "AT101005",
            "items": "Vestido de lino Mediterráneo, talla XS — 69,00 €",
            "problem": "llegó dañado o defectuoso", "remedy": "reposición sin coste",
            "next": "Te enviamos el artículo en cuanto el almacén lo prepare.", **overrides}


def app_for(database_url: str, port: int, **overrides: Any) -> Any:
    return create_app(make_settings(database_url, smtp_host="127.0.0.1", smtp_port=port,
                                    smtp_from="Tienda Demo <ayuda@shop.example>",
                                    store_name="Tienda Demo", **overrides))


def test_claim_confirmation_arrives_in_spanish_once(database_url, smtp):
    with TestClient(app_for(database_url, smtp.port)) as client:
        r = client.post("/api/mail", headers=BOT, json=claim())
        assert r.status_code == 201 and r.json()["status"] == "sent", r.text
        [mail] = smtp.messages
        assert mail["To"] == "carmen.navarro@example.com"
        assert mail["Subject"] == "Tu incidencia RMA-101005-02 del pedido AT101005 · Tienda Demo"
        text = mail.get_content()
        assert text.startswith("Hola Carmen:") and "Solución: reposición sin coste" in text
        again = client.post("/api/mail", headers=BOT, json=claim())
        assert again.status_code == 200 and again.json()["duplicate"] is True
        assert len(smtp.messages) == 1


def test_english_claim_confirmation(database_url, smtp):
    with TestClient(app_for(database_url, smtp.port)) as client:
        body = claim(key="claim:RMA-106003-01", language="en", name="", claim="RMA-106003-01",
                     order="AT106003", problem="missing from the parcel", remedy="refund to card",
                     next="We'll refund €69.00 to card.")
        assert client.post("/api/mail", headers=BOT, json=body).status_code == 201
        [mail] = smtp.messages
        assert mail["Subject"] == "Your claim RMA-106003-01 for order AT106003 · Tienda Demo"
        assert mail.get_content().startswith("Hi,\r\n\r\nWe've opened claim RMA-106003-01")


def test_mail_server_down_keeps_the_mail_for_later(database_url):
    port = free_port()
    app = app_for(database_url, port, smtp_timeout_seconds=2)
    with TestClient(app) as client:
        r = client.post("/api/mail", headers=BOT, json=claim())
        assert r.status_code == 201 and r.json()["status"] == "pending", r.text
        services = app.state.services
        with services.write_sessions()() as s:  # the back-off has passed
            s.execute(update(MailOutbox).values(next_attempt_at=datetime.now(UTC)))
            s.commit()
        server = SmtpServer(port=port).start()  # the mail server is back
        try:
            assert asyncio.run(services.mail.deliver_due()) == 1
        finally:
            server.stop()
        assert [m["To"] for m in server.messages] == ["carmen.navarro@example.com"]


@pytest.mark.parametrize("field, value", [
    ("to", "victim@example.com\r\nBcc: all@example.com"), ("to", "no-at-sign"),
    ("claim", "RMA-1\r\nSubject: x"), ("kind", "offline_answer"), ("language", "fr"),
    ("key", "short")])
def test_bad_input_is_a_422(database_url, smtp, field, value):
    with TestClient(app_for(database_url, smtp.port)) as client:
        r = client.post("/api/mail", headers=BOT, json=claim(**{field: value}))
        assert r.status_code == 422, r.text
        assert smtp.messages == []


def test_the_bot_token_is_required(database_url, smtp):
    with TestClient(app_for(database_url, smtp.port)) as client:
        assert client.post("/api/mail", json=claim()).status_code == 401
        assert smtp.messages == []
