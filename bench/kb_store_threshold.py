"""A store's FAQ: the default answer threshold against one calibrated on the store's own questions.

    python -m bench.kb_store_threshold --index var/store_index --questions questions.jsonl

The questions file is the one ``python -m kb_index eval-store`` reads, with both kinds of label:
the FAQ entry that answers a question, or ``none`` for a topic the FAQ has no entry for. Prints,
per variant, how many right top entries are answered and how many uncovered questions are answered
anyway (a wrong answer). The calibrated variant is measured honestly: two folds,
each threshold chosen on one fold (:func:`kb_index.store_eval.suggest_threshold`) and applied to
the other, so no question is judged by a threshold it helped choose. The folds alternate the rows
of each kind (covered, ``none``), so both hold both kinds.
"""

from __future__ import annotations

import argparse
import json
from typing import Any

from kb_index.index import KBIndex
from kb_index.store_eval import evaluate_store, load_store_questions, suggest_threshold


def outcome(rows: list[dict[str, Any]], thresholds: list[float]) -> dict[str, Any]:
    """Right answers, wrong answers to covered questions and answers to uncovered ones."""
    right = wrong = uncovered = 0
    for row, threshold in zip(rows, thresholds, strict=True):
        if not row["top"] or row["top"][0]["confidence"] < threshold:
            continue
        if row["not_covered"]:
            uncovered += 1
        elif row["rank"] == 1:
            right += 1
        else:
            wrong += 1
    covered = sum(bool(r["expected"]) for r in rows)
    not_covered = sum(r["not_covered"] for r in rows)
    return {"right_answered": f"{right}/{covered}", "wrong_answered": f"{wrong}/{covered}",
            "not_covered_answered": f"{uncovered}/{not_covered}",
            "not_covered_answered_share":
                round(uncovered / not_covered, 3) if not_covered else None,
            "precision_when_answering": round(right / (right + wrong + uncovered), 3)
            if right + wrong + uncovered else None}


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--index", required=True)
    p.add_argument("--questions", required=True)
    args = p.parse_args(argv)
    index = KBIndex.load(args.index)
    report = evaluate_store(index, load_store_questions(args.questions))
    covered = [r for r in report["questions"] if r["expected"]]
    uncovered = [r for r in report["questions"] if r["not_covered"]]
    # Alternate rows of each kind, so both folds hold both kinds in the same proportion.
    folds = [covered[0::2] + uncovered[0::2], covered[1::2] + uncovered[1::2]]
    rows = folds[0] + folds[1]
    chosen = [suggest_threshold(folds[1]), suggest_threshold(folds[0])]  # each from the other
    if None in chosen:
        raise SystemExit("each fold needs questions of both kinds (an entry, and 'none')")
    cross = [float(c["threshold"]) for c in chosen]  # type: ignore[index]
    result = {
        "questions": len(rows),
        "default": {"threshold": report["threshold"],
                    **outcome(rows, [report["threshold"]] * len(rows))},
        "calibrated_2fold": {"thresholds": cross,
                             **outcome(folds[0] + folds[1],
                                       [cross[0]] * len(folds[0]) + [cross[1]] * len(folds[1]))},
    }
    print(json.dumps(result, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
