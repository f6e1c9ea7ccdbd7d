"""Fill the Rasa-side stores the way the running bot does, for the erasure and retention tests.

Runs in the bot environment (Rasa 3.6): ``.venv/bot/bin/python -m tests.security.bot_stores
SPEC.json``. Uses the real classes: the durable SQL tracker store (SQLite or PostgreSQL) and its
outage journal, the relay outbox, the Meta channel state, the ledger (received messages and
the Meta webhook inbox). SPEC:

    {"tracker": {"dialect", "db", "host"?, "port"?, "username"?},
     "data_dir": "...",
     "conversations": [{"sender", "texts": [...], "slots": {...}, "age_days": 0,
                        "journal": false, "outbox": false, "whatsapp": false}]}
"""

from __future__ import annotations

import asyncio
import json
import sys
import time
from pathlib import Path
from typing import Any

from rasa.shared.core.domain import Domain
from rasa.shared.core.events import ActionExecuted, BotUttered, SlotSet, UserUttered
from rasa.shared.core.trackers import DialogueStateTracker

from bot.channels.meta import MetaStateStore
from bot.ledger import Ledger
from bot.outbox import Outbox
from bot.tracker_store import DurableSQLTrackerStore

DOMAIN = Domain.from_yaml(
    "version: '3.1'\nintents: [greet]\nslots:\n"
    "  email: {type: text, mappings: [{type: custom}]}\n"
    "  phone: {type: text, mappings: [{type: custom}]}\n")


def tracker_for(spec: dict[str, Any]) -> DialogueStateTracker:
    start = time.time() - float(spec.get("age_days", 0)) * 86400
    tracker = DialogueStateTracker(spec["sender"], DOMAIN.slots)
    for i, text in enumerate(spec["texts"]):
        ts = start + i
        tracker.update(UserUttered(text, {"name": "greet", "confidence": 1.0}, timestamp=ts))
        tracker.update(ActionExecuted("action_listen", timestamp=ts))
        tracker.update(BotUttered(f"Gracias, {text[:20]}", timestamp=ts))
    for name, value in spec.get("slots", {}).items():
        tracker.update(SlotSet(name, value, timestamp=start))
    return tracker


async def main(spec: dict[str, Any]) -> None:
    data_dir = Path(spec["data_dir"])
    conf = spec["tracker"]
    store = DurableSQLTrackerStore(domain=DOMAIN, dialect=conf["dialect"], db=conf["db"],
                                   host=conf.get("host"), port=conf.get("port"),
                                   username=conf.get("username"),
                                   journal_dir=str(data_dir / "tracker_journal"))
    outbox = Outbox(data_dir / "relay_outbox.db")
    meta = MetaStateStore(data_dir / "meta_channels.db")
    ledger = Ledger(f"sqlite:///{data_dir / 'ledger.db'}")
    for n, conversation in enumerate(spec["conversations"]):
        tracker = tracker_for(conversation)
        await store.save(tracker)
        if conversation.get("journal"):
            store._write_journal(tracker)  # what an outage leaves behind
        if conversation.get("outbox"):
            for i, text in enumerate(conversation["texts"]):
                await outbox.add(message_id=f"m-{n}-{i}", conversation_id=tracker.sender_id,
                                 channel="socketio", text=text, ts=time.time(),
                                 error="handoff API down")
        if conversation.get("whatsapp"):
            await meta.claim("whatsapp", f"wamid.{n}")
            await meta.record_inbound("whatsapp", tracker.sender_id, time.time())
            await meta.record_status("whatsapp", f"wamid.out.{n}", tracker.sender_id, "failed",
                                     time.time(), "131047 re-engagement message")
            # the webhook as stored before Meta's 200, and the message received and answered
            ledger.inbox_add("whatsapp", {"entry": [{"changes": [{"value": {
                "contacts": [{"wa_id": tracker.sender_id}],
                "messages": [{"from": tracker.sender_id, "id": f"wamid.{n}",
                              "text": {"body": text}} for text in conversation["texts"]]}}]}]})
            ledger.claim("whatsapp", tracker.sender_id, f"wamid.{n}")
            ledger.done("whatsapp", tracker.sender_id, f"wamid.{n}",
                        answer=[{"text": f"Gracias, {conversation['texts'][0][:20]}"}])
            ledger.outgoing.begin("whatsapp", tracker.sender_id, f"wamid.{n}", 0, "digest")
            ledger.outgoing.sent("whatsapp", tracker.sender_id, f"wamid.{n}", 0)
    store.engine.dispose()
    ledger.dispose()


if __name__ == "__main__":
    asyncio.run(main(json.loads(Path(sys.argv[1]).read_text(encoding="utf-8"))))
