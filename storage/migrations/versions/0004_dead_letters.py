"""Dead letters in the outbox, and the note that the staff group moved to a supergroup.

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-03
"""

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("outbox") as batch:
        batch.add_column(sa.Column("dead_at", sa.DateTime(timezone=True), nullable=True))
        batch.add_column(sa.Column("dead_reason", sa.String(length=64), nullable=True))
        batch.add_column(sa.Column("staff_chat_moved_to", sa.BigInteger(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("outbox") as batch:
        for column in ("staff_chat_moved_to", "dead_reason", "dead_at"):
            batch.drop_column(column)
