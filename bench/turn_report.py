"""The figures of ``bench/turn_latency.py``: percentiles per turn and per conversation kind,
turns/s, errors, server CPU per turn and the per-stage breakdown of one load level, stored as
JSON and printed. Also used by ``bench/cluster_throughput.py``."""

from __future__ import annotations

import statistics
from collections import defaultdict
from typing import Any

from bench.turn_load import CONVERSATIONS, Level, Result

#: Stages recorded by the processes (timing/), in the order a turn meets them.
STAGES = ["gate", "ledger", "rasa.turn", "rasa.processor", "nlu", "policies", "action_server",
          "sdk.action", "kb.search", "store", "handoff_api", "tracker.retrieve", "tracker.save"]


def percentile(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    index = min(len(ordered) - 1, max(0, round(q * (len(ordered) - 1))))
    return ordered[index]


def summarise(level: Level) -> dict[str, Any]:
    ok = [r for r in level.results if r.ok]
    errors = [r for r in level.results if not r.ok]
    out: dict[str, Any] = {
        "shoppers": level.shoppers, "seconds": level.seconds, "turns": len(level.results),
        "errors": len(errors), "turns_per_s": round(len(ok) / level.seconds, 2),
        "error_kinds": dict(sorted(_count(f"{r.label}: {r.error}" for r in errors).items())),
    }
    if level.cpu_seconds and level.results:
        # CPU the servers spent per turn: unlike latency, hardly changed by other programs
        # competing for the cores, so variants compare well on a noisy machine
        out["cpu_ms_per_turn"] = {name: round(1000 * cpu / len(level.results), 1)
                                  for name, cpu in level.cpu_seconds.items()}
        out["cpu_ms_per_turn"]["total"] = round(sum(out["cpu_ms_per_turn"].values()), 1)
    everything = [r.ms for r in ok]
    out["all"] = _pcts(everything)
    out["per_turn"] = {}
    for label in sorted({r.label for r in ok}):
        out["per_turn"][label] = _pcts([r.ms for r in ok if r.label == label])
    out["per_kind"] = {}
    for kind in CONVERSATIONS:
        out["per_kind"][kind] = _pcts([r.ms for r in ok if r.kind == kind])
    if level.stage_records:
        out["stages"] = stage_breakdown(level, ok)
        pauses = gc_pauses(level.stage_records)
        if pauses:
            out["gc_pauses"] = pauses
    if level.results:
        out["timeline"] = timeline(level.results, level.stage_records)
    return out


def timeline(results: list[Result], records: list[dict[str, Any]]) -> dict[str, Any]:
    """Second by second: turns answered and the slowest of them; and when each full collection
    (gc.2) of a server ended, in seconds from the level's first answer — a pause of one process
    shows as a second whose slowest turn is its length above the others."""
    first = min(r.at for r in results)
    seconds: dict[int, list[float]] = defaultdict(list)
    for r in results:
        seconds[int(r.at - first)].append(r.ms)
    return {"per_second": [[s, len(ms), round(max(ms), 1)] for s, ms in sorted(seconds.items())],
            "gc2": [[rec.get("p", "?"), round(rec["at"] - first, 2), round(float(rec["ms"]), 1)]
                    for rec in records if rec["s"] == "gc.2" and "at" in rec]}


def gc_pauses(records: list[dict[str, Any]]) -> dict[str, Any]:
    """Per process and generation: how many collections, their total and longest pause (each
    one stops every conversation on that process's event loop)."""
    by: dict[str, dict[str, list[float]]] = defaultdict(lambda: defaultdict(list))
    for rec in records:
        if rec["s"].startswith("gc."):
            by[rec.get("p", "?")][rec["s"][3:]].append(float(rec["ms"]))
    return {process: {gen: {"n": len(ms), "total_ms": round(sum(ms), 1),
                            "max_ms": round(max(ms), 1)} for gen, ms in sorted(gens.items())}
            for process, gens in sorted(by.items())}


def _count(items: Any) -> dict[str, int]:
    counts: dict[str, int] = defaultdict(int)
    for item in items:
        counts[item] += 1
    return counts


def _pcts(values: list[float]) -> dict[str, float]:
    if not values:
        return {"n": 0}
    return {"n": len(values), "p50_ms": round(percentile(values, 0.5), 1),
            "p95_ms": round(percentile(values, 0.95), 1),
            "p99_ms": round(percentile(values, 0.99), 1),
            "mean_ms": round(statistics.fmean(values), 1)}


def stage_breakdown(level: Level, ok: list[Result]) -> dict[str, Any]:
    """Per conversation kind and overall: mean ms per turn in each stage (calls per turn too)."""
    turns_per_kind = _count(r.kind for r in level.results)
    e2e_per_kind = defaultdict(float)
    for r in level.results:
        e2e_per_kind[r.kind] += r.ms
    by_kind: dict[str, dict[str, list[float]]] = defaultdict(lambda: defaultdict(list))
    for rec in level.stage_records:
        by_kind[rec.get("tag") or "other"][rec["s"]].append(float(rec["ms"]))
    table: dict[str, Any] = {}
    for kind in [*CONVERSATIONS, "all"]:
        kinds = list(CONVERSATIONS) if kind == "all" else [kind]
        turns = sum(turns_per_kind.get(k, 0) for k in kinds)
        if not turns:
            continue
        row: dict[str, Any] = {"turns": turns,
                               "e2e_ms": round(sum(e2e_per_kind[k] for k in kinds) / turns, 2)}
        for stage in STAGES:
            values = [v for k in kinds for v in by_kind[k].get(stage, [])]
            if values:
                row[stage] = {"ms_per_turn": round(sum(values) / turns, 2),
                              "calls_per_turn": round(len(values) / turns, 2),
                              "p95_call_ms": round(percentile(values, 0.95), 2)}
        gate = row.get("gate", {}).get("ms_per_turn")
        if gate is not None:  # HTTP both ways, the channel's checks, the ledger, language
            row["outside_gate_ms_per_turn"] = round(row["e2e_ms"] - gate, 2)
        table[kind] = row
    return table


def print_level(name: str, s: dict[str, Any]) -> None:
    a = s["all"]
    print(f"\n[{name}] {s['shoppers']} shopper(s): {s['turns_per_s']} turns/s, {s['turns']} turns, "
          f"{s['errors']} errors; all p50 {a.get('p50_ms')} p95 {a.get('p95_ms')} "
          f"p99 {a.get('p99_ms')} ms")
    if "cpu_ms_per_turn" in s:
        print("    server CPU per turn (ms):", s["cpu_ms_per_turn"])
    for label, p in s["per_turn"].items():
        print(f"    {label:15s} n={p['n']:4d}  p50 {p['p50_ms']:7.1f}  p95 {p['p95_ms']:7.1f}  "
              f"p99 {p['p99_ms']:7.1f}")
    if s["error_kinds"]:
        print("    errors:", s["error_kinds"])
    for process, gens in s.get("gc_pauses", {}).items():
        print(f"    gc pauses of {process}: " + ", ".join(
            f"gen {g} {p['n']} x, {p['total_ms']} ms (max {p['max_ms']})"
            for g, p in gens.items()))
    stages = s.get("stages", {}).get("all")
    if stages:
        print(f"    per turn (mean ms): e2e {stages['e2e_ms']}, outside the gate (HTTP, "
              f"channel checks, ledger, language) {stages.get('outside_gate_ms_per_turn')}")
        for stage in STAGES:
            if stage in stages:
                st = stages[stage]
                print(f"      {stage:17s} {st['ms_per_turn']:8.2f} ms/turn  "
                      f"{st['calls_per_turn']:5.2f} calls/turn  p95/call {st['p95_call_ms']:8.2f}")
