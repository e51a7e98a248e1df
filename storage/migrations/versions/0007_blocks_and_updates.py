"""Blocked senders, the sender of each report (encrypted), and processed update ids.

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-04
"""

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "blocked_senders",
        sa.Column("pseudonym", sa.String(length=64), primary_key=True),
        sa.Column("blocked_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("officer_id", sa.BigInteger(), nullable=False),
        sa.Column("officer_name", sa.String(length=256), nullable=False),
    )
    op.create_table(
        "processed_updates",
        sa.Column("update_id", sa.BigInteger(), primary_key=True, autoincrement=False),
        sa.Column("processed_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_index("ix_processed_updates_processed_at", "processed_updates", ["processed_at"])
    # Reports filed before this have no sender: their senders cannot be blocked.
    op.add_column("reports", sa.Column("sender", sa.Text(), nullable=True))


def downgrade() -> None:
    # Not a batch rebuild: on SQLite that drops `reports`, and with it, by cascade, every
    # attachment, message and reporter link.
    op.execute("ALTER TABLE reports DROP COLUMN sender")
    op.drop_index("ix_processed_updates_processed_at", table_name="processed_updates")
    op.drop_table("processed_updates")
    op.drop_table("blocked_senders")
