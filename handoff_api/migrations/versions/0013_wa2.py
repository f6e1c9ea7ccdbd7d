"""WhatsApp / Messenger v2 (issue #17): what an agent message was (a text, an approved template,
a reply typed on the business phone app), the Graph API id it got, and the delivery statuses Meta
reports for it (sent, delivered, read, failed), which the console shows on each message.

Revision ID: 0013_wa2
Revises: 0014_withdrawal (written as "Revises: 0008" on branch wa2; chained after main's head,
0014_withdrawal, when main was merged in, so the migrations keep one head)
"""
import sqlalchemy as sa
from alembic import op

revision = "0013_wa2"
down_revision = "0014_withdrawal"
branch_labels = None
depends_on = None

ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    with op.batch_alter_table("messages") as batch:
        batch.add_column(sa.Column("kind", sa.String(16), nullable=False, server_default="text"))
        batch.add_column(sa.Column("external_id", sa.String(200), nullable=True))
        batch.add_column(sa.Column("details", sa.JSON(), nullable=True))
    op.create_index("ix_messages_external_id", "messages", ["external_id"])
    op.create_table(
        "message_statuses",
        sa.Column("id", ID, primary_key=True, autoincrement=True),
        sa.Column("channel", sa.String(16), nullable=False),
        sa.Column("external_id", sa.String(200), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("error", sa.String(300), nullable=True),
        sa.UniqueConstraint("channel", "external_id", "status", name="uq_message_status"),
    )
    op.create_index("ix_message_statuses_external_id", "message_statuses", ["external_id"])


def downgrade() -> None:
    op.drop_index("ix_message_statuses_external_id", "message_statuses")
    op.drop_table("message_statuses")
    op.drop_index("ix_messages_external_id", "messages")
    with op.batch_alter_table("messages") as batch:
        batch.drop_column("details")
        batch.drop_column("external_id")
        batch.drop_column("kind")
