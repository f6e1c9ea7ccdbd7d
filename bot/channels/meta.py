"""Code shared by the WhatsApp and Messenger connectors (both are Meta webhooks).

* ``X-Hub-Signature-256`` check over the raw body in constant time (Rasa's built-in
  facebook connector still checks the SHA-1 header with ``==``);
* the ``hub.challenge`` subscription handshake;
* a persistent store for what must survive a restart and be shared by every replica: the last
  inbound time per conversation (the 24-hour customer-service window) and delivery statuses
  (:mod:`bot.channels.meta_state`: SQLite in ``$ATIENDE_DATA_DIR`` or PostgreSQL by URL);
* exactly once (issue #11): every delivery is stored in the shared ledger's inbox
  (``bot/ledger.py``) BEFORE Meta gets its 200, processed after, and marked done at the end; a
  crash after the 200 leaves the row pending and the next start (or another replica, once the
  lease runs out) processes it. Each message id is claimed in the ledger before its turn and
  marked done after it, so Meta's retries are dropped only once a message was really handled.
  (Before, the 200 went out before anything was stored and the id was marked seen before
  processing: a crash lost the message and Meta's retry was then discarded as a duplicate.)
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import json
import logging
import os
from typing import Any

from sanic import Blueprint, response
from sanic.request import Request
from sanic.response import HTTPResponse

# re-exported: where the connectors and their tests have always imported them from
from bot.channels.meta_state import WINDOW_SECONDS, MetaStateStore  # noqa: F401
from bot.conversation_pause import recorded_turn
from bot.handoff_gate import get_gate, register_gate_lifecycle

logger = logging.getLogger(__name__)

SIGNATURE_HEADER = "X-Hub-Signature-256"
DEFAULT_GRAPH_URL = "https://graph.facebook.com/v19.0"
DEFAULT_MAX_BODY_BYTES = 256 * 1024  # Meta batches at most a few KB per event


def setting(credentials: dict[str, Any] | None, key: str, env: str, default: str = "") -> str:
    """A credential from credentials.yml, else the environment, else ``default``.

    Rasa expands ``${VAR}`` in credentials.yml but raises when VAR is unset; an empty
    value (``VAR=``) expands to "". Falling back to the environment lets a development
    setup leave a channel unconfigured: it starts and refuses its webhook with a clear 503.
    """
    value = (credentials or {}).get(key)
    if value is None or str(value).strip() == "" or str(value).startswith("${"):
        value = os.environ.get(env, default)
    return str(value).strip()


def sign(body: bytes, secret: str) -> str:
    """The header value Meta sends: ``sha256=<hex HMAC-SHA256 of the raw body>``."""
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def check_signature(request: Request, secret: str, channel: str) -> HTTPResponse | None:
    """None if the body is authentic; otherwise the error response to return.

    503 when the app secret is not configured (never accept unsigned traffic), 401 when
    the header is missing or malformed, 403 when it does not match.
    """
    if not secret:
        logger.error("%s.webhook_refused: app secret not configured", channel)
        return response.json({"error": f"{channel} channel is not configured: set its app "
                                       "secret"}, status=503)
    header = request.headers.get(SIGNATURE_HEADER, "")
    if not header.startswith("sha256=") or len(header) != len("sha256=") + 64:
        logger.warning("%s.webhook_refused: missing or malformed %s", channel, SIGNATURE_HEADER)
        return response.json({"error": f"missing or malformed {SIGNATURE_HEADER}"}, status=401)
    if not hmac.compare_digest(header.encode(), sign(request.body or b"", secret).encode()):
        logger.warning("%s.webhook_refused: signature mismatch", channel)
        return response.json({"error": "invalid signature"}, status=403)
    return None


def check_size(request: Request, max_bytes: int, channel: str) -> HTTPResponse | None:
    """413 for bodies over ``max_bytes`` (declared or actual)."""
    declared = request.headers.get("content-length")
    size = len(request.body or b"")
    if (declared and declared.isdigit() and int(declared) > max_bytes) or size > max_bytes:
        logger.warning("%s.webhook_refused: body too large (%s bytes)", channel,
                       declared or size)
        return response.json({"error": f"body larger than {max_bytes} bytes"}, status=413)
    return None


def parse_json(request: Request, channel: str) -> tuple[dict[str, Any] | None,
                                                        HTTPResponse | None]:
    """The decoded JSON object, or a 400 response."""
    try:
        payload = json.loads(request.body or b"")
    except (ValueError, UnicodeDecodeError):
        logger.warning("%s.webhook_refused: malformed JSON", channel)
        return None, response.json({"error": "malformed JSON body"}, status=400)
    if not isinstance(payload, dict):
        return None, response.json({"error": "JSON body must be an object"}, status=400)
    return payload, None


def verify_handshake(request: Request, verify_token: str, channel: str) -> HTTPResponse:
    """Answer Meta's ``GET ?hub.mode=subscribe&hub.verify_token=…&hub.challenge=…``."""
    if not verify_token:
        return response.json({"error": f"{channel} channel is not configured: set its verify "
                                       "token"}, status=503)
    mode = request.args.get("hub.mode", "")
    token = request.args.get("hub.verify_token", "")
    challenge = request.args.get("hub.challenge", "")
    if mode == "subscribe" and hmac.compare_digest(token.encode(), verify_token.encode()):
        logger.info("%s.webhook_verified", channel)
        return response.text(challenge)
    logger.warning("%s.webhook_verification_failed mode=%r", channel, mode)
    return response.json({"error": "verification failed"}, status=403)


