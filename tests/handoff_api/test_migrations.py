"""The migration history is one line: branches merged in parallel each add a revision, and two
revisions on the same parent make `alembic upgrade head` refuse to start the handoff API."""

from __future__ import annotations

from alembic.script import ScriptDirectory

from handoff_api.db import MIGRATIONS_DIR


def test_the_migrations_have_one_head_and_no_branch_point() -> None:
    script = ScriptDirectory(str(MIGRATIONS_DIR))
    heads = script.get_heads()
    assert len(heads) == 1, (f"migrations have {len(heads)} heads {sorted(heads)}: set the newer "
                             "revision's down_revision to the other head")
    revisions = list(script.walk_revisions())
    assert all(not rev.is_branch_point for rev in revisions)
    assert revisions[-1].down_revision is None  # one base
