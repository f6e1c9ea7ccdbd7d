"""Query normalisation: accents and small typos fixed against the corpus's words, real words
the articles do not use left alone, and the noisy query sets reproducible."""

from __future__ import annotations

from pathlib import Path

import pytest

from kb_index.documents import chunk_articles, load_sources
from kb_index.encoders import HashingEncoder
from kb_index.evaluate import Query, perturb
from kb_index.index import KBIndex
from kb_index.normalise import QueryNormaliser, distance

CORPUS = [
    "¿Cuánto tarda el reembolso? El envío a Canarias tarda 5 días.",
    "Olvidé mi contraseña. La tarjeta regalo caduca. La devolución es gratis.",
    "Return an item within 30 days. Shipping costs to the Balearics.",
    "Stock de zapatillas incorrecta. Pedidos incorrectos.",
]


@pytest.fixture(scope="module")
def normaliser() -> QueryNormaliser:
    return QueryNormaliser(CORPUS)


@pytest.mark.parametrize("typed, meant", [
    ("envio a canarias", "envío a canarias"),           # accents back
    ("olvide mi contrasena", "olvidé mi contraseña"),     # ñ folded as n
    ("Devolucion", "Devolución"),                         # capital kept
    ("cuanto tarda el reembolzo", "cuánto tarda el reembolso"),  # wrong letter, 9 letters
    ("tarjta regalo", "tarjeta regalo"),                  # missing letter, short word
    ("how do I retrun it", "how do I return it"),         # swapped letters
    ("shiping to the balearics", "shipping to the balearics"),
])
def test_typos_and_missing_accents_are_fixed(normaliser, typed, meant):
    assert normaliser.normalise(typed) == meant


@pytest.mark.parametrize("typed", [
    "my parcel is stuck",            # "stuck" is not "stock": short word, wrong letter
    "el pedido 123456 no llega",     # numbers untouched
    "pedido incorrecto",             # another form of "incorrecta"/"incorrectos", not a typo
    "zapatilla",                     # singular of a corpus word
    "xyzzy plugh",                   # unknown words stay as typed
    "¿tenéis stock?",                # punctuation and known words as typed
])
def test_real_words_the_articles_do_not_use_are_left_alone(normaliser, typed):
    assert normaliser.normalise(typed) == typed


def test_the_most_frequent_candidate_wins_and_ties_do_not_depend_on_order():
    # "cantxdad" is one edit from both "cantidad" and "cantudad"
    assert QueryNormaliser(["cantudad cantidad", "cantidad"]).correct("cantxdad") == "cantidad"
    assert QueryNormaliser(["cantudad cantudad", "cantidad"]).correct("cantxdad") == "cantudad"
    a, b = QueryNormaliser(["cantidad cantudad"]), QueryNormaliser(["cantudad cantidad"])
    assert a.correct("cantxdad") == b.correct("cantxdad") == "cantidad"  # tie: alphabetical


def test_distance_counts_a_swap_as_one_edit():
    assert distance("retrun", "return") == 1
    assert distance("reembolzo", "reembolso") == 1
    assert distance("abc", "abc") == 0 and distance("", "abc") == 3


def test_the_index_normalises_in_the_query_language(kb_dir: Path):
    index = KBIndex.build(chunk_articles(load_sources([kb_dir])), HashingEncoder(64),
                          progress=False)
    # the Spanish articles have "devolver" but the English ones do not
    assert index.normalise_query("devlver", "es") == "devolver"
    assert index.normalise_query("devlver", "en") == "devlver"
    # and a search with a typo finds the article its correction names
    [hit] = index.search("plazos de envio peninsla", top_k=1, prefer_lang="es")
    assert hit.article_id == "shipping-times"


def test_perturbed_query_sets_are_reproducible_and_noisy():
    queries = [Query("¿Cuánto tarda la devolución del pedido?", "es", ("refund-times",)),
               Query("Where is my parcel tracking number?", "en", ("order-tracking",))]
    accents = perturb(queries, "accents")
    assert accents[0].query == "¿Cuanto tarda la devolucion del pedido?"
    assert accents[1].query == queries[1].query and accents[0].expected == ("refund-times",)
    typos = perturb(queries, "typos", seed=3)
    assert typos == perturb(queries, "typos", seed=3)
    for clean, noisy in zip(accents, typos, strict=True):
        changed = [(a, b) for a, b in zip(clean.query.split(), noisy.query.split(), strict=True)
                   if a != b]
        assert len(changed) == 1 and distance(*changed[0]) == 1, changed
    with pytest.raises(ValueError):
        perturb(queries, "shouting")
