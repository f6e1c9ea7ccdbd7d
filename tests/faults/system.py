"""The whole seam as real processes, and the book-keeping that counts what a fault did to it.

:class:`Seam` starts the Rasa server (trained model, ``.venv/bot``), the action server and the
handoff API (``.venv/app``) with ``scripts.run.running_system`` — the same launcher as ``make run``
— on free ports, SQLite files in a temporary data directory and short retry intervals. It can
``kill -9`` any of them (``SIGKILL`` to the process group) and start it again on the same data.

The shopper talks to Rasa's REST channel with a ``message_id`` per message and resends it, as a
client would, while the bot is unreachable or busy with the same id. A fake Graph API
(:class:`GraphSink`) records what the bot sends to WhatsApp shoppers.

:class:`Tally` judges each message after the faults, from the stores of record (Rasa's tracker via
its HTTP API, the handoff API's database read-only: SQLite, or PostgreSQL after
:meth:`Seam.use_database` with a :func:`throwaway_postgres` database):

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
import hashlib
import hmac
import json
import os
import signal
import sqlite3
import threading
import time
import uuid
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import httpx

ROOT = Path(__file__).resolve().parents[2]
BOT_TOKEN = "faults-bot-token-0123456789abcdef"
RASA_TOKEN = "faults-rasa-token-0123456789abcdef"
WA_SECRET = "faults-whatsapp-app-secret"
WA_PHONE_ID = "106540352242922"
DEMO_PASSWORD = "atiende-demo"
# How long a shopper's client keeps resending, and how long a close may take to reach the bot:
# a Rasa restart loads the model again, which took up to 4 min on the 2 shared cores at load 20
PATIENCE = float(os.environ.get("ATIENDE_FAULTS_PATIENCE", "600"))
CHANNEL_VARS = ("WHATSAPP_ACCESS_TOKEN", "WHATSAPP_APP_SECRET", "WHATSAPP_VERIFY_TOKEN",
                "WHATSAPP_PHONE_NUMBER_ID", "MESSENGER_PAGE_ACCESS_TOKEN", "MESSENGER_APP_SECRET",
                "MESSENGER_VERIFY_TOKEN")


def sign(body: bytes, secret: str) -> str:
    """Meta's ``X-Hub-Signature-256`` header value for ``body``."""
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def wait_for(check: Callable[[], Any], timeout: float, what: str, every: float = 0.3) -> Any:
    """Poll ``check`` until it returns something truthy; AssertionError naming ``what`` after."""
    deadline = time.monotonic() + timeout
    while True:
        value = check()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout:.0f} s waiting for {what}")
        time.sleep(every)


class GraphSink:
    """A stand-in for Meta's Graph API: records every message the bot sends to WhatsApp."""

    def __init__(self) -> None:
        self.sent: list[dict[str, Any]] = []
        self._lock = threading.Lock()
        sink = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802 - http.server's naming
                raw = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                with sink._lock:
                    try:
                        sink.sent.append(json.loads(raw))
                    except ValueError:
                        sink.sent.append({"raw": raw.decode(errors="replace")})
                    n = len(sink.sent)
                body = json.dumps({"messages": [{"id": f"wamid.out.{n}"}]}).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.port = self.server.server_address[1]
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def to(self, phone: str) -> list[dict[str, Any]]:
        with self._lock:
            return [b for b in self.sent if b.get("to") == phone]

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@dataclass
class Reply:
    status: int
    body: Any
    route: str | None
    duplicate: bool


