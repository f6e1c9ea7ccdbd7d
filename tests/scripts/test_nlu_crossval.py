"""The pure parts of the NLU evaluation script (the training runs are measured, not tested)."""

from __future__ import annotations

from scripts.nlu_crossval import stratified_folds, to_markdown


def test_folds_are_stratified_by_language_and_intent_and_cover_everything() -> None:
    examples = [("es", "greet", None)] * 6 + [("en", "greet", None)] * 3 + [("es", "faq", None)] * 9
    folds = stratified_folds(examples, 3, seed=1)
    assert sorted(i for fold in folds for i in fold) == list(range(len(examples)))
    for fold in folds:
        keys = [examples[i][:2] for i in fold]
        assert keys.count(("es", "greet")) == 2
        assert keys.count(("en", "greet")) == 1
        assert keys.count(("es", "faq")) == 3


def test_folds_depend_on_the_seed() -> None:
    examples = [("es", "greet", None)] * 30
    assert stratified_folds(examples, 3, seed=1) != stratified_folds(examples, 3, seed=2)


def test_markdown_lists_every_seed_and_the_mean() -> None:
    lang = {"examples": 2, "accuracy": 1.0, "macro_precision": 1.0, "macro_recall": 1.0,
            "macro_f1": 0.93, "per_intent": {"greet": {"precision": 1.0, "recall": 1.0, "f1": 1.0,
                                                       "support": 2}}}
    report = {"variant": "as-configured", "folds": 3, "seed": 42, "config": "config.yml",
              "languages": {"es": lang, "en": lang}, "fallback_sweep_macro_f1": {},
              "seeds": {"macro_f1_per_seed": {"42": {"es": 0.93, "en": 0.91},
                                              "7": {"es": 0.92, "en": 0.93}},
                        "mean_macro_f1": {"es": 0.925, "en": 0.92}}}
    text = to_markdown(report)
    assert "| 42 | 0.93 | 0.91 |" in text
    assert "| 7 | 0.92 | 0.93 |" in text
    assert "| **mean** | **0.925** | **0.92** |" in text
