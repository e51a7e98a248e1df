"""The audit log becomes an append-only hash chain that outlives reports.

The foreign key to reports goes (retention deletes reports; their events stay), officers become
optional (system events: configuration, purges, key rotation), and events gain a detail and the
chain's hashes.

Events already recorded keep no hash: the chain's key derives from SECRET_KEY, which migrations
never see (`db upgrade` reads DATABASE_URL alone). `outreach-bot audit verify` counts them as
recorded before the chain, and the first new event starts the chain from the genesis hash.

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-04
"""

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None

# SQLite's foreign key has no name (0002): the naming convention gives the reflected one a name
# to drop it by. PostgreSQL named it itself.
_SQLITE_NAMES = {"fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s"}
_FOREIGN_KEY = {"sqlite": "fk_audit_events_report_id_reports", "postgresql": "audit_events_report_id_fkey"}


def upgrade() -> None:
    dialect = op.get_bind().dialect.name
    with op.batch_alter_table("audit_events", naming_convention=_SQLITE_NAMES) as batch:
        batch.drop_constraint(_FOREIGN_KEY[dialect], type_="foreignkey")
        batch.alter_column("report_id", existing_type=sa.Integer(), nullable=True)
        batch.alter_column("officer_id", existing_type=sa.BigInteger(), nullable=True)
        batch.alter_column("officer_name", existing_type=sa.String(length=256), nullable=True)
        # The hash covers the time, so the appender sets it; the database must not.
        batch.alter_column("at", existing_type=sa.DateTime(timezone=True), server_default=None)
        batch.add_column(sa.Column("detail", sa.Text(), nullable=True))
        batch.add_column(sa.Column("prev_hash", sa.String(length=64), nullable=True))
        batch.add_column(sa.Column("hash", sa.String(length=64), nullable=True))


def downgrade() -> None:
    # The old schema can hold only officers' events on reports that still exist.
    op.execute(
        "DELETE FROM audit_events WHERE report_id IS NULL OR officer_id IS NULL "
        "OR report_id NOT IN (SELECT id FROM reports)"
    )
    with op.batch_alter_table("audit_events", naming_convention=_SQLITE_NAMES) as batch:
        for column in ("hash", "prev_hash", "detail"):
            batch.drop_column(column)
        batch.alter_column("at", existing_type=sa.DateTime(timezone=True), server_default=sa.func.now())
        batch.alter_column("officer_name", existing_type=sa.String(length=256), nullable=False)
        batch.alter_column("officer_id", existing_type=sa.BigInteger(), nullable=False)
        batch.alter_column("report_id", existing_type=sa.Integer(), nullable=False)
        batch.create_foreign_key(
            _FOREIGN_KEY[op.get_bind().dialect.name], "reports", ["report_id"], ["id"], ondelete="CASCADE"
        )
