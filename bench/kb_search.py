"""KB search benchmark: build time, query latency (p50/p95) and memory at 1k and 100k chunks.

    python -m bench.kb_search [--encoder use] [--big 100000] [--report reports/kb/bench.json]

- real corpus: ``data/kb`` built with the real encoder (build time per chunk);
- 1k chunks: the real chunk vectors replicated with small noise to 1,000 chunks, queried
  end to end with the labelled queries (query encoding + FAISS + BM25 + fusion), plus the parts;
- 100k chunks: synthetic clustered 512-d vectors (embedding-like: points around topics), exact
  ``IndexFlatIP`` and IVF, single-query latency, IVF recall@10 against exact, memory.

Runs in about a minute on 2 busy cores. Goals: p95 <= 15 ms at 1k, <= 30 ms at 100k.
"""

from __future__ import annotations

import argparse
import json
import time
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path
from typing import Any

import faiss
import numpy as np

from kb_index.documents import chunk_articles, load_sources
from kb_index.encoders import DEFAULT_ENCODER, load_encoder
from kb_index.evaluate import load_queries
from kb_index.index import KBIndex
from kb_index.persist import article_questions
from kb_index.store import IVF_NPROBE, VectorStore, recall_at_k


def rss_mb() -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


#: ``perf_counter`` (wall clock) or ``thread_time`` (CPU time of the searching thread: what a
#: search costs, without the time it waits for a core on a machine shared with other jobs).
CLOCK: Callable[[], float] = time.perf_counter


def latencies(fn: Callable[[int], object], n: int, warmup: int = 5) -> dict[str, float]:
    for i in range(min(warmup, n)):
        fn(i)
    times = []
    for i in range(n):
        started = CLOCK()
        fn(i)
        times.append((CLOCK() - started) * 1000)
    return {"p50_ms": round(float(np.percentile(times, 50)), 2),
            "p95_ms": round(float(np.percentile(times, 95)), 2), "n": n}


