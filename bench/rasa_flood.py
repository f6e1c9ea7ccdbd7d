"""50 senders flood Rasa's REST webhook at once: is anyone's turn lost, is anyone told 5xx, how
long does another shopper wait?

    .venv/app/bin/python -m bench.rasa_flood --senders 50 --seconds 30 \
        --out reports/reliability/rasa_flood.json

Starts the real processes (Rasa with the trained model, the action server, the handoff API on
SQLite) with ``tests.faults.system.Seam`` (``scripts.run.running_system``, the launcher of
``make run``) in a temporary data directory. Then ``--senders`` shoppers — each its own sender id
— post turns to ``POST /webhooks/rest/webhook`` for ``--seconds``, each as fast as the bot answers
it (the next message as soon as the last one is answered; a ``429`` is honoured: the sender waits
``Retry-After``, as the widget does), every message with its own ``message_id``. Meanwhile another
shopper, timed from a **separate process** (in this one it would wait for the GIL behind the
flooders), sends one turn every 0.5 s.

After the flood every message without a final answer (client timeout, ``409`` "being
processed", a 5xx) is resent with the same ``message_id`` until answered, as the widget does.
Then each message is judged from Rasa's tracker (``tests.faults.system.Tally``): answered once,
lost (no turn, or a turn without a bot reply) or duplicated (two turns); a message refused with
``429`` must have no turn at all.

The servers are pinned to the first CPU(s), this generator to the last one. Figures depend on the
machine's load: the 1-minute load average is recorded with them.
"""

from __future__ import annotations

import argparse
import json
import multiprocessing
import os
import signal
import sys
import tempfile
import threading
import time
from collections import Counter
from pathlib import Path
from typing import Any

import httpx

from bench.public_flood import percentile
from bench.seam_chaos import pin
from tests.faults.system import Seam, Tally

TEXTS = ("hola", "¿cuánto tarda el envío a Canarias?", "gracias", "¿puedo devolver un pedido?")


def post_turn(http: httpx.Client, url: str, sender: str, message_id: str,
              text: str) -> tuple[Any, float, float]:
    """One attempt: (status code or exception name, seconds, Retry-After)."""
    t = time.perf_counter()
    try:
        r = http.post(f"{url}/webhooks/rest/webhook", json={
            "sender": sender, "message": text, "message_id": message_id,
            "metadata": {"language": "es"}})
        code: Any = r.status_code
        retry = float(r.headers.get("Retry-After") or 0)
    except httpx.HTTPError as exc:
        code, retry = type(exc).__name__, 0.0
    return code, time.perf_counter() - t, retry


def _bystander(url: str, timeout: float, done: Any, results: Any) -> None:
    samples: list[tuple[str, Any, float]] = []
    with httpx.Client(timeout=timeout) as http:
        n = 0
        while not done.is_set():
            n += 1
            mid = f"bystander-{n}"
            code, seconds, _retry = post_turn(http, url, "flood-bystander", mid, "hola")
            samples.append((mid, code, seconds))
            time.sleep(0.5)
    results.put(samples)


