"""Per-stage timings of a shopper's turn, for ``bench/turn_latency.py``. Off unless
``ATIENDE_TIMING_DIR`` is set.

When it is set, each process (Rasa server, action server) wraps the functions where a turn spends
its time — the hand-off gate, the Rasa lock and processor, NLU, the policies, every call to the
action server, the tracker store, the ledger, KB search, the store, the handoff API — and appends
one JSON line per call to ``$ATIENDE_TIMING_DIR/<process>-<pid>.jsonl``::

    {"s": "nlu", "ms": 11.2, "tag": "kb"}

``tag`` is the conversation kind of a benchmark shopper (sender ids ``bench-<kind>-…``) and empty
for everyone else: no conversation id, text or other personal data is ever written. The wrappers
are installed at start-up by ``bot.timing_hooks`` (Rasa) and ``actions.timing_hooks`` (action
server); with the setting unset nothing is wrapped and this module costs nothing.

Shared by both environments (Python 3.10 and 3.11): standard library only.
"""

from __future__ import annotations

import collections
import contextvars
import functools
import gc
import inspect
import json
import os
import threading
import time
from collections.abc import Callable
from typing import Any

ENV = "ATIENDE_TIMING_DIR"
BENCH_PREFIX = "bench-"

#: The benchmark kind of the conversation being handled (set by the outermost wrapper).
TAG: contextvars.ContextVar[str] = contextvars.ContextVar("atiende_timing_tag", default="")


def enabled() -> bool:
    return bool(os.environ.get(ENV))


def tag_of(sender_id: Any) -> str:
    """``kb`` for ``bench-kb-12-3``; empty for any other sender (never the id itself)."""
    if isinstance(sender_id, str) and sender_id.startswith(BENCH_PREFIX):
        return sender_id[len(BENCH_PREFIX):].split("-", 1)[0][:20]
    return ""


FLUSH_SECONDS = 0.5


class _Sink:
    """One append-only JSON-lines file per process, written in blocks: a background thread
    flushes it every :data:`FLUSH_SECONDS`, so recording costs the measured call a few
    microseconds and no system call."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._file: Any = None
        self._pid = 0

    def write(self, record: dict[str, Any]) -> None:
        line = json.dumps(record, separators=(",", ":")) + "\n"
        with self._lock:
            if self._file is None or self._pid != os.getpid():
                directory = os.environ.get(ENV)
                if not directory:
                    return
                os.makedirs(directory, exist_ok=True)
                name = os.environ.get("ATIENDE_TIMING_PROCESS") or "proc"
                self._file = open(  # noqa: SIM115 - kept open for the process's life
                    os.path.join(directory, f"{name}-{os.getpid()}.jsonl"), "a",
                    encoding="utf-8")
                self._pid = os.getpid()
                threading.Thread(target=self._flusher, name="atiende-timing", daemon=True
                                 ).start()
            self._file.write(line)

    def flush(self) -> None:
        _write_gc_pauses()  # outside the lock (see _gc_pauses)
        with self._lock:
            if self._file is not None:
                self._file.flush()

    def _flusher(self) -> None:
        while True:
            time.sleep(FLUSH_SECONDS)
            self.flush()


_SINK = _Sink()


def record(stage: str, ms: float, tag: str | None = None) -> None:
    _SINK.write({"s": stage, "ms": round(ms, 3), "tag": TAG.get() if tag is None else tag})


def timed(stage: str, fn: Callable[..., Any],
          sender: Callable[..., Any] | None = None) -> Callable[..., Any]:
    """``fn`` (sync or async) that records its duration under ``stage``. ``sender(*args,
    **kwargs)`` returns the conversation id, which sets :data:`TAG` for nested calls."""

    def _tag(args: tuple, kwargs: dict) -> tuple[str | None, Any]:
        if sender is None:
            return None, None
        try:
            found = tag_of(sender(*args, **kwargs))
        except Exception:  # a wrapper must never break the call it measures
            return None, None
        return found, TAG.set(found)

    if inspect.iscoroutinefunction(fn):
        @functools.wraps(fn)
        async def async_wrapper(*args: Any, **kwargs: Any) -> Any:
            tag, token = _tag(args, kwargs)
            started = time.perf_counter()
            try:
                return await fn(*args, **kwargs)
            finally:
                record(stage, (time.perf_counter() - started) * 1000, tag)
                if token is not None:
                    TAG.reset(token)

        async_wrapper.__atiende_timed__ = True  # type: ignore[attr-defined]
        return async_wrapper

    @functools.wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        tag, token = _tag(args, kwargs)
        started = time.perf_counter()
        try:
            return fn(*args, **kwargs)
        finally:
            record(stage, (time.perf_counter() - started) * 1000, tag)
            if token is not None:
                TAG.reset(token)

    wrapper.__atiende_timed__ = True  # type: ignore[attr-defined]
    return wrapper


def wrap(owner: Any, attribute: str, stage: str,
         sender: Callable[..., Any] | None = None) -> None:
    """Replace ``owner.attribute`` by its timed version (once: re-installing is a no-op)."""
    fn = owner.__dict__.get(attribute) if isinstance(owner, type) else getattr(owner, attribute)
    if fn is None:
        fn = getattr(owner, attribute)
    if isinstance(fn, staticmethod):
        fn = fn.__func__
        if not getattr(fn, "__atiende_timed__", False):
            setattr(owner, attribute, staticmethod(timed(stage, fn, sender)))
        return
    if getattr(fn, "__atiende_timed__", False):
        return
    setattr(owner, attribute, timed(stage, fn, sender))


_gc_started: list[float] = []
#: collections waiting to be written: a gc callback may run while this thread holds the sink's
#: lock (any allocation can start a collection), so it only appends here; the flusher writes
_gc_pauses: collections.deque[tuple[str, float, float, int]] = collections.deque(maxlen=100_000)


def _on_gc(phase: str, info: dict[str, Any]) -> None:
    if phase == "start":
        _gc_started[:] = [time.perf_counter()]
    elif _gc_started:
        ms = (time.perf_counter() - _gc_started.pop()) * 1000
        _gc_pauses.append((f"gc.{info.get('generation', '?')}", ms, time.time(),
                           gc.get_freeze_count()))


def watch_gc() -> None:
    """Record every garbage collection of this process as stage ``gc.<generation>`` (no tag:
    a pause of the whole process, every conversation on its event loop waits for it), with
    when it ended and how many objects were frozen (``gc.freeze``) then."""
    if enabled() and _on_gc not in gc.callbacks:
        gc.callbacks.append(_on_gc)


def _write_gc_pauses() -> None:
    while _gc_pauses:
        stage, ms, at, frozen = _gc_pauses.popleft()
        _SINK.write({"s": stage, "ms": round(ms, 3), "tag": "", "at": round(at, 3),
                     "frozen": frozen})
