"""Claims: how long a worker holds an outbox message or a translation job it took.

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-04
"""

import sqlalchemy as sa
from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None

CLAIMED = ("outbox", "reports", "report_messages")


def upgrade() -> None:
    # Added, never a batch rebuild: on SQLite that drops the table, and `reports` takes its
    # attachments, messages and reporter links with it by cascade.
    for table in CLAIMED:
        op.add_column(table, sa.Column("claimed_until", sa.DateTime(timezone=True), nullable=True))


def downgrade() -> None:
    for table in CLAIMED:
        op.execute(f"ALTER TABLE {table} DROP COLUMN claimed_until")
