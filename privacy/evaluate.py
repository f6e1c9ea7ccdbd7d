"""Precision and recall of the redactor on a labelled set of chat lines.

``python -m privacy.evaluate [--data tests/data/pii_redaction.jsonl] [--out reports/security]``

Each line of the data file: ``{"text", "lang", "market", "source", "spans": [{"start", "end",
"type"}]}``. Three views, because they answer different questions:

* **per type** (EMAIL, PHONE, CARD, IBAN, ID): a predicted span is right when it overlaps a gold
  span of the same type; a gold span is found when a predicted span of its type overlaps it.
* **redaction** (the one that matters for leaks): a gold span is *protected* when every character
  of it is covered by some predicted span, whatever its type; a predicted span is *justified* when
  it overlaps any gold span. Recall = protected / gold, precision = justified / predicted.
* **exact**: type and both boundaries equal (how clean the placeholders are).

Also counted: lines without personal data that the redactor changed (false alarms on look-alikes
such as order numbers, amounts, dates and tracking numbers). Figures are given for the whole set
and per ``split``: ``dev`` lines were in view while the rules were tuned, ``heldout`` lines were
written after tuning and never tuned on (the honest estimate).
"""

from __future__ import annotations

import argparse
import json
import time
from collections import Counter, defaultdict
from pathlib import Path
from typing import Any

from privacy.redact import PLACEHOLDERS, Span, find_pii

DEFAULT_DATA = Path("tests/data/pii_redaction.jsonl")
DEFAULT_OUT = Path("reports/security")
TYPES = tuple(PLACEHOLDERS)


def load(path: Path) -> list[dict[str, Any]]:
    rows = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line]
    for row in rows:
        for span in row["spans"]:
            if span["type"] not in PLACEHOLDERS or span.get("value", span["type"]) not in (
                    span["type"], row["text"][span["start"]:span["end"]]):
                raise ValueError(f"line {row.get('id')}: bad span {span}")
    return rows


def _overlap(a: Span, b: Span) -> bool:
    return a.start < b.end and b.start < a.end


def _prf(tp_p: int, n_pred: int, tp_g: int, n_gold: int) -> dict[str, float | int]:
    precision = tp_p / n_pred if n_pred else 1.0
    recall = tp_g / n_gold if n_gold else 1.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    return {"precision": round(precision, 4), "recall": round(recall, 4), "f1": round(f1, 4),
            "gold": n_gold, "predicted": n_pred}


def evaluate(rows: list[dict[str, Any]]) -> dict[str, Any]:
    typed = defaultdict(Counter)  # type -> gold, found, pred, right
    red = Counter()
    exact = Counter()
    errors: list[dict[str, Any]] = []
    false_alarm_lines = clean_lines = 0
    started = time.perf_counter()
    for row in rows:
        text = row["text"]
        gold = [Span(s["start"], s["end"], s["type"]) for s in row["spans"]]
        pred = find_pii(text)
        for g in gold:
            typed[g.type]["gold"] += 1
            typed[g.type]["found"] += any(_overlap(g, p) and p.type == g.type for p in pred)
            covered = set()
            for p in pred:
                covered.update(range(max(p.start, g.start), min(p.end, g.end)))
            protected = len(covered) == g.end - g.start
            red["gold"] += 1
            red["protected"] += protected
            exact["gold"] += 1
            exact["match"] += g in pred
            if not protected:
                errors.append({"id": row.get("id"), "kind": "missed", "type": g.type,
                               "value": text[g.start:g.end], "text": text})
        for p in pred:
            typed[p.type]["pred"] += 1
            typed[p.type]["right"] += any(_overlap(g, p) and p.type == g.type for g in gold)
            justified = any(_overlap(g, p) for g in gold)
            red["pred"] += 1
            red["justified"] += justified
            exact["pred"] += 1
            if not justified:
                errors.append({"id": row.get("id"), "kind": "false_alarm", "type": p.type,
                               "value": text[p.start:p.end], "text": text})
        if not gold:
            clean_lines += 1
            false_alarm_lines += bool(pred)
    elapsed = time.perf_counter() - started
    per_type = {t: _prf(typed[t]["right"], typed[t]["pred"], typed[t]["found"], typed[t]["gold"])
                for t in TYPES}
    return {
        "lines": len(rows),
        "lines_without_pii": clean_lines,
        "lines_without_pii_changed": false_alarm_lines,
        "by_language": dict(Counter(r["lang"] for r in rows)),
        "by_source": dict(Counter(r.get("source", "own") for r in rows)),
        "per_type": per_type,
        "redaction": _prf(red["justified"], red["pred"], red["protected"], red["gold"]),
        "exact": _prf(exact["match"], exact["pred"], exact["match"], exact["gold"]),
        "microseconds_per_line": round(elapsed / max(1, len(rows)) * 1e6, 1),
        "errors": errors,
    }