class Seam:
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

    # --- the auditor ---------------------------------------------------------------------------
    def tracker_events(self, conversation_id: str) -> list[dict[str, Any]]:
        # Rasa's HTTP API is served on its own loopback address (bot/serve.py)
        admin = f"http://127.0.0.1:{self.system.settings.rasa_admin_port}"
        r = self.http.get(f"{admin}/conversations/{conversation_id}/tracker",
                          params={"token": RASA_TOKEN, "include_events": "ALL"})
        r.raise_for_status()
        return r.json().get("events") or []

    # --- the handoff API's database: SQLite (default) or a throwaway PostgreSQL database --------
    @property
    def database_url(self) -> str:
        if self.system is not None:
            return self.system.settings.env.get("HANDOFF_DATABASE_URL") or ""
        return self.overrides["HANDOFF_DATABASE_URL"]

    @property
    def on_postgres(self) -> bool:
        return self.database_url.startswith("postgresql")

    def use_database(self, url: str) -> None:
        """Restart the handoff API on ``url`` (Rasa and the action server keep running; processes
        started later get it too)."""
        self.overrides["HANDOFF_DATABASE_URL"] = url
        self.system.settings.env["HANDOFF_DATABASE_URL"] = url
        self._agent_token = None
        self.service("handoff").stop()
        self.restart("handoff")

    def _pg(self) -> Any:
        from sqlalchemy import create_engine

        engine = self._engines.get(self.database_url)
        if engine is None:
            engine = self._engines[self.database_url] = create_engine(
                self.database_url, pool_size=2, max_overflow=4)
        return engine

    def _api_query(self, sql: str, params: dict[str, Any]) -> list[Any]:
        """Rows of a read-only query on the handoff database (``:name`` parameters); each row
        is a mapping (``row["role"]``)."""
        if self.on_postgres:
            from sqlalchemy import text

            with self._pg().connect() as conn:
                return list(conn.execute(text(sql), params).mappings())
        db = sqlite3.connect(f"file:{self.data_dir / 'handoff.db'}?mode=ro", uri=True,
                             timeout=30)
        db.row_factory = sqlite3.Row
        try:
            return db.execute(sql, params).fetchall()
        finally:
            db.close()

    def api_rows(self, conversation_id: str) -> list[Any]:
        return self._api_query("SELECT id, handoff_id, message_id, role, delivery FROM messages "
                               "WHERE conversation_id = :cid ORDER BY id",
                               {"cid": conversation_id})

    def describe(self, conversation_id: str) -> str:
        """What the stores hold for one conversation (for failure messages; no shopper data
        leaves the test machine)."""
        lines = [f"API rows of {conversation_id}:"]
        lines += [f"  {dict(r)}" for r in self.api_rows(conversation_id)]
        lines.append("tracker:")
        try:
            for e in self.tracker_events(conversation_id):
                if e.get("event") in ("user", "bot", "action", "pause", "resume"):
                    what = (e.get("name") or e.get("text") or "")[:50]
                    lines.append(f"  {e.get('event'):6} {what!r} {e.get('message_id') or ''}")
        except httpx.HTTPError as exc:
            lines.append(f"  (unreadable: {exc})")
        return "\n".join(lines)

    def health(self) -> dict[str, Any]:
        return self.http.get(f"{self.api_url}/health").json()

    def _count(self, db_file: Path, table: str, where: str, ids: list[str]) -> int:
        if db_file.name == "handoff.db" and self.on_postgres:
            names = {f"c{i}": cid for i, cid in enumerate(ids)}
            query = f"SELECT count(*) AS n FROM {table} WHERE {where}"  # noqa: S608 - fixed names
            if ids:
                query += f" AND conversation_id IN ({','.join(':' + k for k in names)})"
            return int(self._api_query(query, names)[0]["n"])
        if not db_file.exists():
            return 0
        db = sqlite3.connect(f"file:{db_file}?mode=ro", uri=True, timeout=30)
        try:
            if not db.execute("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = ?",
                              (table,)).fetchone():
                return 0
            query = f"SELECT count(*) FROM {table} WHERE {where}"  # noqa: S608 - fixed names
            if ids:
                query += f" AND conversation_id IN ({','.join('?' * len(ids))})"
            return int(db.execute(query, ids).fetchone()[0])
        finally:
            db.close()

    def settled(self, conversation_ids: list[str]) -> bool:
        """No hand-back of these conversations (all, if none given) waits for Rasa and none of
        their shopper messages waits in the bot's outbox."""
        from sqlalchemy.exc import SQLAlchemyError

        try:
            return not (self._count(self.data_dir / "handoff.db", "handback_outbox",
                                    "delivered_at IS NULL", conversation_ids)
                        or self._count(self.data_dir / "relay_outbox.db", "relay_outbox",
                                       "status = 'pending'", conversation_ids))
        except (sqlite3.Error, SQLAlchemyError):  # a file being created or checkpointed, a
            return False  # database restarting: look again

    def wait_settled(self, conversation_ids: list[str], timeout: float = 120) -> None:
        wait_for(lambda: self.settled(conversation_ids), timeout,
                 "hand-backs and outbox to drain")


