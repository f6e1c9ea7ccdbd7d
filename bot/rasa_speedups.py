"""Rasa 3.6 work that is repeated on every turn although its result never changes, done once.

Measured with ``bench/turn_latency.py`` and py-spy on the Rasa server (reports/perf/README.md):

* **the action server's answer is checked against a JSON schema that is re-checked every time.**
  ``RemoteAction._validate_action_result`` calls ``jsonschema.validate``, which validates the
  *schema itself* against the JSON Schema meta-schema and builds a new validator before it looks at
  the answer — on every call to the action server (two or more per turn). That was about 30 % of the
  Rasa process's CPU time per turn. Here the validator is built and the schema checked once; every
  answer is still validated, and a bad one raises the same ``ValidationError`` with the same
  message, so Rasa rejects it exactly as before.

* **the first shopper after a start-up waited for the NLU's models, and so did everyone else.**
  The USE encoder runs for the first time in about 7 s and lingua loads its language models on
  the first message it is asked about (1-3 s); both happened inside a shopper's turn, on the event
  loop, so every conversation of the process stalled with it. :func:`warm_up_nlu` does both before
  the server takes traffic (``bot.handoff_gate.register_gate_lifecycle``).

* **every tracker read and write opened a new SQLite connection, and every write waited for the
  disk.** SQLAlchemy 1.4 (Rasa's) gives file SQLite databases no connection pool, and the
  tracker database was in SQLite's default rollback-journal mode with ``synchronous=FULL``: each
  save (one or two per turn) fsync'ed the journal and the database, on the event loop.
  :func:`sqlite_engine` keeps a small pool of connections in WAL mode with
  ``synchronous=NORMAL`` — the settings ``bot/ledger.py`` already uses: a committed turn survives
  a crash or ``kill -9`` of any process; only a power cut or OS crash can lose the last commits
  (never corrupt the file). PostgreSQL (production endpoints) is not touched.

* **every call to the action server opened a new HTTP connection.** ``EndpointConfig.request``
  builds a new ``aiohttp.ClientSession`` (a new connector, a new TCP connection) for each call.
  :func:`kept_session` keeps one session per endpoint and event loop, with keep-alive connections
  dropped after :data:`KEEPALIVE_SECONDS` idle — shorter than the server side's, so a
  connection the server is about to close is never reused (rasa-sdk keeps idle connections
  120 s; a load balancer in between typically 30-60 s).

* **the event log committed every event on its own, on a new connection, synced to disk.**
  ``bot.event_log.EventLogBroker`` (Rasa's SQL event broker) got one ``publish`` per event (5-10
  per turn), each a new SQLite connection and an fsync'ed commit on the event loop: ~20 % of
  the Rasa process. Now the events of one save go in one transaction
  (``DurableSQLTrackerStore._stream_new_events`` → ``publish_many``) on a kept connection in
  WAL mode with ``synchronous=NORMAL`` (what the handoff API uses for the same file).

* **Rasa's debug messages were rendered and written at ``LOG_LEVEL=INFO``** (~10 per turn, some
  with all the slots of the tracker): :func:`filter_structlog` gives structlog the server's level,
  as ``rasa run`` does.

* **TED ran TensorFlow for dialogue states it had already seen.** ``bot/policy_cache.py`` keeps
  its predictions keyed by the exact states it featurizes (an exact cache: same states, same
  network input, same output).

* **the channel and the gate rebuilt the tracker to look at one slot and one flag.**
  ``bot/tracker_peek.py`` (part ``read_cache``): a look asks the database for the conversation's
  signature (rows, last id, last timestamp) and reuses the tracker read or saved for exactly that
  signature.

* **every saved event was an ORM object.** ``bot/event_insert.py`` (part ``core_insert``):
  the same rows in one Core ``INSERT`` (executemany).

* **the 25 KB domain went with every call to the action server.** ``bot/domain_digest.py``
  (part ``domain_digest``): a digest instead, once the action server holds that domain
  (rasa-sdk's own protocol: it answers 449 when it does not, and the call is sent again with it).

* **every policy replayed the conversation to build the same dialogue states.**
  ``bot/policy_cache.py`` (part ``shared_states``): within one prediction each distinct
  ``Domain.states_for_tracker_history`` question is answered once, every caller getting a copy.

* **every save asked the database what it had just read.** ``bot/stored_count.py``: a save uses
  the event count its tracker's read found under the conversation's lock, instead of Rasa's
  ``count()`` and the event broker's read-back of the whole tracker.

The replacements are installed once per process by ``bot.tracker_store.DurableSQLTrackerStore``
(every Rasa server we run builds one; ``rasa test`` and training do not call the action
server). Each replacement is checked against the Rasa version it was written for: with another
version nothing is replaced and a warning says so. ``ATIENDE_RASA_SPEEDUPS=0`` turns all of this
off (stock Rasa behaviour), which is how ``bench/turn_latency.py`` compares before and after;
``ATIENDE_RASA_SPEEDUPS_OFF`` turns off some of the later ones (:data:`PARTS`). The NLU's exact
shortcuts (``use_cache``, ``similarity_cache``, ``lr_layout``) live with the components, in
``bot/components/nlu_speedups.py``, and obey the same two variables.
"""

