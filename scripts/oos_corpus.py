"""Build the licensed out-of-scope corpus (data/out_of_scope_corpus/{es,en}.txt) from local clones.

The out-of-scope detector (bot/components/out_of_scope_detector.py) learns "not a shop request"
from our own out-of-scope examples *and* from assistant requests written by other people. The
external development set's sources (CLINC150, Microsoft Bot Framework chit-chat, ChatterBot, the
UA rasa-es bot) are never used here. Sources, commits and licences are in the corpus folder's
SOURCES.md:

* HWU64 / NLU-Evaluation-Data (github.com/xliuhw/NLU-Evaluation-Data, CC BY 4.0): English
  requests to a home assistant, crowd-written; the train + test CSVs of fold 1.
* Home Assistant intents (github.com/home-assistant/intents, CC BY 4.0): the example sentences
  of ``tests/es`` and ``tests/en`` (written by the community, one per line, no templates).

Filtering, so the corpus never teaches "out of scope" for a shop request or a conversational
intent we handle: whole intents dropped (HWU64 takeaway, general_affirm / negate / confirm /
commandstop / dontcare / praise / repeat / explain, social_post, lists; Home Assistant
HassNevermind, HassRespond, shopping lists and to-do lists), then every sentence with a store
word (orders, payments, refunds, deliveries, accounts, buying, returns, complaints, a human
agent...), then every sentence whose normalised text is in the external development set or in
``data/nlu`` (any length), then duplicates. At most ``--per-intent`` sentences per source intent
(seeded sample) keep the corpus balanced and the training short.

    .venv/app/bin/python -m scripts.oos_corpus --hwu CLONE --ha CLONE
"""

from __future__ import annotations

import argparse
import csv
import io
import random
import re
import subprocess
from collections import defaultdict
from collections.abc import Iterable, Sequence
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[1]
OUT = ROOT / "data" / "out_of_scope_corpus"
HWU_DIR = ("CrossValidation/autoGeneFromRealAnno/autoGene_2018_03_22-13_01_25_169/"
           "CrossValidation/KFold_1")
HWU_DROP = {"takeaway_order", "takeaway_query", "general_affirm", "general_negate",
            "general_confirm", "general_commandstop", "general_dontcare", "general_praise",
            "general_repeat", "general_explain", "social_post", "lists_createoradd",
            "lists_query", "lists_remove"}
HA_DROP = ("HassNevermind", "HassRespond", "HassShoppingList", "HassListAddItem",
           "HassListCompleteItem", "HassBroadcast")
STORE_WORDS = {
    "en": r"order|pay|paid|refund|deliver|shipping|ship|parcel|package|account|buy|bought|"
          r"purchase|return|cancel|complain|complaint|customer|service|agent|human|person|"
          r"shop|store|price|invoice|receipt|money|bank|card|stock|size|broken|damaged|wrong",
    "es": r"pedido|orden|pag|reembols|devol|devuelv|env[ií]|entreg|paquete|cuenta|compr|"
          r"cancel|anul|queja|reclam|cliente|agente|humano|persona|tienda|precio|factura|"
          r"dinero|banco|tarjeta|talla|roto|estropead|equivocad|mal",
}


def normalise(text: str) -> str:
    import unicodedata

    decomposed = unicodedata.normalize("NFKD", text.lower())
    letters = "".join(c for c in decomposed if not unicodedata.combining(c))
    return " ".join("".join(c if c.isalnum() else " " for c in letters).split())


def git_show(clone: Path, commit: str, path: str) -> str:
    return subprocess.run(["git", "-C", str(clone), "show", f"{commit}:{path}"], check=True,
                          capture_output=True, text=True).stdout


def git_files(clone: Path, commit: str, prefix: str) -> list[str]:
    out = subprocess.run(["git", "-C", str(clone), "ls-tree", "-r", "--name-only", commit,
                          prefix], check=True, capture_output=True, text=True).stdout
    return [line for line in out.splitlines() if line]


