"""Active/standby: of the `outreach-bot run` processes sharing a database, one acts at a time.

On PostgreSQL the leader holds a session-level advisory lock on a connection of its own, outside
the pool that units of work use. A standby tries to take the lock every second. When the leader
dies, its connection closes, PostgreSQL releases the lock, and a standby takes over within about
a second plus its own start-up. A leader whose lock connection breaks cannot know whether another
bot has taken over: it logs `leadership_lost` and exits at once with code 1, and its supervisor
(systemd) starts it again, as a standby if another has taken the lock.

The lock is held and watched on a thread of its own, so a busy event loop never delays noticing
its loss. SQLite has no advisory locks and one writer: a second bot on the same database file
refuses to start, because of an exclusive lock on `<file>.lock`.
"""

from __future__ import annotations

import asyncio
import contextlib
import fcntl
import logging
import os
import threading
from pathlib import Path

from sqlalchemy import func, select, text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine
from sqlalchemy.pool import NullPool

from storage.database import create_engine

log = logging.getLogger(__name__)

LEADER_LOCK = 0x6C656164  # "lead"; advisory locks are per database
APPLICATION_NAME = "outreach-bot leadership"  # how the lock's connection shows in pg_stat_activity
TRY_EVERY_SECONDS = 1.0
CHECK_EVERY_SECONDS = 1.0
CHECK_TIMEOUT_SECONDS = 5.0
EXIT_LOST = 1


class AlreadyRunning(Exception):
    """Another bot uses this SQLite database file."""


def lead(database_url: str) -> None:
    """Return once this process is the only bot acting on the database; a standby waits here.
    The lock is held until the process exits."""
    url = make_url(database_url)
    if url.get_backend_name() != "sqlite":
        _AdvisoryLock(database_url).wait()
    elif url.database and url.database != ":memory:":
        _lock_file(url.database)


def _lock_file(database: str) -> None:
    # The descriptor stays open, on purpose, until the process exits: closing it releases the lock.
    descriptor = os.open(Path(database + ".lock"), os.O_RDWR | os.O_CREAT, 0o600)
    try:
        fcntl.flock(descriptor, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        os.close(descriptor)
        raise AlreadyRunning(
            f"DATABASE_URL: another outreach-bot run uses {database}; SQLite allows one bot per "
            "database file (a standby needs PostgreSQL)"
        ) from None


class _AdvisoryLock:
    def __init__(self, database_url: str) -> None:
        self._database_url = database_url
        self._taken = threading.Event()
        self._thread = threading.Thread(target=self._run, name="leadership", daemon=True)

    def wait(self) -> None:
        self._thread.start()
        self._taken.wait()

    def _run(self) -> None:
        try:
            asyncio.run(self._hold())
        except BaseException as exc:  # a leader that cannot watch its lock must not go on
            log.critical("leadership_failed error=%s", type(exc).__name__)
            logging.shutdown()
            os._exit(EXIT_LOST)

    async def _hold(self) -> None:
        # No pool: the connection lives as long as the lock, and ends with it.
        engine = create_engine(
            self._database_url, poolclass=NullPool, connect_args={"server_settings": {"application_name": APPLICATION_NAME}}
        )
        connection = await self._take(engine)
        self._taken.set()
        while True:
            await asyncio.sleep(CHECK_EVERY_SECONDS)
            try:
                await asyncio.wait_for(connection.execute(text("SELECT 1")), CHECK_TIMEOUT_SECONDS)
            except (SQLAlchemyError, OSError, TimeoutError) as exc:
                log.critical(
                    "leadership_lost error=%s: the connection holding the leader lock broke; exiting "
                    "so that another bot can take over", type(exc).__name__,
                )  # fmt: skip
                logging.shutdown()
                os._exit(EXIT_LOST)  # at once: finishing the work in hand could duplicate a new leader's

    async def _take(self, engine: AsyncEngine) -> AsyncConnection:
        said_standby = False
        while True:
            connection = None
            try:
                # Autocommit: the lock belongs to the session, and no transaction stays open.
                connection = await (await engine.connect()).execution_options(isolation_level="AUTOCOMMIT")
                while not await connection.scalar(select(func.pg_try_advisory_lock(LEADER_LOCK))):
                    if not said_standby:
                        log.info("standby: waiting for the leader")
                        said_standby = True
                    await asyncio.sleep(TRY_EVERY_SECONDS)
                log.info("leader: this bot acts on the database now")
                return connection
            except (SQLAlchemyError, OSError) as exc:
                log.warning("leadership_unavailable error=%s; trying again", type(exc).__name__)
                if connection is not None:
                    with contextlib.suppress(SQLAlchemyError, OSError):
                        await connection.close()
                await asyncio.sleep(TRY_EVERY_SECONDS)
