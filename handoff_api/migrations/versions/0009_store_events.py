"""Order notices (issue #16, order events → proactive messages): de-duplication of the messages
sent for order events, the opt-out list (hashed contacts), and extra headers on outgoing mail
(List-Unsubscribe).

Revision ID: 0009
Revises: 0004
"""
import sqlalchemy as sa
from alembic import op

revision = "0009"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "order_notices",
        sa.Column("key", sa.String(200), primary_key=True),
        sa.Column("platform", sa.String(16), nullable=False),
        sa.Column("order_ref", sa.String(64), nullable=False),
        sa.Column("kind", sa.String(24), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("channel", sa.String(16), nullable=True),
        sa.Column("delivery_key", sa.String(200), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("detail", sa.String(500), nullable=True),
        sa.Column("external_id", sa.String(200), nullable=True),
        sa.Column("mail_id", sa.Integer(), nullable=True),
        sa.Column("claimed_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_table(
        "notification_opt_outs",
        sa.Column("contact_hash", sa.String(64), primary_key=True),
        sa.Column("source", sa.String(16), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.add_column("mail_outbox", sa.Column("headers", sa.JSON(), nullable=True))


def downgrade() -> None:
    op.drop_column("mail_outbox", "headers")
    op.drop_table("notification_opt_outs")
    op.drop_table("order_notices")
