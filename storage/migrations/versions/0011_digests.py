"""Surge digests: the digest message that listed a report instead of its card.

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-05
"""

import sqlalchemy as sa
from alembic import op

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # Added, never a batch rebuild: on SQLite that drops `reports`, and its attachments,
    # messages and reporter links go with it by cascade.
    op.add_column("reports", sa.Column("digest_message_id", sa.BigInteger, nullable=True))


def downgrade() -> None:
    op.execute("ALTER TABLE reports DROP COLUMN digest_message_id")
