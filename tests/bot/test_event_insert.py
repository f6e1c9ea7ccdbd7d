"""A save writes, with one Core INSERT, exactly the rows Rasa's ORM save writes
(bot/event_insert.py), on SQLite and PostgreSQL."""

from __future__ import annotations

import asyncio
import itertools

import pytest
import sqlalchemy as sa

from tests.bot.databases import KINDS, database_url
from tests.bot.test_stored_count import script, stored_rows
from tests.bot.test_tracker_peek import make_store


@pytest.mark.parametrize("kind", KINDS)
def test_the_same_rows_in_the_same_order_as_rasas_orm_save(kind, tmp_path, monkeypatch) -> None:
    found = {}
    for off in ("core_insert", ""):
        with database_url(kind, tmp_path, f"insert-{off or 'on'}.db") as url:
            store = make_store(url, tmp_path, off or "on", monkeypatch, off=off)
            assert store.core_inserts is (off == "")
            objects = itertools.count()

            def made(*_args, objects=objects) -> None:
                next(objects)

            sa.event.listen(store.SQLEvent, "init", made)
            try:
                asyncio.run(script(store))
            finally:
                sa.event.remove(store.SQLEvent, "init", made)
            with store.engine.connect() as conn:
                ids = [row[0] for row in conn.execute(sa.text("SELECT id FROM events"))]
            found[off] = (stored_rows(store), store.event_broker.published, next(objects),
                          ids == sorted(ids))
            store.engine.dispose()
    rows, published, orm_objects, ordered = found[""]
    stock_rows, stock_published, stock_objects, stock_ordered = found["core_insert"]
    assert len(rows) > 40 and rows == stock_rows and published == stock_published
    assert ordered and stock_ordered
    assert stock_objects >= len(rows) and orm_objects == 0  # no ORM object per event any more
