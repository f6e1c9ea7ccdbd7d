"""The outbox retrier: delivers what the hand-off gate could not forward at once.

Messages of paused conversations that the handoff API did not take (unreachable, 5xx) wait in
the SQLite outbox (:mod:`bot.outbox`); this background task tries the oldest due item of each
conversation with backoff, until the API stores it. An item whose handoff has closed meanwhile
(404) is given to the bot instead; one refused for good is kept as dead and reported to the
handoff API as a dead letter. Started and stopped by the gate (:mod:`bot.handoff_gate`).

While items wait out a long back-off because the API could not be reached at all (killed,
restarting, network), the retrier asks its ``/health`` every ``probe_interval`` seconds and
tries them at once when it answers: after a 10-minute outage the back-off has grown to minutes,
and the agent, back at the console, would otherwise answer without what the shopper wrote
meanwhile (found by tests/faults: an agent closed the handoff before the message arrived).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable

from bot.handoff_client import Delivery, HandoffApiClient
from bot.outbox import Outbox

# the gate's own log: its events are named ``handoff_gate.*`` wherever they happen
logger = logging.getLogger("bot.handoff_gate")

#: Gives one message to the bot: (conversation id, channel, message id, text) -> done.
ToBot = Callable[[str, str, str, str], Awaitable[bool]]


class OutboxRetrier:
    """One background task per gate that empties the outbox into the handoff API."""

    def __init__(self, client: HandoffApiClient, outbox: Outbox, to_bot: ToBot, *,
                 poll_interval: float = 30.0, probe_interval: float = 2.0) -> None:
        self.client = client
        self.outbox = outbox
        self.to_bot = to_bot
        self.poll_interval = poll_interval
        self.probe_interval = probe_interval
        # the last try could not reach the API at all (not a 5xx: that one keeps its back-off)
        self.unreachable = False
        self._task: asyncio.Task | None = None
        self._wake = asyncio.Event()

    def start(self) -> None:
        """Start the retry loop (idempotent; needs a running event loop)."""
        if self._task is None or self._task.done():
            self._task = asyncio.get_running_loop().create_task(self._retry_loop())

    def wake(self) -> None:
        """Look at the outbox now rather than at the next due time."""
        self._wake.set()

    async def close(self) -> None:
        """Stop the loop; pending items stay in the outbox for the next start."""
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
        self._task = None

    async def flush_once(self) -> int:
        """Try every due outbox item once (the oldest of each conversation); returns how many
        were delivered (to the API or, when the handoff had closed, to the bot)."""
        delivered = 0
        for item in await self.outbox.due():
            outcome, detail = await self.client.post_message(
                conversation_id=item.conversation_id, message_id=item.message_id,
                text=item.text, ts=item.ts, channel=item.channel)
            self.saw(outcome, detail)
            if outcome in (Delivery.STORED, Delivery.TO_BOT):
                await self.outbox.mark_delivered(item.id)
                delivered += 1
                logger.info("handoff_gate.outbox_delivered sender=%s message_id=%s after %d "
                            "attempt(s)", item.conversation_id, item.message_id,
                            item.attempts + 1)
            elif outcome is Delivery.UNAVAILABLE:
                delay = await self.outbox.retry_later(item.id, item.attempts + 1, detail)
                logger.warning("handoff_gate.outbox_retry sender=%s message_id=%s attempt=%d "
                               "next_in=%.1fs (%s)", item.conversation_id, item.message_id,
                               item.attempts + 1, delay, detail)
            elif outcome is Delivery.NO_HANDOFF:
                # the handoff closed while the API was down: the bot answers it now
                if await self.to_bot(item.conversation_id, item.channel, item.message_id,
                                     item.text):
                    await self.outbox.mark_to_bot(item.id)
                    delivered += 1
                    logger.info("handoff_gate.outbox_to_bot sender=%s message_id=%s",
                                item.conversation_id, item.message_id)
                else:
                    await self.outbox.retry_later(item.id, item.attempts + 1, detail)
            else:  # REJECTED: retrying cannot help; agents and operators are told
                await self.outbox.mark_dead(item.id, detail)
                logger.error("handoff_gate.outbox_dead sender=%s message_id=%s (%s)",
                             item.conversation_id, item.message_id, detail)
        if delivered:  # the API answers again: what other conversations wait goes now too
            await self.outbox.retry_now()
        for item, reason in await self.outbox.unreported_dead():
            if await self.client.post_dead_letter(item, reason):
                await self.outbox.mark_reported(item.id)
        return delivered

    def saw(self, outcome: Delivery, detail: str) -> None:
        """Note the outcome of a POST to the API (the retrier's or the gate's): unreachable
        when no HTTP answer came back at all."""
        self.unreachable = outcome is Delivery.UNAVAILABLE and not detail.startswith("HTTP")

    async def probe(self) -> int:
        """Ask the API whether it is back; if so, make every waiting item due now. Returns how
        many were made due (0 while the API is still unreachable)."""
        if not await self.client.is_up():
            return 0
        self.unreachable = False
        due = await self.outbox.retry_now()
        logger.info("handoff_gate.api_back retrying=%d", due)
        return due

    async def _sleep(self, seconds: float) -> bool:
        """Wait ``seconds`` or until woken; True when woken."""
        self._wake.clear()
        try:
            await asyncio.wait_for(self._wake.wait(), timeout=max(seconds, 0.01))
        except asyncio.TimeoutError:
            return False
        return True

    async def _retry_loop(self) -> None:
        logger.info("handoff_gate.retrier_started outbox=%s", self.outbox.path)
        while True:
            try:
                await self.flush_once()
                wait = await self.outbox.next_due_in()
            except Exception:  # never let the retrier die on a transient SQLite error
                logger.exception("handoff_gate.retrier_error")
                wait = None
            if wait is not None and self.unreachable and wait > self.probe_interval:
                if not await self._sleep(self.probe_interval):
                    with contextlib.suppress(Exception):  # a probe never stops the retrier
                        await self.probe()
                continue
            await self._sleep(self.poll_interval if wait is None
                              else min(wait, self.poll_interval))
