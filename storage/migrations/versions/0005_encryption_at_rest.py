"""Encryption at rest: key generations, and the content already stored, encrypted.

Existing values are sealed under generation 1 with the cipher bound to the migrating engine
(storage.encryption.bind_cipher), so a database that holds reports needs SECRET_KEY to migrate;
an empty one does not.

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-04
"""

from collections.abc import Callable

import sqlalchemy as sa
from alembic import op

from storage.encryption import (
    FIRST_GENERATION,
    EncryptedBytes,
    EncryptedFloat,
    EncryptedText,
    EncryptedType,
    Purpose,
    encryption_of,
)

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


# The encrypted columns as of this revision, with the types that read and write them.
ENCRYPTED: dict[str, dict[str, EncryptedType]] = {
    "reports": {
        "body": EncryptedText(),
        "place": EncryptedText(),
        "occurred": EncryptedText(),
        "translation": EncryptedText(),
        "latitude": EncryptedFloat(),
        "longitude": EncryptedFloat(),
    },
    "attachments": {"file_id": EncryptedText(), "file_name": EncryptedText(), "cleaned_content": EncryptedBytes()},
    "report_messages": {"body": EncryptedText(), "translation": EncryptedText()},
    "reporter_links": {"sealed_chat": EncryptedBytes(Purpose.REPORTER_LINK)},
}
KEYS = {"reports": "id", "attachments": "id", "report_messages": "id", "reporter_links": "report_id"}
# Columns whose type changes: floats and length-limited strings cannot hold sealed values.
RETYPED = {
    "reports": {"latitude": sa.Float(), "longitude": sa.Float()},
    "attachments": {"file_id": sa.String(length=256), "file_name": sa.String(length=256)},
}


def upgrade() -> None:
    key_generations = op.create_table(
        "key_generations",
        sa.Column("generation", sa.Integer(), primary_key=True, autoincrement=False),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False),
        sa.Column("retired_at", sa.DateTime(timezone=True), nullable=True),
    )
    op.bulk_insert(key_generations, [{"generation": FIRST_GENERATION}])
    # Read before the types change, so no engine's float-to-text rounding touches a coordinate.
    sealed = {table: _read(table, columns, _seal) for table, columns in ENCRYPTED.items()}
    for table, columns in RETYPED.items():
        for column in columns:
            _retype(table, column, sa.Text())
    for table, rows in sealed.items():
        _write(table, rows)


def downgrade() -> None:
    opened = {table: _read(table, columns, _open) for table, columns in ENCRYPTED.items()}
    for table, columns in RETYPED.items():
        for column, old_type in columns.items():
            _retype(table, column, old_type)
    for table, rows in opened.items():
        _write(table, rows)
    op.drop_table("key_generations")


def _retype(table: str, column: str, type_: sa.types.TypeEngine) -> None:
    """A column of a new type in place of the old one, emptied (callers read it first), without
    rebuilding the table: on SQLite a rebuild drops the table, and dropping `reports` would
    cascade to every attachment, message and reporter link."""
    op.add_column(table, sa.Column(f"{column}_retyped", type_, nullable=True))
    op.execute(f"ALTER TABLE {table} DROP COLUMN {column}")
    op.execute(f"ALTER TABLE {table} RENAME COLUMN {column}_retyped TO {column}")


def _seal(kind: EncryptedType, value: object) -> object:
    encryption = encryption_of(op.get_bind().dialect)
    return kind.stored(encryption.seal(kind.purpose, kind.plaintext(value), generation=FIRST_GENERATION))


def _open(kind: EncryptedType, stored: object) -> object:
    return kind.from_plaintext(encryption_of(op.get_bind().dialect).open(kind.purpose, kind.sealed(stored)))


def _read(
    table: str, columns: dict[str, EncryptedType], convert: Callable[[EncryptedType, object], object]
) -> dict[object, dict[str, object]]:
    """Row key → its non-null values of `columns`, each converted by `convert(type, value)`."""
    key = KEYS[table]
    query = sa.select(sa.column(key), *map(sa.column, columns)).select_from(sa.table(table))
    rows = op.get_bind().execute(query.where(sa.or_(*(sa.column(column).is_not(None) for column in columns))))
    return {
        row._mapping[key]: {
            column: convert(kind, row._mapping[column])
            for column, kind in columns.items()
            if row._mapping[column] is not None
        }
        for row in rows
    }


def _write(table: str, rows: dict[object, dict[str, object]]) -> None:
    key = KEYS[table]
    for row_key, values in rows.items():
        target = sa.table(table, sa.column(key), *map(sa.column, values))
        op.get_bind().execute(target.update().where(target.c[key] == row_key).values(values))
