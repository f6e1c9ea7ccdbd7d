"""The evaluation report: every encoder x ranking mode, per language, plus the calibrated threshold.

Written as JSON (for tools) and Markdown (for people) in ``reports/kb/``.
"""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

from kb_index.documents import chunk_articles, corpus_hash, load_sources
from kb_index.encoders import load_encoder
from kb_index.evaluate import calibrate, encode_queries, load_queries, metrics, run_queries
from kb_index.index import MODES, KBIndex

GOALS = {"recall@1": 0.85, "recall@3": 0.95}


def compare(inputs: list[str], queries_path: str, oos_path: str | None, encoders: str,
            out_dir: Path) -> dict[str, Any]:
    chunks = chunk_articles(load_sources(inputs))
    queries = load_queries(queries_path)
    oos = load_queries(oos_path, out_of_scope=True) if oos_path else []
    report: dict[str, Any] = {
        "generated_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "inputs": inputs, "queries": queries_path, "out_of_scope": oos_path,
        "corpus_hash": corpus_hash(chunks), "chunks": len(chunks),
        "n_queries": len(queries), "n_out_of_scope": len(oos), "goals": GOALS, "results": {},
    }
    for spec in [e.strip() for e in encoders.split(",") if e.strip()]:
        encoder = load_encoder(spec)
        index = KBIndex.build(chunks, encoder, progress=False)
        report["results"][encoder.name] = {"build_seconds": index.meta["build_seconds"]}
        started = time.monotonic()
        qv, ov = encode_queries(index, queries), encode_queries(index, oos)
        report["results"][encoder.name]["encode_ms_per_query_batched"] = round(
            1000 * (time.monotonic() - started) / max(1, len(queries) + len(oos)), 1)
        for mode in MODES:
            outcomes = run_queries(index, queries, mode, vectors=qv)
            result = metrics(outcomes)
            result["calibration"] = calibrate(outcomes, run_queries(index, oos, mode, vectors=ov))
            report["results"][encoder.name][mode] = result
            print(f"{encoder.name} {mode}: {result['all']}", flush=True)
    out_dir.mkdir(parents=True, exist_ok=True)
    (out_dir / "eval.json").write_text(json.dumps(report, ensure_ascii=False, indent=2) + "\n")
    (out_dir / "eval_tables.md").write_text(markdown_tables(report))
    return report


def markdown_tables(report: dict[str, Any]) -> str:
    """Generated tables; the hand-written analysis lives in eval.md and links here."""
    lines = [
        "# KB retrieval — generated tables", "",
        f"Generated {report['generated_at']} by `python -m kb_index compare` over "
        f"{report['chunks']} chunks, {report['n_queries']} labelled queries and "
        f"{report['n_out_of_scope']} out-of-scope queries (corpus hash "
        f"`{report['corpus_hash'][:12]}`).", "",
        "| encoder | mode | lang | n | recall@1 | recall@3 | MRR |",
        "|---|---|---|---|---|---|---|",
    ]
    for encoder, modes in report["results"].items():
        for mode in MODES:
            result = modes[mode]
            for key, row in result.items():
                if isinstance(row, dict) and "recall@1" in row:
                    lines.append(f"| {encoder} | {mode} | {key} | {row['n']} | "
                                 f"{row['recall@1']:.3f} | {row['recall@3']:.3f} | "
                                 f"{row['mrr']:.3f} |")
    lines += ["", "## Calibration (confidence = mean cosine of the top article's best chunk and "
              "its card)", "",
              "| encoder | mode | threshold | decisions right | answered | precision answering "
              "| correct answered | wrong/OOS abstained | OOS abstained |",
              "|---|---|---|---|---|---|---|---|---|"]
    for encoder, modes in report["results"].items():
        for mode in MODES:
            c = modes[mode]["calibration"]
            lines.append(f"| {encoder} | {mode} | {c.get('threshold')} | "
                         f"{c.get('decision_accuracy')} | {c.get('answered_share')} | "
                         f"{c.get('precision_when_answering')} | {c.get('correct_top1_answered')} "
                         f"| {c.get('wrong_or_out_of_scope_abstained')} | "
                         f"{c.get('out_of_scope_abstained')} |")
    lines += ["", "## Misses of the hybrid mode (top-1 not the expected article)", ""]
    for encoder, modes in report["results"].items():
        lines.append(f"### {encoder}")
        for miss in modes["hybrid"]["misses"]:
            lines.append(f"- ({miss['lang']}) “{miss['query']}” → expected "
                         f"{', '.join(miss['expected'])}, got {', '.join(miss['got'])} "
                         f"(confidence {miss['confidence']})")
        lines.append("")
    return "\n".join(lines) + "\n"
