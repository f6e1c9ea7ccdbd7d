"""Event log: one table of everything that happened in a conversation, bot side and human side
(issue #14, branch dash; schema in docs/metrics.md).

Revision ID: 0008
Revises: 0005 (written as "Revises: 0004" on branch dash; chained after main's last head, 0005,
when main was merged in, so the migrations keep one head)
"""
import sqlalchemy as sa
from alembic import op

revision = "0008"
down_revision = "0005"
branch_labels = None
depends_on = None

ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "event_log",
        sa.Column("id", ID, primary_key=True, autoincrement=True),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("source", sa.String(8), nullable=False),
        sa.Column("type", sa.String(32), nullable=False),
        sa.Column("conversation", sa.String(64), nullable=False),
        sa.Column("customer", sa.String(64), nullable=True),
        sa.Column("channel", sa.String(32), nullable=True),
        sa.Column("language", sa.String(8), nullable=True),
        sa.Column("market", sa.String(8), nullable=True),
        sa.Column("handoff_id", sa.Integer(), nullable=True),
        sa.Column("agent_id", sa.Integer(), nullable=True),
        sa.Column("reason", sa.String(32), nullable=True),
        sa.Column("intent", sa.String(100), nullable=True),
        sa.Column("action", sa.String(100), nullable=True),
        sa.Column("value", sa.Float(), nullable=True),
        sa.Column("text", sa.Text(), nullable=True),
    )
    op.create_index("ix_event_log_at", "event_log", ["at"])
    op.create_index("ix_event_log_conversation", "event_log", ["conversation", "at"])


def downgrade() -> None:
    op.drop_table("event_log")
