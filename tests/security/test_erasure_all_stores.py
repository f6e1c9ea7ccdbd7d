"""Attack: "delete this customer's data" (GDPR art. 17) must leave no trace of the customer in
any store, and nothing of anybody else may go.

Carmen talked to the shop three times: on the web (her e-mail in a slot, her DNI and card in the
chat, an outage journal file, messages stuck in the relay outbox), on WhatsApp (the conversation
id is her phone number; channel state) and once more on the web where only her phone appears in
the text. One of her conversations went to an agent (packet, live messages, notes, rating comment,
a pending hand-back), the KB-gap and feedback files have lines of hers, and she sent a photo.
Lucía's conversation sits next to hers everywhere. A supervisor erases Carmen by e-mail and phone
through the API; afterwards every table of the handoff database and of the tracker store is
queried, and every file under the data directory is read byte by byte (SQLite free pages and WAL
included). On SQLite and on PostgreSQL.
"""

from __future__ import annotations

import asyncio
import json
import time

from actions.kb_answer import _append_jsonl
from privacy.records import privacy_key, pseudonym
from tests.security import privacy_fixtures as fx
from tests.security.privacy_fixtures import BOT_TOKEN, System, seed_bot_side, store_photo, traces

backend, system = fx.backend, fx.system  # fixtures: SQLite and PostgreSQL, the handoff API

BOT = {"Authorization": f"Bearer {BOT_TOKEN}"}
EMAIL, PHONE, WA_ID = "carmen.navarro@example.com", "+34 655 908 172", "34655908172"
DNI, CARD = "48392017V", "4111 1111 1111 1111"
WEB1, WEB2 = "web-7f3a9c2e41d84b0f", "web-1b2c3d4e5f60718a"
LUCIA_EMAIL, LUCIA = "lucia.martin@example.com", "web-lucia-0a1b2c3d4e5f"
NEEDLES = [EMAIL, WA_ID, "655908172", "655 908 172", "655 90 81 72", DNI, CARD,
           CARD.replace(" ", ""), WEB1, WEB2]

CONVERSATIONS = [
    {"sender": WEB1, "texts": ["hola, ¿dónde está mi pedido AT101001?", f"mi correo es {EMAIL}",
                               f"mi DNI es {DNI} y pagué con la tarjeta {CARD}"],
     "slots": {"email": EMAIL}, "journal": True, "outbox": True},
    {"sender": WA_ID, "texts": ["¿dónde está mi pedido AT101003?"], "whatsapp": True},
    {"sender": WEB2, "texts": ["otra vez yo", "llamadme al 655 90 81 72 por favor"]},
    {"sender": LUCIA, "texts": ["hola", f"soy {LUCIA_EMAIL}"], "slots": {"email": LUCIA_EMAIL},
     "outbox": True, "journal": True},
]


def fill_handoff_database(system: System) -> None:
    c = system.client
    for cid, email, name in ((WEB1, EMAIL, "Carmen Navarro"), (LUCIA, LUCIA_EMAIL, "Lucía")):
        res = c.post("/api/handoffs", headers=BOT, json={
            "conversation_id": cid, "channel": "socketio", "language": "es", "reason": "asked",
            "slots": {"email": email, "order_id": "AT101001"},
            "transcript": [{"role": "user", "text": f"mi correo es {email}", "ts": time.time()}],
            "customer": {"name": name, "email": email, "vip": False}})
        assert res.status_code == 201, res.text
        hid = res.json()["id"]
        agent = system.login("tom")
        assert c.post(f"/api/handoffs/{hid}/claim", headers=agent).status_code == 200
        assert c.post(f"/api/conversations/{cid}/messages", headers=BOT, json={
            "message_id": f"{cid}-m1", "text": f"te paso la tarjeta {CARD} y el DNI {DNI}"
            if cid == WEB1 else "gracias"}).status_code == 201
        assert c.post(f"/api/handoffs/{hid}/notes", headers=agent, json={
            "text": f"llamar al {PHONE} mañana" if cid == WEB1 else "todo bien"}
        ).status_code == 201
        assert c.post(f"/api/handoffs/{hid}/hand-back", headers=agent,
                      json={"note": f"cliente {email}"}).status_code == 200
        assert c.post(f"/api/handoffs/{hid}/rating", headers=BOT, json={
            "rating": 5, "comment": f"gracias, escribid a {email}"}).status_code == 200


