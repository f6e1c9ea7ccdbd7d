"""Chaos at the bot <-> handoff seam: scripted handoff conversations under random kill -9 and races,
then 50-client floods on each public route with the latency of everyone else.

    .venv/app/bin/python -m bench.seam_chaos --conversations 1000            # the issue's goal
    .venv/app/bin/python -m bench.seam_chaos --conversations 200 --kill-every 45
    .venv/app/bin/python -m bench.seam_chaos --kill-every 40 \
        --kill-weights handoff=5,actions=5,rasa=1
    .venv/app/bin/python -m bench.seam_chaos --conversations 0 --flood-seconds 10  # latency only

Starts the real processes (Rasa with the trained model, the action server, the handoff API on
SQLite, through ``scripts.run.running_system``; tests/faults/system.py) in a temporary data
directory.

**Chaos**: ``--concurrency`` conversations at a time run the script of
``tests.faults.system.handoff_conversation`` (greeting, "I want a person", messages for the agent,
the agent's reply, a close — resolve or hand-back at random — raced by 1-4 shopper messages, a
last message after the hand-back), half on the REST channel and half on WhatsApp webhooks. Every
``--kill-every`` seconds (on average) one process chosen at random (odds ``--kill-weights``)
gets ``SIGKILL`` and is started again. Afterwards every shopper message is judged from the stores
of record (tracker, handoff database): answered (by the bot or the agent), lost, duplicated.
Goal: 0 lost, 0 duplicated.

**Floods**: for each public route, 50 clients (each from its own loopback address, so each gets its
own rate-limit budget, like 50 shoppers) call it in a loop for ``--flood-seconds``, while one other
client measures its own requests (a bot forward to the handoff API and a widget read of another
conversation; a REST turn of another shopper when Rasa is the one flooded). Reported: p50/p99 of the
others, the flood's status codes. (The others are timed from a thread of this process, which
waits for the GIL behind the flooders: ``bench/public_flood.py`` times them from a process of
their own and is the figure to quote for the handoff API.) Run twice for the handoff API
routes: with the production per-client limit (120/minute) and with the limit off, to show
what the limit buys. Goal: p99 < 1 s.

The load generator (this process and its threads) is pinned to the last CPU with
``sched_setaffinity``; the servers to the others (``taskset -a -p``), so the generator does not
steal the servers' CPU. On a 2-core machine shared with other jobs the figures are noisy: read
them with the load average printed next to them. Results: JSON (``--out``) and a summary on stdout.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import signal
import subprocess
import sys
import tempfile
import threading
import time
import traceback
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import httpx

from contracts import web_conversation
from tests.faults.system import BOT_TOKEN, Seam, Tally, handoff_conversation, wait_for

SERVICES = ("handoff", "actions", "rasa")


def pin(seam: Seam, cpus: set[int]) -> None:
    for service in seam.system.services:
        if service.process is not None and service.process.poll() is None:
            subprocess.run(["taskset", "-a", "-p", "-c", ",".join(map(str, sorted(cpus))),
                            str(service.process.pid)], capture_output=True, check=False)


class Chaos:
    """Kills a random process every ``every`` seconds (exponential gaps) and starts it again.

    ``weights`` (relative) choose the process: killing the fast-restarting ones (handoff API,
    action server: seconds) more often than Rasa (a model load: minutes on a busy machine) makes a
    run cheaper per kill without leaving any process out."""

    def __init__(self, seam: Seam, every: float, rng: random.Random,
                 server_cpus: set[int] | None, weights: dict[str, float] | None = None) -> None:
        self.seam, self.every, self.rng, self.server_cpus = seam, every, rng, server_cpus
        self.weights = weights or {name: 1.0 for name in SERVICES}
        self.kills: Counter = Counter()
        self.stop = threading.Event()
        self.lock = threading.Lock()  # held while a process is down (the audit waits for it)
        self.thread = threading.Thread(target=self._run, name="chaos", daemon=True)

    def _run(self) -> None:
        while not self.stop.wait(self.rng.expovariate(1 / self.every)):
            name = self.rng.choices(list(self.weights), list(self.weights.values()))[0]
            with self.lock:
                print(f"[chaos] kill -9 {name}", flush=True)
                self.seam.kill(name)
                time.sleep(self.rng.uniform(0.2, 3.0))
                self.seam.restart(name)
                if self.server_cpus:
                    pin(self.seam, self.server_cpus)
                self.kills[name] += 1
                print(f"[chaos] {name} is back", flush=True)

    def __enter__(self) -> Chaos:
        if self.every > 0:
            self.thread.start()
        return self

    def __exit__(self, *exc: Any) -> None:
        self.stop.set()
        if self.thread.is_alive():
            self.thread.join(600)


def parse_weights(text: str) -> dict[str, float]:
    weights = {}
    for part in text.split(","):
        name, _, value = part.partition("=")
        if name.strip() not in SERVICES:
            raise argparse.ArgumentTypeError(f"unknown process {name!r}; one of {SERVICES}")
        weights[name.strip()] = float(value)
    if not weights or min(weights.values()) < 0 or not sum(weights.values()):
        raise argparse.ArgumentTypeError("weights must be >= 0 and not all 0")
    return weights


def run_chaos(seam: Seam, args: argparse.Namespace, rng: random.Random,
              server_cpus: set[int] | None) -> dict[str, Any]:
    tally = Tally()
    errors: list[str] = []
    done = Counter()
    t0 = time.monotonic()

    def one(i: int) -> None:
        if args.minutes and time.monotonic() - t0 > args.minutes * 60:
            done["not_started"] += 1  # out of time: reported, never counted as answered
            return
        r = random.Random(args.seed * 100_003 + i)
        channel = "whatsapp" if r.random() < args.whatsapp_share else "rest"
        cid = f"3460{i:07d}" if channel == "whatsapp" else f"chaos-{args.seed}-{i}"
        try:
            handoff_conversation(seam, tally, cid, channel=channel,
                                 close=r.choice(["resolve", "hand-back"]),
                                 racers=r.randint(1, 4))
            done["completed"] += 1
        except Exception as exc:  # counted, and its messages are still audited
            done["errors"] += 1
            errors.append(f"{cid}: {type(exc).__name__}: {str(exc)[:300]}")
            traceback.print_exc()
        n = done["completed"] + done["errors"]
        if n % 10 == 0:
            print(f"[chaos] {n}/{args.conversations} conversations "
                  f"({time.monotonic() - t0:.0f} s)", flush=True)

    with Chaos(seam, args.kill_every, rng, server_cpus, args.kill_weights) as chaos:
        with ThreadPoolExecutor(max_workers=args.concurrency) as pool:
            list(pool.map(one, range(args.conversations)))
    wait_for(lambda: seam.settled([]), 300, "hand-backs and outboxes to drain")
    counts = tally.audit(seam, patience=120)
    return {"conversations": args.conversations - done["not_started"],
            "conversations_asked": args.conversations, "concurrency": args.concurrency,
            "whatsapp_share": args.whatsapp_share, "kill_every_seconds": args.kill_every,
            "kill_weights": args.kill_weights,
            "kills": dict(chaos.kills), "completed": done["completed"],
            "script_errors": done["errors"], "errors": errors[:50],
            "messages": tally.summary(), "problems": tally.problems[:100],
            "seconds": round(time.monotonic() - t0, 1), "counts_raw": dict(counts)}


# --- floods ---------------------------------------------------------------------------------------

def percentile(values: list[float], q: float) -> float | None:
    if not values:
        return None
    values = sorted(values)
    k = min(len(values) - 1, max(0, int(round(q * (len(values) - 1)))))
    return values[k]


def client(address: str) -> httpx.Client:
    return httpx.Client(timeout=30, transport=httpx.HTTPTransport(local_address=address))


def flood(seam: Seam, name: str, request: Any, probes: list[Any], seconds: float,
          clients: int = 50) -> dict[str, Any]:
    """``clients`` threads call ``request(http, i)`` in a loop; one more thread times ``probes``."""
    stop = threading.Event()
    codes: Counter = Counter()
    lock = threading.Lock()

    def flooder(i: int) -> None:
        with client(f"127.0.{1 + i // 250}.{1 + i % 250}") as http:
            while not stop.is_set():
                try:
                    code = request(http, i).status_code
                except httpx.HTTPError as exc:
                    code = type(exc).__name__
                with lock:
                    codes[code] += 1

    latencies: list[float] = []
    probe_codes: Counter = Counter()

    def prober() -> None:
        with client("127.0.0.2") as http:
            while not stop.is_set():
                for probe in probes:
                    t = time.perf_counter()
                    try:
                        code = probe(http).status_code
                    except httpx.HTTPError as exc:
                        code = type(exc).__name__
                    latencies.append(time.perf_counter() - t)
                    probe_codes[code] += 1
                time.sleep(0.05)

    load0 = os.getloadavg()[0]
    threads = [threading.Thread(target=flooder, args=(i,), daemon=True) for i in range(clients)]
    threads.append(threading.Thread(target=prober, daemon=True))
    for t in threads:
        t.start()
    time.sleep(seconds)
    stop.set()
    for t in threads:
        t.join(60)
    result = {"route": name, "clients": clients, "seconds": seconds,
              "flood_codes": {str(k): v for k, v in codes.items()},
              "flood_requests_per_s": round(sum(codes.values()) / seconds, 1),
              "others_requests": len(latencies),
              "others_codes": {str(k): v for k, v in probe_codes.items()},
              "others_p50_ms": round(1000 * (percentile(latencies, 0.5) or 0), 1),
              "others_p99_ms": round(1000 * (percentile(latencies, 0.99) or 0), 1),
              "others_max_ms": round(1000 * max(latencies, default=0), 1),
              "loadavg_1min": round(load0, 2)}
    print(f"[flood] {name}: others p50 {result['others_p50_ms']} ms, p99 "
          f"{result['others_p99_ms']} ms ({len(latencies)} requests); flood "
          f"{result['flood_requests_per_s']}/s {result['flood_codes']}", flush=True)
    return result


def set_api_env(seam: Seam, **env: str) -> None:
    """Restart the handoff API with ``env`` (same data)."""
    seam.system.settings.env.update(env)
    seam.service("handoff").stop()
    seam.restart("handoff")


def run_floods(seam: Seam, seconds: float, server_cpus: set[int] | None) -> list[dict[str, Any]]:
    bot = {"Authorization": f"Bearer {BOT_TOKEN}"}
    api, rasa = seam.api_url, seam.rasa_url
    # a queued conversation for the probe's bot forwards, and one the flood reads
    for cid in ("flood-probe", "flood-target"):
        seam.say(cid, "quiero hablar con una persona, por favor")
        seam.wait_handoff(cid)
    counter = iter(range(10**9))

    def forward(http: httpx.Client) -> httpx.Response:
        return http.post(f"{api}/api/conversations/flood-probe/messages", headers=bot, json={
            "message_id": f"probe-{next(counter)}", "text": "¿sigue ahí?", "channel": "rest"})

    key = web_conversation.signing_key(BOT_TOKEN)
    probe_token = {web_conversation.HEADER: web_conversation.token_for(key, "flood-probe")}
    target_token = {web_conversation.HEADER: web_conversation.token_for(key, "flood-target")}

    def widget_other(http: httpx.Client) -> httpx.Response:
        return http.get(f"{api}/api/widget/messages", headers=probe_token)

    def rasa_turn(http: httpx.Client) -> httpx.Response:
        return http.post(f"{rasa}/webhooks/rest/webhook", json={
            "sender": "flood-probe-rasa", "message": "hola", "message_id": f"p-{next(counter)}",
            "metadata": {"language": "es"}})

    api_routes = {
        # the widget routes take the conversation token (a URL with the id is a 404)
        "GET /api/widget/messages": lambda h, i: h.get(f"{api}/api/widget/messages",
                                                       headers=target_token),
        "GET /api/widget/queue": lambda h, i: h.get(f"{api}/api/widget/queue",
                                                    headers=target_token),
        "POST /api/auth/login (wrong password)": lambda h, i: h.post(
            f"{api}/api/auth/login", json={"username": "ana", "password": f"wrong-{i}"}),
        "GET /health": lambda h, i: h.get(f"{api}/health"),
    }
    results = []
    for variant, env in (("per-client limit 120/minute (default)",
                          {"HANDOFF_PUBLIC_RATE_LIMIT": "120/minute",
                           "HANDOFF_LOGIN_RATE_LIMIT": "20/minute"}),
                         ("limits off", {"HANDOFF_PUBLIC_RATE_LIMIT": "1000000/minute",
                                         "HANDOFF_LOGIN_RATE_LIMIT": "1000000/minute"})):
        set_api_env(seam, **env)
        if server_cpus:
            pin(seam, server_cpus)
        for name, request in api_routes.items():
            r = flood(seam, name, request, [forward, widget_other], seconds)
            results.append({**r, "variant": variant})
    r = flood(seam, "POST /webhooks/rest/webhook (Rasa, 50 senders)", lambda h, i: h.post(
        f"{rasa}/webhooks/rest/webhook", json={"sender": f"flooder-{i}", "message": "hola",
                                                "metadata": {"language": "es"}}),
        [rasa_turn], seconds)
    results.append({**r, "variant": "per-sender guard (default)"})
    return results


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--conversations", type=int, default=1000)
    parser.add_argument("--concurrency", type=int, default=8)
    parser.add_argument("--kill-every", type=float, default=60.0,
                        help="mean seconds between kills (0: no kills)")
    parser.add_argument("--kill-weights", type=parse_weights, default="handoff=1,actions=1,rasa=1",
                        help="relative odds of each process being the one killed, e.g. "
                             "handoff=5,actions=5,rasa=1 (kill Rasa, slow to restart, less often)")
    parser.add_argument("--whatsapp-share", type=float, default=0.5)
    parser.add_argument("--flood-seconds", type=float, default=10.0, help="0: no floods")
    parser.add_argument("--minutes", type=float, default=0,
                        help="start no conversation after this many minutes (0: no limit)")
    parser.add_argument("--seed", type=int, default=11)
    parser.add_argument("--out", type=Path, default=Path("reports/reliability/seam_chaos.json"))
    parser.add_argument("--no-pin", action="store_true")
    args = parser.parse_args(argv)
    # `kill` / `timeout` take the same path as Ctrl-C: the servers (own sessions) are stopped
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))

    rng = random.Random(args.seed)
    cpus = sorted(os.sched_getaffinity(0))
    server_cpus = None
    if not args.no_pin and len(cpus) >= 2:
        server_cpus = set(cpus[:-1])
    result: dict[str, Any] = {"command": "python -m bench.seam_chaos " + " ".join(
        sys.argv[1:] if argv is None else argv), "cpus": len(cpus),
        "generator_cpu": cpus[-1] if server_cpus else None,
        "server_cpus": sorted(server_cpus) if server_cpus else None,
        "started": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())}
    with tempfile.TemporaryDirectory(prefix="atiende-chaos-") as tmp:
        # the default per-client limits: the floods measure what production would do
        seam = Seam(Path(tmp), HANDOFF_PUBLIC_RATE_LIMIT="120/minute",
                    HANDOFF_LOGIN_RATE_LIMIT="1000/minute", ATIENDE_LOG_LEVEL="WARNING")
        try:
            seam.start()
            if server_cpus:
                os.sched_setaffinity(0, {cpus[-1]})
                pin(seam, server_cpus)
            if args.conversations:
                result["chaos"] = run_chaos(seam, args, rng, server_cpus)
                m = result["chaos"]["messages"]
                print(f"[chaos] {result['chaos']['conversations']} conversations, kills "
                      f"{result['chaos']['kills']}: sent {m['sent']}, answered {m['answered']} "
                      f"(bot {m['answered_by_bot']}, agent {m['answered_by_agent']}), lost "
                      f"{m['lost']}, duplicated {m['duplicated']}", flush=True)
            if args.flood_seconds:
                result["floods"] = run_floods(seam, args.flood_seconds, server_cpus)
        finally:
            seam.close()
    result["finished"] = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    print(f"written {args.out}")
    chaos = result.get("chaos", {}).get("messages", {})
    return 1 if chaos.get("lost") or chaos.get("duplicated") else 0


if __name__ == "__main__":
    sys.exit(main())