class BackgroundTasks:
    """Keeps strong references to fire-and-forget tasks (ack first, process later)."""

    def __init__(self) -> None:
        self._tasks: set[asyncio.Task] = set()
        self._last: dict[str, asyncio.Task] = {}

    def spawn(self, coro: Any, name: str) -> asyncio.Task:
        task = asyncio.get_running_loop().create_task(coro, name=name)
        self._tasks.add(task)
        task.add_done_callback(self._done)
        return task

    def spawn_after(self, keys: set[str], coro: Any, name: str) -> asyncio.Task:
        """Spawn ``coro`` once earlier tasks for the same keys (senders) have finished.

        A shopper who types "hola" and then "AT100234" in quick succession sends two
        webhooks; processing them concurrently could answer them out of order.
        """
        previous = [t for k in keys if (t := self._last.get(k)) is not None and not t.done()]

        async def run() -> None:
            if previous:
                await asyncio.gather(*previous, return_exceptions=True)
            await coro

        task = self.spawn(run(), name)
        for key in keys:
            self._last[key] = task
        return task

    def _done(self, task: asyncio.Task) -> None:
        self._tasks.discard(task)
        for key in [k for k, t in self._last.items() if t is task]:
            del self._last[key]
        if not task.cancelled() and task.exception() is not None:
            logger.error("background task %s failed", task.get_name(),
                         exc_info=task.exception())

    async def drain(self) -> None:
        """Wait until every spawned task finished (tests, graceful shutdown)."""
        while self._tasks:
            await asyncio.gather(*list(self._tasks), return_exceptions=True)


async def graph_post(url: str, token: str, body: dict[str, Any], *, channel: str,
                     timeout: float = 10.0) -> dict[str, Any] | None:
    """POST to the Graph API; the decoded answer on 2xx, None (logged) on any failure.

    Failures are logged, not raised: an output channel that raises would abort the rest of
    Rasa's turn (tracker not saved), which is worse than one undelivered bubble.
    """
    import aiohttp  # the bot env ships it (Rasa dependency); imported lazily

    headers = {"Authorization": f"Bearer {token}"}
    try:
        async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=timeout)) as s:
            async with s.post(url, json=body, headers=headers) as resp:
                text = await resp.text()
                if 200 <= resp.status < 300:
                    try:
                        return json.loads(text) if text else {}
                    except ValueError:
                        return {}
                logger.error("%s.send_failed HTTP %s: %s", channel, resp.status, text[:300])
                return None
    except (aiohttp.ClientError, asyncio.TimeoutError, OSError) as exc:
        logger.error("%s.send_failed %s: %s", channel, type(exc).__name__, exc)
        return None


