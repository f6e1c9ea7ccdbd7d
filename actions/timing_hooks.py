"""Stage timings inside the action server (see :mod:`timing`; only with ``ATIENDE_TIMING_DIR``).

Installed at start-up from ``actions/__init__.py``. Stages:

``sdk.action``   one action run by rasa-sdk (from the parsed request to the events)
``kb.search``    one knowledge-base search (query encoding + FAISS + BM25 + passages)
``store``        one call to the demo store (SQLite)
``handoff_api``  one request of the action server to the handoff API
"""

from __future__ import annotations

import logging
import os

import timing

logger = logging.getLogger(__name__)
_installed = False


def install() -> None:
    global _installed
    if _installed or not timing.enabled():
        return
    _installed = True
    os.environ.setdefault("ATIENDE_TIMING_PROCESS", "actions")
    timing.watch_gc()  # the process's collector pauses, as stages gc.0 / gc.1 / gc.2
    from rasa_sdk.executor import ActionExecutor

    from actions.handoff_client import HandoffClient
    from actions.store.sqlite import SQLiteStore
    from kb_index.index import KBIndex

    timing.wrap(ActionExecutor, "run", "sdk.action",
                sender=lambda _s, call, *a, **k: (call.get("tracker") or {}).get("sender_id"))
    timing.wrap(KBIndex, "search", "kb.search")
    timing.wrap(SQLiteStore, "_call", "store")
    timing.wrap(HandoffClient, "_request", "handoff_api")
    logger.warning("stage timings on: writing to %s (benchmarks only)", os.environ[timing.ENV])
