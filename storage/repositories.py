"""Repositories: the only code that queries the database."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import ColumnElement, delete, func, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import selectinload

from storage.models import (
    AuditEvent,
    OutboxKind,
    OutboxMessage,
    Preference,
    Report,
    ReporterLink,
    ReportMessage,
    ReportStatus,
    TranslationStatus,
)

OPEN_STATUSES = (ReportStatus.NEW, ReportStatus.ACKNOWLEDGED)


class PreferenceRepository:
    def __init__(self, session: AsyncSession) -> None:
        self._session = session

    async def locale_of(self, pseudonym: str) -> str | None:
        preference = await self._session.get(Preference, pseudonym)
        return preference.locale if preference else None

    async def set_locale(self, pseudonym: str, locale: str) -> None:
        (await self._get_or_add(pseudonym)).locale = locale

    async def notice_accepted(self, pseudonym: str) -> bool:
        preference = await self._session.get(Preference, pseudonym)
        return bool(preference and preference.notice_accepted)

    async def accept_notice(self, pseudonym: str) -> None:
        (await self._get_or_add(pseudonym)).notice_accepted = True

    async def _get_or_add(self, pseudonym: str) -> Preference:
        preference = await self._session.get(Preference, pseudonym)
        if preference is None:
            preference = Preference(pseudonym=pseudonym, notice_accepted=False)
            self._session.add(preference)
        return preference


class ReportRepository:
    def __init__(self, session: AsyncSession) -> None:
        self._session = session

    async def add(self, report: Report) -> Report:
        """Store a report with its attachments; its number is known when this returns."""
        self._session.add(report)
        await self._session.flush()
        return report

    async def get(self, report_id: int) -> Report | None:
        return await self._session.get(Report, report_id, options=[selectinload(Report.attachments)])

    async def by_receipt(self, receipt_hash: str) -> Report | None:
        return await self._session.scalar(select(Report).where(Report.receipt_hash == receipt_hash))

    async def open_reports(self, offset: int, limit: int) -> list[Report]:
        """Open reports, oldest first."""
        query = (
            select(Report).where(Report.status.in_(OPEN_STATUSES)).order_by(Report.id).offset(offset).limit(limit)
        )
        return list(await self._session.scalars(query))

    async def delete_received_before(self, cutoff: datetime) -> int:
        """Delete old reports; their attachments, links, deliveries and audit go with them."""
        result = await self._session.execute(delete(Report).where(Report.received_at < cutoff))
        return result.rowcount

    async def count_open(self) -> int:
        return await self._session.scalar(select(func.count()).where(Report.status.in_(OPEN_STATUSES))) or 0


class ReporterLinkRepository:
    def __init__(self, session: AsyncSession) -> None:
        self._session = session

    async def add(self, report_id: int, sealed_chat: bytes) -> None:
        await self._session.merge(ReporterLink(report_id=report_id, sealed_chat=sealed_chat))

    async def sealed_chat(self, report_id: int) -> bytes | None:
        link = await self._session.get(ReporterLink, report_id)
        return link.sealed_chat if link else None

    async def delete(self, report_id: int) -> bool:
        link = await self._session.get(ReporterLink, report_id)
        if link is not None:
            await self._session.delete(link)
        return link is not None


@dataclass(frozen=True)
class OutboxHealth:
    waiting: int
    oldest: datetime | None
    last_error: str | None  # the most recent among the waiting messages
    dead: int
    dead_error: str | None  # the newest dead message's exception type
    dead_reason: str | None  # and what Telegram said about it
    staff_chat_moved_to: int | None


class OutboxRepository:
    def __init__(self, session: AsyncSession) -> None:
        self._session = session

    def add(self, message: OutboxMessage) -> None:
        self._session.add(message)

    async def get(self, message_id: int) -> OutboxMessage | None:
        return await self._session.get(OutboxMessage, message_id)

    async def due(self, now: datetime, limit: int, kinds: Sequence[str] | None = None) -> list[OutboxMessage]:
        """Undelivered messages whose time has come: urgent first, then in the order written."""
        query = (
            select(OutboxMessage)
            .where(*self._waiting(kinds))
            .where(or_(OutboxMessage.not_before.is_(None), OutboxMessage.not_before <= now))
            .order_by(OutboxMessage.priority, OutboxMessage.id)
            .limit(limit)
        )
        return list(await self._session.scalars(query))

    async def next_due_time(self, kinds: Sequence[str] | None = None) -> datetime | None:
        """When the earliest postponed message becomes due."""
        return await self._session.scalar(select(func.min(OutboxMessage.not_before)).where(*self._waiting(kinds)))

    async def dead_card(self, report_id: int) -> OutboxMessage | None:
        """The report's card, if it died: what replies to it cannot be delivered either."""
        query = select(OutboxMessage).where(
            OutboxMessage.report_id == report_id, OutboxMessage.kind == OutboxKind.CARD, OutboxMessage.dead_at.is_not(None)
        )
        return await self._session.scalar(query.limit(1))

    async def forget_staff_chat_move(self, staff_chat_id: int) -> None:
        """STAFF_CHAT_ID now names the chat the staff group moved to: the note has been acted on."""
        await self._session.execute(
            update(OutboxMessage).where(OutboxMessage.staff_chat_moved_to == staff_chat_id).values(staff_chat_moved_to=None)
        )

    @staticmethod
    def _waiting(kinds: Sequence[str] | None) -> list[ColumnElement[bool]]:
        conditions = [OutboxMessage.done_at.is_(None), OutboxMessage.dead_at.is_(None)]
        if kinds is not None:
            conditions.append(OutboxMessage.kind.in_(kinds))
        return conditions

    async def health(self) -> OutboxHealth:
        """What `outreach-bot status` reports: what waits, what died, where the staff chat went."""
        waiting = self._waiting(None)
        count, oldest = (
            await self._session.execute(select(func.count(), func.min(OutboxMessage.created_at)).where(*waiting))
        ).one()
        last_error = await self._session.scalar(
            select(OutboxMessage.last_error)
            .where(*waiting, OutboxMessage.last_error.is_not(None))
            .order_by(OutboxMessage.id.desc())
            .limit(1)
        )
        dead = OutboxMessage.dead_at.is_not(None)
        dead_count = await self._session.scalar(select(func.count()).where(dead)) or 0
        newest_dead = (
            await self._session.execute(
                select(OutboxMessage.last_error, OutboxMessage.dead_reason)
                .where(dead)
                .order_by(OutboxMessage.dead_at.desc(), OutboxMessage.id.desc())
                .limit(1)
            )
        ).first()
        moved_to = await self._session.scalar(
            select(OutboxMessage.staff_chat_moved_to)
            .where(OutboxMessage.staff_chat_moved_to.is_not(None))
            .order_by(OutboxMessage.id.desc())
            .limit(1)
        )
        dead_error, dead_reason = newest_dead or (None, None)
        return OutboxHealth(count, oldest, last_error, dead_count, dead_error, dead_reason, moved_to)


