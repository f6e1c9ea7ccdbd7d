"""50 concurrent clients flood one public route of the handoff API: how long do the others wait?

    .venv/app/bin/python -m bench.public_flood --seconds 20 \
        --out reports/reliability/public_flood.json
    .venv/app/bin/python -m bench.public_flood --database-url postgresql+psycopg2://…/db

Starts the handoff API alone (``python -m handoff_api serve``, uvicorn, the production rate limits
unless told otherwise) on a fresh SQLite file in a temporary directory (or on ``--database-url``),
with the demo agents and two queued web-chat conversations. Then, for each public route, 50 client
threads — each bound to its own loopback address, so each is its own client for the per-client
rate limiter, like 50 shoppers — call it in a loop for ``--seconds``, while one more client
(127.0.0.2) times the requests of everyone else, one after the other:

* the bot forwarding a shopper message to the agent (``POST /api/conversations/{id}/messages``,
  bot token),
* an agent's console listing the queue (``GET /api/handoffs``, session token),
* another shopper's widget reading its messages (``GET /api/widget/messages``, its token),
* a load balancer's health check (``GET /health``).

Routes flooded: the widget's message replay and queue place (valid conversation tokens, so each
request reaches the database), the login with wrong passwords (bcrypt; a different unknown
username per client, so the per-account throttle does not cut it short), ``/health``; and the
widget replay once more from **one** client with 50 connections (the flooder should be slowed,
nobody else: lanes.py's per-client share).

The server is pinned to the first CPU (``taskset``) and this load generator to the last one, so
the generator does not take the server's CPU. Prints p50/p99/max of the others per route and the
flood's status codes; ``--out`` writes them as JSON. The machine's 1-minute load average is
recorded next to each figure: on a shared machine read them together.
"""

from __future__ import annotations

import argparse
import json
import multiprocessing
import os
import signal
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections import Counter
from pathlib import Path
from typing import Any

import httpx

from contracts import web_conversation

ROOT = Path(__file__).resolve().parents[1]
APP_PY = ROOT / ".venv" / "app" / "bin" / "python"
BOT_TOKEN = "flood-bot-token-0123456789abcdef"
PASSWORD = "atiende-demo"


def free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def percentile(values: list[float], q: float) -> float | None:
    if not values:
        return None
    values = sorted(values)
    return values[min(len(values) - 1, max(0, int(round(q * (len(values) - 1)))))]


class Api:
    """The handoff API as its own process (``python -m handoff_api serve``)."""

    def __init__(self, data_dir: Path, database_url: str | None, env: dict[str, str],
                 code: Path = ROOT) -> None:
        self.code = code  # the checkout whose handoff_api runs (another one: a before/after)
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.env = {**os.environ, "ATIENDE_DATA_DIR": str(data_dir), "ATIENDE_ENV": "development",
                    "HANDOFF_HOST": "127.0.0.1", "HANDOFF_PORT": str(self.port),
                    "HANDOFF_DATABASE_URL": database_url or f"sqlite:///{data_dir / 'h.db'}",
                    "HANDOFF_BOT_TOKEN": BOT_TOKEN,
                    "HANDOFF_SECRET_KEY": "flood-secret-key-0123456789abcdef",
                    "RASA_URL": f"http://127.0.0.1:{free_port()}",  # no Rasa: nothing hands back
                    "BUSINESS_HOURS": "mon-sun 00:00-24:00", "ATIENDE_LOG_LEVEL": "WARNING",
                    **env, "PYTHONPATH": str(code)}
        self.log = open(data_dir / "api.log", "wb")  # noqa: SIM115 - closed in stop()
        self.proc: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        subprocess.run([str(APP_PY), "-m", "handoff_api", "seed-demo"], env=self.env,
                       cwd=self.code, check=True, capture_output=True, timeout=300)
        self.proc = subprocess.Popen([str(APP_PY), "-m", "handoff_api", "serve"], env=self.env,
                                     cwd=self.code, stdout=self.log, stderr=subprocess.STDOUT,
                                     start_new_session=True)
        deadline = time.monotonic() + 120
        while True:
            try:
                if httpx.get(f"{self.url}/health", timeout=2).status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            if self.proc.poll() is not None or time.monotonic() > deadline:
                raise SystemExit(f"the handoff API did not start; see {self.log.name}")
            time.sleep(0.3)

    def pin(self, cpus: set[int]) -> None:
        if self.proc is not None:
            subprocess.run(["taskset", "-a", "-p", "-c", ",".join(map(str, sorted(cpus))),
                            str(self.proc.pid)], capture_output=True, check=False)

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGTERM)
            try:
                self.proc.wait(20)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
        self.log.close()


