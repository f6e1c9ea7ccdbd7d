"""The exposition format of ``timing.prometheus`` (what /metrics on Rasa and the action server
write), parsed back with a strict reader of the text format 0.0.4."""

from __future__ import annotations

import re
import threading

import pytest

from timing.prometheus import Registry, metrics_token, token_ok

SAMPLE = re.compile(r'^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{([a-zA-Z_][a-zA-Z0-9_]*="(?:[^"\\]|\\.)*"'
                    r'(?:,[a-zA-Z_][a-zA-Z0-9_]*="(?:[^"\\]|\\.)*")*)\})? (\S+)$')


def parse(text: str) -> dict[str, float]:
    """{'name{labels}': value}; fails on any line that is not a comment or a valid sample."""
    out: dict[str, float] = {}
    assert text.endswith("\n")
    for line in text.splitlines():
        if line.startswith("# HELP ") or line.startswith("# TYPE "):
            continue
        match = SAMPLE.match(line)
        assert match, f"not a valid sample line: {line!r}"
        out[match.group(1) + (match.group(2) or "")] = float(match.group(4))
    return out


def test_histogram_buckets_are_cumulative_with_sum_and_count():
    registry = Registry()
    turns = registry.histogram("t_seconds", "turns", ["channel"], buckets=(0.1, 1.0))
    for value in (0.05, 0.5, 0.5, 3.0):
        turns.observe(value, channel="rest")
    samples = parse(registry.render())
    assert samples['t_seconds_bucket{channel="rest",le="0.1"}'] == 1
    assert samples['t_seconds_bucket{channel="rest",le="1"}'] == 3
    assert samples['t_seconds_bucket{channel="rest",le="+Inf"}'] == 4
    assert samples['t_seconds_count{channel="rest"}'] == 4
    assert samples['t_seconds_sum{channel="rest"}'] == pytest.approx(4.05)
    assert "# TYPE t_seconds histogram" in registry.render()
    edge = Registry()
    at_bound = edge.histogram("b_seconds", "b", buckets=(0.1, 1.0))
    at_bound.observe(1.0)  # "le": a value equal to a bound is in that bucket
    assert parse(edge.render())['b_seconds_bucket{le="0.1"}'] == 0
    assert parse(edge.render())['b_seconds_bucket{le="1"}'] == 1


def test_counters_labels_escaping_and_a_bound_on_series():
    registry = Registry()
    errors = registry.counter("e_total", "errors", ["action"])
    errors.inc(action='say "hola"\n')
    errors.inc(2, action="x")
    samples = parse(registry.render())
    assert samples['e_total{action="say \\"hola\\"\\n"}'] == 1
    assert samples['e_total{action="x"}'] == 2
    with pytest.raises(ValueError):
        errors.inc(-1, action="x")
    with pytest.raises(ValueError):
        errors.inc(other="x")
    many = registry.counter("m_total", "many", ["k"])
    for i in range(600):
        many.inc(k=str(i))
    assert len([k for k in parse(registry.render()) if k.startswith("m_total")]) == 501
    unlabelled = Registry()
    unlabelled.counter("zero_total", "nothing yet")
    assert parse(unlabelled.render()) == {"zero_total": 0.0}


def test_concurrent_observations_are_all_counted():
    registry = Registry()
    hist = registry.histogram("c_seconds", "c")

    def work() -> None:
        for _ in range(2000):
            hist.observe(0.2)

    threads = [threading.Thread(target=work) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert parse(registry.render())["c_seconds_count"] == 16000


def test_token():
    assert token_ok(None, "") and token_ok("anything", "")
    assert token_ok("Bearer s3cret-token-123456", "s3cret-token-123456")
    assert not token_ok("Bearer wrong", "s3cret-token-123456") and not token_ok(None, "t")
    assert metrics_token({"HANDOFF_METRICS_TOKEN": " h "}) == "h"
    assert metrics_token({"ATIENDE_METRICS_TOKEN": "a", "HANDOFF_METRICS_TOKEN": "h"}) == "a"
