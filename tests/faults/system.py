"""The whole seam as real processes, and the book-keeping that counts what a fault did to it.

:class:`Seam` starts the Rasa server (trained model, ``.venv/bot``), the action server and the
handoff API (``.venv/app``) with ``scripts.run.running_system`` — the same launcher as ``make run``
— on free ports, SQLite files in a temporary data directory and short retry intervals. It can
``kill -9`` any of them (``SIGKILL`` to the process group) and start it again on the same data.

The shopper talks to Rasa's REST channel with a ``message_id`` per message and resends it, as a
client would, while the bot is unreachable or busy with the same id. A fake Graph API
(:class:`~tests.faults.plumbing.GraphSink`) records what the bot sends to WhatsApp shoppers.

:class:`~tests.faults.tally.Tally` judges each message after the faults, from the stores of
record (Rasa's tracker via its HTTP API, the handoff API's database read-only: SQLite, or
PostgreSQL after :meth:`Seam.use_database` with a ``throwaway_postgres`` database;
:mod:`tests.faults.records`):

* **answered by the bot**: the message is a ``user`` event of the tracker followed by at least one
  ``bot`` event before the next user event;
* **answered by the agent**: the handoff API stored it for the agent and an agent reply of the
  same handoff was stored after it (what the agent had not answered goes back to the bot);
* **lost**: neither;
* **duplicated**: the bot ran its turn more than once (two ``user`` events with the same id), or
  both the agent and the bot answered it.

Used by ``tests/faults`` (few conversations, every fault once) and ``bench/seam_chaos.py``
(hundreds of conversations with random faults).
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx

from tests.faults.plumbing import (
    BOT_TOKEN,
    CHANNEL_VARS,
    DEMO_PASSWORD,
    PATIENCE,
    RASA_TOKEN,
    ROOT,
    WA_PHONE_ID,
    WA_SECRET,
    GraphSink,
    Reply,
    free_port,
    sign,
    wait_for,
)
from tests.faults.records import StoresOfRecord
from tests.faults.tally import Tally

# bench/seam_chaos.py and bench/rasa_flood.py import Seam, Tally, BOT_TOKEN, handoff_conversation
# and wait_for from here
__all__ = ["BOT_TOKEN", "PATIENCE", "Seam", "Shopper", "Tally", "handoff_conversation",
           "running_seam", "wait_for"]


class Seam(StoresOfRecord):
    """The three processes plus clients for the shopper, the agent and the auditor."""

    def __init__(self, data_dir: Path, **env: str) -> None:
        self.data_dir = data_dir
        self.graph = GraphSink()
        self.overrides = {
            "ATIENDE_DATA_DIR": str(data_dir),
            "ATIENDE_ENV": "development",  # demo agents ana / leo
            "RASA_PORT": str(free_port()), "RASA_ADMIN_PORT": str(free_port()),
            "ACTIONS_PORT": str(free_port()),
            "HANDOFF_PORT": str(free_port()), "MAIL_CATCHER_PORT": str(free_port()),
            "HANDOFF_BOT_TOKEN": BOT_TOKEN, "RASA_TOKEN": RASA_TOKEN,
            "HANDOFF_SECRET_KEY": "faults-secret-key-0123456789abcdef",
            "HANDOFF_DATABASE_URL": f"sqlite:///{data_dir / 'handoff.db'}",
            "BUSINESS_HOURS": "mon-sun 00:00-24:00",
            "HANDOFF_AGENT_CAPACITY": "50",  # one demo agent takes every conversation
            # short retry intervals: a fault heals in seconds, not minutes
            "HANDOFF_OUTBOX_INTERVAL": "0.5", "HANDOFF_WATCH_INTERVAL": "0.5",
            # a reply whose sender was killed mid-send is shown failed (and may be resent) after
            # this lease, not after the default 2 minutes
            "HANDOFF_SEND_LEASE_SECONDS": "10",
            "ATIENDE_LEDGER_HEARTBEAT_SECONDS": "1",
            # the tests flood on purpose; the flood test sets its own limits
            "HANDOFF_PUBLIC_RATE_LIMIT": "100000/minute",
            "HANDOFF_LOGIN_RATE_LIMIT": "100000/minute",
            "ATIENDE_LOG_LEVEL": "INFO",
            # the KB index `make setup` built, when there is one (else the KB action says it
            # cannot look, which is an answer too)
            **({"KB_INDEX_DIR": str(ROOT / "var" / "kb_index")}
               if (ROOT / "var" / "kb_index").is_dir() else {}),
            **{name: "" for name in CHANNEL_VARS},
            "WHATSAPP_ACCESS_TOKEN": "faults-wa-token", "WHATSAPP_APP_SECRET": WA_SECRET,
            "WHATSAPP_VERIFY_TOKEN": "faults-verify", "WHATSAPP_PHONE_NUMBER_ID": WA_PHONE_ID,
            "WHATSAPP_GRAPH_URL": self.graph.url,
            **env,
        }
        self.system: Any = None
        self._stack = contextlib.ExitStack()
        self.http = httpx.Client(timeout=httpx.Timeout(60.0, connect=2.0))
        self._agent_token: str | None = None
        self._engines: dict[str, Any] = {}

    # --- processes -------------------------------------------------------------------------------
    def start(self) -> Seam:
        from scripts.run import running_system

        for name in ("ATIENDE_LEDGER_URL", "RASA_TRACKER_DB", "ACTION_SERVER_URL", "RASA_URL",
                     "HANDOFF_API_URL"):
            os.environ.pop(name, None)  # a developer's .env must not point us elsewhere
        try:
            self.system = self._stack.enter_context(running_system(self.overrides))
        except SystemExit as exc:  # preflight refusals (model missing, port taken)
            raise AssertionError(str(exc)) from None
        return self

    def close(self) -> None:
        self._stack.close()
        for engine in self._engines.values():
            engine.dispose()
        self.http.close()
        self.graph.close()

    def service(self, name: str) -> Any:
        return next(s for s in self.system.services if s.name == name)

    def kill(self, name: str) -> None:
        """``kill -9`` the service's process group (the process and anything it started)."""
        service = self.service(name)
        with contextlib.suppress(ProcessLookupError):
            os.killpg(service.process.pid, signal.SIGKILL)
        service.process.wait(10)
        service.stop()  # closes the log pipe; the process is already gone

    def restart(self, name: str) -> None:
        from scripts.run import wait_healthy

        service = self.service(name)
        service.start(self.system.settings.child_env())
        wait_healthy([service])

    def use_database(self, url: str) -> None:
        """Restart the handoff API on ``url`` (Rasa and the action server keep running; processes
        started later get it too)."""
        self.overrides["HANDOFF_DATABASE_URL"] = url
        self.system.settings.env["HANDOFF_DATABASE_URL"] = url
        self._agent_token = None
        self.service("handoff").stop()
        self.restart("handoff")

    def logs(self, lines: int = 30) -> str:
        return "\n".join(f"----- {s.name} -----\n{s.tail(lines)}" for s in self.system.services)

    @property
    def rasa_url(self) -> str:
        return self.system.settings.rasa_url

    @property
    def api_url(self) -> str:
        return self.system.settings.handoff_url

    # --- the shopper (REST channel, with message ids) ------------------------------------------
    def say(self, sender: str, text: str, message_id: str | None = None, *,
            patience: float = PATIENCE, metadata: dict[str, Any] | None = None,
            http: httpx.Client | None = None) -> Reply:
        """Send one message; resend the same id while the bot is unreachable, answers 5xx,
        "being processed" (409) or "not now" (429, after its Retry-After), as the widget does.
        Returns the final answer. ``http``: another client (e.g. from another address)."""
        message_id = message_id or uuid.uuid4().hex
        body = {"sender": sender, "message": text, "message_id": message_id,
                "metadata": metadata or {"language": "es"}}
        deadline = time.monotonic() + patience
        while True:
            try:
                r = (http or self.http).post(f"{self.rasa_url}/webhooks/rest/webhook", json=body)
                if r.status_code < 500 and r.status_code not in (409, 429):
                    return Reply(r.status_code, r.json(), r.headers.get("X-Atiende-Route"),
                                 r.headers.get("X-Atiende-Duplicate") == "1")
                wait = float(r.headers.get("Retry-After") or 0.5)
            except httpx.HTTPError:
                wait = 0.5
            if time.monotonic() > deadline:
                raise AssertionError(f"message {message_id} not accepted in {patience:.0f} s")
            time.sleep(min(wait, 2.0))

    def say_once(self, sender: str, text: str, message_id: str) -> httpx.Response:
        """One attempt, no resend (floods, replays)."""
        return self.http.post(f"{self.rasa_url}/webhooks/rest/webhook", json={
            "sender": sender, "message": text, "message_id": message_id,
            "metadata": {"language": "es"}})

    def whatsapp(self, phone: str, text: str, message_id: str) -> bytes:
        """A signed WhatsApp webhook body for one text message (what Meta would POST)."""
        payload = {"object": "whatsapp_business_account", "entry": [{"id": "102290129340398",
                   "changes": [{"field": "messages", "value": {
                       "messaging_product": "whatsapp",
                       "metadata": {"display_phone_number": "15550783881",
                                    "phone_number_id": WA_PHONE_ID},
                       "contacts": [{"profile": {"name": "Cliente"}, "wa_id": phone}],
                       "messages": [{"from": phone, "id": message_id,
                                     "timestamp": str(int(time.time())), "type": "text",
                                     "text": {"body": text}}]}}]}]}
        return json.dumps(payload).encode()

    def post_whatsapp(self, raw: bytes) -> int:
        try:
            r = self.http.post(f"{self.rasa_url}/webhooks/whatsapp/webhook", content=raw,
                               headers={"Content-Type": "application/json",
                                        "X-Hub-Signature-256": sign(raw, WA_SECRET)})
            return r.status_code
        except httpx.HTTPError:
            return 0

    # --- the agent -------------------------------------------------------------------------------
    def agent(self, method: str, path: str, **kwargs: Any) -> httpx.Response:
        if self._agent_token is None:
            r = self.http.post(f"{self.api_url}/api/auth/login",
                               json={"username": "ana", "password": DEMO_PASSWORD})
            r.raise_for_status()
            self._agent_token = r.json()["token"]
        return self.http.request(method, self.api_url + path, headers={
            "Authorization": f"Bearer {self._agent_token}"}, **kwargs)

    def agent_retrying(self, method: str, path: str, patience: float = 120.0,
                       **kwargs: Any) -> httpx.Response:
        """An agent action repeated while the API is down (the console retries)."""
        deadline = time.monotonic() + patience
        while True:
            try:
                r = self.agent(method, path, **kwargs)
                if r.status_code < 500:
                    return r
            except httpx.HTTPError:
                pass
            if time.monotonic() > deadline:
                raise AssertionError(f"{method} {path} never answered below 500")
            time.sleep(0.5)

    def agent_reply(self, handoff_id: int, text: str, client_id: str,
                    patience: float = 120.0) -> httpx.Response:
        """The agent's reply, resent with its client id until it is sent, as the console does: a
        202 means another request holds the send (its process may have been killed mid-send; the
        API marks such a send failed after its lease and the next retry sends it)."""
        deadline = time.monotonic() + patience
        while True:
            r = self.agent_retrying("POST", f"/api/handoffs/{handoff_id}/messages",
                                    json={"text": text, "client_id": client_id})
            if r.status_code != 202 or time.monotonic() > deadline:
                return r
            time.sleep(1.0)

    def open_handoff(self, conversation_id: str) -> dict[str, Any] | None:
        try:
            r = self.http.get(f"{self.api_url}/api/conversations/{conversation_id}/handoff",
                              headers={"Authorization": f"Bearer {BOT_TOKEN}"})
        except httpx.HTTPError:  # the API is being restarted
            return None
        return r.json() if r.status_code == 200 else None

    def wait_handoff(self, conversation_id: str, timeout: float = 60) -> dict[str, Any]:
        return wait_for(lambda: self.open_handoff(conversation_id), timeout,
                        f"a handoff for {conversation_id}")


