"""Which NLU files the evaluation scripts score and which they only train on.

Runs in the bot environment (scripts/test.sh): it loads the files with Rasa's own reader."""

from __future__ import annotations

from pathlib import Path


def test_root_files_are_training_only_and_language_folders_are_scored(tmp_path: Path) -> None:
    from scripts.nlu_crossval import load_examples, training_only_data

    def block(intent: str, *texts: str) -> str:
        lines = "".join(f"    - {t}\n" for t in texts)
        return f'version: "3.1"\nnlu:\n- intent: {intent}\n  examples: |\n{lines}'

    (tmp_path / "es").mkdir()
    (tmp_path / "en").mkdir()
    (tmp_path / "es" / "orders.yml").write_text(block("order_status", "¿dónde está mi pedido?"))
    (tmp_path / "common.yml").write_text(block("inform", "AT100234"))
    (tmp_path / "out_of_scope_licensed.yml").write_text(
        block("nlu_fallback", "turn on the lights", "enciende la luz"))
    scored = [(lang, intent) for lang, intent, _ in load_examples(tmp_path)]
    assert scored == [("es", "order_status")]
    only = sorted(m.get("text") for m in training_only_data(tmp_path).intent_examples)
    assert only == ["AT100234", "enciende la luz", "turn on the lights"]
