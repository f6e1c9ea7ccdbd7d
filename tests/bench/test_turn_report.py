"""The turn bench's figures of pauses: collector pauses per process and the per-second timeline
(bench/turn_report.py)."""

from __future__ import annotations

from bench.turn_load import Level, Result
from bench.turn_report import summarise


def test_collector_pauses_per_process_and_when_the_slow_second_was() -> None:
    t0 = 1_000.0
    results = [Result("kb", "kb_question", 100.0, True, at=t0 + 0.2),
               Result("kb", "kb_question", 120.0, True, at=t0 + 0.9),
               Result("order", "order_ask", 900.0, True, at=t0 + 2.5),  # waited for the pause
               Result("order", "order_ask", 110.0, False, "HTTP 429", at=t0 + 2.7)]
    records = [{"s": "gc.0", "ms": 1.0, "tag": "", "p": "rasa"},
               {"s": "gc.0", "ms": 3.0, "tag": "", "p": "rasa"},
               {"s": "gc.2", "ms": 780.0, "tag": "", "p": "rasa", "at": t0 + 2.1},
               {"s": "gc.1", "ms": 2.0, "tag": "", "p": "actions"},
               {"s": "nlu", "ms": 5.0, "tag": "kb", "p": "rasa"}]
    level = Level(2, 3.0, results=results, stage_records=records)
    s = summarise(level)
    assert s["gc_pauses"] == {
        "actions": {"1": {"n": 1, "total_ms": 2.0, "max_ms": 2.0}},
        "rasa": {"0": {"n": 2, "total_ms": 4.0, "max_ms": 3.0},
                 "2": {"n": 1, "total_ms": 780.0, "max_ms": 780.0}}}
    assert s["timeline"]["per_second"] == [[0, 2, 120.0], [2, 2, 900.0]]
    assert s["timeline"]["gc2"] == [["rasa", 1.9, 780.0]]  # from the first answer


def test_no_timings_no_pauses() -> None:
    level = Level(1, 1.0, results=[Result("kb", "kb_question", 50.0, True, at=5.0)])
    s = summarise(level)
    assert "gc_pauses" not in s
    assert s["timeline"] == {"per_second": [[0, 1, 50.0]], "gc2": []}
