"""The engines under the bot side's shared state (bot/sql_state.py) on a real SQLite file: many
replicas opening a fresh file at the same moment all succeed (once, two first connections
switching to WAL together failed with "database is locked" and a WhatsApp message was dropped)."""

from __future__ import annotations

import threading
from pathlib import Path

import pytest

from bot.channels.meta_state import MetaStateStore
from bot.sql_state import safe_url, url_from_env


def test_many_replicas_opening_a_fresh_file_at_once_all_succeed(tmp_path: Path) -> None:
    for round_ in range(15):
        stores = [MetaStateStore(tmp_path / f"state{round_}.db") for _ in range(8)]
        barrier = threading.Barrier(len(stores))
        errors: list[BaseException] = []
        won: list[bool] = []

        def work(store: MetaStateStore, barrier: threading.Barrier = barrier,
                 errors: list[BaseException] = errors, won: list[bool] = won) -> None:
            barrier.wait()
            try:
                won.append(store._claim("whatsapp", "wamid.1"))
            except BaseException as exc:  # noqa: BLE001 - collected for the assertion
                errors.append(exc)

        threads = [threading.Thread(target=work, args=(s,)) for s in stores]
        for t in threads:
            t.start()
        for t in threads:
            t.join(60)
        assert errors == []
        assert sorted(won) == [False] * 7 + [True]


def test_the_url_comes_from_the_environment_else_the_data_dir(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ATIENDE_DATA_DIR", str(tmp_path))
    monkeypatch.delenv("ATIENDE_OUTBOX_URL", raising=False)
    assert url_from_env("ATIENDE_OUTBOX_URL", "relay_outbox.db") == \
        f"sqlite:///{tmp_path / 'relay_outbox.db'}"
    monkeypatch.setenv("ATIENDE_OUTBOX_URL", "postgresql://bot:s3cret@db:5432/atiende")
    assert url_from_env("ATIENDE_OUTBOX_URL", "relay_outbox.db").endswith("@db:5432/atiende")
    assert "s3cret" not in safe_url("postgresql://bot:s3cret@db:5432/atiende")
