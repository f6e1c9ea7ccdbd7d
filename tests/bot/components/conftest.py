"""Shared fixtures of the NLU component tests."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from rasa.shared.nlu.training_data.message import Message

from bot.components.use_featurizer import USEFeaturizer

Rows = list[tuple[str, "str | None"]]


@pytest.fixture(scope="module")
def featurize() -> Callable[[Rows], list[Message]]:
    """Messages of (text, intent or None) rows with their real USE sentence features."""
    featurizer = USEFeaturizer({**USEFeaturizer.get_default_config()}, "use")

    def messages(rows: Rows) -> list[Message]:
        made = [Message(data={"text": t, **({"intent": i} if i else {})}) for t, i in rows]
        featurizer.process(made)
        return made

    return messages
