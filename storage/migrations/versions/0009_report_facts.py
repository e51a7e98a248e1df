"""Report facts: what /transparency and /stats count about each report, kept past the report.

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-04
"""

import sqlalchemy as sa
from alembic import op

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "report_facts",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("report_number", sa.Integer, nullable=False, unique=True),
        sa.Column("received_on", sa.Date, nullable=False, index=True),
        sa.Column("category", sa.String(32), nullable=False),
        sa.Column("language", sa.String(16), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("acknowledged_after_seconds", sa.Integer, nullable=True),
        sa.Column("feedback", sa.String(8), nullable=True),
    )
    # The reports still held count too. When they were first acknowledged was not recorded: only
    # their last change, which is what an acknowledged (not closed) report's time is.
    reports = sa.table(
        "reports", sa.column("id"), sa.column("received_at", sa.DateTime(timezone=True)), sa.column("category"),
        sa.column("language"), sa.column("status"), sa.column("status_changed_at", sa.DateTime(timezone=True)),
    )  # fmt: skip
    facts = sa.table(
        "report_facts", sa.column("report_number"), sa.column("received_on", sa.Date), sa.column("category"),
        sa.column("language"), sa.column("status"), sa.column("acknowledged_after_seconds"),
    )  # fmt: skip
    connection = op.get_bind()
    for number, received, category, language, status, changed in connection.execute(sa.select(reports)):
        after = None
        if status == "acknowledged" and received is not None and changed is not None:
            after = max(0, int((changed - received).total_seconds()))
        connection.execute(facts.insert().values(
            report_number=number, received_on=received.date(), category=category, language=language,
            status=status, acknowledged_after_seconds=after,
        ))  # fmt: skip


def downgrade() -> None:
    op.drop_table("report_facts")
