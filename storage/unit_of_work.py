"""One unit of work per update: leaving the block rolls back unless `commit()` was called.

`on_commit` maps a model to what should happen after a commit that added rows of it (waking the
delivery loop for new outbox rows, say), so no caller has to remember to do it.

**Each update at most once.** The unit of work of a Telegram update writes the update's id with
the update's first commit that writes anything, in the same transaction (`mark_update`). So its
effects and the mark are kept together or not at all: a crash before the commit lets the
redelivered update run again, and nothing is lost; after it, the id is recognised. An update that
commits nothing leaves no mark (no write for every read-only update), so after a restart a
redelivered one is answered again, which changes nothing. Later commits of the same update carry
no mark: a crash between two commits of one update loses the second one's effect.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from functools import cached_property
from types import TracebackType

from sqlalchemy import event
from sqlalchemy.exc import IntegrityError, SQLAlchemyError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from sqlalchemy.orm import Session, UOWTransaction

from storage.repositories import (
    AuditRepository,
    BlockedSenderRepository,
    ClaimRepository,
    FactRepository,
    MessageRepository,
    OutboxRepository,
    PartnerRepository,
    PreferenceRepository,
    ProcessedUpdateRepository,
    ReporterLinkRepository,
    ReportRepository,
    RetentionRepository,
    TranslationRepository,
)

_ADDED = "outreach_added_models"
_WROTE = "outreach_wrote"


@event.listens_for(Session, "before_flush")
def _note_added(session: Session, _transaction: UOWTransaction, _instances: object) -> None:
    """Which models gained rows in this session since its last commit (one listener for all
    sessions: registering one per unit of work cost more than the update it served)."""
    session.info.setdefault(_ADDED, set()).update(type(instance) for instance in session.new)


@event.listens_for(Session, "after_flush")
def _note_written(session: Session, _context: object) -> None:
    session.info[_WROTE] = True


class UnitOfWork:
    """Repositories over one session. The session is opened by the first repository used, so an
    update that never touches the database costs nothing here."""

    def __init__(
        self,
        session_factory: async_sessionmaker[AsyncSession],
        on_commit: Mapping[type, Callable[[], None]] | None = None,
        *,
        audit_signer: Callable[[bytes], str] | None = None,
    ) -> None:
        self._session_factory = session_factory
        self._audit_signer = audit_signer  # the audit chain's keyed hash; only appending needs it
        self._on_commit = on_commit or {}
        self._opened: AsyncSession | None = None
        self._update_id: int | None = None
        self._repeated: Callable[[], BaseException] | None = None

    async def __aenter__(self) -> UnitOfWork:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        if self._opened is not None:
            await self._opened.rollback()
            await self._opened.close()

    def mark_update(self, update_id: int, repeated: Callable[[], BaseException]) -> None:
        """Record `update_id` as processed with the first commit that writes (module docstring).
        If it is recorded already (a redelivery after a restart, or another process), that commit
        rolls back instead and raises `repeated()`: the caller, who knows Telegram, says what
        drops an update."""
        self._update_id, self._repeated = update_id, repeated

    async def commit(self) -> None:
        if self._opened is None:
            return
        marking = self._update_id is not None and _has_writes(self._opened)
        if marking:
            await self._opened.flush()  # the update's own errors surface as themselves, not as a repeat
            try:
                await self.processed_updates.add(self._update_id)
            except IntegrityError:
                await self._opened.rollback()
                raise self._repeated() from None
        await self._opened.commit()
        if marking:
            self._update_id = None
        self._opened.sync_session.info.pop(_WROTE, None)
        added = self._opened.sync_session.info.pop(_ADDED, set())
        for model, callback in self._on_commit.items():
            if model in added:
                callback()

    async def release(self) -> None:
        """End a transaction that has only read, so that no connection stays in a transaction
        while the caller waits on the network. Loaded objects stay usable (expire_on_commit is
        off). A transaction with writes is left to its owner, who commits or rolls it back."""
        session = self._opened
        if session is None or not session.in_transaction():
            return
        if _has_writes(session) and session.sync_session.get_transaction().is_active:
            return
        try:
            await session.commit()
        except SQLAlchemyError:
            # Nothing here can be lost: it only read, or a failed write already undid it all
            # (the database dropped the connection, say). Ended, it lets the caller still tell
            # the person to try again.
            await session.rollback()

    @property
    def _session(self) -> AsyncSession:
        if self._opened is None:
            self._opened = self._session_factory()
        return self._opened

    @cached_property
    def preferences(self) -> PreferenceRepository:
        return PreferenceRepository(self._session)

    @cached_property
    def reports(self) -> ReportRepository:
        return ReportRepository(self._session)

    @cached_property
    def facts(self) -> FactRepository:
        return FactRepository(self._session)

    @cached_property
    def reporter_links(self) -> ReporterLinkRepository:
        return ReporterLinkRepository(self._session)

    @cached_property
    def outbox(self) -> OutboxRepository:
        return OutboxRepository(self._session)

    @cached_property
    def audit(self) -> AuditRepository:
        return AuditRepository(self._session, self._audit_signer)

    @cached_property
    def messages(self) -> MessageRepository:
        return MessageRepository(self._session)

    @cached_property
    def translations(self) -> TranslationRepository:
        return TranslationRepository(self._session)

    @cached_property
    def blocked_senders(self) -> BlockedSenderRepository:
        return BlockedSenderRepository(self._session)

    @cached_property
    def processed_updates(self) -> ProcessedUpdateRepository:
        return ProcessedUpdateRepository(self._session)

    @cached_property
    def claims(self) -> ClaimRepository:
        return ClaimRepository(self._session)

    @cached_property
    def retention(self) -> RetentionRepository:
        return RetentionRepository(self._session)

    @cached_property
    def partners(self) -> PartnerRepository:
        return PartnerRepository(self._session)


def _has_writes(session: AsyncSession) -> bool:
    return bool(session.new or session.dirty or session.deleted or session.sync_session.info.get(_WROTE))
