"""NLU parse latency of the trained model (p50 / p95 per message, both languages).

Every shopper message goes through this pipeline before the dialogue answers, so its latency is
felt on every turn. Loads ``models/atiende.tar.gz`` once, warms it up (lingua and spaCy tables
load lazily on first use, which is a one-off per process), then times ``Agent.parse_message``
over realistic Spanish and English messages, and the process's CPU time per parse. The same 20
messages go round, so after the warm-up every parse hits the NLU's caches
(``bot/components/nlu_speedups.py``); ``ATIENDE_RASA_SPEEDUPS_OFF=use_cache+similarity_cache``
measures the cost of a message never seen before.

Run in the bot env, from the repo root (after training):
    .venv/bot/bin/python -m bench.nlu_latency --rounds 20
Writes reports/nlu/parse_latency.json.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import os
import statistics
import time
from collections.abc import Sequence
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

MESSAGES: dict[str, list[str]] = {
    "es": [
        "hola", "¿dónde está mi pedido AT100234?",
        "quiero devolver unas zapatillas que me quedan chicas",
        "cancela mi pedido por favor", "¿cuánto tarda el envío a Canarias?",
        "mi correo es ana@example.com",
        "quiero hablar con una persona", "esto es una vergüenza, voy a poner una denuncia",
        "¿cuándo me devuelven el dinero?", "déjalo",
    ],
    "en": [
        "hi", "where is my order AT100234?", "I want to return the shoes, they're too small",
        "please cancel my order", "how long does shipping take?", "my email is ana@example.com",
        "I want to talk to a person", "this is outrageous, I'm filing a chargeback",
        "when will I get my refund?", "forget it",
    ],
}


def percentile(values: Sequence[float], q: float) -> float:
    ordered = sorted(values)
    index = min(len(ordered) - 1, max(0, round(q * (len(ordered) - 1))))
    return ordered[index]


async def measure(model: str, rounds: int) -> dict[str, dict[str, float]]:
    from rasa.core.agent import Agent

    agent = Agent.load(model)
    for texts in MESSAGES.values():  # warm-up: lazy detector / lemma tables
        for text in texts:
            await agent.parse_message(text)
    result: dict[str, dict[str, float]] = {}
    everything: list[float] = []
    cpu_all = 0.0
    for lang, texts in MESSAGES.items():
        timings: list[float] = []
        cpu_started = time.process_time()  # all threads of the process (BLAS's too)
        for _ in range(rounds):
            for text in texts:
                started = time.perf_counter()
                await agent.parse_message(text)
                timings.append((time.perf_counter() - started) * 1000)
        cpu = time.process_time() - cpu_started
        cpu_all += cpu
        everything += timings
        result[lang] = _summary(timings, cpu)
    result["all"] = _summary(everything, cpu_all)
    return result


def _summary(timings: Sequence[float], cpu_seconds: float) -> dict[str, float]:
    return {"n": len(timings), "p50_ms": round(statistics.median(timings), 2),
            "p95_ms": round(percentile(timings, 0.95), 2), "max_ms": round(max(timings), 2),
            "cpu_ms_per_parse": round(cpu_seconds * 1000 / len(timings), 2)}


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default=str(ROOT / "models" / "atiende.tar.gz"))
    parser.add_argument("--rounds", type=int, default=20)
    parser.add_argument("--out", default=str(ROOT / "reports" / "nlu" / "parse_latency.json"))
    args = parser.parse_args(argv)
    if not Path(args.model).exists():
        parser.error(f"no model at {args.model}; train first")
    os.environ.setdefault("RASA_TELEMETRY_ENABLED", "false")
    logging.getLogger("rasa").setLevel(logging.WARNING)
    from bot.rasa_speedups import filter_structlog

    filter_structlog(logging.INFO)  # as the server does: Rasa's debug lines not printed
    load = os.getloadavg()
    report = {"model": args.model, "rounds": args.rounds, "cpu_count": os.cpu_count(),
              "speedups_off": os.environ.get("ATIENDE_RASA_SPEEDUPS_OFF", ""),
              "load_average": [round(x, 2) for x in load],
              "latency": asyncio.run(measure(args.model, args.rounds))}
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(report, indent=2) + "\n", encoding="utf-8")
    for lang, s in report["latency"].items():
        print(f"{lang}: p50 {s['p50_ms']} ms, p95 {s['p95_ms']} ms, "
              f"CPU {s['cpu_ms_per_parse']} ms/parse (n={s['n']})")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
