"""The engines under the bot side's shared state (bot/sql_state.py) on a real SQLite file: many
replicas opening a fresh file at the same moment all succeed (once, two first connections
switching to WAL together failed with "database is locked" and a WhatsApp message was dropped)."""

from __future__ import annotations

import threading
from pathlib import Path

import pytest
import sqlalchemy as sa

from bot.channels.meta_state import MetaStateStore
from bot.sql_state import LazyEngine, safe_url, url_from_env


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


def test_a_lazy_engine_is_set_up_once_by_racing_threads_and_again_after_dispose(
        tmp_path: Path) -> None:
    """The ledger, the outbox and the channel state share this: nothing opened until first use;
    eight threads racing to it get one engine, set up once, and never one whose setup is still
    running; ``dispose`` closes it and the next use builds (and sets up) a new one."""
    setups: list[sa.engine.Engine] = []

    def setup(engine: sa.engine.Engine) -> None:
        with engine.begin() as conn:
            conn.exec_driver_sql("CREATE TABLE IF NOT EXISTS t (x INTEGER)")
        setups.append(engine)

    lazy = LazyEngine(f"sqlite:///{tmp_path / 'lazy.db'}", setup)
    assert not (tmp_path / "lazy.db").exists()  # nothing at construction time
    barrier = threading.Barrier(8)
    got: list[sa.engine.Engine] = []

    def use() -> None:
        barrier.wait()
        engine = lazy.get()
        with engine.begin() as conn:  # the table exists for every thread
            conn.exec_driver_sql("INSERT INTO t VALUES (1)")
        got.append(engine)

    threads = [threading.Thread(target=use) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    assert len(got) == 8 and len(set(map(id, got))) == 1 and setups == [got[0]]
    lazy.dispose()
    again = lazy.get()
    assert again is not got[0] and setups == [got[0], again]
    with again.begin() as conn:
        assert conn.exec_driver_sql("SELECT count(*) FROM t").scalar() == 8
    lazy.dispose()


def test_the_url_comes_from_the_environment_else_the_data_dir(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ATIENDE_DATA_DIR", str(tmp_path))
    monkeypatch.delenv("ATIENDE_OUTBOX_URL", raising=False)
    assert url_from_env("ATIENDE_OUTBOX_URL", "relay_outbox.db") == \
        f"sqlite:///{tmp_path / 'relay_outbox.db'}"
    monkeypatch.setenv("ATIENDE_OUTBOX_URL", "postgresql://bot:s3cret@db:5432/atiende")
    assert url_from_env("ATIENDE_OUTBOX_URL", "relay_outbox.db").endswith("@db:5432/atiende")
    assert "s3cret" not in safe_url("postgresql://bot:s3cret@db:5432/atiende")
