"""End-to-end turn latency and throughput of the running system, with a per-stage breakdown.

    .venv/app/bin/python -m bench.turn_latency [--levels 1,5,20] [--seconds 40]
        [--variant NAME:VAR=VALUE,VAR=VALUE ...] [--client-cpus 1] [--server-cpus 0]
        [--service-cpus actions=1 --service-cpus handoff=1]
        [--report reports/perf/turn_latency.json]

Starts the three processes exactly as ``make run`` does (``scripts.run.running_system``) on free
ports with a temporary data directory (demo store seeded, the built KB index), then runs
closed-loop REST shoppers: each one sends a message, waits for the answer, sends the next. Every
shopper goes round a scripted mix of short conversations, Spanish and English alternately:

* ``smalltalk``  "hola" / "gracias"
* ``kb``         a shipping or refund question answered from the knowledge base
* ``order``      "where is my order AT…?" then the e-mail that verifies it (the answer must name
                 the order)
* ``handoff``    "I want a person" (the handoff API queues it) then a message while queued, which
                 the hand-off gate forwards to the agent side instead of Rasa

Every message carries a ``message_id`` (the exactly-once path of the widget and retrying
clients). A turn counts as an error if the HTTP status is not 200 or the answer is not the one
the script expects (e.g. the order not named).

For each load (1, 5, 20 concurrent shoppers) it prints and stores p50/p95/p99 per turn kind,
turns/s and errors, and a per-stage breakdown from the processes' own timings
(``ATIENDE_TIMING_DIR``, see ``timing/``): mean milliseconds per turn spent in the channel + HTTP,
the hand-off gate, the Rasa lock, NLU, the policies, the action-server round trip (and the action
itself), KB search, the store, the handoff API and the tracker store. ``--no-timing`` measures
without the timing wrappers (their own cost is a few microseconds per call).

The load generator pins itself to ``--client-cpus`` and the servers to ``--server-cpus``
(``taskset``), so the shoppers do not steal the servers' CPU. ``--variant`` runs the whole
measurement again with extra environment variables for the servers (e.g. the PostgreSQL tracker
store), in the same run, so variants are compared under the same machine noise.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import shutil
import statistics
import subprocess
import tempfile
import time
import uuid
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

ROOT = Path(__file__).resolve().parents[1]
APP_PY = ROOT / ".venv" / "app" / "bin" / "python"
TURN_TIMEOUT = 60.0


@dataclass(frozen=True)
class Turn:
    label: str
    text: str
    expect: str | None = None  # a substring the answer must contain (None: any non-empty answer)
    forwarded: bool = False  # the gate sends it to the agent side: answer [] and route header


CONVERSATIONS: dict[str, list[list[Turn]]] = {
    "smalltalk": [
        [Turn("greet", "hola"), Turn("thank", "gracias")],
        [Turn("greet", "hi there"), Turn("thank", "thanks a lot")],
    ],
    "kb": [
        [Turn("kb_question", "¿cuánto tarda el envío a Canarias?", expect="kb_feedback")],
        [Turn("kb_question", "how long does a refund take?", expect="kb_feedback")],
    ],
    "order": [
        [Turn("order_ask", "¿dónde está mi pedido AT101001?"),
         Turn("order_verify", "carmen.navarro@example.com", expect="AT101001")],
        [Turn("order_ask", "where is my order AT105001?"),
         Turn("order_verify", "olivia.smith@example.org", expect="AT105001")],
    ],
    "handoff": [
        [Turn("handoff_ask", "quiero hablar con una persona"),
         Turn("handoff_queued", "¿sigo en la cola? necesito ayuda con mi talla", forwarded=True)],
        [Turn("handoff_ask", "I want to speak to a human"),
         Turn("handoff_queued", "am I still waiting? I need help with a size", forwarded=True)],
    ],
}

#: Stages recorded by the processes (timing/), in the order a turn meets them.
STAGES = ["gate", "ledger", "rasa.turn", "rasa.processor", "nlu", "policies", "action_server",
          "sdk.action", "kb.search", "store", "handoff_api", "tracker.retrieve", "tracker.save"]


@dataclass
class Result:
    kind: str
    label: str
    ms: float
    ok: bool
    error: str = ""


@dataclass
class Level:
    shoppers: int
    seconds: float
    results: list[Result] = field(default_factory=list)
    stage_records: list[dict[str, Any]] = field(default_factory=list)
    cpu_seconds: dict[str, float] = field(default_factory=dict)  # per server process


def percentile(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    index = min(len(ordered) - 1, max(0, round(q * (len(ordered) - 1))))
    return ordered[index]


def check(turn: Turn, response: httpx.Response) -> str:
    """Empty when the answer is the expected one, else why not."""
    if response.status_code != 200:
        return f"HTTP {response.status_code}"
    try:
        messages = response.json()
    except ValueError:
        return "not JSON"
    if turn.forwarded:
        route = response.headers.get("X-Atiende-Route")
        return "" if route in ("forwarded", "queued") else f"route {route}"
    if not messages:
        return "empty answer"
    if turn.expect and turn.expect not in json.dumps(messages, ensure_ascii=False):
        return f"answer lacks {turn.expect!r}"
    return ""


def shopper_address(number: int) -> str:
    """127.0.1.2, 127.0.1.3, ...: apart from the probers of the flood benches (127.0.0.x)."""
    return f"127.0.{1 + number // 250}.{2 + number % 250}"


async def shopper(number: int, url: str, deadline: float, results: list[Result],
                  warmup_until: float) -> None:
    kinds = list(CONVERSATIONS)
    round_ = 0
    # each shopper is its own client (own loopback address), as real shoppers are: the bot's turn
    # admission gives one client address a share of 3 turns (bot/channels/admission.py)
    transport = httpx.AsyncHTTPTransport(local_address=shopper_address(number))
    async with httpx.AsyncClient(timeout=TURN_TIMEOUT, transport=transport) as client:
        while time.monotonic() < deadline:
            kind = kinds[(number + round_) % len(kinds)]
            script = CONVERSATIONS[kind][(number + round_ // len(kinds)) % 2]
            sender = f"bench-{kind}-{number}-{round_}-{uuid.uuid4().hex[:8]}"
            round_ += 1
            for turn in script:
                if time.monotonic() >= deadline:
                    break
                started = time.perf_counter()
                try:
                    response = await client.post(url, json={
                        "sender": sender, "message": turn.text,
                        "message_id": uuid.uuid4().hex})
                    problem = check(turn, response)
                except httpx.HTTPError as exc:
                    problem = f"{type(exc).__name__}"
                ms = (time.perf_counter() - started) * 1000
                if time.monotonic() >= warmup_until:
                    results.append(Result(kind, turn.label, ms, not problem, problem))
                if problem:
                    break  # the rest of this conversation would not make sense


async def warm_up(url: str) -> None:
    async with httpx.AsyncClient(timeout=TURN_TIMEOUT * 5) as client:
        for kind, scripts in CONVERSATIONS.items():
            for script in scripts:
                sender = f"bench-{kind}-warmup-{uuid.uuid4().hex[:8]}"
                for turn in script:
                    await client.post(url, json={"sender": sender, "message": turn.text,
                                                 "message_id": uuid.uuid4().hex})


def _descendants(pid: int) -> list[int]:
    found, todo = [], [pid]
    while todo:
        current = todo.pop()
        found.append(current)
        for task in Path(f"/proc/{current}/task").glob("*/children"):
            try:
                todo.extend(int(c) for c in task.read_text().split())
            except OSError:
                continue
    return found


def cpu_seconds(pid: int) -> float:
    """User + system CPU time so far of a process, its threads and its child processes (the
    action server's Sanic worker is a child of its manager process)."""
    total = 0.0
    for each in _descendants(pid):
        try:
            fields = Path(f"/proc/{each}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        total += (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    return total


def timing_offsets(directory: Path) -> dict[Path, int]:
    return {p: p.stat().st_size for p in directory.glob("*.jsonl")}


def read_timings(directory: Path, since: dict[Path, int]) -> list[dict[str, Any]]:
    records = []
    for path in directory.glob("*.jsonl"):
        with path.open("rb") as f:
            f.seek(since.get(path, 0))
            for line in f:
                try:
                    records.append(json.loads(line))
                except ValueError:
                    continue  # a line being written as we read
    return records


def start_profiles(py_spy: str | None, pids: dict[str, int], seconds: float, out: Path,
                   label: str) -> list[subprocess.Popen]:
    """py-spy (if given) on each server process for the measured part of a level."""
    if not py_spy:
        return []
    out.mkdir(parents=True, exist_ok=True)
    return [subprocess.Popen([py_spy, "record", "-p", str(pid), "-d", str(int(seconds)),
                              "--nonblocking", "--subprocesses", "-r", "40", "-f", "raw",
                              "-o", str(out / f"{label}-{name}.txt")],
                             stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            for name, pid in pids.items()]


async def run_level(url: str, shoppers: int, seconds: float, warmup: float,
                    timing_dir: Path | None, profile: Any = None,
                    pids: dict[str, int] | None = None) -> Level:
    level = Level(shoppers, seconds)
    cpu_start: dict[str, float] = {}
    start = time.monotonic()
    warmup_until = start + warmup
    deadline = warmup_until + seconds
    offsets: dict[Path, int] = {}

    async def mark_offsets() -> None:
        await asyncio.sleep(warmup)
        if timing_dir is not None:
            offsets.update(timing_offsets(timing_dir))
        cpu_start.update({name: cpu_seconds(pid) for name, pid in (pids or {}).items()})
        if profile is not None:
            profile()

    marker = asyncio.create_task(mark_offsets())
    await asyncio.gather(*(shopper(i, url, deadline, level.results, warmup_until)
                           for i in range(shoppers)))
    await marker
    level.cpu_seconds = {name: cpu_seconds(pid) - cpu_start[name]
                         for name, pid in (pids or {}).items()}
    await asyncio.sleep(2 * 0.5)  # the processes flush their timings every 0.5 s (timing/)
    if timing_dir is not None:
        level.stage_records = read_timings(timing_dir, offsets)
    return level


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
    return out


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
    stages = s.get("stages", {}).get("all")
    if stages:
        print(f"    per turn (mean ms): e2e {stages['e2e_ms']}, outside the gate (HTTP, "
              f"channel checks, ledger, language) {stages.get('outside_gate_ms_per_turn')}")
        for stage in STAGES:
            if stage in stages:
                st = stages[stage]
                print(f"      {stage:17s} {st['ms_per_turn']:8.2f} ms/turn  "
                      f"{st['calls_per_turn']:5.2f} calls/turn  p95/call {st['p95_call_ms']:8.2f}")


def pin(pid: int, cpus: str) -> None:
    """All threads of ``pid`` and of the processes it has started (the action server's Sanic
    worker), and what they start later, on ``cpus``."""
    for each in _descendants(pid):
        subprocess.run(["taskset", "-a", "-p", "-c", cpus, str(each)], check=False,
                       capture_output=True)


def prepare_data_dir(base: Path) -> Path:
    data = base / "data"
    data.mkdir(parents=True)
    subprocess.run([str(APP_PY), "-m", "actions.store", "seed", "--db", str(data / "store.db")],
                   cwd=ROOT, check=True, capture_output=True, timeout=300)
    return data


def kb_index_dir() -> Path:
    for candidate in (os.environ.get("KB_INDEX_DIR"), ROOT / "var" / "kb_index",
                      ROOT / "var" / "test" / "kb_index"):
        if candidate and (Path(candidate) / "meta.json").exists():
            return Path(candidate)
    raise SystemExit("no KB index built: run `make kb` first")


def free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def measure_variant(name: str, extra_env: dict[str, str], args: argparse.Namespace
                    ) -> dict[str, Any]:
    from scripts.run import running_system

    base = Path(tempfile.mkdtemp(prefix=f"atiende-bench-{name}-"))
    data = prepare_data_dir(base)
    timing_dir = None if args.no_timing else base / "timings"
    overrides = {
        "ATIENDE_DATA_DIR": str(data), "ATIENDE_ENV": "development",
        "RASA_PORT": str(free_port()), "RASA_ADMIN_PORT": str(free_port()),
        "ACTIONS_PORT": str(free_port()),
        "HANDOFF_PORT": str(free_port()), "MAIL_CATCHER_PORT": str(free_port()),
        "HANDOFF_DATABASE_URL": f"sqlite:///{data / 'handoff.db'}",
        "BUSINESS_HOURS": "mon-sun 00:00-24:00", "KB_INDEX_DIR": str(kb_index_dir()),
        # the benchmark's shoppers are polite (one message at a time); the per-sender flood
        # guard stays on with its defaults
        **({"ATIENDE_TIMING_DIR": str(timing_dir)} if timing_dir else {}),
        **extra_env,
    }
    before = os.sched_getaffinity(0)
    os.sched_setaffinity(0, _cpus(args.server_cpus))  # the children inherit it
    # scripts.settings passes only known prefixes from its overrides to the children; the
    # children inherit the environment, so the timing dir and the variant's settings go there
    saved_env = {k: os.environ.get(k) for k in overrides}
    os.environ.update(overrides)
    summary: dict[str, Any] = {"variant": name, "env": extra_env, "levels": []}
    try:
        with running_system(overrides) as system:
            for service in system.services:
                if service.process is not None:
                    pin(service.process.pid, args.service_cpus.get(service.name,
                                                                   args.server_cpus))
            os.sched_setaffinity(0, _cpus(args.client_cpus))
            url = f"{system.settings.rasa_url}/webhooks/rest/webhook"
            # every script once first: lazily loaded parts (KB index, encoders) are not measured
            asyncio.run(warm_up(url))
            pids = {s.name: s.process.pid for s in system.services
                    if s.process is not None and s.name in ("rasa", "actions", "handoff")}
            for shoppers in args.levels:
                profiles: list[subprocess.Popen] = []

                def profile(shoppers: int = shoppers,
                            profiles: list[subprocess.Popen] = profiles) -> None:
                    profiles.extend(start_profiles(args.py_spy, pids, args.seconds * 0.9,
                                                   args.profile_dir, f"{name}-{shoppers}"))

                level = asyncio.run(run_level(url, shoppers, args.seconds, args.warmup_seconds,
                                              timing_dir, profile, pids))
                for p in profiles:
                    p.wait(60)
                s = summarise(level)
                s["load_avg_after"] = os.getloadavg()  # other work on the machine: say it
                print_level(name, s)
                summary["levels"].append(s)
    finally:
        os.sched_setaffinity(0, before)
        for key, value in saved_env.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value
        if not args.keep:
            shutil.rmtree(base, ignore_errors=True)
        else:
            print(f"kept {base}")
    return summary


def _cpus(spec: str) -> set[int]:
    out: set[int] = set()
    for part in spec.split(","):
        if "-" in part:
            lo, hi = part.split("-")
            out.update(range(int(lo), int(hi) + 1))
        elif part:
            out.add(int(part))
    return out


def parse_variant(spec: str) -> tuple[str, dict[str, str]]:
    name, _, rest = spec.partition(":")
    env = {}
    for item in filter(None, rest.split(",")):
        key, _, value = item.partition("=")
        env[key.strip()] = value.strip()
    return name, env


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--levels", default="1,5,20",
                        type=lambda s: [int(x) for x in s.split(",")])
    parser.add_argument("--seconds", type=float, default=40.0, help="measured time per level")
    parser.add_argument("--warmup-seconds", type=float, default=8.0)
    parser.add_argument("--variant", action="append", default=[],
                        help="NAME:VAR=VALUE,... (repeatable; default: one variant 'default')")
    parser.add_argument("--client-cpus", default="1")
    parser.add_argument("--server-cpus", default="0")
    parser.add_argument("--service-cpus", action="append", default=[], metavar="NAME=CPUS",
                        type=lambda s: tuple(s.split("=", 1)),
                        help="pin one server process elsewhere than --server-cpus, e.g. "
                             "actions=1 (repeatable; names: rasa, actions, handoff)")
    parser.add_argument("--no-timing", action="store_true",
                        help="measure without the per-stage timing wrappers")
    parser.add_argument("--py-spy", default=None,
                        help="path of py-spy: profile the servers during each level")
    parser.add_argument("--profile-dir", type=Path, default=Path("results/perf"),
                        help="where py-spy's raw stacks go")
    parser.add_argument("--keep", action="store_true", help="keep the temporary data dir")
    parser.add_argument("--report", type=Path, default=None, help="write the figures here")
    args = parser.parse_args()
    args.service_cpus = dict(args.service_cpus)
    variants = [parse_variant(v) for v in args.variant] or [("default", {})]
    report = {
        "machine": {"cpus": os.cpu_count(), "python": platform.python_version(),
                    "load_avg_at_start": os.getloadavg()},
        "client_cpus": args.client_cpus, "server_cpus": args.server_cpus,
        **({"service_cpus": args.service_cpus} if args.service_cpus else {}),
        "seconds_per_level": args.seconds, "timing": not args.no_timing,
        "started": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "variants": [],
    }
    for name, env in variants:
        report["variants"].append(measure_variant(name, env, args))
        if args.report:  # after each variant: a later one that fails does not lose this one
            args.report.parent.mkdir(parents=True, exist_ok=True)
            args.report.write_text(json.dumps(report, indent=1) + "\n", encoding="utf-8")
            print(f"\nwritten {args.report}")


if __name__ == "__main__":
    main()
