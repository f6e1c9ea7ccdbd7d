"""The stage-timing recorder used by bench/turn_latency.py (timing/)."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

import pytest

import timing


def records(directory: Path) -> list[dict]:
    timing._SINK.flush()
    return [json.loads(line) for path in sorted(directory.glob("*.jsonl"))
            for line in path.read_text().splitlines()]


@pytest.fixture()
def timing_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv(timing.ENV, str(tmp_path))
    monkeypatch.setenv("ATIENDE_TIMING_PROCESS", "test")
    monkeypatch.setattr(timing, "_SINK", timing._Sink())
    return tmp_path


def test_tag_is_the_bench_kind_and_never_a_real_id() -> None:
    assert timing.tag_of("bench-kb-3-17-ab12") == "kb"
    assert timing.tag_of("34655908172") == ""
    assert timing.tag_of("web-8f3a") == ""
    assert timing.tag_of(None) == ""


def test_async_calls_record_stage_and_pass_the_tag_to_nested_calls(timing_dir: Path) -> None:
    class Inner:
        async def work(self, x: int) -> int:
            await asyncio.sleep(0.01)
            return x * 2

    class Outer:
        def __init__(self) -> None:
            self.inner = Inner()

        async def handle(self, sender: str, x: int) -> int:
            return await self.inner.work(x)

    timing.wrap(Inner, "work", "inner")
    timing.wrap(Outer, "handle", "outer", sender=lambda _self, sender, *a, **k: sender)
    assert asyncio.run(Outer().handle("bench-order-1-2", 21)) == 42
    assert asyncio.run(Outer().handle("34611222333", 1)) == 2
    got = records(timing_dir)
    assert [(r["s"], r["tag"]) for r in got] == [
        ("inner", "order"), ("outer", "order"), ("inner", ""), ("outer", "")]
    assert got[0]["ms"] >= 10.0 and got[1]["ms"] >= got[0]["ms"]
    assert "34611222333" not in next(iter(timing_dir.glob("*.jsonl"))).read_text()


def test_sync_calls_and_failures_are_recorded_and_the_error_kept(timing_dir: Path) -> None:
    class Thing:
        def boom(self) -> None:
            raise ValueError("no")

        @staticmethod
        def add(a: int, b: int) -> int:
            return a + b

    timing.wrap(Thing, "boom", "boom")
    timing.wrap(Thing, "add", "add")
    with pytest.raises(ValueError, match="no"):
        Thing().boom()
    assert Thing.add(2, 3) == 5 and Thing().add(1, 1) == 2
    assert [r["s"] for r in records(timing_dir)] == ["boom", "add", "add"]


def test_wrapping_twice_records_once(timing_dir: Path) -> None:
    class Thing:
        def f(self) -> int:
            return 1

    timing.wrap(Thing, "f", "f")
    timing.wrap(Thing, "f", "f")
    Thing().f()
    assert len(records(timing_dir)) == 1


def test_nothing_is_written_without_the_setting(tmp_path: Path,
                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(timing.ENV, raising=False)
    monkeypatch.setattr(timing, "_SINK", timing._Sink())
    assert not timing.enabled()
    timing.record("x", 1.0)
    assert list(tmp_path.iterdir()) == []


@pytest.fixture()
def watched_gc(timing_dir: Path) -> Path:
    import gc

    timing._gc_pauses.clear()
    timing.watch_gc()
    yield timing_dir
    gc.callbacks.remove(timing._on_gc)


def test_collections_are_recorded_per_generation_without_a_conversation(watched_gc: Path
                                                                        ) -> None:
    import gc

    token = timing.TAG.set("order")  # a collection inside a turn is still the process's pause
    try:
        gc.collect(2)
        gc.collect(0)
    finally:
        timing.TAG.reset(token)
    got = [r for r in records(watched_gc) if r["s"].startswith("gc.")]
    assert [r["s"] for r in got][-2:] == ["gc.2", "gc.0"]
    assert all(r["tag"] == "" and r["ms"] >= 0 for r in got)


def test_a_collection_while_the_sink_is_writing_does_not_block_it(watched_gc: Path) -> None:
    import gc
    import threading

    timing.record("first", 1.0)  # the sink's file is open

    def collect_holding_the_lock() -> None:
        with timing._SINK._lock:  # as inside _Sink.write, where any allocation may collect
            gc.collect(1)

    worker = threading.Thread(target=collect_holding_the_lock, daemon=True)
    worker.start()
    worker.join(10)
    assert not worker.is_alive()
    assert "gc.1" in [r["s"] for r in records(watched_gc)]


def test_nothing_is_watched_without_the_setting(monkeypatch: pytest.MonkeyPatch) -> None:
    import gc

    monkeypatch.delenv(timing.ENV, raising=False)
    timing.watch_gc()
    assert timing._on_gc not in gc.callbacks