from __future__ import annotations

import functools
import logging
import os
import re
import time
from typing import Any

from bot.action_result import fast_valid

logger = logging.getLogger(__name__)

RASA_VERSION = "3.6."
_installed = False
_warmed = False
_fast_validation = False  # install(): enabled("action_validation")
#: Rasa's own functions, replaced by install() (for tests and comparisons)
STOCK: dict[str, Any] = {}


@functools.lru_cache(maxsize=1)
def action_result_validator() -> Any:
    """The validator of ``RemoteAction.action_response_format_spec()``, its schema checked once
    (as ``jsonschema.validate`` does on every call)."""
    from jsonschema.validators import validator_for
    from rasa.core.actions.action import RemoteAction

    schema = RemoteAction.action_response_format_spec()
    cls = validator_for(schema)
    cls.check_schema(schema)
    return cls(schema)


def validate_action_result(self: Any, result: dict[str, Any]) -> bool:
    """``RemoteAction._validate_action_result`` with the cached validator (same errors)."""
    if _fast_validation and fast_valid(result):  # valid for sure (bot/action_result.py)
        return True
    from jsonschema.exceptions import best_match
    from rasa.shared.constants import DOCS_BASE_URL

    error = best_match(action_result_validator().iter_errors(result))
    if error is not None:
        error.message += (
            f". Failed to validate Action server response from API, "
            f"make sure your response from the Action endpoint is valid. "
            f"For more information about the format visit "
            f"{DOCS_BASE_URL}/custom-actions"
        )
        raise error
    return True


KEEPALIVE_SECONDS = 10.0


class _KeptSession:
    """``async with`` gives the shared session and leaves it open for the next call."""

    def __init__(self, session: Any) -> None:
        self._session = session

    async def __aenter__(self) -> Any:
        return self._session

    async def __aexit__(self, *_exc: Any) -> None:
        return None


def kept_session(self: Any) -> Any:
    """``EndpointConfig.session`` that reuses one session (and its connections) per endpoint and
    event loop; same headers, auth and timeout as Rasa's."""
    import asyncio

    import aiohttp

    loop = asyncio.get_running_loop()
    session = getattr(self, "_atiende_session", None)
    if session is None or session.closed or getattr(session, "_loop", None) is not loop:
        auth = None
        if self.basic_auth:
            auth = aiohttp.BasicAuth(self.basic_auth["username"], self.basic_auth["password"])
        from rasa.utils.endpoints import DEFAULT_REQUEST_TIMEOUT

        session = aiohttp.ClientSession(
            headers=self.headers, auth=auth,
            timeout=aiohttp.ClientTimeout(total=DEFAULT_REQUEST_TIMEOUT),
            connector=aiohttp.TCPConnector(keepalive_timeout=KEEPALIVE_SECONDS, limit=100))
        self._atiende_session = session
    return _KeptSession(session)


