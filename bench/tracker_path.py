"""CPU per turn of the Rasa process's tracker-store and action-answer work, each speed-up on/off.

A turn as the running system makes it (bench/turn_latency.py, reports/perf/README.md): the
channel looks at the tracker (language), the gate looks (pause), Rasa reads it under the lock,
adds the turn's events (user message, slots, an action, the bot's answer, listen) and saves it
(SQLite file in WAL mode, an event broker taking the new events); in between, Rasa checks 2.5
action-server answers. Conversations of ``--turns`` turns. Measured with ``time.process_time``
in one process (no server, no network): the CPU figure the load of other programs changes least.
Variants alternate ``--rounds`` times and the median is printed.

    .venv/bot/bin/python -m bench.tracker_path [--turns 2,10] [--rounds 5]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import statistics
import tempfile
import time
from pathlib import Path

#: name -> ATIENDE_RASA_SPEEDUPS_OFF (the three parts of perf6a; each alone off too)
VARIANTS = {"before": "action_validation+read_cache+core_insert", "now": "",
            "now without action_validation": "action_validation",
            "now without read_cache": "read_cache", "now without core_insert": "core_insert"}
ANSWER = {"events": [{"event": "slot", "timestamp": None, "name": "language", "value": "es"},
                     {"event": "slot", "timestamp": None, "name": "order_id",
                      "value": "AT101001"}],
          "responses": [{"text": "Tu pedido AT101001 está en camino", "buttons": [],
                         "elements": [], "custom": {}, "template": None, "response": None,
                         "image": None, "attachment": None}]}


def turn_events(n: int) -> list:
    from rasa.shared.core.events import ActionExecuted, BotUttered, SlotSet, UserUttered

    parse = {"intent": {"name": "order_status", "confidence": 0.97},
             "intent_ranking": [{"name": "order_status", "confidence": 0.97}],
             "entities": [], "text": f"¿dónde está mi pedido {n}?"}
    return [UserUttered(parse["text"], parse["intent"], [], parse, message_id=f"m{n}"),
            SlotSet("language", "es"), ActionExecuted("action_order_status", "RulePolicy", 1.0),
            SlotSet("order_id", f"AT10{n:04d}"), BotUttered(f"Tu pedido AT10{n:04d}…"),
            ActionExecuted("action_listen", "RulePolicy", 1.0)]


def make_broker():
    """An event broker that drops the events (the event log's own cost is not measured here)."""
    from rasa.core.brokers.broker import EventBroker

    class Dropping(EventBroker):
        def publish(self, event: dict) -> None:
            pass

        def publish_many(self, events: list) -> None:
            pass

    return Dropping()


def measure(off: str, turns: int, conversations: int, where: Path) -> float:
    """CPU ms per turn of ``conversations`` conversations of ``turns`` turns."""
    os.environ["ATIENDE_RASA_SPEEDUPS_OFF"] = off
    from rasa.core.actions.action import RemoteAction
    from rasa.shared.core.domain import Domain
    from rasa.shared.core.events import ActionExecuted, SessionStarted

    from bot import rasa_speedups
    from bot.tracker_peek import peek
    from bot.tracker_store import DurableSQLTrackerStore

    domain = Domain.load("domain.yml")
    store = DurableSQLTrackerStore(domain=domain, dialect="sqlite",
                                   db=str(where / f"{time.monotonic_ns()}.db"),
                                   journal_dir=str(where / "journal"), event_broker=make_broker())
    rasa_speedups._fast_validation = rasa_speedups.enabled("action_validation")
    action = RemoteAction("action_order_status", None)

    async def run() -> None:
        for c in range(conversations):
            sender = f"shopper-{c}"
            for n in range(turns):
                await peek(store, sender)  # the channel's language
                await peek(store, sender)  # the gate's pause
                tracker = await store.get_or_create_tracker(sender, append_action_listen=False)
                if n == 0:
                    tracker.update_with_events([ActionExecuted("action_session_start"),
                                                SessionStarted(),
                                                ActionExecuted("action_listen")], domain)
                for i in range(5):  # 2.5 action-server answers per turn
                    if i % 2 == 0:
                        action._validate_action_result(json.loads(json.dumps(ANSWER)))
                tracker.update_with_events(turn_events(n), domain)
                await store.save(tracker)

    started = time.process_time()
    asyncio.run(run())
    spent = time.process_time() - started
    store.engine.dispose()
    return 1000 * spent / (turns * conversations)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--turns", default="2,10", type=lambda s: [int(x) for x in s.split(",")])
    parser.add_argument("--conversations", type=int, default=60)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--report", type=Path, default=None)
    args = parser.parse_args()
    os.environ.setdefault("ATIENDE_DATA_DIR", tempfile.mkdtemp(prefix="atiende-tracker-path-"))
    from bot import rasa_speedups

    results: dict = {"load_avg_at_start": os.getloadavg(), "variants": VARIANTS, "levels": []}
    with tempfile.TemporaryDirectory() as tmp:
        rasa_speedups.install()
        measure("", 2, 5, Path(tmp))  # warm up imports and caches
        for turns in args.turns:
            spent: dict[str, list[float]] = {name: [] for name in VARIANTS}
            for _ in range(args.rounds):
                for name, off in VARIANTS.items():
                    spent[name].append(measure(off, turns, args.conversations, Path(tmp)))
            level = {"turns": turns, "cpu_ms_per_turn": {
                name: round(statistics.median(v), 2) for name, v in spent.items()},
                "all": spent}
            results["levels"].append(level)
            print(f"{turns:3d} turns/conversation: CPU ms per turn (median of {args.rounds}) "
                  + ", ".join(f"{k} {v}" for k, v in level["cpu_ms_per_turn"].items()))
    results["load_avg_at_end"] = os.getloadavg()
    if args.report:
        args.report.write_text(json.dumps(results, indent=1) + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()
