"""Prometheus counters and histograms kept in process memory, written in the text exposition
format (version 0.0.4) for ``GET /metrics`` on the Rasa server (``bot.prometheus``) and the action
server (``actions.prometheus``).

Standard library only, shared by both environments (Python 3.10 and 3.11), like the rest of
:mod:`timing`: a handful of families does not need ``prometheus_client``, and neither environment
has it. Values live in the process (a restart starts them from zero, which Prometheus' ``rate()``
and ``increase()`` handle); the handoff API's numbers, which must survive restarts, are read from
its database instead (``handoff_api.routes.prometheus``).
"""

from __future__ import annotations

import bisect
import hmac
import math
import threading
from collections.abc import Iterable, Mapping

CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"
#: seconds; a turn is ~0.1-1 s on the reference machine, a slow action a few seconds
LATENCY_BUCKETS = (0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0)
MAX_SERIES = 500  # per family: label values come from our own names, but never grow unbounded

Labels = tuple[tuple[str, str], ...]


def _escape(value: str) -> str:
    return value.replace("\\", "\\\\").replace("\n", "\\n").replace('"', '\\"')


def _labels(labels: Labels, extra: tuple[str, str] | None = None) -> str:
    items = list(labels) + ([extra] if extra else [])
    if not items:
        return ""
    return "{" + ",".join(f'{k}="{_escape(v)}"' for k, v in items) + "}"


def _number(value: float) -> str:
    if math.isinf(value):
        return "+Inf" if value > 0 else "-Inf"
    return f"{value:.10g}"


class _Family:
    kind = ""

    def __init__(self, name: str, help_text: str, label_names: Iterable[str] = ()) -> None:
        self.name = name
        self.help = help_text
        self.label_names = tuple(label_names)
        self._lock = threading.Lock()

    def _key(self, labels: Mapping[str, str]) -> Labels:
        try:
            key = tuple((name, str(labels[name])[:100]) for name in self.label_names)
        except KeyError:
            key = ()
        if len(key) != len(labels) or len(key) != len(self.label_names):
            raise ValueError(f"{self.name} takes labels {self.label_names}, got {sorted(labels)}")
        return key

    def header(self) -> list[str]:
        return [f"# HELP {self.name} {self.help}", f"# TYPE {self.name} {self.kind}"]


class Counter(_Family):
    kind = "counter"

    def __init__(self, name: str, help_text: str, label_names: Iterable[str] = ()) -> None:
        super().__init__(name, help_text, label_names)
        self._values: dict[Labels, float] = {}

    def inc(self, amount: float = 1.0, **labels: str) -> None:
        if amount < 0:
            raise ValueError("a counter only goes up")
        key = self._key(labels)
        with self._lock:
            if key not in self._values and len(self._values) >= MAX_SERIES:
                key = tuple((name, "other") for name, _ in key)
            self._values[key] = self._values.get(key, 0.0) + amount

    def value(self, **labels: str) -> float:
        with self._lock:
            return self._values.get(self._key(labels), 0.0)

    def lines(self) -> list[str]:
        with self._lock:
            items = sorted(self._values.items())
        if not items and not self.label_names:
            items = [((), 0.0)]
        return [f"{self.name}{_labels(k)} {_number(v)}" for k, v in items]


class Histogram(_Family):
    kind = "histogram"

    def __init__(self, name: str, help_text: str, label_names: Iterable[str] = (),
                 buckets: Iterable[float] = LATENCY_BUCKETS) -> None:
        super().__init__(name, help_text, label_names)
        self.buckets = tuple(sorted(buckets))
        # per series: counts per bucket (not cumulative), sum, count
        self._series: dict[Labels, tuple[list[int], list[float]]] = {}

    def observe(self, value: float, **labels: str) -> None:
        key = self._key(labels)
        with self._lock:
            if key not in self._series and len(self._series) >= MAX_SERIES:
                key = tuple((name, "other") for name, _ in key)
            counts, totals = self._series.setdefault(
                key, ([0] * (len(self.buckets) + 1), [0.0, 0.0]))
            index = bisect.bisect_left(self.buckets, value)  # first bound >= value ("le")
            counts[index] += 1
            totals[0] += value
            totals[1] += 1

    def count(self, **labels: str) -> int:
        with self._lock:
            series = self._series.get(self._key(labels))
            return int(series[1][1]) if series else 0

    def lines(self) -> list[str]:
        with self._lock:
            items = sorted((k, (list(c), list(t))) for k, (c, t) in self._series.items())
        out: list[str] = []
        for key, (counts, (total, count)) in items:
            running = 0
            for bound, n in zip((*self.buckets, math.inf), counts, strict=True):
                running += n
                out.append(f"{self.name}_bucket{_labels(key, ('le', _number(bound)))} {running}")
            out.append(f"{self.name}_sum{_labels(key)} {_number(total)}")
            out.append(f"{self.name}_count{_labels(key)} {_number(count)}")
        return out


class Registry:
    def __init__(self) -> None:
        self.families: list[_Family] = []

    def counter(self, name: str, help_text: str, label_names: Iterable[str] = ()) -> Counter:
        family = Counter(name, help_text, label_names)
        self.families.append(family)
        return family

    def histogram(self, name: str, help_text: str, label_names: Iterable[str] = (),
                  buckets: Iterable[float] = LATENCY_BUCKETS) -> Histogram:
        family = Histogram(name, help_text, label_names, buckets)
        self.families.append(family)
        return family

    def render(self) -> str:
        out: list[str] = []
        for family in self.families:
            out += family.header() + family.lines()
        return "\n".join(out) + "\n"


def token_ok(authorization: str | None, token: str | None) -> bool:
    """``Authorization: Bearer <token>`` when a metrics token is configured (else open)."""
    if not token:
        return True
    return hmac.compare_digest((authorization or "").encode(), f"Bearer {token}".encode())


def metrics_token(env: Mapping[str, str]) -> str:
    """``ATIENDE_METRICS_TOKEN``, else the handoff API's ``HANDOFF_METRICS_TOKEN``: one token for
    the scraper of every service."""
    return (env.get("ATIENDE_METRICS_TOKEN") or env.get("HANDOFF_METRICS_TOKEN") or "").strip()