def sqlite_engine(url: Any, *, pool_size: int = 2, max_overflow: int = 8,
                  timeout: float = 30.0) -> Any:
    """A pooled engine for a SQLite *file*, in WAL mode with ``synchronous=NORMAL``."""
    import sqlalchemy as sa

    engine = sa.create_engine(url, poolclass=sa.pool.QueuePool, pool_size=pool_size,
                              max_overflow=max_overflow, pool_pre_ping=False,
                              connect_args={"check_same_thread": False, "timeout": timeout})

    @sa.event.listens_for(engine, "connect")
    def _pragmas(conn: Any, _record: Any) -> None:
        cur = conn.cursor()
        cur.execute("PRAGMA journal_mode=WAL")
        cur.execute("PRAGMA synchronous=NORMAL")
        cur.execute(f"PRAGMA busy_timeout={int(timeout * 1000)}")
        cur.close()

    return engine


def is_sqlite_file(engine: Any) -> bool:
    return engine.dialect.name == "sqlite" and engine.url.database not in (None, "", ":memory:")


#: the speed-ups that can be turned off one by one (to measure each): ATIENDE_RASA_SPEEDUPS_OFF
PARTS = ("ted_cache", "stored_count", "event_log", "debug_log", "action_validation",
         "read_cache", "core_insert", "domain_digest", "shared_states")


def enabled(part: str | None = None) -> bool:
    """``ATIENDE_RASA_SPEEDUPS=0`` keeps Rasa's stock behaviour (to compare, or after a Rasa
    upgrade until these are re-checked); ``ATIENDE_RASA_SPEEDUPS_OFF=ted_cache+event_log`` turns
    off only those of :data:`PARTS`."""
    if os.environ.get("ATIENDE_RASA_SPEEDUPS", "1").strip().lower() in ("0", "false", "no"):
        return False
    if part is None:
        return True
    assert part in PARTS, part
    # "+" too: bench/turn_latency.py's --variant takes commas between variables
    off = set(re.split(r"[,+\s]+", os.environ.get("ATIENDE_RASA_SPEEDUPS_OFF", "")))
    return part not in off


def filter_structlog(level: int) -> None:
    """Drop Rasa's structlog messages below the server's log level. ``rasa run`` configures
    structlog (``rasa.utils.log_utils.configure_structlog``); a server started from Python, as
    ``bot.serve`` does, gets structlog's defaults, which render and print *every* message: Rasa's
    ``debug`` ones too (~10 per turn, whole trackers' slots among them) at ``LOG_LEVEL=INFO``."""
    if not enabled("debug_log"):
        return
    import structlog

    structlog.configure(wrapper_class=structlog.make_filtering_bound_logger(level))


def warm_up_nlu() -> None:
    """Run the NLU's lazily built models once (blocking: call it in a thread before serving)."""
    global _warmed
    if _warmed or not enabled():
        return
    _warmed = True
    from bot.components.language import _Lingua
    from bot.components.use_featurizer import _Encoder

    started = time.perf_counter()
    _Encoder.encode(["hola"])
    _Lingua.get().compute_language_confidence_values("warm up the language models")
    logger.info("bot.rasa_speedups: NLU models warmed up in %.1f s", time.perf_counter() - started)


def install() -> None:
    global _installed, _fast_validation
    if _installed or not enabled():
        return
    _installed = True
    _fast_validation = enabled("action_validation")
    if _fast_validation:
        from bot.action_result import _validators

        _validators()  # built now (~60 ms), not in a shopper's turn
    import rasa
    from rasa.core.actions.action import RemoteAction

    if not rasa.__version__.startswith(RASA_VERSION):
        logger.warning("bot.rasa_speedups: written for Rasa %sx, this is %s: not installed",
                       RASA_VERSION, rasa.__version__)
        return
    from rasa.utils.endpoints import EndpointConfig

    STOCK.update(validate_action_result=RemoteAction._validate_action_result,
                 session=EndpointConfig.session)
    RemoteAction._validate_action_result = validate_action_result  # type: ignore[method-assign]
    EndpointConfig.session = kept_session  # type: ignore[method-assign]
    if enabled("ted_cache"):
        from bot import policy_cache

        policy_cache.install()
    if enabled("shared_states"):
        from bot import policy_cache

        policy_cache.install_shared_states()
    if enabled("domain_digest"):
        from bot import domain_digest

        domain_digest.install()