def clustered(rng: np.random.Generator, n: int, dim: int, topics: int,
              spread: float = 1.5) -> np.ndarray:
    """Embedding-like unit vectors: points around ``topics`` centres, which themselves gather
    around ``topics // 10`` broader subjects, so neighbours straddle topic borders (uniform
    random vectors would make any ANN look bad, isolated tight clusters would make it perfect).
    ``spread`` 1.5 gives query/nearest-neighbour cosines of ~0.4, like real queries and chunks;
    2.5 (~0.24) is a harder, flatter space."""
    def unit(v: np.ndarray) -> np.ndarray:
        return (v / np.linalg.norm(v, axis=1, keepdims=True)).astype(np.float32)

    def noise(m: int) -> np.ndarray:
        return rng.standard_normal((m, dim)).astype(np.float32) / np.sqrt(dim)

    subjects = unit(rng.standard_normal((max(1, topics // 10), dim)))
    centres = unit(subjects[rng.integers(0, len(subjects), topics)] + 0.8 * noise(topics))
    out = np.empty((n, dim), dtype=np.float32)
    for start in range(0, n, 20_000):  # bounded temporary memory
        m = min(20_000, n - start)
        out[start:start + m] = unit(centres[rng.integers(0, topics, m)] + spread * noise(m))
    return out


def bench_real(encoder_spec: str, n_small: int, n_queries: int,
               second: bool = False) -> dict[str, Any]:
    encoder = load_encoder(encoder_spec)
    encoder.encode(["calentamiento"])  # load weights outside the timings
    chunks = chunk_articles(load_sources(["data/kb"]))
    started = time.monotonic()
    real = KBIndex.build(chunks, encoder, progress=False)
    build_s = time.monotonic() - started
    result: dict[str, Any] = {"encoder": encoder.name, "corpus_chunks": len(chunks),
                              "corpus_build_s": round(build_s, 2),
                              "encode_ms_per_chunk": round(1000 * build_s / len(chunks), 1)}
    # replicate to n_small chunks: new article ids, vectors jittered, texts kept for BM25
    rng = np.random.default_rng(0)
    reps = -(-n_small // len(chunks))
    big_chunks, vecs, heads = [], [], []
    for r in range(reps):
        for chunk, vec, head in zip(chunks, real.vectors, real.heading_vectors, strict=True):
            big_chunks.append(replace(chunk, article_id=f"{chunk.article_id}~{r}",
                                      chunk_id=f"{chunk.chunk_id}~{r}"))
            vecs.append(vec + (0.02 * rng.standard_normal(vec.shape) if r else 0))
            heads.append(head)
    big_chunks, vectors = big_chunks[:n_small], np.asarray(vecs[:n_small], dtype=np.float32)
    vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
    cards = _card_vectors(real, big_chunks)
    before = rss_mb()
    started = time.monotonic()
    index = KBIndex(big_chunks, vectors, encoder, dict(real.meta), VectorStore.build(vectors),
                    cards, np.asarray(heads[:n_small], dtype=np.float32),
                    _question_vectors(real, big_chunks))
    result["small_index_build_s_without_encoding"] = round(time.monotonic() - started, 3)
    if second:
        result["second"] = _attach_second(real, index)
    result["small_index_rss_mb"] = round(rss_mb() - before, 1)
    queries = [q.query for q in load_queries("tests/data/kb_queries.jsonl")][:n_queries]
    qvecs = index.encode_queries(queries)
    result["small_chunks"] = len(big_chunks)
    result["query_encode"] = latencies(lambda i: encoder.encode([queries[i]]), len(queries))
    result["faiss_only"] = latencies(lambda i: index.store.search(qvecs[i][None, :], 10),
                                     len(queries))
    result["search_given_vector"] = latencies(
        lambda i: index.search(queries[i], 3, query_vector=qvecs[i]), len(queries))
    result["end_to_end"] = latencies(lambda i: index.search(queries[i], 3), len(queries))
    # English questions pay for the second encoding, Spanish ones do not (kb_index.second)
    for lang in ("es", "en"):
        some = [q.query for q in load_queries("tests/data/kb_queries.jsonl") if q.lang == lang]
        result[f"end_to_end_{lang}"] = latencies(
            lambda i, some=some, lang=lang: index.search(some[i], 3, prefer_lang=lang),
            min(len(some), n_queries))
    if index.second is not None:
        result["second_query_encode"] = latencies(
            lambda i: index.second.encode(queries[i]), len(queries))  # type: ignore[union-attr]
    return result


def _attach_second(real: KBIndex, index: KBIndex) -> dict[str, Any]:
    """MiniLM through onnxruntime (kb_index.second) for the replicated index: exported and run
    over the real chunks, its vectors replicated like USE's."""
    import tempfile

    from kb_index.second import SecondEncoder

    with tempfile.TemporaryDirectory() as tmp:
        started = time.monotonic()
        SecondEncoder.build(tmp, real.chunks)
        built = round(time.monotonic() - started, 2)
        second = SecondEncoder.load(tmp, len(real.chunks))
    assert second is not None
    row = {c.chunk_id: i for i, c in enumerate(real.chunks)}
    card = {key: i for i, key in enumerate(real.keys)}
    question = {(real.keys[pos], q): i
                for i, (pos, q) in enumerate(article_questions(real.chunks))}
    second.chunks = second.chunks[[row[c.chunk_id.split("~")[0]] for c in index.chunks]]
    second.headings = second.headings[[row[c.chunk_id.split("~")[0]] for c in index.chunks]]
    second.cards = second.cards[[card[(a.split("~")[0], lang)] for a, lang in index.keys]]
    second.questions = second.questions[
        [question[((index.keys[pos][0].split("~")[0], index.keys[pos][1]), q)]
         for pos, q in article_questions(index.chunks)]].reshape(-1, second.encoder.dim)
    index.second = second
    return {"encoder": second.encoder.name, "export_and_encode_s": built}


def _question_vectors(real: KBIndex, chunks: list[Any]) -> np.ndarray:
    """Question vectors of the replicated articles: the original article's questions."""
    keys = list(dict.fromkeys((c.article_id.split("~")[0], c.lang) for c in real.chunks))
    original = {(keys[pos], q): real.question_vectors[i]
                for i, (pos, q) in enumerate(article_questions(real.chunks))}
    big_keys = list(dict.fromkeys((c.article_id, c.lang) for c in chunks))
    return np.asarray([original[((big_keys[pos][0].split("~")[0], big_keys[pos][1]), q)]
                       for pos, q in article_questions(chunks)],
                      dtype=np.float32).reshape(-1, real.vectors.shape[1])


def _card_vectors(real: KBIndex, chunks: list[Any]) -> np.ndarray:
    """Card vectors of the replicated articles: the original article's card."""
    original = {key: real.card_vectors[i] for i, key in enumerate(real.keys)}
    seen: dict[tuple[str, str], np.ndarray] = {}
    for chunk in chunks:
        key = (chunk.article_id, chunk.lang)
        if key not in seen:
            seen[key] = original[(chunk.article_id.split("~")[0], chunk.lang)]
    return np.asarray(list(seen.values()), dtype=np.float32)


def bench_big(n: int, dim: int, n_queries: int, spread: float) -> dict[str, Any]:
    base = rss_mb()
    # queries: fresh points from the same distribution (not copies of indexed vectors)
    both = clustered(np.random.default_rng(1), n + n_queries, dim, max(10, n // 100), spread)
    vectors, queries = both[:n], both[n:]
    data_mb = vectors.nbytes / 2**20
    result: dict[str, Any] = {"chunks": n, "dim": dim, "vectors_mb": round(data_mb, 1)}
    started = time.monotonic()
    exact = VectorStore.build(vectors, kind="exact")
    result["exact_build_s"] = round(time.monotonic() - started, 2)
    result["exact"] = latencies(lambda i: exact.search(queries[i][None, :], 10), n_queries)
    scores, _ = exact.search(queries, 10)
    result["spread"] = spread
    result["mean_cosine_top1_top10"] = [round(float(scores[:, 0].mean()), 3),
                                        round(float(scores[:, 9].mean()), 3)]
    started = time.monotonic()
    ivf = VectorStore.build(vectors, kind="ivf")
    result["ivf_build_s"] = round(time.monotonic() - started, 2)
    result["ivf_lists"] = int(ivf.index.nlist)
    result["ivf"] = latencies(lambda i: ivf.search(queries[i][None, :], 10), n_queries)
    result["ivf_nprobe"] = IVF_NPROBE
    result["ivf_recall@10_vs_exact"] = round(recall_at_k(ivf, exact, queries, 10), 4)
    index = faiss.extract_index_ivf(ivf.index)
    for nprobe in (4, 64):
        index.nprobe = nprobe
        result[f"ivf_nprobe{nprobe}"] = {
            "recall@10": round(recall_at_k(ivf, exact, queries, 10), 4),
            **latencies(lambda i: ivf.search(queries[i][None, :], 10), n_queries)}
    index.nprobe = IVF_NPROBE
    result["rss_mb_for_vectors_and_both_indexes"] = round(rss_mb() - base, 1)
    return result


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--encoder", default=DEFAULT_ENCODER)
    p.add_argument("--small", type=int, default=1000)
    p.add_argument("--big", type=int, default=100_000)
    p.add_argument("--queries", type=int, default=200)
    p.add_argument("--spread", type=float, default=1.5, help="synthetic noise (2.5 = harder)")
    p.add_argument("--skip-small", action="store_true", help="only the synthetic 100k part")
    p.add_argument("--skip-big", action="store_true", help="only the real 1k part")
    p.add_argument("--clock", choices=["wall", "cpu"], default="wall",
                   help="wall clock, or the searching thread's CPU time (for a busy machine)")
    p.add_argument("--second", action="store_true",
                   help="with MiniLM beside USE through onnxruntime (kb_index.second)")
    p.add_argument("--report", default="reports/kb/bench.json")
    args = p.parse_args(argv)
    global CLOCK
    CLOCK = time.thread_time if args.clock == "cpu" else time.perf_counter
    started = time.monotonic()
    report: dict[str, Any] = {"generated_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
                              "clock": args.clock}
    if not args.skip_small:
        report["small"] = bench_real(args.encoder, args.small, args.queries, args.second)
        print(json.dumps(report["small"], indent=2), flush=True)
    if not args.skip_big:
        report["big"] = bench_big(args.big, 512, args.queries, args.spread)
        print(json.dumps(report["big"], indent=2), flush=True)
    report["total_s"] = round(time.monotonic() - started, 1)
    Path(args.report).parent.mkdir(parents=True, exist_ok=True)
    Path(args.report).write_text(json.dumps(report, indent=2) + "\n")
    print(f"written {args.report} in {report['total_s']} s")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
