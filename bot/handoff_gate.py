"""The hand-off gate: decides, before NLU, whether a shopper message goes to Rasa or to a human.

Rasa 3.6 pauses a conversation with ``ConversationPaused`` but still runs NLU (and records
intents) for every message that arrives while paused, and it has no notion of "an agent is
answering now". Our input channels therefore route each message themselves:

* tracker paused (``action_handoff`` handed it to a person) → the message is forwarded to the
  handoff API (``POST {HANDOFF_API_URL}/api/conversations/{id}/messages``) and Rasa never
  sees it;
* handoff API unreachable / 5xx → the message is written to the SQLite outbox
  (:mod:`bot.outbox`) and a background task (:mod:`bot.outbox_retrier`) retries it with
  backoff — nothing is lost;
* otherwise → the message goes to Rasa as usual.

Issue #11 made the gate own the whole seam, both ways:

* **leaving the queue**: while paused, the text is classified with the loaded NLU model (the Rasa
  agent's interpreter, nothing recorded); "cancelar", "quiero seguir con el bot", "never mind"…
  (intent ``leave_queue``) asks the API to abandon the handoff if it is still queued — then the
  gate resumes the conversation and Rasa answers the message. Once an agent holds it, the text
  goes to the agent;
* **order**: while earlier messages of a conversation wait in the outbox, later ones queue behind
  them (FIFO per conversation);
* **no answer lost**: a message for a conversation whose handoff has closed (404) is handed to
  the bot — the conversation is resumed first if it is still paused, which a paused tracker would
  otherwise swallow; messages refused for good are reported to the handoff API (dead letters);
* **taking the conversation back** (:meth:`HandoffGate.take_back`, called by
  ``bot/channels/handback.py``): resume, let the bot speak on the shopper's channel, answer the
  messages that arrived while the handoff was closing — once per hand-back, whatever the retries.

Every decision is logged with the conversation and message ids (never the text).

The gate is the facade of the seam; its parts: :mod:`bot.handoff_client` (the POSTs to the
handoff API and their outcomes), :mod:`bot.outbox_retrier` (the background delivery of the
outbox) and :mod:`bot.conversation_pause` (reading and lifting the pause in Rasa's tracker).
"""

from __future__ import annotations

import asyncio
import contextlib
import enum
import json
import logging
import os
import time
from collections.abc import Awaitable, Callable
from typing import Any

from rasa.core.channels.channel import CollectingOutputChannel, OutputChannel, UserMessage

from bot import conversation_pause
from bot.channels.identity import client_metadata
from bot.handoff_client import Delivery, HandoffApiClient, split_for_api
from bot.ledger import Ledger
from bot.outbox import Outbox
from bot.outbox_retrier import OutboxRetrier
from bot.outgoing import TurnReplies

logger = logging.getLogger(__name__)

OnNewMessage = Callable[[UserMessage], Awaitable[Any]]


class Route(str, enum.Enum):
    """Where a message went; channels acknowledge with this value."""

    RASA = "rasa"            # handed to Rasa (NLU + dialogue)
    FORWARDED = "forwarded"  # stored by the handoff API for the agent
    QUEUED = "queued"        # handoff API down: stored in the outbox, will be retried


TO_BOT = "to_bot"  # ledger "channel" of messages handed to the bot after a handoff
LEAVE_INTENTS = {"leave_queue", "stop"}  # while queued, "para" / "olvídalo" mean "leave" too
LEAVE_PAYLOAD = "/leave_queue"  # the widget's "back to the assistant" button sends this
LEAVE_CONFIDENCE = float(os.environ.get("ATIENDE_LEAVE_QUEUE_CONFIDENCE", "0.6"))


