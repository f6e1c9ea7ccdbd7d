"""The demo's wrong answers, asked again of the real articles with the real encoder (USE,
offline): the refund-time question quotes the days by payment method, the Balearics question
quotes the Balearics price, and passage selection keeps its measured accuracy on
tests/data/kb_passages.jsonl."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from kb_index.documents import chunk_articles, load_sources
from kb_index.encoders import DEFAULT_ENCODER, load_encoder
from kb_index.evaluate import load_passage_queries, passage_metrics
from kb_index.facts import load_facts, scan
from kb_index.index import KBIndex
from kb_index.settings import DEFAULT_POLICY_DIR

pytestmark = pytest.mark.slow
ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def index() -> KBIndex:
    chunks = chunk_articles(load_sources([ROOT / "data" / "kb"]))
    return KBIndex.build(chunks, load_encoder(DEFAULT_ENCODER), progress=False)


@pytest.mark.parametrize("query, lang, figures", [
    ("¿cuánto tarda el reembolso?", "es", ["3–5 días hábiles", "PayPal 1–2 días"]),
    ("how long does a refund take?", "en", ["3–5 business days", "PayPal 1–2 days"]),
])
def test_refund_time_question_quotes_the_days_by_payment_method(index, query, lang, figures):
    for _ in range(2):  # asked twice in the demo: the same right answer both times
        hit = index.search(query, top_k=3, prefer_lang=lang)[0]
        assert hit.article_id == "refund-times"
        for figure in figures:
            assert figure in hit.text, hit.text
        assert "Si no ves el dinero" not in hit.heading


@pytest.mark.parametrize("query, lang, price", [
    ("¿y a Baleares cuánto cuesta?", "es", "5,95 €"),
    ("and how much to the Balearics?", "en", "€5.95"),
])
def test_balearics_price_is_the_balearics_price(index, query, lang, price):
    hit = index.search(query, top_k=3, prefer_lang=lang)[0]
    assert hit.article_id == "shipping-costs"
    assert price in hit.text
    # no sentence of the quoted passage gives the Balearics another figure
    assert scan(hit.text, lang, load_facts(DEFAULT_POLICY_DIR)) == []
    near = re.findall(r"[^.;|]*(?:Baleares|Balearic)[^.;|]*", hit.text)
    assert near and all("3,95" not in s and "3.95" not in s for s in near
                        if "península" not in s and "mainland" not in s)


def test_passage_selection_keeps_its_accuracy(index):
    """Measured on this index (USE alone) 0.892 (es, the Spanish learned ranker, in sample; 0.818
    with the hand-set weights) / 0.869 (en, hand-set: MiniLM is not built here)
    (reports/kb/README.md); a drop below these floors means a change made the quoted passages
    worse."""
    queries = load_passage_queries(ROOT / "tests" / "data" / "kb_passages.jsonl")
    assert sum(q.lang == "es" for q in queries) >= 150 <= sum(q.lang == "en" for q in queries)
    result = passage_metrics(index, queries)
    assert result["es"]["passage_accuracy"] >= 0.87, result["es"]
    assert result["en"]["passage_accuracy"] >= 0.85, result["en"]


def test_out_of_scope_questions_written_by_others_are_rarely_answered(index):
    """300 CLINC150 out-of-scope questions (tests/data/SOURCES.md): at the calibrated threshold
    the KB answers at most 5 % of them (measured 3.6 % on all 1,000)."""
    from kb_index.evaluate import load_queries, run_queries
    from kb_index.settings import answer_threshold

    oos = load_queries(ROOT / "tests" / "data" / "kb_out_of_scope_clinc_en.jsonl",
                       out_of_scope=True)
    threshold = answer_threshold(index.meta["encoder"])
    answered = [o for o in run_queries(index, oos) if o.confidence >= threshold]
    assert len(oos) == 300 and len(answered) / len(oos) <= 0.05, [o.query.query for o in answered]


def test_questions_written_by_others_keep_their_recall(index):
    """244 FAQ questions from 40 public store help pages (tests/data/SOURCES.md), labelled with
    our articles: measured recall@1 0.871 (es) / 0.875 (en), recall@3 0.968 / 0.975. Floors a
    little below, so a change that loses ground fails here."""
    from kb_index.evaluate import load_queries, metrics, run_queries

    result = metrics(run_queries(index, load_queries(
        ROOT / "tests" / "data" / "kb_queries_external.jsonl")))
    for lang in ("es", "en"):
        assert result[lang]["n"] >= 120
        assert result[lang]["recall@1"] >= 0.85, result[lang]
        assert result[lang]["recall@3"] >= 0.95, result[lang]


def test_typed_in_a_hurry_the_external_questions_are_still_found(index, monkeypatch):
    """The external questions with accents dropped and one seeded typo each: query
    normalisation (kb_index.normalise) must recover most of what the typos cost. Measured with
    seed 0: recall@1 es 0.798 / en 0.867 with it, 0.790 / 0.833 without; recall@3 0.960 / 0.942
    against 0.911 / 0.933."""
    from kb_index.evaluate import encode_queries, load_queries, metrics, perturb, run_queries

    noisy = perturb(load_queries(ROOT / "tests" / "data" / "kb_queries_external.jsonl"),
                    "typos", seed=0)
    fixed = metrics(run_queries(index, noisy, vectors=encode_queries(index, noisy)))
    monkeypatch.setattr(index, "normalise_query", lambda text, lang=None: text)
    raw = metrics(run_queries(index, noisy, vectors=encode_queries(index, noisy)))
    for lang in ("es", "en"):
        assert fixed[lang]["recall@3"] >= 0.93, fixed[lang]
        assert fixed[lang]["recall@3"] > raw[lang]["recall@3"], (fixed[lang], raw[lang])
        assert fixed[lang]["recall@1"] >= raw[lang]["recall@1"], (fixed[lang], raw[lang])
