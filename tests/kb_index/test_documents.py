"""Loading Markdown/CSV/JSONL sources, heading chunking and the corpus hash."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from kb_index.documents import (
    SourceError,
    chunk_article,
    chunk_articles,
    corpus_hash,
    load_path,
    load_sources,
    parse_markdown,
)


def test_markdown_front_matter_is_read(kb_dir: Path) -> None:
    article = parse_markdown((kb_dir / "es" / "return-policy.md").read_text(), "x.md")
    assert article.id == "return-policy"
    assert article.lang == "es"
    assert article.title == "Política de devoluciones"
    assert article.url == "https://tienda.example/ayuda/devoluciones"
    assert article.tags == ("devoluciones", "plazo")
    assert article.market == "all"
    assert not article.body.startswith("---")


def test_folder_gives_language_and_file_name_gives_id(tmp_path: Path) -> None:
    (tmp_path / "en").mkdir()
    (tmp_path / "en" / "gift-cards.md").write_text("# Gift cards\n\nThey never expire.\n")
    [article] = load_path(tmp_path)
    assert (article.id, article.lang, article.title) == ("gift-cards", "en", "Gift cards")


def test_markdown_without_language_is_rejected(tmp_path: Path) -> None:
    (tmp_path / "a.md").write_text("# Sin idioma\n\ntexto\n")
    with pytest.raises(SourceError, match="lang"):
        load_path(tmp_path)


def test_csv_faq_export(faq_csv: Path) -> None:
    first, second = load_path(faq_csv)
    assert (first.id, first.lang, first.title) == ("canarias", "es", "¿Hacéis envíos a Canarias?")
    assert first.body.startswith("Sí, en 5 a 7 días")
    assert first.url == "https://tienda.example/canarias"
    assert second.id == "faq-do-you-sell-gift-cards" and second.lang == "en"


def test_csv_without_answer_column_names_the_problem(tmp_path: Path) -> None:
    path = tmp_path / "bad.csv"
    path.write_text("pregunta,respuesta\na,b\n")
    with pytest.raises(SourceError, match="'question' and 'answer'"):
        load_path(path)


def test_jsonl_faq_export(tmp_path: Path) -> None:
    path = tmp_path / "faq.jsonl"
    rows = [{"question": "¿Puedo pagar con Bizum?", "answer": "Sí.", "lang": "es"},
            {"question": "Gift wrap?", "answer": "Yes, 2 euros.", "lang": "en", "id": "wrap"}]
    path.write_text("\n".join(json.dumps(r, ensure_ascii=False) for r in rows) + "\n\n")
    articles = load_path(path)
    assert [a.lang for a in articles] == ["es", "en"]
    assert articles[1].id == "wrap"


def test_jsonl_bad_line_reports_line_number(tmp_path: Path) -> None:
    path = tmp_path / "faq.jsonl"
    path.write_text('{"question": "a", "answer": "b"}\n{not json\n')
    with pytest.raises(SourceError, match=r"faq.jsonl:2"):
        load_path(path)


def test_duplicate_article_is_an_error(kb_dir: Path) -> None:
    with pytest.raises(SourceError, match="already defined"):
        load_sources([kb_dir, kb_dir / "es" / "shipping-times.md"])


def test_chunks_follow_headings(kb_dir: Path) -> None:
    article = parse_markdown((kb_dir / "es" / "return-policy.md").read_text(), "x.md")
    chunks = chunk_article(article)
    assert [c.heading for c in chunks] == ["Política de devoluciones", "Qué no se puede devolver"]
    assert chunks[1].text == "Ropa interior, bañadores sin precinto y tarjetas regalo."
    assert [c.chunk_id for c in chunks] == ["es/return-policy#0", "es/return-policy#1"]
    assert all(c.url == article.url and c.title == article.title for c in chunks)
    assert "Qué no se puede devolver" in chunks[1].embedding_text()


def test_long_section_is_split_at_paragraphs() -> None:
    body = "# T\n\n" + "\n\n".join(f"Párrafo {i}. " + "palabra " * 60 for i in range(6))
    chunks = chunk_article(parse_markdown(body, "t.md", "es"), max_chars=800)
    assert len(chunks) > 1
    assert all(len(c.text) <= 800 for c in chunks)
    assert chunks[0].text.startswith("Párrafo 0.")


def test_article_without_headings_is_one_chunk(kb_dir: Path) -> None:
    chunks = chunk_articles(load_path(kb_dir / "es" / "payment-methods.md"))
    assert len(chunks) == 1 and chunks[0].heading == ""


def test_corpus_hash_is_stable_and_sensitive(kb_dir: Path) -> None:
    first = corpus_hash(chunk_articles(load_sources([kb_dir])))
    assert first == corpus_hash(reversed(chunk_articles(load_sources([kb_dir]))))
    path = kb_dir / "es" / "shipping-times.md"
    path.write_text(path.read_text().replace("2 a 4", "3 a 5"))
    assert corpus_hash(chunk_articles(load_sources([kb_dir]))) != first
