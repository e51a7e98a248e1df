"""Engine creation and migrations. SQLite is the embedded default; PostgreSQL is the shared one."""

from __future__ import annotations

from pathlib import Path
from typing import Any
from urllib.parse import urlencode

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Connection, event
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker, create_async_engine

MIGRATIONS_DIR = Path(__file__).resolve().parent / "migrations"


# libpq's TLS parameters, as admins write them in PostgreSQL URLs (?sslmode=verify-full&sslrootcert=…).
# asyncpg understands them only inside a DSN, so they travel as one, beside the URL's other parts.
LIBPQ_TLS_PARAMETERS = ("sslmode", "sslrootcert", "sslcert", "sslkey", "sslcrl", "sslpassword")


def create_engine(database_url: str, **options: Any) -> AsyncEngine:
    url = make_url(database_url)
    if url.get_backend_name() != "sqlite":
        tls = {name: url.query[name] for name in LIBPQ_TLS_PARAMETERS if name in url.query}
        connect_args = options.pop("connect_args", {})
        if tls:
            connect_args["dsn"] = "postgresql://?" + urlencode(tls)
        return create_async_engine(
            url.difference_update_query(tls), pool_pre_ping=True, connect_args=connect_args, **options
        )
    if url.database and url.database != ":memory:":
        Path(url.database).parent.mkdir(parents=True, exist_ok=True)
    engine = create_async_engine(url)
    event.listen(engine.sync_engine, "connect", _tune_sqlite)
    return engine


def _tune_sqlite(dbapi_connection, _record) -> None:  # type: ignore[no-untyped-def]
    # WAL lets the delivery loop read while a handler writes; foreign keys are off by default.
    # Secure delete zeroes what is deleted or replaced, so neither a purged report nor the
    # plaintext that encryption at rest replaced lingers in free pages of the file.
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA secure_delete=ON")
    cursor.close()


def session_factory(engine: AsyncEngine) -> async_sessionmaker[AsyncSession]:
    return async_sessionmaker(engine, expire_on_commit=False)


def alembic_config() -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    return config


async def upgrade_to_head(engine: AsyncEngine) -> None:
    """Bring the schema to the newest migration; safe to run at every start."""
    async with engine.begin() as connection:
        await connection.run_sync(_upgrade)
    if engine.dialect.name == "sqlite":
        # Old page images stay in the write-ahead log until it is reused; a migration may just
        # have replaced plaintext (0005), so empty the log now.
        async with engine.connect() as connection:
            await connection.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)")


class SchemaFromNewerRelease(Exception):
    """The database was migrated by a newer release; this one does not know its schema."""

    def __init__(self, revision: str) -> None:
        super().__init__(revision)
        self.revision = revision


def _upgrade(connection: Connection) -> None:
    config = alembic_config()
    current = MigrationContext.configure(connection).get_current_revision()
    known = {script.revision for script in ScriptDirectory.from_config(config).walk_revisions()}
    if current is not None and current not in known:
        raise SchemaFromNewerRelease(current)
    config.attributes["connection"] = connection
    command.upgrade(config, "head")