def evaluate_splits(rows: list[dict[str, Any]]) -> dict[str, Any]:
    """The whole set, plus one result per ``split`` (dev / heldout)."""
    result = evaluate(rows)
    splits = sorted({r.get("split", "dev") for r in rows})
    result["splits"] = {name: {k: v for k, v in evaluate(
        [r for r in rows if r.get("split", "dev") == name]).items()
        if k in ("lines", "lines_without_pii", "lines_without_pii_changed", "redaction",
                 "per_type")} for name in splits}
    return result


def markdown(result: dict[str, Any], data: Path) -> str:
    r, e = result["redaction"], result["exact"]
    lines = [
        "# PII redactor: precision and recall",
        "",
        f"Data: `{data}` — {result['lines']} chat lines "
        f"({', '.join(f'{k} {v}' for k, v in result['by_language'].items())}; sources: "
        f"{', '.join(f'{k} {v}' for k, v in result['by_source'].items())}), "
        f"{r['gold']} labelled spans, {result['lines_without_pii']} lines with no personal data "
        "(many of them look-alikes: order numbers, amounts, dates, postcodes, tracking numbers, "
        "ids and cards with wrong check digits). Sources and labelling rules: "
        "[tests/data/PII_SOURCES.md](../../tests/data/PII_SOURCES.md). "
        "Reproduce: `python -m privacy.evaluate`.",
        "",
        "| view | precision | recall | F1 | gold | predicted |",
        "|---|---|---|---|---|---|",
        f"| redaction (leaks: every character of each gold span covered) | {r['precision']:.3f} "
        f"| {r['recall']:.3f} | {r['f1']:.3f} | {r['gold']} | {r['predicted']} |",
        f"| exact (type and boundaries) | {e['precision']:.3f} | {e['recall']:.3f} | "
        f"{e['f1']:.3f} | {e['gold']} | {e['predicted']} |",
    ]
    for t, m in result["per_type"].items():
        lines.append(f"| {t} (typed, overlap) | {m['precision']:.3f} | {m['recall']:.3f} | "
                     f"{m['f1']:.3f} | {m['gold']} | {m['predicted']} |")
    lines += ["", "Per split (`dev`: in view while the rules were tuned; `heldout`: written after "
              "tuning, never tuned on):", "",
              "| split | lines | redaction precision | redaction recall | look-alike lines "
              "changed |", "|---|---|---|---|---|"]
    for name, sub in result.get("splits", {}).items():
        r2 = sub["redaction"]
        lines.append(f"| {name} | {sub['lines']} | {r2['precision']:.3f} | {r2['recall']:.3f} | "
                     f"{sub['lines_without_pii_changed']}/{sub['lines_without_pii']} |")
    lines += [
        "",
        f"Lines without personal data changed by the redactor: "
        f"{result['lines_without_pii_changed']} of {result['lines_without_pii']}.",
        "",
        "## Errors",
        "",
        "| line | kind | type | value |",
        "|---|---|---|---|",
    ]
    lines += [f"| {x['id']} | {x['kind']} | {x['type']} | `{x['value']}` |"
              for x in result["errors"]]
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m privacy.evaluate", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA)
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT,
                        help="folder for redaction.json and redaction.md ('-' = print only)")
    args = parser.parse_args(argv)
    result = evaluate_splits(load(args.data))
    r = result["redaction"]
    print(f"{result['lines']} lines, {r['gold']} spans: redaction precision {r['precision']:.3f} "
          f"recall {r['recall']:.3f}; look-alike lines changed "
          f"{result['lines_without_pii_changed']}/{result['lines_without_pii']}")
    for t, m in result["per_type"].items():
        print(f"  {t:<6} precision {m['precision']:.3f} recall {m['recall']:.3f} "
              f"(gold {m['gold']}, predicted {m['predicted']})")
    for name, sub in result["splits"].items():
        print(f"  split {name}: {sub['lines']} lines, redaction precision "
              f"{sub['redaction']['precision']:.3f} recall {sub['redaction']['recall']:.3f}")
    if str(args.out) != "-":
        args.out.mkdir(parents=True, exist_ok=True)
        timing = result.pop("microseconds_per_line")  # machine-dependent: bench/, not reports
        (args.out / "redaction.json").write_text(json.dumps(result, indent=2, ensure_ascii=False)
                                                 + "\n", encoding="utf-8")
        (args.out / "redaction.md").write_text(markdown(result, args.data), encoding="utf-8")
        print(f"wrote {args.out / 'redaction.md'} and redaction.json ({timing} µs/line here)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
