"""Seam reliability (issue #11): idempotent creation keys, offline cases, claimed sends, agent
presence, hand-back payloads, cancelled creation keys and dead letters.

Revision ID: 0003
Revises: 0002
"""
import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None

ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    # plain ADD COLUMN (no table rebuild on SQLite, which would drop the partial indexes)
    op.add_column("handoffs", sa.Column("idempotency_key", sa.String(100), nullable=True))
    op.add_column("handoffs", sa.Column("answer_due_at", sa.DateTime(timezone=True),
                                        nullable=True))
    op.create_index("uq_handoffs_idempotency_key", "handoffs", ["idempotency_key"], unique=True)
    op.add_column("messages", sa.Column("send_claimed_at", sa.DateTime(timezone=True),
                                        nullable=True))
    op.add_column("agents", sa.Column("last_seen_at", sa.DateTime(timezone=True), nullable=True))
    op.add_column("handback_outbox", sa.Column("payload", sa.JSON(), nullable=True))
    op.create_table(
        "cancelled_handoff_keys",
        sa.Column("key", sa.String(100), primary_key=True),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_table(
        "dead_letters",
        sa.Column("id", ID, primary_key=True, autoincrement=True),
        sa.Column("conversation_id", sa.String(200), nullable=False),
        sa.Column("message_id", sa.String(200), nullable=False),
        sa.Column("channel", sa.String(32), nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("reason", sa.String(500), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("dismissed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("dismissed_by", sa.Integer(), nullable=True),
        sa.UniqueConstraint("conversation_id", "message_id", name="uq_dead_cid_mid"),
    )
    op.create_index("ix_dead_letters_conversation_id", "dead_letters", ["conversation_id"])


def downgrade() -> None:
    op.drop_index("ix_dead_letters_conversation_id", table_name="dead_letters")
    op.drop_table("dead_letters")
    op.drop_table("cancelled_handoff_keys")
    op.drop_column("handback_outbox", "payload")
    op.drop_column("agents", "last_seen_at")
    op.drop_column("messages", "send_claimed_at")
    op.drop_index("uq_handoffs_idempotency_key", table_name="handoffs")
    op.drop_column("handoffs", "answer_due_at")
    op.drop_column("handoffs", "idempotency_key")
