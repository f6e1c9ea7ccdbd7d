"""Partial index in claim order, so picking the next queued handoff is an index read, not a sort.

Revision ID: 0002
Revises: 0001
"""
import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None

WHERE = sa.text("status = 'queued'")


def upgrade() -> None:
    op.create_index(
        "ix_handoffs_claim_order", "handoffs",
        [sa.text("priority DESC"), "created_at", "id"],
        sqlite_where=WHERE, postgresql_where=WHERE,
    )


def downgrade() -> None:
    op.drop_index("ix_handoffs_claim_order", table_name="handoffs")
