"""Right of withdrawal (issue #13): the withdrawals shoppers confirm in the chat, each with the
offline case opened for the agents and its acknowledgement mail.

Revision ID: 0014_withdrawal
Revises: 0008
"""
import sqlalchemy as sa
from alembic import op

revision = "0014_withdrawal"
down_revision = "0008"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "withdrawals",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), primary_key=True,
                  autoincrement=True),
        sa.Column("code", sa.String(64), nullable=False, unique=True),
        sa.Column("order_ref", sa.String(64), nullable=False),
        sa.Column("market", sa.String(8), nullable=False),
        sa.Column("language", sa.String(8), nullable=False),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("email", sa.String(320), nullable=False),
        sa.Column("declared_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("within_period", sa.Boolean(), nullable=False),
        sa.Column("deadline", sa.String(10), nullable=True),
        sa.Column("store_recorded", sa.Boolean(), nullable=False),
        sa.Column("conversation_id", sa.String(200), nullable=False),
        sa.Column("channel", sa.String(32), nullable=False),
        sa.Column("handoff_id", sa.Integer(), nullable=True),
        sa.Column("mail_id", sa.Integer(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_index("ix_withdrawals_order_ref", "withdrawals", ["order_ref"])


def downgrade() -> None:
    op.drop_index("ix_withdrawals_order_ref", table_name="withdrawals")
    op.drop_table("withdrawals")
