"""Admission control for bot turns on the web channels (REST, socket.io): no client can stall the
others.

One Rasa process answers ~3–10 turns/s on this machine; 50 clients posting turns at once used to
queue inside Rasa (its event loop, its lock store) with nothing in front: another shopper's
greeting waited behind the whole flood (bench/rasa_flood.py: p99 8.4 s, half the flood timed out
after 30 s). Now a turn must be admitted first:

* at most ``ATIENDE_TURNS_IN_PROGRESS`` turns run at once (``0`` turns admission off);
* at most ``ATIENDE_TURNS_WAITING`` more wait for a slot, for at most
  ``ATIENDE_TURNS_WAIT_SECONDS``;
* one client (:func:`contracts.client_address.client_address`: the connecting address, or the
  ``X-Forwarded-For`` one behind a proxy listed in ``FORWARDED_ALLOW_IPS`` — the rule and setting
  uvicorn applies for the handoff API) holds at most ``ATIENDE_TURNS_PER_CLIENT`` of them, running
  or waiting;
* **human pace first**: waiting turns are served, and a full queue is taken, by their arrival
  moved earlier by how long their client had been quiet before writing (no request of its own
  in progress), capped at a minute; clients at the same pace are served in arrival order. A
  shopper who types between messages is quiet for seconds; a flooder re-posts at once (or after the
  ``Retry-After`` it was told). When the queue is full, a newcomer quieter than the least quiet
  waiting turn takes its place and that turn is refused.

A refused turn is answered at once (or after its wait) with ``429``, ``Retry-After``
(``ATIENDE_TURNS_RETRY_AFTER`` seconds) and a polite text in the shopper's language; it has not
reached Rasa, so the client resends it (with the same ``message_id`` the ledger still runs it
exactly once). Health and status routes are not turns: they never wait here.

In memory, per process: each replica admits its own turns.
"""

from __future__ import annotations

import asyncio
import itertools
import os
import time
from collections import Counter
from collections.abc import AsyncIterator, Callable, Mapping
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Any

from contracts.client_address import TrustedProxies, client_address

QUIET_CAP_SECONDS = 60.0  # a client never seen (or quiet longer) ranks as quiet as this


@dataclass(frozen=True)
class AdmissionSettings:
    in_progress: int = 2  # 0: no admission control
    # enough to absorb a burst of shoppers (a queue drains at ~3-15 turns/s); a flood cannot use
    # it against the others: quieter clients go first and take a full queue's places
    waiting: int = 32
    per_client: int = 3
    wait_seconds: float = 3.0
    retry_after: int = 2
    proxies: TrustedProxies = field(default_factory=TrustedProxies)  # FORWARDED_ALLOW_IPS

    @classmethod
    def from_env(cls, env: Mapping[str, str]) -> AdmissionSettings:
        def number(name: str, default: float, kind: Callable[[str], Any] = int) -> Any:
            raw = (env.get(name) or "").strip()
            try:
                value = kind(raw) if raw else default
            except ValueError:
                raise SystemExit(f"rasa: {name}={raw!r} is not a number") from None
            if value < 0:
                raise SystemExit(f"rasa: {name} must not be negative")
            return value

        return cls(in_progress=number("ATIENDE_TURNS_IN_PROGRESS", cls.in_progress),
                   waiting=number("ATIENDE_TURNS_WAITING", cls.waiting),
                   per_client=max(1, number("ATIENDE_TURNS_PER_CLIENT", cls.per_client)),
                   wait_seconds=number("ATIENDE_TURNS_WAIT_SECONDS", cls.wait_seconds, float),
                   retry_after=max(1, number("ATIENDE_TURNS_RETRY_AFTER", cls.retry_after)),
                   proxies=TrustedProxies.from_env(env))


class Refused(Exception):
    """The turn was not admitted: ``reason`` is ``over_share`` (this client already has its share)
    or ``busy`` (queue full, pushed out by a quieter client, or waited too long)."""

    def __init__(self, reason: str, retry_after: int) -> None:
        super().__init__(f"{reason}; retry in {retry_after} s")
        self.reason, self.retry_after = reason, retry_after

    @property
    def error(self) -> str:
        """The reason, for a client's log (the shopper reads :attr:`text_key`)."""
        return ("too many turns from this client at once" if self.reason == "over_share"
                else "the bot is answering too many people right now")

    @property
    def text_key(self) -> str:
        """The catalogue text (bot/channels/texts.py) the shopper is told."""
        return "slow_down" if self.reason == "over_share" else "busy"


@dataclass(eq=False)
class _Waiter:
    client: str
    quiet: float
    seq: int
    future: asyncio.Future = field(repr=False)
    arrived: float = 0.0

    @property
    def rank(self) -> tuple[float, int]:  # higher is served first
        # arrival, moved earlier by how long the client had been quiet: turns of clients at the
        # same pace are served in arrival order (none waits out behind a stream of others a few
        # ms quieter, as ranking by quietness alone let happen: 20 closed-loop shoppers had 80 of
        # 583 turns refused), and a shopper quiet for 10 s goes ahead of every flooder's turn of
        # the last 10 s
        return (self.quiet - self.arrived, -self.seq)


