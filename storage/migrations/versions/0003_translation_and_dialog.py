"""Machine translations of reports, and the dialog between officers and reporters.

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-26
"""

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("reports") as batch:
        # Reports from before translation existed are not translated after the fact.
        batch.add_column(sa.Column("translation_status", sa.String(length=16), nullable=False, server_default="not_needed"))
        batch.add_column(sa.Column("source_language", sa.String(length=16), nullable=True))
        batch.add_column(sa.Column("translation", sa.Text(), nullable=True))
        batch.add_column(sa.Column("translation_note", sa.String(length=64), nullable=True))
        batch.add_column(sa.Column("translation_pivot", sa.Boolean(), nullable=False, server_default=sa.false()))
        batch.add_column(sa.Column("translation_agreement", sa.Float(), nullable=True))
    with op.batch_alter_table("reports") as batch:
        batch.alter_column("translation_status", server_default=None)
        batch.alter_column("translation_pivot", server_default=None)
    op.create_table(
        "report_messages",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("report_id", sa.Integer(), sa.ForeignKey("reports.id", ondelete="CASCADE"), nullable=False),
        sa.Column("author", sa.String(length=16), nullable=False),
        sa.Column("officer_id", sa.BigInteger(), nullable=True),
        sa.Column("officer_name", sa.String(length=256), nullable=True),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("language", sa.String(length=16), nullable=False),
        sa.Column("translation_status", sa.String(length=16), nullable=False),
        sa.Column("translation", sa.Text(), nullable=True),
        sa.Column("translation_note", sa.String(length=64), nullable=True),
        sa.Column("translation_pivot", sa.Boolean(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False),
        sa.Column("delivered_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("picked_up_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("staff_message_id", sa.BigInteger(), nullable=True),
    )
    op.create_index("ix_report_messages_report_id", "report_messages", ["report_id"])
    op.add_column("outbox", sa.Column("message_id", sa.Integer(), nullable=True))


def downgrade() -> None:
    op.drop_column("outbox", "message_id")
    op.drop_table("report_messages")
    with op.batch_alter_table("reports") as batch:
        for column in ("translation_agreement", "translation_pivot", "translation_note", "translation",
                       "source_language", "translation_status"):
            batch.drop_column(column)
