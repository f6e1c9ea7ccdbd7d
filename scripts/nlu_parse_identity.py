"""Do the NLU speed-ups change any parse? Every message of our NLU sets, parsed without and with.

``bot/components/nlu_speedups.py`` claims bit-identical parses. This loads the trained model
twice in one process — once with the speed-ups off (``ATIENDE_RASA_SPEEDUPS_OFF=<all its
parts>``, as stock), once on — and parses every text of the training data (``data/nlu``), both
blind sets (``tests/data/nlu_heldout``, ``tests/data/nlu_heldout_v2``) and the external set
(``tests/data/nlu_external``). With the speed-ups on each text is parsed twice in a row, the
second time from the caches. Every parse (intent, ranking, confidences, entities, language,
in-scope similarity, …; everything but the random ``message_id``) must equal the stock parse
exactly: the JSON of both, floats written with ``repr`` precision, is compared as text.

It also reports the CPU per parse of both models and the caches' hit rate over the user turns
of the hand-written test conversations (``tests/conversations``, in file order, fresh caches): a
realistic mix of what shoppers type, unlike the benchmark's handful of scripted messages.

    .venv/bot/bin/python -m scripts.nlu_parse_identity [--limit N] [--out reports/perf/…json]

Exit status 1 if any parse differs.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import os
import re
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
SETS = {
    "training": ROOT / "data" / "nlu",
    "heldout": ROOT / "tests" / "data" / "nlu_heldout",
    "heldout_v2": ROOT / "tests" / "data" / "nlu_heldout_v2",
    "external": ROOT / "tests" / "data" / "nlu_external",
}
CONVERSATIONS = ROOT / "tests" / "conversations"
_ANNOTATION = re.compile(r"\[([^\]]*)\]\([^)]*\)|\[([^\]]*)\]\{[^}]*\}")


def texts_of(directory: Path) -> list[str]:
    """Every example text of the NLU files under ``directory`` (file order, duplicates kept)."""
    from rasa.shared.nlu.training_data.loading import load_data

    texts: list[str] = []
    for path in sorted(directory.rglob("*.yml")):
        data = load_data(str(path))
        texts += [m.get("text") for m in data.training_examples if m.get("text")]
    return texts


def conversation_turns(directory: Path = CONVERSATIONS) -> list[str]:
    """The user turns of the test conversations, entity annotations removed."""
    turns: list[str] = []
    for path in sorted(directory.glob("*.yml")):
        for line in path.read_text(encoding="utf-8").splitlines():
            match = re.match(r"\s*-\s*user:\s*(.*)$", line)
            if match:
                text = match.group(1).strip().strip('"').strip("'")
                turns.append(_ANNOTATION.sub(lambda m: m.group(1) or m.group(2) or "", text))
    return [t for t in turns if t]


def canonical(parse: dict[str, Any]) -> str:
    return json.dumps({k: v for k, v in parse.items() if k != "message_id"},
                      sort_keys=True, ensure_ascii=False, default=repr)


def load_agent(off: bool) -> Any:
    from rasa.core.agent import Agent

    from bot.components.nlu_speedups import PARTS

    previous = os.environ.get("ATIENDE_RASA_SPEEDUPS_OFF")
    os.environ["ATIENDE_RASA_SPEEDUPS_OFF"] = "+".join(PARTS) if off else ""
    try:
        return Agent.load(str(ROOT / "models" / "atiende.tar.gz"))
    finally:
        if previous is None:
            os.environ.pop("ATIENDE_RASA_SPEEDUPS_OFF", None)
        else:
            os.environ["ATIENDE_RASA_SPEEDUPS_OFF"] = previous


def cache_counts() -> dict[str, int]:
    from bot.components.use_featurizer import _Encoder

    return {"hits": _Encoder.cache.hits, "misses": _Encoder.cache.misses}


async def compare(stock: Any, fast: Any, texts: Sequence[str]) -> dict[str, Any]:
    differing: list[dict[str, str]] = []
    cpu = {"stock": 0.0, "fast_first": 0.0, "fast_again": 0.0}
    for text in texts:
        started = time.process_time()
        expected = canonical(await stock.parse_message(text))
        cpu["stock"] += time.process_time() - started
        for attempt in ("fast_first", "fast_again"):
            started = time.process_time()
            got = canonical(await fast.parse_message(text))
            cpu[attempt] += time.process_time() - started
            if got != expected:
                differing.append({"text": text, "attempt": attempt, "stock": expected,
                                  "fast": got})
    n = max(1, len(texts))
    return {"messages": len(texts), "differing": len(differing), "examples": differing[:5],
            "cpu_ms_per_parse": {k: round(v * 1000 / n, 2) for k, v in cpu.items()}}


async def hit_rate(agent: Any) -> dict[str, Any]:
    """A fresh encoder cache (a new process's), the conversations' user turns in order."""
    from bot.components.nlu_speedups import Lru
    from bot.components.use_featurizer import _Encoder

    _Encoder.cache = Lru(_Encoder.cache.size)
    turns = conversation_turns()
    for text in turns:
        await agent.parse_message(text)
    counts = cache_counts()
    return {"source": str(CONVERSATIONS.relative_to(ROOT)), "turns": len(turns),
            "distinct": len(set(turns)), **counts,
            "hit_rate": round(counts["hits"] / max(1, len(turns)), 3)}


async def run(limit: int | None) -> dict[str, Any]:
    stock, fast = load_agent(off=True), load_agent(off=False)
    await stock.parse_message("hola")  # lazy lingua / encoder / lemma tables
    await fast.parse_message("hola")
    report: dict[str, Any] = {"sets": {}}
    for name, directory in SETS.items():
        texts = texts_of(directory)[:limit] if limit else texts_of(directory)
        report["sets"][name] = await compare(stock, fast, texts)
        print(name, json.dumps({k: v for k, v in report["sets"][name].items()
                                if k != "examples"}), flush=True)
    report["cache_hit_rate"] = await hit_rate(fast)
    return report


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--limit", type=int, default=None, help="texts per set (default all)")
    parser.add_argument("--out", default=None, help="write the report as JSON here")
    args = parser.parse_args(argv)
    os.environ.setdefault("RASA_TELEMETRY_ENABLED", "false")
    logging.getLogger("rasa").setLevel(logging.WARNING)
    from bot.rasa_speedups import filter_structlog

    filter_structlog(logging.INFO)
    report = {"load_average_before": [round(x, 2) for x in os.getloadavg()],
              **asyncio.run(run(args.limit)),
              "load_average_after": [round(x, 2) for x in os.getloadavg()]}
    print("hit rate", json.dumps(report["cache_hit_rate"]))
    if args.out:
        Path(args.out).write_text(json.dumps(report, indent=2, ensure_ascii=False) + "\n",
                                  encoding="utf-8")
    differing = sum(s["differing"] for s in report["sets"].values())
    print(f"{differing} differing parses out of "
          f"{sum(s['messages'] for s in report['sets'].values())} messages")
    return 1 if differing else 0


if __name__ == "__main__":
    raise SystemExit(main())
