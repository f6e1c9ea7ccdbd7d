"""Offline cases through the HTTP interface (SQLite and PostgreSQL), with a real local SMTP
server: answered by e-mail or on the shopper's channel, retried while the mail server is down,
reminded before the promised time; dead letters listed for agents with what to do."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy import select, update

from handoff_api.app import create_app
from handoff_api.models import Agent, Handoff, HandoffEvent, MailOutbox, Message
from handoff_api.relay import DeliveryResult
from tests.handoff_api.conftest import BOT, add_agent, login, make_settings, packet, widget_auth
from tests.handoff_api.smtp_server import REFUSED, SmtpServer, free_port

EMAIL = "lucia.garcia@example.com"


class Refusing:
    """A channel relay that refuses (like WhatsApp outside its 24-hour window)."""

    def __init__(self) -> None:
        self.sent: list[str] = []

    async def send_text(self, target: Any, text: str) -> DeliveryResult:
        self.sent.append(text)
        return DeliveryResult.refused("outside the 24-hour customer service window")


def make_app(database_url: str, smtp_port: int, **overrides: Any) -> Any:
    """A team that is never in (one hour, three days from now): every handoff is an offline
    case at once."""
    now = datetime.now(UTC)
    day = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"][(now + timedelta(days=3)).weekday()]
    settings = make_settings(database_url, business_hours=f"{day} 10:00-11:00",
                             business_tz="UTC", smtp_host="127.0.0.1", smtp_port=smtp_port,
                             smtp_from="Tienda Demo <ayuda@shop.example>",
                             store_name="Tienda Demo", **overrides)
    return create_app(settings, relay_overrides={"whatsapp": Refusing()})


def offline_case(client: TestClient, cid: str, *, language: str = "es", channel: str = "rest",
                 email: str | None = EMAIL) -> int:
    """Out of hours with nobody present (agents who logged in are taken as gone)."""
    with client.app.state.services.write_sessions()() as s:
        s.execute(update(Agent).values(last_seen_at=None))
        s.commit()
    customer = {"vip": False, "name": "Lucía García", **({"email": email} if email else {})}
    r = client.post("/api/handoffs", headers=BOT, json=packet(
        cid, language=language, channel=channel, customer=customer))
    assert r.status_code == 201 and r.json()["status"] == "offline", r.text
    return r.json()["id"]


def handoff(app: Any, hid: int) -> Handoff:
    with app.state.services.sessions() as s:
        return s.get(Handoff, hid)


def test_offline_case_answered_by_email_arrives_in_the_shoppers_language(database_url, smtp):
    app = make_app(database_url, smtp.port)
    with TestClient(app) as client:
        add_agent(app, "leo")
        leo = login(client, "leo")
        hid = offline_case(client, "web-1")
        [case] = client.get("/api/offline-cases", headers=leo).json()["cases"]
        assert case["id"] == hid and case["email_known"] and case["due_state"] == "open"
        body = {"text": "Tu reembolso de 79,95 € sale hoy.", "client_id": "f-1"}
        r = client.post(f"/api/handoffs/{hid}/follow-up", headers=leo, json=body)
        assert r.status_code == 201, r.text
        assert r.json()["via"] == "email" and r.json()["handoff"]["status"] == "resolved"
        [mail] = smtp.messages
        assert mail["To"] == EMAIL
        assert mail["Subject"] == f"Respuesta a tu consulta (caso #{hid}) · Tienda Demo"
        text = mail.get_content()
        assert text.startswith("Hola Lucía:") and "Tu reembolso de 79,95 € sale hoy." in text
        assert "Leo" in text
        # a retry of the same answer reports the outcome and mails nothing more
        again = client.post(f"/api/handoffs/{hid}/follow-up", headers=leo, json=body)
        assert again.status_code == 201 and len(smtp.messages) == 1
        assert client.get("/api/offline-cases", headers=leo).json()["cases"] == []
        detail = client.get(f"/api/handoffs/{hid}", headers=leo).json()
        assert detail["messages"][-1]["channel"] == "email"
        assert detail["messages"][-1]["delivery"] == "sent"
        resolved = [e for e in detail["events"] if e["type"] == "resolved"]
        assert resolved[0]["data"]["via"] == "email" and resolved[0]["from"] == "offline"
        assert detail["first_response_at"]


def test_english_shopper_gets_the_english_mail(database_url, smtp):
    app = make_app(database_url, smtp.port)
    with TestClient(app) as client:
        add_agent(app, "leo")
        leo = login(client, "leo")
        hid = offline_case(client, "web-en", language="en")
        r = client.post(f"/api/handoffs/{hid}/follow-up", headers=leo,
                        json={"text": "Your refund is on its way.", "via": "email"})
        assert r.status_code == 201, r.text
        [mail] = smtp.messages
        assert mail["Subject"].startswith(f"Answer to your question (case #{hid})")
        assert mail.get_content().startswith("Hi Lucía,")
        assert mail["Content-Language"] == "en"


def test_mail_server_down_keeps_the_answer_and_sends_it_later(database_url, tmp_path):
    port = free_port()
    app = make_app(database_url, port, smtp_timeout_seconds=2)
    with TestClient(app) as client:
        add_agent(app, "leo")
        leo = login(client, "leo")
        hid = offline_case(client, "web-down")
        r = client.post(f"/api/handoffs/{hid}/follow-up", headers=leo,
                        json={"text": "Ya está solucionado."})
        assert r.status_code == 202, r.text
        assert r.json()["mail"]["status"] == "pending" and r.json()["mail"]["last_error"]
        assert handoff(app, hid).status == "offline"
        services = app.state.services
        with services.write_sessions()() as s:  # the back-off has passed
            s.execute(update(MailOutbox).values(next_attempt_at=datetime.now(UTC)))
            s.commit()
        server = SmtpServer(port=port).start()  # the mail server is back
        try:
            assert asyncio.run(services.mail.deliver_due()) == 1
        finally:
            server.stop()
        assert [m["To"] for m in server.messages] == [EMAIL]
        assert handoff(app, hid).status == "resolved"


def test_refused_recipient_is_a_409_and_the_case_stays_open(database_url, smtp):
    app = make_app(database_url, smtp.port)
    with TestClient(app) as client:
        add_agent(app, "leo")
        leo = login(client, "leo")
        hid = offline_case(client, "web-refused", email=REFUSED)
        r = client.post(f"/api/handoffs/{hid}/follow-up", headers=leo,
                        json={"text": "Hola", "via": "email"})
        assert r.status_code == 409 and "550" in r.json()["detail"]
        assert handoff(app, hid).status == "offline"
        detail = client.get(f"/api/handoffs/{hid}", headers=leo).json()
        assert detail["messages"][-1]["delivery"] == "failed"


def test_whatsapp_refusal_falls_back_to_email(database_url, smtp):
    app = make_app(database_url, smtp.port)
    with TestClient(app) as client:
        add_agent(app, "leo")
        leo = login(client, "leo")
        hid = offline_case(client, "34600111222", channel="whatsapp")
        r = client.post(f"/api/handoffs/{hid}/follow-up", headers=leo,
                        json={"text": "Te escribimos por aquí."})
        assert r.status_code == 201 and r.json()["via"] == "email", r.text
        assert len(smtp.messages) == 1
        # forced to the channel only: the refusal is the answer
        hid2 = offline_case(client, "34600111333", channel="whatsapp")
        r = client.post(f"/api/handoffs/{hid2}/follow-up", headers=leo,
                        json={"text": "Hola", "via": "channel"})
        assert r.status_code == 409 and "24-hour" in r.json()["detail"]
        assert handoff(app, hid2).status == "offline"


def test_web_shopper_without_email_is_answered_in_the_chat(database_url, smtp):
    app = make_app(database_url, smtp.port)
    with TestClient(app) as client:
        add_agent(app, "leo")
        leo = login(client, "leo")
        hid = offline_case(client, "web-noemail", email=None)
        r = client.post(f"/api/handoffs/{hid}/follow-up", headers=leo,
                        json={"text": "Ya tienes el reembolso."})
        assert r.status_code == 201 and r.json()["via"] == "channel", r.text
        assert smtp.messages == []
        replay = client.get("/api/widget/messages",
                            headers=widget_auth("web-noemail")).json()["messages"]
        assert [m["text"] for m in replay] == ["Ya tienes el reembolso."]
        r = client.post(f"/api/handoffs/{offline_case(client, 'web-x', email=None)}/follow-up",
                        headers=leo, json={"text": "x", "via": "email"})
        assert r.status_code == 409 and "No e-mail" in r.json()["detail"]


def test_only_offline_cases_take_a_follow_up(client, app):
    add_agent(app, "leo")
    leo = login(client, "leo")
    hid = client.post("/api/handoffs", json=packet("queued-1"), headers=BOT).json()["id"]
    r = client.post(f"/api/handoffs/{hid}/follow-up", headers=leo, json={"text": "hola"})
    assert r.status_code == 409 and "only offline cases" in r.json()["detail"]


def test_reminder_before_the_promised_time_once_by_email_or_chat(database_url, smtp):
    app = make_app(database_url, smtp.port, answer_hours=2, reminder_hours=3)
    with TestClient(app) as client:
        add_agent(app, "leo")
        leo = login(client, "leo")
        by_mail = offline_case(client, "web-remind")
        in_chat = offline_case(client, "web-remind-chat", email=None)
        services = app.state.services
        asyncio.run(services.followups.pass_once())
        asyncio.run(services.followups.pass_once())  # a second pass sends nothing more
        [mail] = smtp.messages
        assert mail["Subject"] == f"Seguimos con tu consulta (caso #{by_mail}) · Tienda Demo"
        assert "antes del" in mail.get_content()
        replay = client.get("/api/widget/messages",
                            headers=widget_auth("web-remind-chat")).json()["messages"]
        assert len(replay) == 1 and f"caso #{in_chat}" in replay[0]["text"]
        with services.sessions() as s:
            kinds = s.scalars(select(HandoffEvent.type).where(
                HandoffEvent.type == "followup_reminder")).all()
            assert len(kinds) == 2
            assert s.scalar(select(Message).where(Message.conversation_id == "web-remind")) \
                is None  # the e-mail reminder is no chat message
        cases = client.get("/api/offline-cases", headers=leo).json()["cases"]
        assert {c["due_state"] for c in cases} == {"due_soon"}
        assert handoff(app, by_mail).status == "offline"  # a reminder is not an answer


def test_dead_letters_say_what_happened_and_link_the_conversation(client, app):
    add_agent(app, "leo")
    leo = login(client, "leo")
    hid = client.post("/api/handoffs", json=packet("c-dead"), headers=BOT).json()["id"]
    for mid, reason in (("m-1", "HTTP 413"), ("m-2", "HTTP 422")):
        client.post("/api/dead-letters", headers=BOT, json={
            "conversation_id": "c-dead", "message_id": mid, "channel": "rest",
            "text": "mensaje que nadie leyó", "reason": reason})
    client.post("/api/dead-letters", headers=BOT, json={
        "conversation_id": "c-orphan", "message_id": "m-3", "channel": "whatsapp",
        "text": "¿hola?", "reason": "connection refused"})
    items = client.get("/api/dead-letters", headers=leo).json()["dead_letters"]
    assert [(d["cause"], d["handoff_id"]) for d in items] == [
        ("too_large", hid), ("invalid", hid), ("other", None)]
    client.cookies.clear()  # the login also set the console's session cookie
    assert client.get("/api/dead-letters").status_code == 401
    client.post(f"/api/dead-letters/{items[0]['id']}/dismiss", headers=leo)
    assert len(client.get("/api/dead-letters", headers=leo).json()["dead_letters"]) == 2
