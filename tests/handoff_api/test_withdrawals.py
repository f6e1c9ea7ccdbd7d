"""The right of withdrawal in the handoff API (routes/withdrawals.py), on SQLite and PostgreSQL with
a real local SMTP server (aiosmtpd): the acknowledgement e-mail (date and time, code, in the
shopper's language), the agents' offline case, idempotency by code, the public button labels
from the policy files, and the 4xx for bad input and missing credentials."""

from __future__ import annotations

from typing import Any

import pytest
from fastapi.testclient import TestClient

from handoff_api.app import create_app
from tests.handoff_api.conftest import BOT, add_agent, login, make_settings
from tests.handoff_api.smtp_server import SmtpServer


@pytest.fixture
def app(database_url: str, smtp: SmtpServer) -> Any:
    return create_app(make_settings(database_url, smtp_host="127.0.0.1", smtp_port=smtp.port,
                                    smtp_from="Tienda Demo <ayuda@shop.example>",
                                    store_name="Tienda Demo"))


def withdrawal(**overrides: Any) -> dict[str, Any]:
    return {"code": "DES-101005", "order": "AT101005", "market": "ES", "language": "es",
            "conversation_id": "web-0123456789abcdef", "channel": "socketio",
            "name": "Carmen Navarro Gil", "email": "carmen.navarro@example.com",
            "declared_at": "2026-12-07T08:05:00+00:00",
            "when": "7 de diciembre de 2026 a las 09:05 h (UTC+01:00)",
            "within_period": True, "deadline": "2026-12-15",
            "items": "Botín Chelsea Sierra, Bañador Marea, Vestido de lino Mediterráneo",
            "law": "Directiva 2011/83/UE, art. 11 bis (Directiva (UE) 2023/2673)",
            "next": "Qué pasa ahora: una persona del equipo te escribirá en menos de 48 h.",
            "note": "[desistimiento] Pedido AT101005 (ES), código DES-101005.",
            "store_recorded": True, **overrides}


def test_the_acknowledgement_arrives_once_and_the_agents_get_a_case(app, smtp):
    add_agent(app, "ana")
    with TestClient(app) as client:
        r = client.post("/api/withdrawals", headers=BOT, json=withdrawal())
        assert r.status_code == 201, r.text
        out = r.json()
        assert out["mail_status"] == "sent" and out["duplicate"] is False
        [mail] = smtp.messages
        assert mail["To"] == "carmen.navarro@example.com"
        assert mail["Subject"] == \
            "Acuse de recibo de tu desistimiento del pedido AT101005 · Tienda Demo"
        text = mail.get_content()
        assert text.startswith("Hola Carmen:")
        assert "Fecha y hora del desistimiento: 7 de diciembre de 2026 a las 09:05 h " \
               "(UTC+01:00)" in text
        assert "Código de desistimiento: DES-101005" in text and "soporte duradero" in text
        # the agents see it as a case to answer, with the withdrawal written out
        agent = login(client, "ana")
        cases = client.get("/api/offline-cases", headers=agent).json()["cases"]
        [case] = [c for c in cases if c["id"] == out["case_id"]]
        assert case["reason"] == "withdrawal"
        detail = client.get(f"/api/handoffs/{out['case_id']}", headers=agent).json()
        assert "DES-101005" in str(detail)
        listed = client.get("/api/withdrawals", headers=agent).json()
        assert [(w["code"], w["case_id"], w["within_period"]) for w in listed] == \
            [("DES-101005", out["case_id"], True)]
        # the same withdrawal again (a retry): nothing recorded, opened or sent twice
        again = client.post("/api/withdrawals", headers=BOT, json=withdrawal())
        assert again.status_code == 200 and again.json()["duplicate"] is True
        assert again.json()["case_id"] == out["case_id"]
        assert len(smtp.messages) == 1
        assert len(client.get("/api/withdrawals", headers=agent).json()) == 1


def test_english_acknowledgement(app, smtp):
    with TestClient(app) as client:
        body = withdrawal(code="DES-106003", order="AT106003", language="en",
                          name="James Wilson", email="james.wilson@example.co.uk",
                          when="December 7, 2026 at 09:05 (UTC+01:00)",
                          law="Directive 2011/83/EU, art. 11a", next="What happens now: ...")
        assert client.post("/api/withdrawals", headers=BOT, json=body).status_code == 201
        [mail] = smtp.messages
        assert mail["Subject"] == \
            "Acknowledgement of your withdrawal from order AT106003 · Tienda Demo"
        text = mail.get_content()
        assert text.startswith("Hi James,")
        assert "Date and time of the withdrawal: December 7, 2026 at 09:05 (UTC+01:00)" in text