def client(address: str) -> httpx.Client:
    return httpx.Client(timeout=30, transport=httpx.HTTPTransport(local_address=address))


def _probe(probes: dict[str, Any], done: Any, results: Any, settle: float) -> None:
    """The other clients' requests, one after the other, timed (runs in its own process)."""
    samples: list[tuple[str, float, Any]] = []
    with client("127.0.0.2") as http:
        time.sleep(settle)  # the flood is under way
        while not done.is_set():
            for label, probe in probes.items():
                t = time.perf_counter()
                try:
                    code: Any = probe(http).status_code
                except httpx.HTTPError as exc:
                    code = type(exc).__name__
                samples.append((label, time.perf_counter() - t, code))
            time.sleep(0.05)
    results.put(samples)


def flood(name: str, request: Any, probes: dict[str, Any], seconds: float,
          clients: int, one_client: bool = False) -> dict[str, Any]:
    """``clients`` connections flood; each from its own address (50 shoppers), or all from one
    (``one_client``: one flooder with 50 connections, the case a per-client share answers)."""
    stop = threading.Event()
    codes: Counter = Counter()
    lock = threading.Lock()

    def flooder(i: int) -> None:
        address = "127.0.0.3" if one_client else f"127.0.{1 + i // 250}.{3 + i % 250}"
        with client(address) as http:
            while not stop.is_set():
                try:
                    code: Any = request(http, i).status_code
                except httpx.HTTPError as exc:
                    code = type(exc).__name__
                with lock:
                    codes[code] += 1

    # The prober is its own process: in this one it would wait for the GIL behind 50 flooder
    # threads, and that wait (the generator's, not the server's) would be counted as latency.
    ctx = multiprocessing.get_context("fork")
    done, results = ctx.Event(), ctx.Queue()
    prober = ctx.Process(target=_probe, args=(probes, done, results, min(2.0, seconds / 5)),
                         daemon=True)
    prober.start()
    load0 = os.getloadavg()[0]
    threads = [threading.Thread(target=flooder, args=(i,), daemon=True) for i in range(clients)]
    for t in threads:
        t.start()
    time.sleep(seconds)
    stop.set()
    done.set()
    samples: list[tuple[str, float, Any]] = results.get(timeout=120)
    prober.join(30)
    for t in threads:
        t.join(60)
    latencies = [elapsed for _label, elapsed, _code in samples]
    per_probe: dict[str, list[float]] = {k: [] for k in probes}
    for label, elapsed, _code in samples:
        per_probe[label].append(elapsed)
    probe_codes = Counter(code for _label, _elapsed, code in samples)
    codes_by_probe: dict[str, Counter] = {k: Counter() for k in probes}
    for label, _elapsed, code in samples:
        codes_by_probe[label][str(code)] += 1

    def ms(v: float | None) -> float:
        return round(1000 * (v or 0), 1)

    result = {"route": name, "clients": clients, "seconds": seconds,
              "flooders": "one address" if one_client else "one address each",
              "flood_codes": {str(k): v for k, v in sorted(codes.items(), key=str)},
              "flood_requests_per_s": round(sum(codes.values()) / seconds, 1),
              "others_requests": len(latencies),
              "others_codes": {str(k): v for k, v in sorted(probe_codes.items(), key=str)},
              "others_p50_ms": ms(percentile(latencies, 0.5)),
              "others_p99_ms": ms(percentile(latencies, 0.99)),
              "others_max_ms": ms(max(latencies, default=0)),
              "others_p99_ms_by_request": {k: ms(percentile(v, 0.99))
                                           for k, v in per_probe.items()},
              "others_codes_by_request": {k: dict(v) for k, v in codes_by_probe.items()},
              "loadavg_1min": round(load0, 2)}
    print(f"[flood] {name}: others p50 {result['others_p50_ms']} ms, p99 "
          f"{result['others_p99_ms']} ms, max {result['others_max_ms']} ms ({len(latencies)} "
          f"requests, {result['others_codes']}); flood {result['flood_requests_per_s']}/s "
          f"{result['flood_codes']}; load {result['loadavg_1min']}", flush=True)
    return result


