"""Attacks on the web chat's socket.io join, run against the real channel class in the bot
environment (Rasa 3.6): ``.venv/bot/bin/python -m tests.security.web_socket_attack``.

Starts ``HandoffAwareSocketIOInput`` exactly as ``rasa run`` registers it (the channel tests'
Sanic harness, a fake Rasa agent that echoes), then a victim and an attacker, both real
socket.io clients. Prints one JSON object with what each attack got, for
``tests/security/test_web_socket_join.py`` (app environment) to judge — it also checks the
victim's token against the real handoff API, with the same ``HANDOFF_BOT_TOKEN``.
"""

from __future__ import annotations

import asyncio
import json
import logging
import os
import secrets
import sys
import tempfile
from pathlib import Path
from typing import Any

import socketio

from bot.channels.socketio import HandoffAwareSocketIOInput
from bot.handoff_client import HandoffApiClient
from bot.handoff_gate import HandoffGate
from bot.outbox import Outbox
from tests.bot.channels.harness import FakeAgent, Recorder, SanicHarness


class Client:
    def __init__(self, url: str) -> None:
        self.url = url
        self.sio = socketio.AsyncClient(reconnection=False)
        self.confirmed: list[str] = []
        self.sessions: list[dict[str, Any]] = []
        self.bot: list[dict[str, Any]] = []
        self.acks: list[dict[str, Any]] = []
        self.sio.on("session_confirm", lambda d: self.confirmed.append(d))
        self.sio.on("atiende_session", lambda d: self.sessions.append(d))
        self.sio.on("bot_uttered", lambda d: self.bot.append(d))
        self.sio.on("user_message_ack", lambda d: self.acks.append(d))

    async def join(self, **request: Any) -> str:
        if not self.sio.connected:
            await self.sio.connect(self.url, transports=["polling"])
        before = len(self.confirmed)
        await self.sio.emit("session_request", request)
        for _ in range(250):
            if len(self.confirmed) > before:
                return self.confirmed[-1]
            await asyncio.sleep(0.02)
        raise AssertionError("no session_confirm")

    async def say(self, session_id: str, text: str, message_id: str) -> None:
        await self.sio.emit("user_uttered", {"session_id": session_id, "message": text,
                                             "message_id": message_id})

    async def close(self) -> None:
        await asyncio.wait_for(self.sio.eio.disconnect(abort=True), 5)


async def settle(agent: FakeAgent, n: int) -> None:
    for _ in range(150):
        if len(agent.handled) >= n:
            break
        await asyncio.sleep(0.02)
    await asyncio.sleep(0.3)  # anything that should NOT arrive has had time to


async def main() -> dict[str, Any]:
    tmp = Path(tempfile.mkdtemp(prefix="web-socket-attack-"))
    os.environ["ATIENDE_DATA_DIR"] = str(tmp)
    handoff_api = await Recorder(status=201, answer=lambda r, b: {"stored": True}).start()
    gate = HandoffGate(HandoffApiClient(handoff_api.url, os.environ["HANDOFF_BOT_TOKEN"]),
                       Outbox(tmp / "relay_outbox.db"), poll_interval=0.1)
    agent = FakeAgent()
    channel = HandoffAwareSocketIOInput.from_credentials({
        "user_message_evt": "user_uttered", "bot_message_evt": "bot_uttered",
        "session_persistence": True})
    harness = await SanicHarness([channel], agent, gate).start()
    victim, attacker = Client(harness.url), Client(harness.url)
    out: dict[str, Any] = {}
    try:
        victim_id = await victim.join()
        victim_token = victim.sessions[-1]["token"]
        await victim.say(victim_id, "mi pedido AT101001", "v-1")
        await settle(agent, 1)
        out["victim"] = {"id": victim_id, "token": victim_token}

        # 1. the id alone (read in a log): a fresh conversation, not the victim's
        out["join_with_id_only"] = await attacker.join(session_id=victim_id)
        # 2. the id with a made-up signature
        forged = f"{victim_id}.{secrets.token_urlsafe(32)[:43]}"
        out["join_with_forged_token"] = await attacker.join(session_id=victim_id, token=forged)
        # 3. the attacker's own valid token, naming the victim's id
        own = attacker.sessions[-1]["token"]
        out["join_with_other_token"] = await attacker.join(session_id=victim_id, token=own)
        out["attacker_id"] = attacker.confirmed[-1]
        # 4. speak into the victim's conversation from the attacker's socket
        await attacker.say(victim_id, "cambia la dirección de envío", "a-1")
        # 5. the victim's conversation keeps talking: the attacker must hear none of it
        await victim.say(victim_id, "¿y cuándo llega?", "v-2")
        await settle(agent, 2)
        out["handled"] = [[m.sender_id, m.text] for m in agent.handled]
        out["attacker_heard"] = [b.get("text") for b in attacker.bot]
        out["victim_heard"] = [b.get("text") for b in victim.bot]
        out["attacker_acks"] = attacker.acks
        # 6. the rightful holder, after a reload: the same conversation back
        await victim.close()
        again = Client(harness.url)
        out["rejoin_with_token"] = await again.join(session_id=victim_id, token=victim_token)
        await again.close()
    finally:
        await attacker.close()
        await harness.stop()
        await gate.close()
        await handoff_api.stop()
    return out


if __name__ == "__main__":
    # INFO on stderr, as a deployment would log: the test checks no conversation id is in it
    logging.basicConfig(level=logging.INFO, stream=sys.stderr,
                        format="%(levelname)s %(name)s %(message)s")
    json.dump(asyncio.run(main()), sys.stdout)
