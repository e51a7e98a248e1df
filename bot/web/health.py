"""What /readyz and /metrics read at request time: the database, the outbox, the translation worker.

Each look is one short read transaction under a timeout, so a database that hangs (not only one
that refuses) makes the bot "not ready" within seconds instead of stalling the probe.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from sqlalchemy.exc import SQLAlchemyError
from telegram.ext import Application

from bot.context import services_of
from storage.repositories import OutboxHealth

DATABASE_TIMEOUT_SECONDS = 3.0
# The outbox is stuck when its oldest message has waited this long: the staff chat's pace
# (20 a minute) clears even a surge of a hundred reports' cards well within it.
OUTBOX_STUCK_AFTER = timedelta(minutes=15)


@dataclass(frozen=True)
class Readiness:
    database: str  # "ok", or the exception class that made it unreachable
    outbox_waiting: int | None
    outbox_oldest_seconds: float | None
    translation: str  # disabled, idle, running or failed
    backing_off: dict[str, int]  # background loops failing in a row (the database is down, say): how often

    @property
    def outbox_stuck(self) -> bool:
        return self.outbox_oldest_seconds is not None and self.outbox_oldest_seconds > OUTBOX_STUCK_AFTER.total_seconds()

    @property
    def ready(self) -> bool:
        """Translation does not count: reports reach officers untranslated when it fails."""
        return self.database == "ok" and not self.outbox_stuck

    def as_json(self) -> dict[str, object]:
        return {
            "ready": self.ready,
            "database": self.database,
            "outbox": {"waiting": self.outbox_waiting, "oldest_seconds": self.outbox_oldest_seconds, "stuck": self.outbox_stuck},
            "translation": self.translation,
            "backing_off": self.backing_off,
        }


async def outbox_health(application: Application) -> OutboxHealth:
    """The outbox as `outreach-bot status` sees it; raises when the database does not answer in time."""
    services = services_of(application)
    async with asyncio.timeout(DATABASE_TIMEOUT_SECONDS), services.unit_of_work() as uow:
        return await uow.outbox.health()


async def readiness(application: Application) -> Readiness:
    jobs = application.bot_data.translation_jobs
    translation = "disabled" if jobs is None else jobs.worker_state
    loops = [loop for loop in (application.bot_data.delivery, jobs) if loop is not None]
    backing_off = {loop.name: loop.failures for loop in loops if loop.failures}
    try:
        outbox = await outbox_health(application)
    except (SQLAlchemyError, OSError, TimeoutError) as exc:
        return Readiness(type(exc).__name__, None, None, translation, backing_off)
    return Readiness("ok", outbox.waiting, _age(outbox.oldest), translation, backing_off)


async def update_gauges(application: Application) -> None:
    """Set the outbox gauges for a scrape; left as they were when the database does not answer."""
    metrics = services_of(application).metrics
    try:
        outbox = await outbox_health(application)
    except (SQLAlchemyError, OSError, TimeoutError):
        return
    metrics.outbox_waiting.set(outbox.waiting)
    metrics.outbox_oldest.set(_age(outbox.oldest) or 0)
    metrics.outbox_dead.set(outbox.dead)


def _age(oldest: datetime | None) -> float | None:
    if oldest is None:
        return None
    if oldest.tzinfo is None:  # SQLite gives back naive UTC
        oldest = oldest.replace(tzinfo=UTC)
    return round((datetime.now(UTC) - oldest).total_seconds(), 1)
