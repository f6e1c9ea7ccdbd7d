"""Command line: ``build``, ``search``, ``eval`` and ``compare`` (the encoder/mode report).

Examples::

    python -m kb_index build --input data/kb --out var/kb_index
    python -m kb_index search --index var/kb_index --lang es "¿cuánto tarda el reembolso?"
    python -m kb_index eval --index var/kb_index --queries tests/data/kb_queries.jsonl
    python -m kb_index build --input help-centre/sitemap.xml --out var/store_index
    python -m kb_index eval-store --index var/store_index --questions shopper_questions.txt
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path
from typing import Any

from kb_index.documents import SourceError, chunk_articles, corpus_hash, load_sources
from kb_index.encoders import DEFAULT_ENCODER, canonical_name, load_encoder
from kb_index.index import MODES, KBIndex
from kb_index.persist import FORMAT_VERSION, KBIndexError
from kb_index.second import SECOND_DIR, SecondEncoder
from kb_index.settings import second_encoder_enabled


def _encoder_spec(value: str | None) -> str:
    import os

    return canonical_name(value or os.environ.get("KB_ENCODER") or DEFAULT_ENCODER)


def _policies(value: str | None) -> str | None:
    """``--policies``: a folder, ``none``, or (unset) the default folder."""
    if value is None:
        return "default"
    return None if value.lower() == "none" else value


def _with_second(spec: str) -> bool:
    """MiniLM is built beside USE only (its weights were chosen for that pair) and only when
    ``KB_SECOND_ENCODER`` is not ``off``."""
    return spec == "use" and second_encoder_enabled()


def cmd_build(args: argparse.Namespace) -> int:
    chunks = chunk_articles(load_sources(args.input, _policies(args.policies)))
    if not chunks:
        print(f"error: no articles found in {', '.join(args.input)}", file=sys.stderr)
        return 2
    spec = _encoder_spec(args.encoder)
    digest = corpus_hash(chunks)
    if not args.force:
        try:
            meta = KBIndex.read_meta(args.out)
        except (KBIndexError, ValueError):
            meta = {}
        second = (Path(args.out) / SECOND_DIR / "vectors.npz").is_file()
        if (meta.get("corpus_hash"), meta.get("encoder"), meta.get("format_version"), second) \
                == (digest, spec, FORMAT_VERSION, _with_second(spec)):
            print(f"up to date: {args.out} ({meta['chunks']} chunks, encoder {spec})")
            return 0
    index = KBIndex.build(chunks, load_encoder(spec), progress=not args.quiet,
                          index_kind=args.index_kind)

    def second(folder: Path) -> dict[str, Any]:
        # inside the new index folder before it is swapped in: a running action server never
        # loads the new index without its second encoder
        started = time.monotonic()
        SecondEncoder.build(folder, chunks)
        return {"second_encoder": "minilm-onnx-int8",
                "second_build_seconds": round(time.monotonic() - started, 2)}

    index.save(args.out, second if _with_second(spec) else None)
    m = index.meta
    print(f"built {args.out}: {m['articles']} articles, {m['chunks']} chunks, encoder "
          f"{m['encoder']} ({m['dim']}-d, {m['index_kind']}), {m['build_seconds']} s")
    if "second_encoder" in m:
        print(f"second encoder: MiniLM exported to ONNX (int8) and {len(chunks)} chunks encoded, "
              f"{m['second_build_seconds']} s")
    return 0


def cmd_search(args: argparse.Namespace) -> int:
    index = KBIndex.load(args.index, args.encoder)
    hits = index.search(args.query, top_k=args.top_k, lang=args.lang, mode=args.mode)
    print(json.dumps({"query": args.query, "mode": args.mode, "encoder": index.meta["encoder"],
                      "hits": [h.to_json() for h in hits]}, ensure_ascii=False, indent=2))
    return 0


def cmd_eval(args: argparse.Namespace) -> int:
    from kb_index.evaluate import (
        calibrate,
        encode_queries,
        load_queries,
        metrics,
        perturb,
        run_queries,
    )

    index = KBIndex.load(args.index, args.encoder)
    queries = load_queries(args.queries)
    if args.noise:
        queries = perturb(queries, args.noise, args.seed)
    report: dict[str, object] = {"index": str(args.index), "encoder": index.meta["encoder"],
                                 "corpus_hash": index.meta["corpus_hash"], "modes": {}}
    if args.noise:
        report["noise"] = {"kind": args.noise, "seed": args.seed,
                           "examples": [q.query for q in queries[:5]]}
    oos = load_queries(args.out_of_scope, out_of_scope=True) if args.out_of_scope else []
    qv, ov = encode_queries(index, queries), encode_queries(index, oos)
    for mode in args.mode or ["hybrid"]:
        outcomes = run_queries(index, queries, mode, vectors=qv)
        result = metrics(outcomes)
        result["calibration"] = calibrate(outcomes, run_queries(index, oos, mode, vectors=ov))
        report["modes"][mode] = result  # type: ignore[index]
        for lang in [k for k in result if isinstance(result[k], dict) and "n" in result[k]]:
            r = result[lang]
            print(f"{mode:7s} {lang:15s} n={r['n']:3d} recall@1={r.get('recall@1', 0):.3f} "
                  f"recall@3={r.get('recall@3', 0):.3f} mrr={r.get('mrr', 0):.3f}")
        print(f"{mode:7s} threshold={result['calibration'].get('threshold')}")
    if args.report:
        Path(args.report).parent.mkdir(parents=True, exist_ok=True)
        Path(args.report).write_text(json.dumps(report, ensure_ascii=False, indent=2) + "\n")
        print(f"report written to {args.report}")
    return 0


def cmd_eval_store(args: argparse.Namespace) -> int:
    from kb_index.store_eval import evaluate_store, load_store_questions

    index = KBIndex.load(args.index, args.encoder)
    report = evaluate_store(index, load_store_questions(args.questions), top_k=args.top_k)
    for lang, row in report["summary"].items():
        labelled = (f" recall@1={row['recall@1']:.3f} recall@3={row['recall@3']:.3f} "
                    f"mrr={row['mrr']:.3f} precision_when_answering="
                    f"{row.get('precision_when_answering', '-')}") if row["labelled"] else ""
        uncovered = (f" not_covered={row['not_covered']} answered_anyway="
                     f"{row['not_covered_answered']:.3f}") if row.get("not_covered") else ""
        print(f"{lang} n={row['n']} labelled={row['labelled']} "
              f"answered={row['answered_share']:.3f}{labelled}{uncovered}")
    if report["suggested_threshold"]:
        s = report["suggested_threshold"]
        print(f"threshold now {report['threshold']}; on these questions KB_MIN_SCORE="
              f"{s['threshold']} would answer {s['correct_top1_answered']} right top articles "
              f"and abstain on {s['not_covered_abstained']} questions the FAQ does not cover")
    if report["unknown_expected"]:
        print(f"warning: {len(report['unknown_expected'])} 'expected' values match no article id "
              f"or FAQ question: {report['unknown_expected'][:5]}", file=sys.stderr)
    if args.report:
        Path(args.report).parent.mkdir(parents=True, exist_ok=True)
        Path(args.report).write_text(json.dumps(report, ensure_ascii=False, indent=2) + "\n")
        print(f"report written to {args.report}")
    return 0


def cmd_compare(args: argparse.Namespace) -> int:
    from kb_index.report import compare

    compare(args.input, args.queries, args.out_of_scope, args.encoders, Path(args.out_dir))
    return 0


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="python -m kb_index", description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = p.add_subparsers(dest="command", required=True)
    b = sub.add_parser("build", help="index Markdown folders and CSV/JSONL FAQ files")
    b.add_argument("--input", action="append", required=True, help="file or folder (repeatable)")
    b.add_argument("--out", required=True, help="index directory")
    b.add_argument("--encoder", help="use | minilm | st:<name-or-path> | hash:<dim> "
                   f"(default: $KB_ENCODER or {DEFAULT_ENCODER})")
    b.add_argument("--index-kind", choices=["auto", "exact", "ivf", "hnsw"], default="auto")
    b.add_argument("--policies", help="folder of per-market policy files whose facts fill the "
                   "articles' {{…}} placeholders (default: $ATIENDE_POLICY_DIR or data/policies; "
                   "'none' for none)")
    b.add_argument("--force", action="store_true", help="rebuild even if nothing changed")
    b.add_argument("--quiet", action="store_true", help="no progress bar")
    b.set_defaults(func=cmd_build)
    s = sub.add_parser("search", help="search an index; JSON on stdout")
    s.add_argument("--index", required=True)
    s.add_argument("--lang", choices=["es", "en"], help="only articles in this language")
    s.add_argument("--top-k", type=int, default=3)
    s.add_argument("--mode", choices=MODES, default="hybrid")
    s.add_argument("--encoder", help="must match the index's encoder (default: the index's)")
    s.add_argument("query")
    s.set_defaults(func=cmd_search)
    e = sub.add_parser("eval", help="recall@1/@3 and MRR per language on labelled queries")
    e.add_argument("--index", required=True)
    e.add_argument("--queries", required=True, help="JSONL: query, lang, expected")
    e.add_argument("--out-of-scope", help="JSONL of queries with no answer, for calibration")
    e.add_argument("--mode", action="append", choices=MODES, help="repeatable (default hybrid)")
    e.add_argument("--encoder")
    e.add_argument("--noise", choices=["accents", "typos"], help="ask the queries as a hurried "
                   "shopper types them: no accents, or no accents and one typo each (seeded)")
    e.add_argument("--seed", type=int, default=0, help="seed of --noise (default 0)")
    e.add_argument("--report", help="write the JSON report here")
    e.set_defaults(func=cmd_eval)
    st = sub.add_parser("eval-store", help="a store's own shopper questions against its index "
                        "(.txt one per line, or CSV/JSONL: question[, expected, lang]; "
                        "expected 'none' = the FAQ does not answer it)")
    st.add_argument("--index", required=True)
    st.add_argument("--questions", required=True)
    st.add_argument("--top-k", type=int, default=3)
    st.add_argument("--encoder")
    st.add_argument("--report", help="write the JSON report (one row per question) here")
    st.set_defaults(func=cmd_eval_store)
    c = sub.add_parser("compare", help="evaluate encoders x modes; write reports/kb/eval.{md,json}")
    c.add_argument("--input", action="append", required=True)
    c.add_argument("--queries", required=True)
    c.add_argument("--out-of-scope")
    c.add_argument("--encoders", default="use,minilm")
    c.add_argument("--out-dir", default="reports/kb")
    c.set_defaults(func=cmd_compare)
    return p


def main(argv: list[str] | None = None) -> int:
    args = parser().parse_args(argv)
    try:
        return int(args.func(args))
    except (KBIndexError, SourceError, ValueError, FileNotFoundError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except BrokenPipeError:  # `... | head` closed stdout early: not an error worth a traceback
        sys.stderr.close()
        return 0
