"""Private-security partners: single-use invites, partners by pseudonym, and the organisation of
a report filed as a partner.

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-05
"""

import sqlalchemy as sa
from alembic import op

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None

ORGANISATION_LENGTH = 200


def upgrade() -> None:
    op.create_table(
        "partner_invites",
        sa.Column("code_hash", sa.String(64), primary_key=True),
        sa.Column("organisation", sa.String(ORGANISATION_LENGTH), nullable=False, index=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("used_at", sa.DateTime(timezone=True), nullable=True),
    )
    op.create_table(
        "partners",
        sa.Column("pseudonym", sa.String(64), primary_key=True),
        sa.Column("organisation", sa.String(ORGANISATION_LENGTH), nullable=False, index=True),
    )
    # Added, never a batch rebuild: on SQLite that drops the table, and `reports` takes its
    # attachments, messages and reporter links with it by cascade.
    op.add_column("reports", sa.Column("partner_organisation", sa.String(ORGANISATION_LENGTH), nullable=True))


def downgrade() -> None:
    op.execute("ALTER TABLE reports DROP COLUMN partner_organisation")
    op.drop_table("partners")
    op.drop_table("partner_invites")