def hwu64(clone: Path, commit: str) -> dict[str, list[str]]:
    """intent -> sentences (``answer_from_anno``: the annotated text without slot marks)."""
    by_intent: dict[str, list[str]] = defaultdict(list)
    files = [f for f in git_files(clone, commit, HWU_DIR)
             if f.endswith(".csv") and ("/testset/csv/" in f or "/trainset/" in f)]
    for path in files:
        rows = csv.DictReader(io.StringIO(git_show(clone, commit, path)), delimiter=";")
        for row in rows:
            intent = f"{row['scenario']}_{row['intent']}"
            if intent not in HWU_DROP and row.get("answer_from_anno"):
                by_intent[intent].append(row["answer_from_anno"].strip())
    return by_intent


def home_assistant(clone: Path, commit: str, lang: str) -> dict[str, list[str]]:
    by_intent: dict[str, list[str]] = defaultdict(list)
    for path in git_files(clone, commit, f"tests/{lang}/"):
        if not path.endswith(".yaml") or path.endswith("_fixtures.yaml"):
            continue
        data = yaml.safe_load(git_show(clone, commit, path)) or {}
        for test in data.get("tests", []):
            intent = (test.get("intent") or {}).get("name", "")
            if not intent or intent.startswith(HA_DROP):
                continue
            by_intent[f"ha_{intent}"] += [str(s).strip() for s in test.get("sentences", [])]
    return by_intent


def excluded_texts() -> set[str]:
    """Normalised texts of the external development set and of data/nlu (never in the corpus)."""
    texts: set[str] = set()
    for path in [*(ROOT / "tests" / "data" / "nlu_external").glob("*.yml"),
                 *(ROOT / "data" / "nlu").rglob("*.yml")]:
        data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
        for block in data.get("nlu", []):
            for line in str(block.get("examples", "")).splitlines():
                text = re.sub(r"\[([^\]]+)\]\([^)]+\)", r"\1", line.strip()[2:].strip())
                if text:
                    texts.add(normalise(text))
    return texts


def select(by_intent: dict[str, list[str]], lang: str, excluded: set[str], per_intent: int,
           seed: int) -> list[str]:
    store = re.compile(rf"\b({STORE_WORDS[lang]})", re.IGNORECASE)
    rng = random.Random(seed)
    seen: set[str] = set()
    chosen: list[str] = []
    for intent in sorted(by_intent):
        keep = []
        for text in by_intent[intent]:
            key = normalise(text)
            if not key or key in excluded or key in seen or store.search(text):
                continue
            seen.add(key)
            keep.append(text)
        rng.shuffle(keep)
        chosen += keep[:per_intent]
    return chosen


def write(lang: str, sentences: Iterable[str]) -> int:
    OUT.mkdir(parents=True, exist_ok=True)
    lines = sorted(set(sentences))
    (OUT / f"{lang}.txt").write_text("\n".join(lines) + "\n", encoding="utf-8")
    return len(lines)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--hwu", required=True, type=Path, help="clone of NLU-Evaluation-Data")
    parser.add_argument("--hwu-commit", default="f6071b496b17d71e6eb43f543af0707f4ff30557")
    parser.add_argument("--ha", required=True, type=Path, help="clone of home-assistant/intents")
    parser.add_argument("--ha-commit", default="aa550032a57b67c13995c032220bc4101521ead2")
    parser.add_argument("--per-intent", type=int, default=40)
    parser.add_argument("--seed", type=int, default=12)
    args = parser.parse_args(argv)
    excluded = excluded_texts()
    en = select({**hwu64(args.hwu, args.hwu_commit), **home_assistant(args.ha, args.ha_commit,
                                                                      "en")},
                "en", excluded, args.per_intent, args.seed)
    es = select(home_assistant(args.ha, args.ha_commit, "es"), "es", excluded, 10_000, args.seed)
    print(f"en {write('en', en)} sentences, es {write('es', es)} sentences -> {OUT}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
