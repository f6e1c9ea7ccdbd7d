"""A store's help centre saved as HTML (pages, a FAQ page, a sitemap) imported as articles, and
the store's own questions evaluated against the index (kb_index.importers, eval-store)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from kb_index.cli import main
from kb_index.documents import SourceError, load_sources
from kb_index.importers import parse_html

FAQ_PAGE = """<!doctype html><html lang="es-ES"><head><title>Envíos | Tienda Sol</title>
<link rel="canonical" href="https://sol.example/ayuda/envios"></head>
<body><header><nav><a href="/">Inicio</a> <a href="/carrito">Carrito</a></nav></header>
<main><h1>Preguntas frecuentes sobre envíos</h1>
<details><summary>¿Cuánto tarda mi pedido?</summary>
  <p>Entre <strong>2 y 4 días laborables</strong> en península.</p></details>
<details><summary>¿Cuánto cuesta el envío?</summary>
  <table><tr><th>Zona</th><th>Precio</th></tr><tr><td>Península</td><td>4,90 €</td></tr>
  <tr><td>Baleares</td><td>7,90 €</td></tr></table></details>
<h2>¿Puedo recoger en tienda?</h2><p>Sí, en nuestra tienda de
  <a href="https://sol.example/tiendas">Valencia</a>.</p><ul><li>Gratis</li><li>En 24 h</li></ul>
</main><footer>© Tienda Sol<script>track("x")</script></footer></body></html>"""

GUIDE_PAGE = """<html lang="en"><head><title>Returns guide</title></head><body>
<nav>Home</nav><article><h1>Returning an item</h1><p>Start your return in your account.</p>
<h2>Refunds</h2><p>Refunds reach your card in 5 days.</p></article></body></html>"""


def test_a_faq_page_becomes_one_article_per_question() -> None:
    articles = parse_html(FAQ_PAGE, "ayuda/envios.html")
    assert [a.title for a in articles] == ["¿Cuánto tarda mi pedido?", "¿Cuánto cuesta el envío?",
                                           "¿Puedo recoger en tienda?"]
    assert {a.lang for a in articles} == {"es"}
    assert {a.url for a in articles} == {"https://sol.example/ayuda/envios"}
    assert articles[0].body == "Entre **2 y 4 días laborables** en península."
    assert articles[1].body == ("| Zona | Precio |\n|---|---|\n| Península | 4,90 € |\n"
                                "| Baleares | 7,90 € |")
    assert "[Valencia](https://sol.example/tiendas)" in articles[2].body
    assert "- Gratis\n- En 24 h" in articles[2].body
    everything = " ".join(a.body for a in articles)
    assert "Carrito" not in everything and "track(" not in everything  # page chrome dropped
    assert articles[0].id == "envios-cuanto-tarda-mi-pedido"


def test_a_guide_page_stays_one_article_with_sections() -> None:
    [article] = parse_html(GUIDE_PAGE, "returns.html")
    assert (article.lang, article.title) == ("en", "Returning an item")
    assert article.body == ("Start your return in your account.\n\n## Refunds\n\n"
                            "Refunds reach your card in 5 days.")


def test_a_sitemap_imports_the_saved_pages_it_lists(tmp_path: Path) -> None:
    (tmp_path / "ayuda").mkdir()
    (tmp_path / "ayuda" / "envios.html").write_text(FAQ_PAGE, encoding="utf-8")
    (tmp_path / "stray.html").write_text(GUIDE_PAGE, encoding="utf-8")  # not in the sitemap
    (tmp_path / "sitemap.xml").write_text(
        '<?xml version="1.0"?><urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">'
        "<url><loc>https://sol.example/ayuda/envios</loc></url>"
        "<url><loc>https://sol.example/ayuda/not-saved</loc></url></urlset>", encoding="utf-8")
    articles = load_sources([tmp_path], policies=None)
    assert len(articles) == 3 and all(a.source.endswith("envios.html") for a in articles)


def test_a_page_without_language_needs_a_language_folder(tmp_path: Path) -> None:
    page = tmp_path / "x.html"
    page.write_text("<html><body><h1>Hola</h1><p>Texto.</p></body></html>", encoding="utf-8")
    with pytest.raises(SourceError, match="language"):
        load_sources([page], policies=None)
    (tmp_path / "es").mkdir()
    page.rename(tmp_path / "es" / "x.html")
    assert load_sources([tmp_path], policies=None)[0].lang == "es"


def test_eval_store_reports_recall_and_answers_per_question(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (tmp_path / "site" / "ayuda").mkdir(parents=True)
    (tmp_path / "site" / "ayuda" / "envios.html").write_text(FAQ_PAGE, encoding="utf-8")
    index = tmp_path / "idx"
    assert main(["build", "--input", str(tmp_path / "site"), "--out", str(index),
                 "--encoder", "hash:256", "--quiet", "--policies", "none"]) == 0
    questions = tmp_path / "q.jsonl"
    questions.write_text("\n".join(json.dumps(r, ensure_ascii=False) for r in [
        {"question": "cuánto tarda mi pedido en llegar", "expected": "¿Cuánto tarda mi pedido?"},
        {"question": "precio del envío a Baleares", "expected": "envios-cuanto-cuesta-el-envio"},
        {"question": "¿me lo podéis enviar ya?",
         "expected": ["¿Cuánto tarda mi pedido?", "¿Puedo recoger en tienda?"]},
        {"question": "¿hacéis descuentos a estudiantes?"},
    ]) + "\n", encoding="utf-8")
    report = tmp_path / "r.json"
    assert main(["eval-store", "--index", str(index), "--questions", str(questions),
                 "--report", str(report)]) == 0
    data = json.loads(report.read_text())
    es = data["summary"]["es"]
    assert (es["n"], es["labelled"]) == (4, 3)
    assert es["recall@3"] == 1.0  # three FAQ questions: any label is in the top 3
    assert [len(r["top"]) for r in data["questions"]] == [3, 3, 3, 3]
    assert data["questions"][2]["expected"] == ["envios-cuanto-tarda-mi-pedido",
                                                "envios-puedo-recoger-en-tienda"]
    assert data["unknown_expected"] == []
    assert "labelled=3" in capsys.readouterr().out