def run(seam: Seam, senders: int, seconds: float, timeout: float) -> dict[str, Any]:
    url = seam.rasa_url
    seam.say("flood-warmup", "hola")  # the first turn loads lazy parts of the pipeline
    stop = threading.Event()
    lock = threading.Lock()
    attempts: list[tuple[str, str, Any, float]] = []  # sender, message id, code, seconds

    def flooder(i: int) -> None:
        sender = f"flooder-{i}"
        with httpx.Client(timeout=timeout) as http:
            n = 0
            while not stop.is_set():
                n += 1
                mid = f"{sender}-{n}"
                code, elapsed, retry = post_turn(http, url, sender, mid, TEXTS[n % len(TEXTS)])
                with lock:
                    attempts.append((sender, mid, code, elapsed))
                if code == 429:
                    stop.wait(retry or 1.0)

    ctx = multiprocessing.get_context("fork")
    done, results = ctx.Event(), ctx.Queue()
    prober = ctx.Process(target=_bystander, args=(url, timeout, done, results), daemon=True)
    load0 = os.getloadavg()[0]
    threads = [threading.Thread(target=flooder, args=(i,), daemon=True) for i in range(senders)]
    for t in threads:
        t.start()
    time.sleep(min(3.0, seconds / 5))  # the flood is under way
    prober.start()
    time.sleep(seconds)
    stop.set()
    done.set()
    others: list[tuple[str, Any, float]] = results.get(timeout=timeout + 60)
    prober.join(30)
    for t in threads:
        t.join(timeout + 30)
    load1 = os.getloadavg()[0]

    # every message without a final answer is resent with its id until answered (the widget)
    tally = Tally()
    refused: dict[str, set[str]] = {}
    resent = 0
    final = {mid: code for _s, mid, code, _e in attempts}
    for sender, mid, code, _elapsed in attempts:
        if code == 429:
            refused.setdefault(sender, set()).add(mid)
            continue
        tally.note(sender, mid)
        if code != 200:
            resent += 1
            seam.say(sender, TEXTS[int(mid.rsplit("-", 1)[1]) % len(TEXTS)], mid, patience=600)
    for mid, code, _e in others:
        tally.note("flood-bystander", mid)
        if code != 200:
            resent += 1
            seam.say("flood-bystander", "hola", mid, patience=600)
    tally.audit(seam, patience=120)
    ran_although_refused = 0
    for sender, mids in refused.items():
        turns = {e.get("message_id") for e in seam.tracker_events(sender)
                 if e.get("event") == "user"}
        ran_although_refused += len(mids & turns)

    flood_codes = Counter(str(code) for code in final.values())
    flood_ok = [e for _s, _m, code, e in attempts if code == 200]
    other_ok = [e for _m, code, e in others if code == 200]
    other_all = [e for _m, _code, e in others]

    def ms(v: float | None) -> float:
        return round(1000 * (v or 0), 1)

    result = {
        "senders": senders, "seconds": seconds, "client_timeout_s": timeout,
        "flood_attempts": len(attempts),
        "flood_codes": dict(sorted(flood_codes.items())),
        "flood_turns_answered_per_s": round(len(flood_ok) / seconds, 2),
        "flood_p50_ms": ms(percentile(flood_ok, 0.5)),
        "flood_p99_ms": ms(percentile(flood_ok, 0.99)),
        "bystander_requests": len(others),
        "bystander_codes": dict(sorted(Counter(str(c) for _m, c, _e in others).items())),
        "bystander_p50_ms": ms(percentile(other_all, 0.5)),
        "bystander_p99_ms": ms(percentile(other_all, 0.99)),
        "bystander_max_ms": ms(max(other_all, default=0)),
        "bystander_ok_p99_ms": ms(percentile(other_ok, 0.99)),
        "resent_after_the_flood": resent,
        "messages": tally.summary(), "problems": tally.problems[:50],
        "refused_429": sum(len(v) for v in refused.values()),
        "refused_but_ran": ran_although_refused,
        "loadavg_1min": [round(load0, 2), round(load1, 2)],
    }
    m = result["messages"]
    print(f"[rasa flood] {senders} senders, {seconds:.0f} s: {result['flood_turns_answered_per_s']}"
          f" turns/s answered, codes {result['flood_codes']}; bystander "
          f"{result['bystander_codes']} p50 {result['bystander_p50_ms']} ms, p99 "
          f"{result['bystander_p99_ms']} ms; after resending {resent}: sent {m['sent']}, "
          f"lost {m['lost']}, duplicated {m['duplicated']}, 429-but-ran "
          f"{ran_although_refused}; load {result['loadavg_1min']}", flush=True)
    return result


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--senders", type=int, default=50)
    parser.add_argument("--seconds", type=float, default=30.0)
    parser.add_argument("--timeout", type=float, default=30.0,
                        help="client read timeout (s); a timed-out message is resent afterwards")
    parser.add_argument("--env", action="append", default=[], metavar="NAME=VALUE",
                        help="extra environment for the servers (e.g. ATIENDE_SENDER_RATE=5)")
    parser.add_argument("--label", default="")
    parser.add_argument("--out", type=Path)
    parser.add_argument("--no-pin", action="store_true")
    args = parser.parse_args(argv)
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    env = dict(e.split("=", 1) for e in args.env)
    cpus = sorted(os.sched_getaffinity(0))
    server_cpus = set(cpus[:-1]) if not args.no_pin and len(cpus) >= 2 else None
    started = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
    with tempfile.TemporaryDirectory(prefix="atiende-rasa-flood-") as tmp:
        seam = Seam(Path(tmp), ATIENDE_LOG_LEVEL="WARNING", **env)
        try:
            seam.start()
            if server_cpus:
                pin(seam, server_cpus)
                os.sched_setaffinity(0, {cpus[-1]})
            result = run(seam, args.senders, args.seconds, args.timeout)
        finally:
            seam.close()
    if args.out:
        doc = json.loads(args.out.read_text()) if args.out.exists() else {"runs": []}
        doc["runs"].append({"label": args.label, "started": started, "env": env,
                            "command": "python -m bench.rasa_flood " + " ".join(
                                sys.argv[1:] if argv is None else argv),
                            "server_cpus": sorted(server_cpus) if server_cpus else None,
                            **result})
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(json.dumps(doc, indent=2, ensure_ascii=False) + "\n")
        print(f"written {args.out}")
    m = result["messages"]
    bad = m["lost"] or m["duplicated"] or result["refused_but_ran"] or any(
        c.startswith("5") for c in list(result["flood_codes"]) + list(result["bystander_codes"]))
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