class TurnAdmission:
    """See the module docstring. One per Sanic app (:func:`get_admission`)."""

    def __init__(self, settings: AdmissionSettings,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.settings, self.clock = settings, clock
        self.active = 0
        self.waiting: list[_Waiter] = []
        self.counts: Counter = Counter()  # admitted, over_share, busy, pushed_out, waited_out
        self._clients: Counter = Counter()  # turns of a client, running or waiting
        self._quiet_since: dict[str, float] = {}  # when its last turn ended (or was refused)
        self._seq = itertools.count()

    @property
    def enabled(self) -> bool:
        return self.settings.in_progress > 0

    def client_of(self, request: Any) -> str:
        """The client of a Sanic request (peer address, or forwarded by a trusted proxy)."""
        return client_address(request.ip, request.headers.getall("x-forwarded-for", []),
                              self.settings.proxies)

    @asynccontextmanager
    async def turn(self, client: str) -> AsyncIterator[None]:
        """Hold an admitted turn for ``client``; raises :class:`Refused` when not admitted."""
        if not self.enabled:
            yield
            return
        await self._enter(client)
        try:
            yield
        finally:
            self._leave(client)

    def _quiet(self, client: str, now: float) -> float:
        if self._clients[client]:
            return 0.0
        since = self._quiet_since.get(client)
        return QUIET_CAP_SECONDS if since is None else min(now - since, QUIET_CAP_SECONDS)

    def _refuse(self, client: str, reason: str, count: str) -> Refused:
        self.counts[count] += 1
        self._ended(client)
        return Refused(reason, self.settings.retry_after)

    async def _enter(self, client: str) -> None:
        s, now = self.settings, self.clock()
        quiet = self._quiet(client, now)
        if self._clients[client] >= s.per_client:
            raise self._refuse(client, "over_share", "over_share")
        if self.active < s.in_progress and not self.waiting:
            self.active += 1
            self._clients[client] += 1
            self.counts["admitted"] += 1
            return
        waiter = _Waiter(client, quiet, next(self._seq), asyncio.get_running_loop().create_future(),
                         arrived=now)
        if len(self.waiting) >= s.waiting:
            worst = min(self.waiting, key=lambda w: w.rank, default=None)
            if worst is None or worst.rank >= waiter.rank:
                raise self._refuse(client, "busy", "busy")
            self.waiting.remove(worst)
            self._clients[worst.client] -= 1
            self.counts["pushed_out"] += 1
            worst.future.set_exception(Refused("busy", s.retry_after))
        self.waiting.append(waiter)
        self._clients[client] += 1
        try:
            await asyncio.wait({waiter.future}, timeout=s.wait_seconds)
        except asyncio.CancelledError:  # the client hung up while waiting
            if waiter.future.done() and not waiter.future.cancelled() \
                    and waiter.future.exception() is None:
                self._leave(client)  # a slot had been handed to it: hand it on
            else:
                self._withdraw(waiter)
            raise
        if not waiter.future.done():
            self._withdraw(waiter)
            raise self._refuse(client, "busy", "waited_out")
        if waiter.future.exception() is not None:  # pushed out by a quieter client
            self._ended(client)
            raise waiter.future.exception()
        self.counts["admitted"] += 1  # the slot was handed over by _leave

    def _withdraw(self, waiter: _Waiter) -> None:
        if waiter in self.waiting:
            self.waiting.remove(waiter)
            self._clients[waiter.client] -= 1
        if not waiter.future.done():
            waiter.future.cancel()
        self._ended(waiter.client)

    def _ended(self, client: str) -> None:
        if self._clients[client] <= 0:
            self._clients.pop(client, None)
        self._quiet_since[client] = self.clock()
        if len(self._quiet_since) > 50_000:  # forget clients quiet for long
            horizon = self.clock() - QUIET_CAP_SECONDS
            for key in [k for k, v in self._quiet_since.items() if v < horizon]:
                del self._quiet_since[key]

    def _leave(self, client: str) -> None:
        self._clients[client] -= 1
        self._ended(client)
        while self.waiting:  # hand the slot to the quietest waiting turn
            best = max(self.waiting, key=lambda w: w.rank)
            self.waiting.remove(best)
            if not best.future.done():
                best.future.set_result(True)
                return
            self._clients[best.client] -= 1
        self.active -= 1


def get_admission(app: Any) -> TurnAdmission:
    """The admission of a Sanic app, shared by its web channels (settings from the environment
    unless a test put one in ``app.ctx.atiende_admission``)."""
    admission = getattr(app.ctx, "atiende_admission", None)
    if admission is None:
        admission = TurnAdmission(AdmissionSettings.from_env(os.environ))
        app.ctx.atiende_admission = admission
    return admission
