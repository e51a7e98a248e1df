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
        self._added: set[type] = set()

    async def __aenter__(self) -> UnitOfWork:
        # A session takes no connection until its first query, so an update that never
        # touches the database costs nothing here.
        self._session = self._session_factory()
        if self._on_commit:
            event.listen(self._session.sync_session, "before_flush", self._note_added)
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
        added, self._added = self._added, set()
        for model, callback in self._on_commit.items():
            if model in added:
                callback()

    def _note_added(self, session: Session, _transaction: UOWTransaction, _instances: object) -> None:
        self._added.update(type(instance) for instance in session.new)