def fill_files(system: System) -> None:
    key = privacy_key({"ATIENDE_DATA_DIR": str(system.data_dir)})
    for cid, text in ((WEB1, f"¿aceptáis devoluciones? mi email {EMAIL}"), (LUCIA, "¿envíos?")):
        _append_jsonl(system.data_dir / "kb_gaps.jsonl", {
            "ts": time.time(), "conversation_id": cid, "lang": "es", "query": text})
        _append_jsonl(system.data_dir / "kb_feedback.jsonl", {
            "ts": time.time(), "conversation_id": cid, "helpful": False})
        asyncio.run(store_photo(system.data_dir, cid))
    NEEDLES.extend({pseudonym(WEB1, key), pseudonym(WEB2, key), pseudonym(WA_ID, key)})


def test_erasure_leaves_no_trace_and_keeps_everyone_else(system: System) -> None:
    seed_bot_side(system, CONVERSATIONS)
    fill_handoff_database(system)
    fill_files(system)
    before = traces(system, NEEDLES)
    for store in ("handoff_db", "tracker_store", "relay_outbox.db", "meta_channels.db",
                  "tracker_journal", "kb_feedback.jsonl"):
        assert any(store in t for t in before), f"the set-up put nothing of Carmen in {store}"

    supervisor, agent = system.login("sara"), system.login("tom")
    request = {"email": EMAIL, "phone": PHONE}
    assert system.client.post("/api/privacy/erasure", headers=agent,
                              json={**request, "confirm": True}).status_code == 403
    assert system.client.post("/api/privacy/erasure", headers=supervisor,
                              json=request).status_code == 422  # no confirm, no erasure
    preview = system.client.post("/api/privacy/erasure", headers=supervisor,
                                 json={**request, "dry_run": True}).json()
    assert preview["conversations"] == 3 and preview["deleted"] == {}
    assert traces(system, NEEDLES) == before  # a dry run touches nothing

    res = system.client.post("/api/privacy/erasure", headers=supervisor,
                             json={**request, "confirm": True})
    assert res.status_code == 200, res.text
    report = res.json()
    assert report["complete"] and report["conversations"] == 3, report
    assert report["deleted"]["media_store"] == 1  # her photo; Lucía's stays
    assert all(v == 0 for v in report["remaining"].values())
    assert traces(system, NEEDLES) == []

    # Lucía is untouched everywhere; the metrics rows stay (anonymised)
    lucia = traces(system, [LUCIA_EMAIL, LUCIA])
    for store in ("handoff_db", "tracker_store", "relay_outbox.db", "tracker_journal"):
        assert any(store in t for t in lucia), f"Lucía's data went from {store}"
    metrics = system.client.get("/api/metrics", headers=supervisor).json()
    assert json.dumps(metrics)  # still computable after anonymisation

    # the audit line says who and when, and nothing about whom
    [line] = (system.data_dir / "privacy_audit.jsonl").read_text().splitlines()
    audit = json.loads(line)
    assert audit["by"].startswith("agent:sara#") and audit["action"] == "erasure"
    assert audit["identifiers"] == ["email", "phone"] and len(audit["subject"]) == 32
    assert not any(n.lower() in line.lower() for n in NEEDLES)


def test_bad_requests_get_a_reason(system: System) -> None:
    supervisor = system.login("sara")
    for body, reason in (({"confirm": True}, "at least one"),
                         ({"email": "not-an-email", "confirm": True}, "e-mail"),
                         ({"phone": "12", "confirm": True}, "phone"),
                         ({"email": EMAIL, "confirm": True, "extra": 1}, "extra")):
        res = system.client.post("/api/privacy/erasure", headers=supervisor, json=body)
        assert res.status_code == 422 and reason in res.text, (body, res.text)
    system.client.cookies.clear()  # login() left the session cookie on the client
    assert system.client.post("/api/privacy/erasure", json={"email": EMAIL, "confirm": True}
                              ).status_code == 401