def run(api: Api, seconds: float, clients: int, routes: list[str] | None) -> list[dict[str, Any]]:
    bot = {"Authorization": f"Bearer {BOT_TOKEN}"}
    key = web_conversation.signing_key(BOT_TOKEN)
    with httpx.Client(base_url=api.url, timeout=30) as h:
        for cid in ("web-flood-target", "web-flood-probe"):
            r = h.post("/api/handoffs", headers=bot, json={
                "conversation_id": cid, "channel": "socketio", "language": "es",
                "reason": "asked", "transcript": [{"role": "user", "text": "hola"}]})
            assert r.status_code in (200, 201), r.text
        r = h.post("/api/auth/login", json={"username": "ana", "password": PASSWORD})
        assert r.status_code == 200, r.text
        agent = {"Authorization": f"Bearer {r.json()['token']}"}
    target = {web_conversation.HEADER: web_conversation.token_for(key, "web-flood-target")}
    probe = {web_conversation.HEADER: web_conversation.token_for(key, "web-flood-probe")}
    url = api.url

    probes = {
        "bot forward": lambda http: http.post(
            f"{url}/api/conversations/web-flood-probe/messages", headers=bot,
            json={"message_id": f"probe-{uuid.uuid4().hex}", "text": "¿sigue ahí?",
                  "channel": "socketio"}),
        "agent queue list": lambda http: http.get(f"{url}/api/queue", headers=agent),
        "other widget read": lambda http: http.get(f"{url}/api/widget/messages", headers=probe),
        "health check": lambda http: http.get(f"{url}/health"),
    }
    floods = {
        "GET /api/widget/messages": lambda h, i: h.get(f"{url}/api/widget/messages",
                                                       headers=target),
        "GET /api/widget/queue": lambda h, i: h.get(f"{url}/api/widget/queue", headers=target),
        "POST /api/auth/login (wrong password)": lambda h, i: h.post(
            f"{url}/api/auth/login", json={"username": f"flood-{i}", "password": "wrong-pass"}),
        "GET /health": lambda h, i: h.get(f"{url}/health"),
    }
    results = [flood("(no flood)", lambda h, i: h.get(f"{url}/health"), probes, seconds / 2, 0)]
    for name, request in floods.items():
        if routes and not any(r in name for r in routes):
            continue
        results.append(flood(name, request, probes, seconds, clients))
    one = "GET /api/widget/messages, one client"
    if not routes or any(r in one for r in routes):
        results.append(flood(one, floods["GET /api/widget/messages"], probes, seconds, clients,
                             one_client=True))
    return results


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seconds", type=float, default=20.0)
    parser.add_argument("--clients", type=int, default=50)
    parser.add_argument("--database-url", help="default: a fresh SQLite file")
    parser.add_argument("--route", action="append", help="only routes containing this (repeat)")
    parser.add_argument("--env", action="append", default=[], metavar="NAME=VALUE",
                        help="extra environment for the API (e.g. HANDOFF_WORKER_THREADS=8)")
    parser.add_argument("--label", default="", help="a name for this run in the JSON")
    parser.add_argument("--code", type=Path, default=ROOT,
                        help="the checkout whose handoff API runs (default: this one)")
    parser.add_argument("--out", type=Path)
    parser.add_argument("--no-pin", action="store_true")
    args = parser.parse_args(argv)
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    env = dict(e.split("=", 1) for e in args.env)
    cpus = sorted(os.sched_getaffinity(0))
    pinned = not args.no_pin and len(cpus) >= 2
    started = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
    with tempfile.TemporaryDirectory(prefix="atiende-flood-") as tmp:
        api = Api(Path(tmp), args.database_url, env, args.code.resolve())
        try:
            api.start()
            if pinned:
                api.pin(set(cpus[:-1]))
                os.sched_setaffinity(0, {cpus[-1]})
            results = run(api, args.seconds, args.clients, args.route)
        finally:
            api.stop()
    worst = max((r["others_p99_ms"] for r in results if r["clients"]), default=0)
    print(f"worst p99 of the others under a flood: {worst} ms (goal < 1000 ms)")
    if args.out:
        doc = json.loads(args.out.read_text()) if args.out.exists() else {"runs": []}
        doc["runs"].append({"label": args.label, "started": started,
                            "command": "python -m bench.public_flood " + " ".join(
                                sys.argv[1:] if argv is None else argv),
                            "server_cpus": cpus[:-1] if pinned else None,
                            "generator_cpu": cpus[-1] if pinned else None,
                            "database": "postgresql" if args.database_url else "sqlite",
                            "code": str(args.code), "env": env, "floods": results,
                            "worst_p99_ms": worst})
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(json.dumps(doc, indent=2, ensure_ascii=False) + "\n")
        print(f"written {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
