"""``python -m kb_index eval-store``: a store's own shopper questions against its index.

A store that imports its FAQ wants to know, before going live, how its shoppers' questions would
be answered. Give it the questions its agents received (a text file, one per line, or CSV/JSONL
with ``question`` and optionally ``expected`` — the article id *or* the FAQ question that answers
it; several allowed, as a list or separated by ``|`` — and ``lang``). With labels it reports
recall@1/@3 and MRR per language, plus how many questions would be answered at the calibrated
threshold and how many of those answers are right; without labels it lists each question's top
articles and confidence, ready to be labelled.

``expected: "none"`` marks a question the FAQ does **not** answer (a topic the store never wrote
about). Those measure abstention: the share answered anyway is a wrong answer the shopper would
get. With both kinds labelled, the report suggests the store's own threshold (``KB_MIN_SCORE``):
the confidence above which answering pays off on *its* questions (:func:`kb_index.evaluate.
calibrate`, a wrong answer costing twice a right one). The default threshold was calibrated on
off-topic questions ("what's the weather"); a small FAQ also gets on-topic questions it has no
entry for, and those score higher.
"""

from __future__ import annotations

import csv
import json
from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from kb_index.index import KBIndex, guess_language
from kb_index.settings import answer_threshold


@dataclass(frozen=True)
class StoreQuestion:
    question: str
    lang: str | None
    expected: tuple[str, ...]  # article ids or FAQ questions that answer it (any of them)
    not_covered: bool = False  # labelled ``none``: no article answers it


#: The ``expected`` label of a question the FAQ does not answer.
NOT_COVERED = "none"


def load_store_questions(path: str | Path) -> list[StoreQuestion]:
    path = Path(path)
    suffix = path.suffix.lower()
    rows: list[dict[str, Any]]
    if suffix == ".jsonl":
        rows = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()
                if line.strip()]
    elif suffix == ".csv":
        with path.open(newline="", encoding="utf-8-sig") as handle:
            rows = [{(k or "").strip().lower(): v for k, v in row.items()}
                    for row in csv.DictReader(handle)]
    else:
        rows = [{"question": line} for line in path.read_text(encoding="utf-8").splitlines()
                if line.strip()]
    out = []
    for n, row in enumerate(rows, start=1):
        question = str(row.get("question") or row.get("query") or "").strip()
        if not question:
            raise ValueError(f"{path}:{n}: no 'question'")
        raw = row.get("expected") or ()
        expected = [raw] if isinstance(raw, str) else list(raw)
        expected = [part.strip() for e in expected for part in str(e).split("|") if part.strip()]
        not_covered = [e.lower() for e in expected] == [NOT_COVERED]
        out.append(StoreQuestion(question, (row.get("lang") or None),
                                 () if not_covered else tuple(expected), not_covered))
    return out


def evaluate_store(index: KBIndex, questions: list[StoreQuestion], top_k: int = 3
                   ) -> dict[str, Any]:
    """Per-language figures and one row per question (what the shopper would have got)."""
    titles = {c.title.strip().lower(): c.article_id for c in index.chunks}
    ids = {c.article_id for c in index.chunks}
    threshold = answer_threshold(index.meta["encoder"])
    langs = [q.lang or guess_language(q.question) or "es" for q in questions]
    vectors = index.encode_queries([q.question for q in questions], langs)
    rows, unknown = [], []
    per_lang: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for q, lang, vector in zip(questions, langs, vectors, strict=True):
        hits = index.search(q.question, top_k=max(top_k, 10), prefer_lang=lang,
                            query_vector=vector)
        expected = []
        for label in q.expected:
            article = label if label in ids else titles.get(label.lower())
            if article is None:
                unknown.append(label)
            else:
                expected.append(article)
        ranked = [h.article_id for h in hits]
        row = {"question": q.question, "lang": lang, "expected": expected,
               "top": [{"article": h.article_id, "title": h.title,
                        "confidence": round(h.confidence, 4)} for h in hits[:top_k]],
               "answered": bool(hits) and hits[0].confidence >= threshold,
               "not_covered": q.not_covered,
               "rank": min((ranked.index(e) + 1 for e in expected if e in ranked), default=None)}
        rows.append(row)
        per_lang[lang].append(row)
    summary: dict[str, Any] = {}
    for lang, items in sorted(per_lang.items()):
        labelled = [r for r in items if r["expected"]]
        answered = [r for r in items if r["answered"]]
        entry: dict[str, Any] = {"n": len(items), "labelled": len(labelled),
                                 "answered_share": round(len(answered) / len(items), 4)}
        if labelled:
            n = len(labelled)
            entry.update({
                "recall@1": round(sum(r["rank"] == 1 for r in labelled) / n, 4),
                "recall@3": round(sum(bool(r["rank"]) and r["rank"] <= 3
                                      for r in labelled) / n, 4),
                "mrr": round(sum(1 / r["rank"] for r in labelled if r["rank"]) / n, 4),
            })
            answered_labelled = [r for r in labelled if r["answered"]]
            if answered_labelled:
                entry["precision_when_answering"] = round(
                    sum(r["rank"] == 1 for r in answered_labelled) / len(answered_labelled), 4)
        uncovered = [r for r in items if r["not_covered"]]
        if uncovered:
            entry["not_covered"] = len(uncovered)
            entry["not_covered_answered"] = round(
                sum(r["answered"] for r in uncovered) / len(uncovered), 4)
        summary[lang] = entry
    return {"index": index.meta.get("corpus_hash", "")[:12], "encoder": index.meta["encoder"],
            "threshold": threshold, "summary": summary,
            "suggested_threshold": suggest_threshold(rows),
            "unknown_expected": sorted(set(unknown)), "questions": rows}


def suggest_threshold(rows: list[dict[str, Any]]) -> dict[str, Any] | None:
    """The threshold that maximises right answers minus twice the wrong ones (a wrong top article,
    or any answer to a question labelled ``none``) on the store's own labelled questions, with
    what it would do; ``None`` without both kinds of label (nothing to weigh)."""
    from kb_index.evaluate import Outcome, Query, calibrate

    def outcome(row: dict[str, Any]) -> Outcome:
        return Outcome(Query(row["question"], row["lang"], tuple(row["expected"])),
                       tuple(t["article"] for t in row["top"]),
                       row["top"][0]["confidence"] if row["top"] else -1.0)

    covered = [outcome(r) for r in rows if r["expected"]]
    uncovered = [outcome(r) for r in rows if r["not_covered"]]
    if not covered or not uncovered:
        return None
    found = calibrate(covered, uncovered)
    return {"threshold": found["threshold"],
            "precision_when_answering": found["precision_when_answering"],
            "correct_top1_answered": found["correct_top1_answered"],
            "not_covered_abstained": found["out_of_scope_abstained"]}
