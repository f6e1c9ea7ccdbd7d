"""50 clients flood Rasa's REST webhook at once: is anyone's turn lost, is anyone told 5xx, how
long do the other shoppers wait — without and with turn admission (bot/channels/admission.py)?

    .venv/app/bin/python -m bench.rasa_flood --senders 50 --seconds 100 --variants off,on \
        --out reports/reliability/rasa_flood_admission.json

For each variant (``off``: ``ATIENDE_TURNS_IN_PROGRESS=0``, no admission; ``on``: the defaults;
``on1`` / ``on3``: 1 / 3 turns in progress), in one run, starts the real processes (Rasa with the
trained model, the action server, the handoff API on SQLite) with ``tests.faults.system.Seam``
(``scripts.run.running_system``, the launcher of ``make run``) in a temporary data directory.
Then ``--senders`` flooders, each its own sender id **and its own loopback address** (127.0.2.N:
its own client for the admission's per-client share), post turns to
``POST /webhooks/rest/webhook`` for ``--seconds``, each as fast as the bot answers it (the next
message as soon as the last one is answered; a ``429`` is honoured: the flooder waits
``Retry-After``, as the widget does), every message with its own ``message_id``. Meanwhile other
shoppers write, ``--probe-rate`` per second (open loop: on time, whatever the earlier ones wait
for), each one first message of its own sender from its own address (127.0.3.N…), with the
flooders' mix of texts (greetings and knowledge-base questions), timed from a **separate
process** (in this one they would wait for the GIL behind the flooders): their latency is the
bystanders' p50/p99 (every request, 429s included, and the answered ones alone).

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
VARIANTS = {"off": {"ATIENDE_TURNS_IN_PROGRESS": "0"}, "on": {},  # on: the defaults
            "on1": {"ATIENDE_TURNS_IN_PROGRESS": "1"}, "on3": {"ATIENDE_TURNS_IN_PROGRESS": "3"}}


def text_of(message_id: str) -> str:
    return TEXTS[int(message_id.rsplit("-", 1)[1]) % len(TEXTS)]


def client(address: str, timeout: float) -> httpx.Client:
    """An HTTP client whose connections come from ``address`` (any 127.x.y.z is loopback)."""
    return httpx.Client(timeout=timeout, transport=httpx.HTTPTransport(local_address=address))


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


def _probers(url: str, timeout: float, rate: float, done: Any, results: Any) -> None:
    """Open loop: a new shopper every ``1/rate`` s, whatever the earlier ones are waiting for
    (a prober that waits for its answer before the next probe would probe less when it is
    slow). Each probe is another shopper's first message: its own sender id and address."""
    samples: list[tuple[str, str, Any, float]] = []  # sender, message id, code, seconds
    lock = threading.Lock()

    def probe(n: int) -> None:
        sender, mid = f"bystander-{n}", f"bystander-{n}-{n}"
        with client(f"127.0.{3 + n // 250}.{n % 250 + 1}", timeout) as http:
            code, seconds, _retry = post_turn(http, url, sender, mid, text_of(mid))
        with lock:
            samples.append((sender, mid, code, seconds))

    threads, n, start = [], 0, time.monotonic()
    while not done.is_set():
        thread = threading.Thread(target=probe, args=(n,), daemon=True)
        thread.start()
        threads.append(thread)
        n += 1
        done.wait(max(0.0, start + n / rate - time.monotonic()))
    for thread in threads:
        thread.join()
    results.put(samples)


