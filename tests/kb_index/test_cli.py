"""The command line on a tiny corpus, with the hashing encoder (no model load)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from kb_index.cli import main


def _build(*args: str) -> int:
    return main(["build", "--encoder", "hash:64", "--quiet", *args])


def test_build_then_up_to_date_then_force(kb_dir: Path, tmp_path: Path,
                                          capsys: pytest.CaptureFixture[str]) -> None:
    out = str(tmp_path / "idx")
    assert _build("--input", str(kb_dir), "--out", out) == 0
    assert "built" in capsys.readouterr().out
    assert json.loads((tmp_path / "idx" / "meta.json").read_text())["encoder"] == "hash:64"
    assert _build("--input", str(kb_dir), "--out", out) == 0
    assert "up to date" in capsys.readouterr().out
    assert _build("--input", str(kb_dir), "--out", out, "--force") == 0
    assert "built" in capsys.readouterr().out
    # another encoder is a real change, not "up to date"
    assert main(["build", "--encoder", "hash:32", "--quiet", "--input", str(kb_dir),
                 "--out", out]) == 0
    assert "built" in capsys.readouterr().out


def test_changed_article_triggers_rebuild(kb_dir: Path, tmp_path: Path,
                                          capsys: pytest.CaptureFixture[str]) -> None:
    out = str(tmp_path / "idx")
    _build("--input", str(kb_dir), "--out", out)
    (kb_dir / "es" / "new.md").write_text("---\nid: new\ntitle: Nuevo\n---\nTexto nuevo.\n")
    capsys.readouterr()
    _build("--input", str(kb_dir), "--out", out)
    assert "built" in capsys.readouterr().out


def test_build_plain_csv_and_search_json(faq_csv: Path, tmp_path: Path,
                                         capsys: pytest.CaptureFixture[str]) -> None:
    out = str(tmp_path / "idx")
    assert _build("--input", str(faq_csv), "--out", out) == 0
    capsys.readouterr()
    assert main(["search", "--index", out, "--lang", "es", "--top-k", "2",
                 "envíos a Canarias"]) == 0
    result = json.loads(capsys.readouterr().out)
    assert result["encoder"] == "hash:64"
    assert result["hits"][0]["article_id"] == "canarias"
    assert result["hits"][0]["url"] == "https://tienda.example/canarias"
    assert all(h["lang"] == "es" for h in result["hits"])


def test_several_inputs(kb_dir: Path, faq_csv: Path, tmp_path: Path) -> None:
    out = tmp_path / "idx"
    assert _build("--input", str(kb_dir), "--input", str(faq_csv), "--out", str(out)) == 0
    assert json.loads((out / "meta.json").read_text())["articles"] == 6


def test_eval_writes_report(kb_dir: Path, tmp_path: Path,
                            capsys: pytest.CaptureFixture[str]) -> None:
    out = str(tmp_path / "idx")
    _build("--input", str(kb_dir), "--out", out)
    queries = tmp_path / "q.jsonl"
    queries.write_text("\n".join(json.dumps(q, ensure_ascii=False) for q in [
        {"query": "plazos de envío", "lang": "es", "expected": "shipping-times"},
        {"query": "pago con Bizum", "lang": "es", "expected": "payment-methods"},
        {"query": "gift cards cannot be returned", "lang": "en", "expected": "return-policy"},
    ]) + "\n")
    oos = tmp_path / "oos.jsonl"
    oos.write_text('{"query": "¿quién ganó el partido?", "lang": "es"}\n')
    report = tmp_path / "reports" / "eval.json"
    assert main(["eval", "--index", out, "--queries", str(queries), "--out-of-scope", str(oos),
                 "--mode", "hybrid", "--mode", "bm25", "--report", str(report)]) == 0
    data = json.loads(report.read_text())
    hybrid = data["modes"]["hybrid"]
    assert hybrid["all"] == {"n": 3, "recall@1": 1.0, "recall@3": 1.0, "mrr": 1.0}
    assert hybrid["es"]["n"] == 2 and hybrid["en"]["n"] == 1
    assert hybrid["calibration"]["threshold"] is not None
    assert "bm25" in data["modes"]
    assert "recall@1=1.000" in capsys.readouterr().out


def test_errors_are_one_line(tmp_path: Path, kb_dir: Path,
                             capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["search", "--index", str(tmp_path / "missing"), "hola"]) == 2
    assert "no knowledge-base index" in capsys.readouterr().err
    assert _build("--input", str(tmp_path / "nothing"), "--out", str(tmp_path / "i")) == 2
    assert "no such file" in capsys.readouterr().err
    out = str(tmp_path / "idx")
    _build("--input", str(kb_dir), "--out", out)
    assert main(["search", "--index", out, "--encoder", "hash:32", "hola"]) == 2
    assert "built with encoder 'hash:64'" in capsys.readouterr().err
    assert main(["build", "--encoder", "bogus", "--input", str(kb_dir), "--out", out]) == 2
    assert "unknown encoder" in capsys.readouterr().err


def test_eval_with_noise_asks_the_perturbed_questions(kb_dir: Path, tmp_path: Path) -> None:
    out = str(tmp_path / "idx")
    _build("--input", str(kb_dir), "--out", out)
    queries = tmp_path / "q.jsonl"
    queries.write_text(json.dumps({"query": "¿Cuáles son los plazos de envío?", "lang": "es",
                                   "expected": "shipping-times"}, ensure_ascii=False) + "\n")
    report = tmp_path / "eval.json"
    assert main(["eval", "--index", out, "--queries", str(queries), "--noise", "typos",
                 "--seed", "4", "--report", str(report)]) == 0
    noise = json.loads(report.read_text())["noise"]
    assert noise["kind"] == "typos" and noise["seed"] == 4
    [asked] = noise["examples"]
    assert asked != "¿Cuales son los plazos de envio?"  # one typo on top of the lost accents
    assert "á" not in asked and "í" not in asked