def webhook_blueprint(channel: str, connector: Any, senders: Any, on_new_message: Any) -> Blueprint:
    """The webhook both Meta connectors expose: a health check, the subscription handshake, and a
    POST that is size-checked, signature-checked and parsed, then acknowledged at once while the
    delivery is processed in the background (in order per shopper, given by ``senders(payload)``).

    ``connector`` provides ``verify_token``, ``app_secret``, ``max_body_bytes``, ``tasks``
    (``BackgroundTasks``) and ``process(payload, app, on_new_message)``.
    """
    bp = Blueprint(f"{channel}_webhook", f"bot.channels.{channel}")

    @bp.route("/", methods=["GET"])
    async def health(_: Request) -> HTTPResponse:
        return response.json({"status": "ok"})

    @bp.route("/webhook", methods=["GET"])
    async def verify(request: Request) -> HTTPResponse:
        return verify_handshake(request, connector.verify_token, channel)

    async def process_stored(item_id: int, payload: dict[str, Any], app: Any) -> None:
        ledger = get_gate(app).ledger
        try:
            await connector.process(payload, app, on_new_message)
        except Exception as exc:  # the row stays pending: retried after its lease
            logger.exception("%s.inbox_failed id=%s", channel, item_id)
            await asyncio.to_thread(ledger.inbox_failed, item_id, type(exc).__name__)
            return
        await asyncio.to_thread(ledger.inbox_done, item_id)

    def spawn(item_id: int, payload: dict[str, Any], app: Any) -> None:
        connector.tasks.spawn_after(senders(payload), process_stored(item_id, payload, app),
                                    f"{channel}-webhook")

    @bp.route("/webhook", methods=["POST"])
    async def receive(request: Request) -> HTTPResponse:
        error = (check_size(request, connector.max_body_bytes, channel)
                 or check_signature(request, connector.app_secret, channel))
        if error is not None:
            return error
        payload, error = parse_json(request, channel)
        if error is not None or payload is None:
            return error or response.json({"error": "empty body"}, status=400)
        ledger = get_gate(request.app).ledger
        try:  # stored first: only then may Meta stop retrying
            item_id = await asyncio.to_thread(ledger.inbox_add, channel, payload)
        except Exception:
            logger.exception("%s.inbox_store_failed: answering 503 so Meta retries", channel)
            return response.json({"error": "could not store the event; retry"}, status=503)
        spawn(item_id, payload, request.app)
        return response.text("EVENT_RECEIVED")

    async def recover(app: Any) -> int:
        """Process deliveries a previous run (or another replica) stored but never finished."""
        ledger = get_gate(app).ledger
        items = await asyncio.to_thread(ledger.inbox_take, None, 200, channel)
        for item in items:
            logger.warning("%s.inbox_recovered id=%s (stored, never finished)", channel, item.id)
            spawn(item.id, item.payload, app)
        return len(items)

    connector.recover = recover

    @bp.listener("after_server_start")
    async def _recover(app: Any, _loop: Any) -> None:
        async def sweep() -> None:
            while True:
                try:
                    await recover(app)
                except Exception:
                    logger.exception("%s.inbox_sweep_failed", channel)
                # cheap; a delivery held by a process that died is found within seconds
                await asyncio.sleep(max(1.0, get_gate(app).ledger.heartbeat_seconds))

        connector.sweeper = asyncio.get_running_loop().create_task(sweep())

    @bp.listener("before_server_stop")
    async def _finish_in_flight(_app: Any, _loop: Any) -> None:
        sweeper = getattr(connector, "sweeper", None)
        if sweeper is not None:
            sweeper.cancel()
        await asyncio.wait_for(connector.tasks.drain(), timeout=30)

    register_gate_lifecycle(bp, on_new_message)
    return bp


async def handle_once(app: Any, agent: Any, channel: str, sender: str, message_id: str,
                      handle: Any) -> bool:
    """Run ``handle()`` for one inbound Meta message exactly once (shared ledger): False if it was
    handled before (a Meta retry), or is being handled right now. A claim taken over from a
    process that died mid-turn is checked against the tracker: if Rasa already recorded the
    message, the turn happened and is not run again."""
    ledger = get_gate(app).ledger
    claim = await asyncio.to_thread(ledger.claim, channel, sender, message_id)
    if claim.state != "new":
        return False
    if claim.answer == "taken_over" and await recorded_turn(agent, sender, message_id) is not None:
        await asyncio.to_thread(ledger.done, channel, sender, message_id)
        return False
    try:
        await handle()
    except Exception:
        await asyncio.to_thread(ledger.release, channel, sender, message_id)
        raise
    await asyncio.to_thread(ledger.done, channel, sender, message_id)
    return True


async def graph_send(url: str, token: str, body: dict[str, Any], *, channel: str,
                     timeout: float = 10.0) -> tuple[dict[str, Any] | None, int, int | None]:
    """Like :func:`graph_post`, but says why Meta refused: ``(answer, HTTP status, Meta's error
    code)``; status 0 when Meta could not be reached. Used where a refusal changes what is sent
    next (a menu refused as interactive goes as text: :mod:`bot.channels.options`)."""
    import aiohttp

    headers = {"Authorization": f"Bearer {token}"}
    try:
        async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=timeout)) as s:
            async with s.post(url, json=body, headers=headers) as resp:
                text = await resp.text()
                try:
                    data = json.loads(text) if text else {}
                except ValueError:
                    data = {}
                if 200 <= resp.status < 300:
                    return (data if isinstance(data, dict) else {}), resp.status, None
                error = (data.get("error") or {}) if isinstance(data, dict) else {}
                code = error.get("code") if isinstance(error.get("code"), int) else None
                logger.error("%s.send_failed HTTP %s code=%s: %s", channel, resp.status, code,
                             str(error.get("message") or text)[:300])
                return None, resp.status, code
    except (aiohttp.ClientError, asyncio.TimeoutError, OSError) as exc:
        logger.error("%s.send_failed %s: %s", channel, type(exc).__name__, exc)
        return None, 0, None