_NOTE_LOCK = threading.Lock()


@dataclass
class Tally:
    """What happened to every shopper message of the conversations under test."""

    sent: dict[str, list[str]] = field(default_factory=dict)  # conversation -> message ids
    problems: list[str] = field(default_factory=list)
    counts: Counter = field(default_factory=Counter)

    def note(self, conversation_id: str, message_id: str) -> str:
        with _NOTE_LOCK:
            self.sent.setdefault(conversation_id, []).append(message_id)
        return message_id

    def audit(self, seam: Seam, patience: float = 60.0) -> Counter:
        """Count once every process is quiet; webhooks are processed after their 200, so a
        message still missing is looked at again until ``patience`` runs out."""
        deadline = time.monotonic() + patience
        while True:
            self.counts, self.problems = Counter(), []
            for cid, ids in self.sent.items():
                self._audit_one(seam, cid, ids)
            if not self.counts["lost"] or time.monotonic() > deadline:
                return self.counts
            time.sleep(1.0)

    def _audit_one(self, seam: Seam, cid: str, ids: list[str]) -> None:
        events = seam.tracker_events(cid)
        turns: Counter = Counter()
        answered_by_bot: set[str] = set()
        current: str | None = None
        for event in events:
            if event.get("event") == "user":
                current = event.get("message_id")
                turns[current] += 1
            elif event.get("event") == "bot" and current is not None:
                answered_by_bot.add(current)
        rows = seam.api_rows(cid)
        agent_after: set[str] = set()
        for row in rows:
            if row["role"] == "user" and row["delivery"] == "stored" and any(
                    r["role"] == "agent" and r["handoff_id"] == row["handoff_id"]
                    and r["id"] > row["id"] for r in rows):
                agent_after.add(row["message_id"])
        for mid in ids:
            self.counts["sent"] += 1
            by_bot, by_agent = mid in answered_by_bot, mid in agent_after
            if turns[mid] > 1:
                self.counts["duplicated"] += 1
                self.problems.append(f"{cid}/{mid}: the bot ran {turns[mid]} turns for it")
            elif by_bot and by_agent:
                self.counts["duplicated"] += 1
                self.problems.append(f"{cid}/{mid}: answered by the agent AND the bot")
            if by_bot or by_agent:
                self.counts["answered"] += 1
                self.counts["answered_by_bot" if by_bot else "answered_by_agent"] += 1
            else:
                self.counts["lost"] += 1
                where = [r["delivery"] for r in rows if r["message_id"] == mid]
                self.problems.append(f"{cid}/{mid}: LOST (tracker turns {turns[mid]}, API rows "
                                     f"{where or 'none'})")

    def summary(self) -> dict[str, int]:
        keys = ("sent", "answered", "answered_by_bot", "answered_by_agent", "lost", "duplicated")
        return {k: int(self.counts.get(k, 0)) for k in keys}


PG_ADMIN_URL = os.environ.get("ATIENDE_TEST_PG_ADMIN_URL",
                              "postgresql+psycopg2://postgres@127.0.0.1:5432/postgres")


@contextlib.contextmanager
def throwaway_postgres(prefix: str = "atiende_faults") -> Iterator[str]:
    """A fresh PostgreSQL database (trust auth on 127.0.0.1:5432), dropped afterwards even if
    something still holds a connection to it."""
    from sqlalchemy import create_engine, text

    admin = create_engine(PG_ADMIN_URL, isolation_level="AUTOCOMMIT")
    name = f"{prefix}_{uuid.uuid4().hex[:10]}"
    try:
        with admin.connect() as conn:
            conn.execute(text(f'CREATE DATABASE "{name}"'))
        yield PG_ADMIN_URL.rsplit("/", 1)[0] + f"/{name}"
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


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