def run(seam: Seam, senders: int, seconds: float, timeout: float,
        probe_rate: float) -> dict[str, Any]:
    url = seam.rasa_url
    seam.say("flood-warmup", "hola")  # the first turn loads lazy parts of the pipeline
    stop = threading.Event()
    lock = threading.Lock()
    attempts: list[tuple[str, str, Any, float]] = []  # sender, message id, code, seconds

    def flooder(i: int) -> None:
        sender = f"flooder-{i}"
        with client(f"127.0.2.{i + 1}", timeout) as http:
            n = 0
            while not stop.is_set():
                n += 1
                mid = f"{sender}-{n}"
                code, elapsed, retry = post_turn(http, url, sender, mid, text_of(mid))
                with lock:
                    attempts.append((sender, mid, code, elapsed))
                if code == 429:
                    stop.wait(retry or 1.0)

    ctx = multiprocessing.get_context("fork")
    done, results = ctx.Event(), ctx.Queue()
    prober = ctx.Process(target=_probers, args=(url, timeout, probe_rate, done, results),
                         daemon=True)
    load0 = os.getloadavg()[0]
    threads = [threading.Thread(target=flooder, args=(i,), daemon=True) for i in range(senders)]
    for t in threads:
        t.start()
    time.sleep(min(3.0, seconds / 5))  # the flood is under way
    prober.start()
    time.sleep(seconds)
    stop.set()
    done.set()
    others: list[tuple[str, str, Any, float]] = results.get(timeout=timeout + 60)
    prober.join(30)
    for t in threads:
        t.join(timeout + 30)
    load1 = os.getloadavg()[0]

    # every message without a final answer is resent with its id until answered (the widget);
    # a 429 is a refusal: it must have no turn
    tally = Tally()
    refused: dict[str, set[str]] = {}
    resent = 0
    for sender, mid, code, _elapsed in [*attempts, *others]:
        if code == 429:
            refused.setdefault(sender, set()).add(mid)
            continue
        tally.note(sender, mid)
        if code != 200:
            resent += 1
            seam.say(sender, text_of(mid), mid, patience=600)
    tally.audit(seam, patience=120)
    ran_although_refused = 0
    for sender, mids in refused.items():
        turns = {e.get("message_id") for e in seam.tracker_events(sender)
                 if e.get("event") == "user"}
        ran_although_refused += len(mids & turns)

    def ms(v: float | None) -> float:
        return round(1000 * (v or 0), 1)

    flood_ok = [e for _s, _m, code, e in attempts if code == 200]
    other_ok = [e for _s, _m, code, e in others if code == 200]
    other_all = [e for _s, _m, _code, e in others]
    result = {
        "senders": senders, "seconds": seconds, "client_timeout_s": timeout,
        "probes_per_s": probe_rate,
        "flood_attempts": len(attempts),
        "flood_codes": dict(sorted(Counter(str(c) for _s, _m, c, _e in attempts).items())),
        "flood_turns_answered_per_s": round(len(flood_ok) / seconds, 2),
        "flood_p50_ms": ms(percentile(flood_ok, 0.5)),
        "flood_p99_ms": ms(percentile(flood_ok, 0.99)),
        "bystander_requests": len(others),
        "bystander_codes": dict(sorted(Counter(str(c) for _s, _m, c, _e in others).items())),
        "bystander_p50_ms": ms(percentile(other_all, 0.5)),
        "bystander_p99_ms": ms(percentile(other_all, 0.99)),
        "bystander_max_ms": ms(max(other_all, default=0)),
        "bystander_answered_share": round(len(other_ok) / max(1, len(others)), 3),
        "bystander_ok_p50_ms": ms(percentile(other_ok, 0.5)),
        "bystander_ok_p99_ms": ms(percentile(other_ok, 0.99)),
        "resent_after_the_flood": resent,
        "messages": tally.summary(), "problems": tally.problems[:50],
        "refused_429": sum(len(v) for v in refused.values()),
        "refused_but_ran": ran_although_refused,
        "loadavg_1min": [round(load0, 2), round(load1, 2)],
    }
    m = result["messages"]
    print(f"[rasa flood] {senders} senders, {seconds:.0f} s: {result['flood_turns_answered_per_s']}"
          f" turns/s answered, codes {result['flood_codes']}; bystanders "
          f"{result['bystander_codes']} p50 {result['bystander_p50_ms']} ms, p99 "
          f"{result['bystander_p99_ms']} ms (answered {result['bystander_answered_share']:.0%}, "
          f"their p99 {result['bystander_ok_p99_ms']} ms); after resending {resent}: sent "
          f"{m['sent']}, lost {m['lost']}, duplicated {m['duplicated']}, 429-but-ran "
          f"{ran_although_refused}; load {result['loadavg_1min']}", flush=True)
    return result


def one_variant(env: dict[str, str], args: argparse.Namespace,
                cpus: list[int]) -> tuple[dict[str, Any], list[int] | None]:
    server_cpus = set(cpus[:-1]) if not args.no_pin and len(cpus) >= 2 else None
    with tempfile.TemporaryDirectory(prefix="atiende-rasa-flood-") as tmp:
        seam = Seam(Path(tmp), ATIENDE_LOG_LEVEL="WARNING", **env)
        try:
            seam.start()
            if server_cpus:
                pin(seam, server_cpus)
                os.sched_setaffinity(0, {cpus[-1]})
            result = run(seam, args.senders, args.seconds, args.timeout, args.probe_rate)
        finally:
            seam.close()
            os.sched_setaffinity(0, set(cpus))
    return result, sorted(server_cpus) if server_cpus else None


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--senders", type=int, default=50)
    parser.add_argument("--seconds", type=float, default=100.0)
    parser.add_argument("--timeout", type=float, default=30.0,
                        help="client read timeout (s); a timed-out message is resent afterwards")
    parser.add_argument("--probe-rate", type=float, default=1.0,
                        help="bystander turns per second (each a new shopper)")
    parser.add_argument("--variants", default="off,on",
                        help=f"comma-separated, run in this order: {', '.join(VARIANTS)}")
    parser.add_argument("--env", action="append", default=[], metavar="NAME=VALUE",
                        help="extra environment for the servers of every variant")
    parser.add_argument("--label", default="")
    parser.add_argument("--out", type=Path)
    parser.add_argument("--no-pin", action="store_true")
    args = parser.parse_args(argv)
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    extra = dict(e.split("=", 1) for e in args.env)
    cpus = sorted(os.sched_getaffinity(0))
    bad = False
    for variant in args.variants.split(","):
        env = {**VARIANTS[variant], **extra}
        started = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
        print(f"[rasa flood] variant {variant} (env {env}) from {started}", flush=True)
        result, server_cpus = one_variant(env, args, cpus)
        m = result["messages"]
        bad = bad or bool(m["lost"] or m["duplicated"] or result["refused_but_ran"] or any(
            c.startswith("5") for c in [*result["flood_codes"], *result["bystander_codes"]]))
        if args.out:
            doc = json.loads(args.out.read_text()) if args.out.exists() else {"runs": []}
            doc["runs"].append({
                "label": f"{args.label} {variant}".strip(), "variant": variant,
                "started": started, "env": env,
                "command": "python -m bench.rasa_flood " + " ".join(
                    sys.argv[1:] if argv is None else argv),
                "server_cpus": server_cpus, **result})
            args.out.parent.mkdir(parents=True, exist_ok=True)
            args.out.write_text(json.dumps(doc, indent=2, ensure_ascii=False) + "\n")
            print(f"written {args.out}")
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