class MessageRepository:
    """The dialog between officers and a reporter."""

    def __init__(self, session: AsyncSession) -> None:
        self._session = session

    async def add(self, message: ReportMessage) -> ReportMessage:
        self._session.add(message)
        await self._session.flush()
        return message

    async def get(self, message_id: int) -> ReportMessage | None:
        return await self._session.get(ReportMessage, message_id)

    async def of_report(self, report_id: int) -> list[ReportMessage]:
        query = select(ReportMessage).where(ReportMessage.report_id == report_id).order_by(ReportMessage.id)
        return list(await self._session.scalars(query))

    async def report_of_staff_message(self, staff_message_id: int) -> int | None:
        """Which report a message in the staff chat belongs to: its card or a posted answer."""
        report_id = await self._session.scalar(select(Report.id).where(Report.staff_message_id == staff_message_id))
        return report_id or await self._session.scalar(
            select(ReportMessage.report_id).where(ReportMessage.staff_message_id == staff_message_id)
        )


class TranslationRepository:
    """What the translation jobs still have to do."""

    def __init__(self, session: AsyncSession) -> None:
        self._session = session

    async def pending_reports(self, limit: int) -> list[Report]:
        query = select(Report).where(Report.translation_status == TranslationStatus.PENDING).order_by(Report.id)
        return list(await self._session.scalars(query.limit(limit)))

    async def pending_messages(self, limit: int) -> list[ReportMessage]:
        query = select(ReportMessage).where(ReportMessage.translation_status == TranslationStatus.PENDING)
        return list(await self._session.scalars(query.order_by(ReportMessage.id).limit(limit)))


class AuditRepository:
    def __init__(self, session: AsyncSession) -> None:
        self._session = session

    def record(self, report_id: int, action: str, officer_id: int, officer_name: str) -> None:
        self._session.add(
            AuditEvent(report_id=report_id, action=action, officer_id=officer_id, officer_name=officer_name)
        )

    async def latest(self, report_id: int) -> AuditEvent | None:
        return await self._session.scalar(
            select(AuditEvent).where(AuditEvent.report_id == report_id).order_by(AuditEvent.id.desc()).limit(1)
        )
