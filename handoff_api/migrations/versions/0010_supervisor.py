"""Supervisor controls (issue #14, branch sup): the status an agent sets (online / away) and when,
next to the console heartbeat (``last_seen_at``) that presence is derived from
(``handoff_api.supervisor``).

Revision ID: 0010_supervisor
Revises: 0013_wa2 (written as "Revises: 0008" on branch sup; chained after main's head
when main was merged in, so the migrations keep one head)
"""
import sqlalchemy as sa
from alembic import op

revision = "0010_supervisor"
down_revision = "0013_wa2"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("agents", sa.Column("status", sa.String(16), nullable=True))
    op.add_column("agents", sa.Column("status_at", sa.DateTime(timezone=True), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("agents") as batch:
        batch.drop_column("status_at")
        batch.drop_column("status")
