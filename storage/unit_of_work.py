"""One unit of work per update: leaving the block rolls back unless `commit()` was called.

`on_commit` maps a model to what should happen after a commit that added rows of it (waking the
delivery loop for new outbox rows, say), so no caller has to remember to do it.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from types import TracebackType

from sqlalchemy import event
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from sqlalchemy.orm import Session, UOWTransaction

from storage.repositories import (
    AuditRepository,
    MessageRepository,
    OutboxRepository,
    PreferenceRepository,
    ReporterLinkRepository,
    ReportRepository,
    TranslationRepository,
)

_ADDED = "outreach_added_models"


@event.listens_for(Session, "before_flush")
def _note_added(session: Session, _transaction: UOWTransaction, _instances: object) -> None:
    """Which models gained rows in this session since its last commit (one listener for all
    sessions: registering one per unit of work cost more than the update it served)."""
    session.info.setdefault(_ADDED, set()).update(type(instance) for instance in session.new)


class UnitOfWork:
    preferences: PreferenceRepository
    reports: ReportRepository
    reporter_links: ReporterLinkRepository
    outbox: OutboxRepository
    audit: AuditRepository
    messages: MessageRepository
    translations: TranslationRepository

    def __init__(
        self,
        session_factory: async_sessionmaker[AsyncSession],
        on_commit: Mapping[type, Callable[[], None]] | None = None,
    ) -> None:
        self._session_factory = session_factory
        self._on_commit = on_commit or {}

    async def __aenter__(self) -> UnitOfWork:
        # A session takes no connection until its first query, so an update that never
        # touches the database costs nothing here.
        self._session = self._session_factory()
        self.preferences = PreferenceRepository(self._session)
        self.reports = ReportRepository(self._session)
        self.reporter_links = ReporterLinkRepository(self._session)
        self.outbox = OutboxRepository(self._session)
        self.audit = AuditRepository(self._session)
        self.messages = MessageRepository(self._session)
        self.translations = TranslationRepository(self._session)
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        await self._session.rollback()
        await self._session.close()

    async def commit(self) -> None:
        await self._session.commit()
        added = self._session.sync_session.info.pop(_ADDED, set())
        for model, callback in self._on_commit.items():
            if model in added:
                callback()