def test_only_the_bot_records_and_only_agents_read(app):
    with TestClient(app) as client:
        assert client.post("/api/withdrawals", json=withdrawal()).status_code == 401
        assert client.post("/api/withdrawals", headers={"Authorization": "Bearer guess"},
                           json=withdrawal()).status_code == 401
        assert client.get("/api/withdrawals").status_code == 401
        assert client.get("/api/withdrawals", headers=BOT).status_code == 401


@pytest.mark.parametrize("bad", [
    {"email": "not-an-email"}, {"code": "DES 1; DROP"}, {"market": "España"},
    {"language": "fr"}, {"name": ""}, {"declared_at": "yesterday"}, {"name": "x\u0000y"},
    {"items": "x" * 1001},
])
def test_bad_input_is_a_422_with_the_reason(app, bad):
    with TestClient(app) as client:
        r = client.post("/api/withdrawals", headers=BOT, json=withdrawal(**bad))
        assert r.status_code == 422, r.text
        assert r.json()["detail"]


def test_the_button_labels_come_from_the_policy_files(app):
    with TestClient(app) as client:
        es = client.get("/api/withdrawal-function", params={"market": "ES", "lang": "es"}).json()
        assert es["available"] and es["label"] == "Desistir del contrato aquí"
        assert es["confirm_label"] == "Confirmar el desistimiento"
        assert es["payload"] == "/withdraw_contract" and es["days"] == 14
        en = client.get("/api/withdrawal-function", params={"market": "es", "lang": "en"}).json()
        assert en["label"] == "Withdraw from the contract here"
        ar = client.get("/api/withdrawal-function", params={"market": "AR"}).json()
        assert ar["label"] == "Botón de arrepentimiento" and ar["days"] == 10
        for market in ("US", "MX", "GB"):
            none = client.get("/api/withdrawal-function", params={"market": market}).json()
            assert none["available"] is False and none["label"] is None
        unknown = client.get("/api/withdrawal-function", params={"market": "ZZ"}).json()
        assert unknown["market"] == "ES"  # the EU rules, as for every other policy
        assert client.get("/api/withdrawal-function",
                          params={"market": "E$"}).status_code == 422


def test_erasure_and_retention_remove_who_withdrew_and_keep_the_record(app, smtp):
    """GDPR erasure by e-mail (and retention) empties the name, e-mail and conversation id of a
    withdrawal; its code, order and dates stay (the store's evidence of the withdrawal)."""
    import time

    from handoff_api.models import Withdrawal
    from handoff_api.privacy_store import HandoffStore
    from privacy.subject import Subject

    with TestClient(app) as client:
        for code, email, cid in (("DES-1", "carmen.navarro@example.com", "web-aaaaaaaaaaaaaaaa"),
                                 ("DES-2", "otro@example.com", "web-bbbbbbbbbbbbbbbb")):
            assert client.post("/api/withdrawals", headers=BOT, json=withdrawal(
                code=code, order=f"AT10100{code[-1]}", email=email,
                conversation_id=cid)).status_code == 201
        services = client.app.state.services
        store = HandoffStore(services.write_sessions())
        subject = Subject.build(emails=["CARMEN.NAVARRO@example.com"])
        assert store.traces(subject) >= 1
        assert store.erase(subject) >= 1
        assert store.traces(subject) == 0
        with services.sessions() as s:
            rows = {w.code: w for w in s.query(Withdrawal)}
            assert (rows["DES-1"].name, rows["DES-1"].email) == ("", "")
            assert rows["DES-1"].conversation_id.startswith("erased:")
            assert rows["DES-1"].order_ref == "AT101001" and rows["DES-1"].declared_at
            assert rows["DES-2"].email == "otro@example.com"  # someone else's: untouched
        store.purge(time.time() + 60)  # retention: everything is older than the cutoff
        with services.sessions() as s:
            assert all(w.email == "" and w.name == "" for w in s.query(Withdrawal))
