"""A store's own questions against its FAQ: questions the FAQ does not cover (``none``) measure
abstention, and the report suggests the store's own threshold (kb_index.store_eval)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from kb_index.cli import main
from kb_index.store_eval import load_store_questions, suggest_threshold

FAQ = [
    {"id": "faq-01", "question": "¿Cuánto tarda la entrega?", "answer": "De 2 a 4 días laborables.",
     "lang": "es"},
    {"id": "faq-02", "question": "¿Puedo cancelar mi pedido?", "answer": "Sí, antes del envío.",
     "lang": "es"},
    {"id": "faq-03", "question": "¿Qué métodos de pago aceptan?", "answer": "Tarjeta y PayPal.",
     "lang": "es"},
]


def row(confidence: float, *, expected: tuple[str, ...] = (), top: str = "faq-01",
        not_covered: bool = False) -> dict[str, Any]:
    return {"question": f"q{confidence}", "lang": "es", "expected": list(expected),
            "not_covered": not_covered, "top": [{"article": top, "confidence": confidence}]}


def test_none_marks_a_question_the_faq_does_not_answer(tmp_path: Path) -> None:
    path = tmp_path / "q.jsonl"
    path.write_text("\n".join(json.dumps(r, ensure_ascii=False) for r in [
        {"question": "¿hacéis descuentos a estudiantes?", "expected": "none"},
        {"question": "¿cuándo llega?", "expected": "faq-01"},
        {"question": "¿tenéis tienda física?"},
    ]) + "\n", encoding="utf-8")
    loaded = load_store_questions(path)
    assert [(q.expected, q.not_covered) for q in loaded] == [
        ((), True), (("faq-01",), False), ((), False)]


def test_the_suggested_threshold_answers_right_entries_and_abstains_on_uncovered() -> None:
    rows = [row(0.8, expected=("faq-01",)), row(0.7, expected=("faq-02",), top="faq-02"),
            row(0.6, expected=("faq-03",), top="faq-01"),  # wrong top entry
            row(0.5, not_covered=True), row(0.45, not_covered=True),
            row(0.3, expected=("faq-01",))]  # right but barely similar
    found = suggest_threshold(rows)
    assert found is not None
    assert 0.6 < found["threshold"] < 0.7  # above the wrong answer and both uncovered ones
    assert found["correct_top1_answered"] == "2/3"
    assert found["not_covered_abstained"] == "2/2"


def test_no_threshold_is_suggested_without_both_kinds_of_label() -> None:
    assert suggest_threshold([row(0.8, expected=("faq-01",))]) is None
    assert suggest_threshold([row(0.8, not_covered=True)]) is None


def test_eval_store_reports_uncovered_questions_answered_anyway(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    faq = tmp_path / "faq.jsonl"
    faq.write_text("\n".join(json.dumps(r, ensure_ascii=False) for r in FAQ) + "\n",
                   encoding="utf-8")
    index = tmp_path / "idx"
    assert main(["build", "--input", str(faq), "--out", str(index), "--encoder", "hash:256",
                 "--quiet", "--policies", "none"]) == 0
    questions = tmp_path / "q.jsonl"
    questions.write_text("\n".join(json.dumps(r, ensure_ascii=False) for r in [
        {"question": "¿Cuánto tarda la entrega?", "expected": "faq-01", "lang": "es"},
        {"question": "¿Puedo cancelar mi pedido?", "expected": "faq-02", "lang": "es"},
        {"question": "mi código de descuento no funciona", "expected": "none", "lang": "es"},
    ]) + "\n", encoding="utf-8")
    report = tmp_path / "r.json"
    assert main(["eval-store", "--index", str(index), "--questions", str(questions),
                 "--report", str(report)]) == 0
    data = json.loads(report.read_text())
    es = data["summary"]["es"]
    assert (es["labelled"], es["not_covered"], es["recall@1"]) == (2, 1, 1.0)
    assert data["unknown_expected"] == []  # "none" is a label, not an unknown entry
    assert data["suggested_threshold"]["correct_top1_answered"] == "2/2"
    assert data["suggested_threshold"]["not_covered_abstained"] == "1/1"
    out = capsys.readouterr().out
    assert "not_covered=1" in out and "KB_MIN_SCORE=" in out


@pytest.mark.parametrize("store", ["nokkus", "hafado"])
def test_third_party_faq_labels_use_other_stores_questions(store: str) -> None:
    """The committed labels ask a FAQ only questions other stores wrote (taken from the external
    set), and name only its 10 entries or ``none``."""
    data = Path(__file__).parents[1] / "data"
    external = {json.loads(line)["query"]: json.loads(line)
                for line in (data / "kb_queries_external.jsonl").read_text("utf-8").splitlines()}
    rows = [json.loads(line) for line in
            (data / f"kb_store_questions_{store}.jsonl").read_text("utf-8").splitlines()]
    entries = {f"{store}-{n:02d}" for n in range(1, 11)}
    assert len(rows) >= 100
    for r in rows:
        assert r["question"] in external, r["question"]
        assert store not in external[r["question"]].get("source", "")
        labels = [r["expected"]] if isinstance(r["expected"], str) else r["expected"]
        assert labels == ["none"] or set(labels) <= entries, r
    assert sum(r["expected"] != "none" for r in rows) >= 60


def test_the_two_fold_bench_judges_each_fold_by_the_other_folds_threshold(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from bench.kb_store_threshold import main as bench_main

    faq = tmp_path / "faq.jsonl"
    faq.write_text("\n".join(json.dumps(r, ensure_ascii=False) for r in FAQ) + "\n",
                   encoding="utf-8")
    index = tmp_path / "idx"
    assert main(["build", "--input", str(faq), "--out", str(index), "--encoder", "hash:256",
                 "--quiet", "--policies", "none"]) == 0
    rows = [{"question": "¿Cuánto tarda la entrega?", "expected": "faq-01"},
            {"question": "mi código de descuento no funciona", "expected": "none"},
            {"question": "¿Puedo cancelar mi pedido?", "expected": "faq-02"},
            {"question": "¿hacéis factura a empresas?", "expected": "none"}]
    questions = tmp_path / "q.jsonl"
    questions.write_text("\n".join(json.dumps({**r, "lang": "es"}, ensure_ascii=False)
                                   for r in rows) + "\n", encoding="utf-8")
    capsys.readouterr()
    assert bench_main(["--index", str(index), "--questions", str(questions)]) == 0
    result = json.loads(capsys.readouterr().out)
    assert result["questions"] == 4
    assert result["default"]["right_answered"] == "2/2"
    assert len(result["calibrated_2fold"]["thresholds"]) == 2
    # an exact repeat of a FAQ question scores far above an unrelated one: both folds separate them
    assert result["calibrated_2fold"]["right_answered"] == "2/2"
    assert result["calibrated_2fold"]["not_covered_answered"] == "0/2"
