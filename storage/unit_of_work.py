"""One unit of work per update: leaving the block rolls back unless `commit()` was called."""

from __future__ import annotations

from types import TracebackType

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

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

    def __init__(self, session_factory: async_sessionmaker[AsyncSession]) -> None:
        self._session_factory = session_factory

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