class HandoffGate:
    """Routes messages of paused conversations away from Rasa; owns the outbox retrier."""

    def __init__(self, client: HandoffApiClient, outbox: Outbox, *,
                 poll_interval: float = 30.0, max_message_bytes: int = 4096,
                 ledger: Ledger | None = None) -> None:
        self.client = client
        self.max_message_bytes = max_message_bytes
        self.outbox = outbox
        self.ledger = ledger or Ledger()
        self.retrier = OutboxRetrier(client, outbox, self.to_bot, poll_interval=poll_interval)
        self._heart: asyncio.Task | None = None
        self.app: Any = None
        self.on_new_message: OnNewMessage | None = None
        # conversations whose hand-back is being applied here: their new messages wait for it
        self._taking_back: dict[str, asyncio.Event] = {}

    @classmethod
    def from_env(cls) -> HandoffGate:
        """Settings from the environment (contract: HANDOFF_API_URL, HANDOFF_BOT_TOKEN)."""
        url = os.environ.get("HANDOFF_API_URL", "http://127.0.0.1:8000")
        token = os.environ.get("HANDOFF_BOT_TOKEN", "")
        if not token:
            logger.warning("handoff_gate.config HANDOFF_BOT_TOKEN is empty: the handoff API "
                           "will refuse forwarded messages (401) outside development")
        return cls(HandoffApiClient(url, token), Outbox())

    def bind(self, app: Any, on_new_message: OnNewMessage | None) -> None:
        """What the retrier and hand-backs need to give messages to Rasa outside a request."""
        self.app = app
        if on_new_message is not None:
            self.on_new_message = on_new_message

    # --- the conversation's state in Rasa ------------------------------------------------

    async def is_paused(self, agent: Any, sender_id: str) -> bool:
        """True when the stored tracker is paused (a human owns the conversation)."""
        return await conversation_pause.is_paused(agent, sender_id)

    async def wants_to_leave(self, agent: Any, text: str) -> bool:
        """Classify ``text`` with the loaded NLU model (not recorded in the tracker)."""
        if text.strip() == LEAVE_PAYLOAD:
            return True
        parse = getattr(agent, "parse_message", None)
        if parse is None or not text.strip() or text.startswith("/"):
            return False
        try:
            data = await parse(text)
        except Exception:
            logger.exception("handoff_gate.classify_failed")
            return False
        intent = (data or {}).get("intent") or {}
        return intent.get("name") in LEAVE_INTENTS and float(intent.get("confidence") or 0) >= \
            LEAVE_CONFIDENCE

    def output_for(self, channel: str) -> OutputChannel:
        """The output channel of input channel ``channel`` (as Rasa's ``output_channel=`` does)."""
        for input_channel in getattr(getattr(self.app, "ctx", None), "input_channels", None) or []:
            if input_channel.name() == channel:
                output = input_channel.get_output_channel()
                if output is not None:
                    return output
        return CollectingOutputChannel()

    # --- routing ---------------------------------------------------------------------

    async def route(self, agent: Any, message: UserMessage, on_new_message: OnNewMessage, *,
                    message_id: str, ts: float | None = None) -> Route:
        """Send ``message`` to the agent side if its conversation is paused, else to Rasa."""
        if self.on_new_message is None:
            self.on_new_message = on_new_message
        sender = message.sender_id
        while (handing_back := self._taking_back.get(sender)) is not None:
            # take_back has resumed the conversation but the bot has not yet said it is back nor
            # answered the messages of the closing window: a new message waits, or it would be
            # answered before them (found by tests/faults: the race against the close)
            await handing_back.wait()
        channel = message.input_channel or "unknown"
        ts = ts if ts is not None else time.time()
        if not await self.is_paused(agent, sender):
            logger.info("handoff_gate.to_rasa sender=%s message_id=%s channel=%s",
                        sender, message_id, channel)
            await on_new_message(message)
            return Route.RASA

        text = message.text or ""
        if await self.wants_to_leave(agent, text):
            answer = await self.client.leave_queue(conversation_id=sender, message_id=message_id,
                                                   text=text[:self.max_message_bytes], ts=ts,
                                                   channel=channel)
            if answer is not None and answer.get("left"):
                await asyncio.to_thread(self.ledger.first_time,
                                        f"resumed:{sender}:{answer.get('handoff_id')}")
                await conversation_pause.resume(agent, sender)
                logger.info("handoff_gate.left_queue sender=%s message_id=%s", sender, message_id)
                # the bot confirms the shopper is out of the queue and carries on
                await on_new_message(UserMessage(
                    '/handoff_ended{"handoff_outcome": "abandoned"}', message.output_channel,
                    sender, input_channel=message.input_channel, message_id=message_id,
                    metadata={**(message.metadata or {}), "left_queue_text": True}))
                return Route.RASA
            if answer is not None:  # an agent has it now: they got the text
                return Route.FORWARDED
        logger.info("handoff_gate.paused sender=%s message_id=%s channel=%s: forwarding",
                    sender, message_id, channel)
        routes = []
        for part_id, part in split_for_api(message_id, text, self.max_message_bytes):
            route = await self._forward(agent, sender, part_id, part, ts, channel)
            if route is Route.RASA:  # no handoff at all: Rasa keeps the whole message
                await conversation_pause.resume(agent, sender)
                await on_new_message(message)
                return Route.RASA
            routes.append(route)
        return Route.QUEUED if Route.QUEUED in routes else Route.FORWARDED

    async def _forward(self, agent: Any, sender: str, message_id: str, text: str, ts: float,
                       channel: str) -> Route:
        if await self.outbox.has_pending(sender):
            # earlier messages of this shopper wait for the API: queue behind them (FIFO), and
            # try them now rather than after their back-off — the agent may be answering
            # already without them (found by tests/faults: after a kill -9 of the API, the
            # shopper's next messages waited behind a back-off the agent did not know about)
            await self.outbox.add(message_id=message_id, conversation_id=sender, channel=channel,
                                  text=text, ts=ts, due_now=True)
            await self.outbox.retry_now(sender)
            self._retry_soon()
            return Route.QUEUED
        outcome, detail = await self.client.post_message(
            conversation_id=sender, message_id=message_id, text=text, ts=ts, channel=channel)
        if outcome in (Delivery.STORED, Delivery.TO_BOT):
            logger.info("handoff_gate.forwarded sender=%s message_id=%s (%s)",
                        sender, message_id, detail)
            if await self.outbox.next_due_in() is not None:  # the API is back: no more waiting
                await self.outbox.retry_now()
                self._retry_soon()
            return Route.FORWARDED
        if outcome is Delivery.NO_HANDOFF:
            # Paused tracker but the API has no open handoff and no hand-back pending: the pause
            # is stale. Resume and let the bot answer: a paused tracker would swallow it.
            logger.warning("handoff_gate.no_open_handoff sender=%s message_id=%s: tracker is "
                           "paused but the handoff API has no open handoff; resuming the bot",
                           sender, message_id)
            return Route.RASA
        # UNAVAILABLE or REJECTED: keep it durably. A REJECTED one is stored as dead and
        # reported so agents and operators see it; an unavailable one is retried.
        rejected = outcome is Delivery.REJECTED
        await self.outbox.add(message_id=message_id, conversation_id=sender, channel=channel,
                              text=text, ts=ts, error=detail,
                              status="dead" if rejected else "pending")
        self.retrier.saw(outcome, detail)
        self._retry_soon()
        if rejected:
            logger.error("handoff_gate.rejected sender=%s message_id=%s (%s): kept in outbox "
                         "as dead", sender, message_id, detail)
            return Route.QUEUED
        logger.warning("handoff_gate.queued sender=%s message_id=%s (%s): handoff API "
                       "unavailable, stored in outbox %s", sender, message_id, detail,
                       self.outbox.path)
        return Route.QUEUED

    # --- giving messages to the bot outside a request ----------------------------------

    async def to_bot(self, conversation_id: str, channel: str, message_id: str, text: str,
                     metadata: dict[str, Any] | None = None) -> bool:
        """Give one shopper message to Rasa on the shopper's channel, once (shared ledger)."""
        agent = getattr(getattr(self.app, "ctx", None), "agent", None)
        if self.on_new_message is None or agent is None:
            logger.error("handoff_gate.to_bot_unavailable sender=%s message_id=%s: no Rasa "
                         "agent bound yet", conversation_id, message_id)
            return False
        # Its own key: the message was already claimed (and marked done) under ``channel`` when it
        # arrived and went to the agent; under that key it would be skipped here and lost.
        key = (TO_BOT, conversation_id, message_id)
        claim = await asyncio.to_thread(self.ledger.claim, *key)
        if claim.state != "new":
            return True
        if await conversation_pause.recorded_turn(agent, conversation_id, message_id) is not None:
            # its turn ran before a crash, or before a cancellation released the claim
            await asyncio.to_thread(self.ledger.done, *key)
            return True
        await conversation_pause.resume(agent, conversation_id)
        output = self.output_for(channel)
        if hasattr(output, "replies"):  # Meta channels: a re-run does not send again (bot/outgoing)
            output.replies = TurnReplies(self.ledger.outgoing, *key)
        message = UserMessage(text, output, conversation_id,
                              input_channel=channel, message_id=message_id,
                              # built here from the API's hand-back, never a verified identity
                              metadata={"message_id": message_id, **client_metadata(metadata)})
        try:
            await self.on_new_message(message)
        except BaseException:  # cancelled too: a claim left "processing" was skipped, lost
            await asyncio.to_thread(self.ledger.release, *key)
            raise
        await asyncio.to_thread(self.ledger.done, *key)
        return True

    async def take_back(self, body: dict[str, Any]) -> str:
        """Apply one hand-back from the handoff API (idempotent by ``outbox_id``): resume the
        conversation, let the bot say it is back (``handoff_ended`` with the outcome), then give
        it the shopper messages nobody answered. Returns ``done`` or ``already``."""
        # scoped by conversation: outbox and handoff ids are the API database's own and start
        # again at 1 in another database (the fault suite on PostgreSQL found a hand-back skipped
        # as "already" because a SQLite hand-back had had the same outbox id)
        key = f"handback:{body['conversation_id']}:{body['outbox_id']}"
        if await asyncio.to_thread(self.ledger.seen, key):
            return "already"
        cid = str(body["conversation_id"])
        while (earlier := self._taking_back.get(cid)) is not None:
            await earlier.wait()  # two hand-back rows of one conversation: in order
        done = self._taking_back[cid] = asyncio.Event()
        try:
            return await self._take_back(body, key)
        finally:
            del self._taking_back[cid]
            done.set()

    async def _take_back(self, body: dict[str, Any], key: str) -> str:
        agent = getattr(getattr(self.app, "ctx", None), "agent", None)
        cid, outcome = str(body["conversation_id"]), str(body["outcome"])
        channel = str(body.get("channel") or "socketio")
        if outcome != "messages":
            resumed = await conversation_pause.resume(agent, cid)
            resumed_here = await asyncio.to_thread(self.ledger.seen,
                                                   f"resumed:{cid}:{body.get('handoff_id')}")
            if resumed or not resumed_here:
                payload = json.dumps({"handoff_outcome": outcome})
                meta = {"handoff": {k: body.get(k) for k in (
                    "handoff_id", "outcome", "answer_due_at", "contact")}}
                await self.to_bot(cid, channel, f"handback-{body['outbox_id']}",
                                  f"/handoff_ended{payload}", meta)
        for item in body.get("messages") or []:
            await self.to_bot(cid, channel, str(item["message_id"]), str(item["text"]),
                              {"rerouted_from_handoff": body.get("handoff_id")})
        await asyncio.to_thread(self.ledger.first_time, key)
        return "done"

    # --- background tasks: the outbox retrier (bot/outbox_retrier.py), the heartbeat -------

    def start(self) -> None:
        """Start the background retrier and the ledger heartbeat (idempotent; needs a running
        event loop)."""
        loop = asyncio.get_running_loop()
        self.retrier.start()
        if self._heart is None or self._heart.done():
            self._heart = loop.create_task(self._heartbeat())

    def _retry_soon(self) -> None:
        """The outbox has work: the retrier (started if need be) looks at it now."""
        self.start()
        self.retrier.wake()

    async def close(self) -> None:
        """Stop the retrier and the heartbeat; pending items stay in SQLite for the next start."""
        await self.retrier.close()
        if self._heart is not None:
            self._heart.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._heart
        self._heart = None
        close = getattr(self.client, "close", None)  # test doubles may have none
        if close is not None:
            await close()

    async def _heartbeat(self) -> None:
        """Tell the shared ledger this process is alive, so what a killed process held is taken
        over in seconds (see :meth:`bot.ledger.Ledger.beat`)."""
        while True:
            try:
                await asyncio.to_thread(self.ledger.beat)
            except Exception:  # the ledger database blipped: try again next beat
                logger.warning("handoff_gate.heartbeat_failed")
            await asyncio.sleep(self.ledger.heartbeat_seconds)


def get_gate(app: Any) -> HandoffGate:
    """The gate of a Sanic app (one per app, shared by all our channels)."""
    gate = getattr(app.ctx, "atiende_gate", None)
    if gate is None:
        gate = HandoffGate.from_env()
        app.ctx.atiende_gate = gate
    return gate


def register_gate_lifecycle(blueprint: Any, on_new_message: OnNewMessage | None = None) -> None:
    """Start the retrier with the server (flushing leftovers of a previous run), stop it after.
    Before the server takes traffic, the NLU's models are warmed up (bot/rasa_speedups.py)."""

    @blueprint.listener("before_server_start")
    async def _warm_up(_app: Any, _loop: Any) -> None:
        from bot.rasa_speedups import warm_up_nlu

        try:
            await asyncio.to_thread(warm_up_nlu)
        except Exception:  # a missing model package shows up, clearly, on the first message
            logger.exception("handoff_gate.warm_up_failed")

    @blueprint.listener("after_server_start")
    async def _start_gate(app: Any, _loop: Any) -> None:
        gate = get_gate(app)
        gate.bind(app, on_new_message)
        gate.start()

    @blueprint.listener("before_server_stop")
    async def _stop_gate(app: Any, _loop: Any) -> None:
        await get_gate(app).close()