@contextlib.contextmanager
def running_seam(data_dir: Path, **env: str) -> Iterator[Seam]:
    seam = Seam(data_dir, **env)
    try:
        seam.start()
        yield seam
    finally:
        seam.close()


# --- one scripted handoff conversation ------------------------------------------------------------

Hook = Callable[[str], None]


def _no_hook(_stage: str) -> None:
    return None


class Shopper:
    """One shopper on the REST channel (web client) or on WhatsApp (Meta webhooks)."""

    def __init__(self, seam: Seam, tally: Tally, cid: str, channel: str = "rest") -> None:
        self.seam, self.tally, self.cid, self.channel = seam, tally, cid, channel
        self.n = 0
        self._lock = threading.Lock()

    def next_id(self) -> str:
        with self._lock:
            self.n += 1
            n = self.n
        return self.tally.note(self.cid, f"wamid.{self.cid}.{n}" if self.channel == "whatsapp"
                               else f"{self.cid}-{n}")

    def send(self, text: str, patience: float = PATIENCE) -> Reply | int:
        mid = self.next_id()
        if self.channel == "rest":
            return self.seam.say(self.cid, text, mid, patience=patience)
        raw = self.seam.whatsapp(self.cid, text, mid)
        # Meta resends until it gets a 200 (the inbox stores the delivery before answering it)
        return wait_for(lambda: self.seam.post_whatsapp(raw) == 200 and 200, patience,
                        f"WhatsApp to accept {mid}", every=0.5)


