"""The pure parts of the held-out NLU evaluation."""

from __future__ import annotations

from scripts.nlu_heldout import heldout_markdown, normalise


def test_same_message_ignores_case_accents_and_punctuation() -> None:
    assert normalise("¡Holaaa, ¿Cómo estás?") == normalise("holaaa como estas")
    assert normalise("¿Dónde está mi pedido?") != normalise("donde esta mi paquete")


def test_markdown_has_the_overall_and_unseen_only_tables() -> None:
    lang = {"examples": 3, "accuracy": 1.0, "macro_precision": 1.0, "macro_recall": 1.0,
            "macro_f1": 0.97, "per_intent": {"greet": {"precision": 1.0, "recall": 1.0,
                                                       "f1": 1.0, "support": 3}}}
    report = {"training_examples": 10, "config": "config.yml", "heldout": "tests/data/x",
              "languages": {"es": lang},
              "unseen_only": {"es": {**lang, "examples": 2, "macro_f1": 0.95}}}
    text = heldout_markdown(report)
    assert "| es | 3 | 1.0 | 1.0 | 1.0 | **0.97** |" in text
    assert "| es | 2 | 1.0 | **0.95** |" in text
    assert "| greet | 1.0 | 1.0 | 1.0 | 3 |" in text


def test_item_problem_refines_only_the_labels_it_replaced() -> None:
    from scripts.nlu_heldout import refined

    assert refined("inform", "item_problem") == "inform"
    assert refined("return_request", "item_problem") == "return_request"
    assert refined("complaint", "item_problem") == "item_problem"
    assert refined("inform", "faq") == "faq"
