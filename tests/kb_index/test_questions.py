"""Questions indexed on their own (front matter ``questions:``, a FAQ's own question): a shopper's
question that matches an article's question ranks it first and raises the confidence."""

from __future__ import annotations

from pathlib import Path

from kb_index.documents import chunk_articles, load_sources
from kb_index.encoders import HashingEncoder
from kb_index.index import KBIndex

ARTICLES = {
    "es/payments.md": """---
id: payments
lang: es
title: Formas de pago
questions:
  - "¿Cómo puedo pagar mi compra?"
  - "¿Aceptáis PayPal?"
---
Aceptamos tarjeta, PayPal y Bizum en todos los pedidos.
""",
    "es/cancel.md": """---
id: cancel
lang: es
title: Cancelar un pedido
---
Puedes cancelar mientras no haya salido del almacén.
""",
}


def _write(tmp_path: Path) -> Path:
    for name, text in ARTICLES.items():
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_text(text, encoding="utf-8")
    return tmp_path


def _no_questions(tmp_path: Path):  # the payments article as it would be without questions
    from dataclasses import replace

    article = next(a for a in load_sources([tmp_path], policies=None) if a.id == "payments")
    return replace(article, questions=())


def _build(tmp_path: Path) -> KBIndex:
    return KBIndex.build(chunk_articles(load_sources([_write(tmp_path)], policies=None)),
                         HashingEncoder(256), progress=False)


def test_front_matter_questions_reach_the_chunks_and_the_index(tmp_path: Path) -> None:
    index = _build(tmp_path)
    payments = [c for c in index.chunks if c.article_id == "payments"][0]
    assert payments.questions == ("¿Cómo puedo pagar mi compra?", "¿Aceptáis PayPal?")
    assert index.question_vectors.shape == (2, 256)
    index.save(tmp_path / "idx")
    loaded = KBIndex.load(tmp_path / "idx", HashingEncoder(256))
    assert loaded.question_vectors.shape == (2, 256)


def test_a_matching_question_ranks_its_article_first(tmp_path: Path) -> None:
    query = "¿cómo puedo pagar mi pedido?"
    without = KBIndex.build(chunk_articles(
        [a for a in load_sources([_write(tmp_path)], policies=None)
         if not a.questions] + [_no_questions(tmp_path)]), HashingEncoder(256), progress=False)
    assert without.search(query, top_k=2, lang="es")[0].article_id == "cancel"  # "pedido"
    index = _build(tmp_path)
    hit = index.search(query, top_k=2, lang="es")[0]
    assert hit.article_id == "payments"
    exact = index.search("¿Aceptáis PayPal?", top_k=1, lang="es")[0]
    # confidence uses the best question when it beats the card: an exact match is near 1
    assert exact.confidence > 0.6


def test_faq_rows_are_their_own_question(tmp_path: Path) -> None:
    (tmp_path / "faq.csv").write_text("question,answer,lang\n¿Hacéis envíos a Andorra?,"
                                      "Todavía no.,es\n", encoding="utf-8")
    [article] = load_sources([tmp_path / "faq.csv"], policies=None)
    assert article.questions == ("¿Hacéis envíos a Andorra?",)
