"""The load generator of ``bench/turn_latency.py``: closed-loop REST shoppers going round the
scripted conversations, what the server processes spend meanwhile (CPU, stage timings, py-spy)
and where they run (``taskset``). Also used by ``bench/cluster_throughput.py``."""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

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


@dataclass
class Result:
    kind: str
    label: str
    ms: float
    ok: bool
    error: str = ""
    at: float = 0.0  # time.time() when the answer came (timeline of the level, GC pauses)


@dataclass
class Level:
    shoppers: int
    seconds: float
    results: list[Result] = field(default_factory=list)
    stage_records: list[dict[str, Any]] = field(default_factory=list)
    cpu_seconds: dict[str, float] = field(default_factory=dict)  # per server process


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
                    results.append(Result(kind, turn.label, ms, not problem, problem,
                                          time.time()))
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


def pin(pid: int, cpus: str) -> None:
    """All threads of ``pid`` and of the processes it has started (the action server's Sanic
    worker), and what they start later, on ``cpus``."""
    for each in _descendants(pid):
        subprocess.run(["taskset", "-a", "-p", "-c", cpus, str(each)], check=False,
                       capture_output=True)


def timing_offsets(directory: Path) -> dict[Path, int]:
    return {p: p.stat().st_size for p in directory.glob("*.jsonl")}


def read_timings(directory: Path, since: dict[Path, int]) -> list[dict[str, Any]]:
    records = []
    for path in directory.glob("*.jsonl"):
        process = path.stem.rsplit("-", 1)[0]  # <process>-<pid>.jsonl (timing/)
        with path.open("rb") as f:
            f.seek(since.get(path, 0))
            for line in f:
                try:
                    record = json.loads(line)
                except ValueError:
                    continue  # a line being written as we read
                record["p"] = process
                records.append(record)
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