def ask_for_a_person(seam: Seam, shopper: Shopper, cid: str, attempts: int = 4,
                     wait: float = 40.0) -> int:
    """Ask for a person until queued, as a shopper would: while the action server is down the bot
    answers with its apology instead of queueing, and the shopper asks again (every request is
    a message of its own, counted and audited like the others)."""
    for attempt in range(attempts):  # noqa: B007 - the last attempt raises
        shopper.send("quiero hablar con una persona, por favor")
        try:
            return int(seam.wait_handoff(cid, timeout=wait)["id"])
        except AssertionError:
            if attempt == attempts - 1:
                raise
    raise AssertionError("unreachable")


def handoff_conversation(seam: Seam, tally: Tally, cid: str, *, channel: str = "rest",
                         close: str = "resolve", racers: int = 2, hook: Hook = _no_hook) -> int:
    """The scripted conversation; ``hook(stage)`` runs at each stage (faults are injected there).

    1. greeting (the bot answers) and "I want a person" (the bot queues the shopper; asked again
       when the bot could not, e.g. with the action server down: ``ask_for_a_person``);
    2. a message for the agent; the agent claims and replies;
    3. a message the agent does not answer (the bot gets it at the close);
    4. the agent closes (resolve or hand back) while ``racers`` shopper messages arrive at the
       same moment: each is either stored for the agent just before the close (and handed to the
       bot with the hand-back) or refused by the closed handoff and answered by the resumed bot;
    5. once everything settled, one more message, which the bot must answer (nothing stuck).

    Returns the handoff id.
    """
    from concurrent.futures import ThreadPoolExecutor

    shopper = Shopper(seam, tally, cid, channel)
    shopper.send("hola")
    hook("greeted")
    handoff_id = ask_for_a_person(seam, shopper, cid)
    hook("queued")
    shopper.send("¿hay alguien ahí?")
    hook("waiting")
    claim = seam.agent_retrying("POST", f"/api/handoffs/{handoff_id}/claim")
    assert claim.status_code == 200, claim.text
    reply = seam.agent_reply(handoff_id, "Hola, soy Ana. Te ayudo.", f"{cid}-agent-1")
    assert reply.status_code in (200, 201), reply.text
    hook("answered")
    shopper.send("vale, una pregunta más sobre el envío")
    hook("closing")
    path = f"/api/handoffs/{handoff_id}/{'resolve' if close == 'resolve' else 'hand-back'}"
    with ThreadPoolExecutor(max_workers=racers + 1) as pool:
        closing = pool.submit(seam.agent_retrying, "POST", path)
        texts = ["¿cuánto tarda el envío a Canarias?", "¿puedo devolver un pedido?",
                 "gracias", "¿hacéis envíos a México?"]
        racing = [pool.submit(shopper.send, texts[i % len(texts)]) for i in range(racers)]
        assert closing.result().status_code == 200, closing.result().text
        for f in racing:
            f.result()
    hook("closed")
    wait_for(lambda: seam.open_handoff(cid) is None and seam.settled([cid]), PATIENCE,
             f"{cid}'s hand-back to be taken by the bot")
    shopper.send("hola de nuevo")
    return handoff_id
