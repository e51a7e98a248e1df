"""Repositories: the only code that queries the database."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta

from sqlalchemy import ColumnElement, and_, case, delete, func, insert, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import selectinload

from storage.models import (
    Attachment,
    AuditEvent,
    BlockedSender,
    OutboxKind,
    OutboxMessage,
    Partner,
    PartnerInvite,
    Preference,
    ProcessedUpdate,
    Report,
    ReporterLink,
    ReportFact,
    ReportMessage,
    ReportStatus,
    TranslationStatus,
)

OPEN_STATUSES = (ReportStatus.NEW, ReportStatus.ACKNOWLEDGED)
CLOSED_STATUSES = (ReportStatus.CLOSED, ReportStatus.SPAM)
# The audit chain's PostgreSQL advisory lock, and the "previous hash" of its first event.
AUDIT_CHAIN_LOCK = 0x61756469  # "audi"
GENESIS_HASH = "0" * 64


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

    async def delete(self, pseudonym: str) -> None:
        await self._session.execute(delete(Preference).where(Preference.pseudonym == pseudonym))

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

    async def delete(self, report_ids: Sequence[int]) -> int:
        """Delete reports; their attachments, messages, links and deliveries go with them; audit events stay."""
        result = await self._session.execute(delete(Report).where(Report.id.in_(report_ids)))
        return result.rowcount

    async def count_open(self) -> int:
        return await self._session.scalar(select(func.count()).where(Report.status.in_(OPEN_STATUSES))) or 0

    async def unlink_sender(self, pseudonym: str) -> int:
        """Clear the sender of this person's reports. Each sender is encrypted with a fresh IV, so
        finding them takes decrypting every one; the write comes after, briefly."""
        senders = await self._session.execute(select(Report.id, Report.sender).where(Report.sender.is_not(None)))
        theirs = [report_id for report_id, sender in senders if sender == pseudonym]
        if theirs:
            await self._session.execute(update(Report).where(Report.id.in_(theirs)).values(sender=None))
        return len(theirs)


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

    async def delete_of(self, report_ids: Sequence[int]) -> int:
        result = await self._session.execute(delete(ReporterLink).where(ReporterLink.report_id.in_(report_ids)))
        return result.rowcount

    async def held(self) -> list[HeldLink]:
        """Every link, with what decides when it goes. There is no way to ask for one person's
        links: that takes unsealing each (bot.personal_data)."""
        query = select(
            ReporterLink.report_id, ReporterLink.sealed_chat, Report.received_at, Report.status, Report.status_changed_at
        ).join(Report, Report.id == ReporterLink.report_id)
        return [HeldLink(*row) for row in await self._session.execute(query.order_by(ReporterLink.report_id))]


@dataclass(frozen=True)
class HeldLink:
    report_id: int
    sealed_chat: bytes
    received_at: datetime
    status: str
    status_changed_at: datetime | None


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

    async def claim(self, now: datetime, lease: timedelta, kinds: Sequence[str] | None = None) -> OutboxMessage | None:
        """The next undelivered message whose time has come (urgent first, then in the order
        written), claimed for `lease` on PostgreSQL: another delivery loop passes over it, the row
        lock (SKIP LOCKED) while this transaction lasts and `claimed_until` after its commit.
        SQLite has one bot per database file (bot/leadership.py), so nothing is written there."""
        query = (
            select(OutboxMessage)
            .where(*self._waiting(kinds), _unclaimed(OutboxMessage.claimed_until, now))
            .where(or_(OutboxMessage.not_before.is_(None), OutboxMessage.not_before <= now))
            .order_by(OutboxMessage.priority, OutboxMessage.id)
            .limit(1)
            .with_for_update(skip_locked=True)
        )
        message = await self._session.scalar(query)
        if message is not None and await _claims_kept(self._session):
            message.claimed_until = now + lease
        return message

    async def ordinary_cards_waiting(self, now: datetime) -> int:
        """Cards a surge digest may take (bot/delivery/digest.py) that are due now: not urgent, not opened
        from a digest (both priority 0), not a partner's."""
        query = (
            select(func.count())
            .select_from(OutboxMessage)
            .join(Report, Report.id == OutboxMessage.report_id)
            .where(*self._ordinary_cards(now))
        )
        return await self._session.scalar(query) or 0

    async def claim_ordinary_cards(self, now: datetime, lease: timedelta, limit: int, besides: int) -> list[OutboxMessage]:
        """Up to `limit` more of those besides message `besides`, oldest first, claimed as `claim`
        claims one."""
        query = (
            select(OutboxMessage)
            .join(Report, Report.id == OutboxMessage.report_id)
            .where(*self._ordinary_cards(now), _unclaimed(OutboxMessage.claimed_until, now), OutboxMessage.id != besides)
            .order_by(OutboxMessage.id)
            .limit(limit)
            .with_for_update(skip_locked=True, of=OutboxMessage)
        )
        messages = list(await self._session.scalars(query))
        if await _claims_kept(self._session):
            for message in messages:
                message.claimed_until = now + lease
        return messages

    async def card_waiting(self, report_id: int) -> bool:
        query = select(OutboxMessage.id).where(
            OutboxMessage.report_id == report_id, OutboxMessage.kind == OutboxKind.CARD, *self._waiting(None)
        )
        return await self._session.scalar(query.limit(1)) is not None

    async def release_held(self, report_id: int) -> None:
        """A report opened from a digest: what waited for its card is due again now."""
        await self._session.execute(
            update(OutboxMessage).where(OutboxMessage.report_id == report_id, *self._waiting(None)).values(not_before=None)
        )

    def _ordinary_cards(self, now: datetime) -> list[ColumnElement[bool]]:
        return [
            *self._waiting((OutboxKind.CARD,)),
            OutboxMessage.priority > 0,
            Report.partner_organisation.is_(None),
            or_(OutboxMessage.not_before.is_(None), OutboxMessage.not_before <= now),
        ]

    async def next_due_time(self, kinds: Sequence[str] | None = None) -> datetime | None:
        """When the earliest postponed or claimed message may be taken."""
        claimed_later = and_(
            OutboxMessage.claimed_until.is_not(None),
            or_(OutboxMessage.not_before.is_(None), OutboxMessage.claimed_until > OutboxMessage.not_before),
        )
        free_at = case((claimed_later, OutboxMessage.claimed_until), else_=OutboxMessage.not_before)
        return await self._session.scalar(select(func.min(free_at)).where(*self._waiting(kinds)))

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

    async def claim_reports(self, now: datetime, lease: timedelta, limit: int) -> list[Report]:
        """Reports waiting for translation, claimed as OutboxRepository.claim claims a message."""
        return await self._claim(Report, now, lease, limit)

    async def claim_messages(self, now: datetime, lease: timedelta, limit: int) -> list[ReportMessage]:
        return await self._claim(ReportMessage, now, lease, limit)

    async def _claim(self, model: type[Report | ReportMessage], now: datetime, lease: timedelta, limit: int) -> list:
        query = (
            select(model)
            .where(model.translation_status == TranslationStatus.PENDING, _unclaimed(model.claimed_until, now))
            .order_by(model.id)
            .limit(limit)
            .with_for_update(skip_locked=True, of=model)
        )
        jobs = list(await self._session.scalars(query))
        if await _claims_kept(self._session):
            for job in jobs:
                job.claimed_until = now + lease
        return jobs


class ClaimRepository:
    """Claims let go before they end: a worker's own that it could not finish with, or every
    claim, when a new leader starts."""

    def __init__(self, session: AsyncSession) -> None:
        self._session = session

    async def release(self, model: type[OutboxMessage | Report | ReportMessage], ids: Sequence[int]) -> None:
        """Rows a worker claimed but could not finish with, due again now."""
        await self._session.execute(update(model).where(model.id.in_(ids)).values(claimed_until=None))

    async def release_all(self) -> None:
        """For a bot that just became the only leader (bot/leadership.py): whatever claims are
        left were made by one that died, and are due again now rather than when they expire."""
        for model in (OutboxMessage, Report, ReportMessage):
            await self._session.execute(update(model).where(model.claimed_until.is_not(None)).values(claimed_until=None))


async def _delete_or_count(session: AsyncSession, model: type, where: ColumnElement[bool], dry_run: bool) -> int:
    """For retention: delete the rows of `model` matching `where`, or with `dry_run` count them."""
    if dry_run:
        return await session.scalar(select(func.count()).select_from(model).where(where)) or 0
    return (await session.execute(delete(model).where(where))).rowcount or 0


def _unclaimed(claimed_until: ColumnElement[datetime | None], now: datetime) -> ColumnElement[bool]:
    return or_(claimed_until.is_(None), claimed_until <= now)


async def _claims_kept(session: AsyncSession) -> bool:
    """Claims are recorded on PostgreSQL, where several workers may share the database."""
    return (await session.connection()).dialect.name == "postgresql"


class AuditRepository:
    """The append-only audit log: one chain, each event holding the hash of the one before
    (bot.audit verifies it). There is nothing here to change or delete an event."""

    def __init__(self, session: AsyncSession, sign: Callable[[bytes], str] | None) -> None:
        self._session = session
        self._sign = sign

    async def append(
        self, action: str, *, report_id: int | None = None, officer_id: int | None = None,
        officer_name: str | None = None, detail: str | None = None,
    ) -> AuditEvent:  # fmt: skip
        """Add an event to the chain, in the caller's transaction. Call it last, just before the
        commit: until then, every other process's append waits."""
        if self._sign is None:
            raise RuntimeError("this unit of work was made without an audit key (UnitOfWork audit_signer)")
        session = self._session
        if (await session.connection()).dialect.name == "postgresql":
            # One appender at a time, across processes, until commit; READ COMMITTED then lets the
            # query below see the event the previous holder committed.
            await session.execute(select(func.pg_advisory_xact_lock(AUDIT_CHAIN_LOCK)))
        event = AuditEvent(
            at=datetime.now(UTC), action=action, report_id=report_id, officer_id=officer_id,
            officer_name=officer_name, detail=detail,
        )  # fmt: skip
        session.add(event)
        await session.flush()  # on SQLite this write takes the database's one write lock, until commit
        previous = await session.scalar(
            select(AuditEvent.hash).where(AuditEvent.id < event.id).order_by(AuditEvent.id.desc()).limit(1)
        )
        event.at = datetime.now(UTC)  # in chain order, now that the chain is ours
        event.prev_hash = previous or GENESIS_HASH
        event.hash = self._sign(event.signed_content())
        await session.flush()
        return event

    async def latest(self, report_id: int) -> AuditEvent | None:
        """The newest status change of a report (what its card names)."""
        query = select(AuditEvent).where(AuditEvent.report_id == report_id, AuditEvent.action.in_(list(ReportStatus)))
        return await self._session.scalar(query.order_by(AuditEvent.id.desc()).limit(1))

    async def page(self, after_id: int, limit: int) -> list[AuditEvent]:
        """Events in chain order, the first `limit` after event `after_id`."""
        query = select(AuditEvent).where(AuditEvent.id > after_id).order_by(AuditEvent.id).limit(limit)
        return list(await self._session.scalars(query))

    async def of_actions(self, actions: Sequence[str]) -> list[AuditEvent]:
        return list(await self._session.scalars(select(AuditEvent).where(AuditEvent.action.in_(actions)).order_by(AuditEvent.id)))


class BlockedSenderRepository:
    """Pseudonyms whose reports and messages are refused."""

    def __init__(self, session: AsyncSession) -> None:
        self._session = session

    async def get(self, pseudonym: str) -> BlockedSender | None:
        return await self._session.get(BlockedSender, pseudonym)

    def add(self, pseudonym: str, officer_id: int, officer_name: str) -> None:
        self._session.add(
            BlockedSender(pseudonym=pseudonym, blocked_at=datetime.now(UTC), officer_id=officer_id, officer_name=officer_name)
        )

    async def delete(self, block: BlockedSender) -> None:
        await self._session.delete(block)


class ProcessedUpdateRepository:
    """Telegram update ids whose effects are committed (storage.unit_of_work)."""

    def __init__(self, session: AsyncSession) -> None:
        self._session = session

    async def add(self, update_id: int) -> None:
        """Insert at once, so that a repeat fails here, as an IntegrityError, and nowhere else."""
        await self._session.execute(insert(ProcessedUpdate).values(update_id=update_id, processed_at=datetime.now(UTC)))

    async def since(self, cutoff: datetime, limit: int) -> list[int]:
        """The newest ids processed after `cutoff`, oldest first."""
        query = (
            select(ProcessedUpdate.update_id)
            .where(ProcessedUpdate.processed_at >= cutoff)
            .order_by(ProcessedUpdate.update_id.desc())
            .limit(limit)
        )
        return sorted(await self._session.scalars(query))

    async def count_before(self, cutoff: datetime) -> int:
        return await self._session.scalar(select(func.count()).where(ProcessedUpdate.processed_at < cutoff)) or 0

    async def delete_before(self, cutoff: datetime) -> int:
        """Forget ids processed before `cutoff`: Telegram keeps an update at most a day, so
        nothing older can come again. For the retention job, with a cutoff a day or more ago."""
        result = await self._session.execute(delete(ProcessedUpdate).where(ProcessedUpdate.processed_at < cutoff))
        return result.rowcount


@dataclass(frozen=True)
class Attached:
    """What goes with a batch of reports when retention deletes them."""

    attachments: int
    messages: int
    links: int


class RetentionRepository:
    """What retention (bot.retention) deletes, found a batch at a time in report number order."""

    def __init__(self, session: AsyncSession) -> None:
        self._session = session

    async def reports_received_before(self, cutoff: datetime, *, after_id: int, limit: int) -> list[int]:
        query = select(Report.id).where(Report.received_at < cutoff, Report.id > after_id)
        return list(await self._session.scalars(query.order_by(Report.id).limit(limit)))

    async def attached(self, report_ids: Sequence[int]) -> Attached:
        counts = [
            await self._session.scalar(select(func.count()).where(column.in_(report_ids))) or 0
            for column in (Attachment.report_id, ReportMessage.report_id, ReporterLink.report_id)
        ]
        return Attached(*counts)

    async def links_closed_before(
        self, closed_before: datetime, received_since: datetime, *, after_id: int, limit: int
    ) -> list[int]:
        """Reports closed (or marked spam) before `closed_before` that still have a reporter link,
        but not those received before `received_since`, which go whole."""
        query = (
            select(ReporterLink.report_id)
            .join(Report, Report.id == ReporterLink.report_id)
            .where(
                Report.status.in_(CLOSED_STATUSES),
                Report.status_changed_at < closed_before,
                Report.received_at >= received_since,
                ReporterLink.report_id > after_id,
            )
        )
        return list(await self._session.scalars(query.order_by(ReporterLink.report_id).limit(limit)))


@dataclass(frozen=True)
class Fact:
    """One report as /transparency and /stats count it (storage.models.ReportFact)."""

    received_on: date
    category: str
    language: str
    status: str
    acknowledged_after_seconds: int | None
    feedback: str | None


class FactRepository:
    def __init__(self, session: AsyncSession) -> None:
        self._session = session

    def add(self, fact: ReportFact) -> None:
        self._session.add(fact)

    async def of_report(self, report_number: int) -> ReportFact | None:
        return await self._session.scalar(select(ReportFact).where(ReportFact.report_number == report_number))

    async def received_since(self, first_day: date) -> list[Fact]:
        query = select(
            ReportFact.received_on, ReportFact.category, ReportFact.language, ReportFact.status,
            ReportFact.acknowledged_after_seconds, ReportFact.feedback,
        ).where(ReportFact.received_on >= first_day).order_by(ReportFact.received_on)  # fmt: skip
        return [Fact(*row) for row in await self._session.execute(query)]

    async def delete_received_before(self, first_day: date, *, dry_run: bool) -> int:
        return await _delete_or_count(self._session, ReportFact, ReportFact.received_on < first_day, dry_run)


@dataclass(frozen=True)
class PartnerOrganisation:
    """One organisation as /partners lists it."""

    name: str
    partners: int
    unused_invites: int


class PartnerRepository:
    """Private-security partners (handlers/partners.py): invites by the hash of their code, and
    partners by pseudonym and organisation only."""

    def __init__(self, session: AsyncSession) -> None:
        self._session = session

    def add_invite(self, code_hash: str, organisation: str) -> None:
        self._session.add(PartnerInvite(code_hash=code_hash, organisation=organisation, created_at=datetime.now(UTC)))

    async def redeem(self, code_hash: str, made_since: datetime) -> tuple[str | None, bool]:
        """Use the invite with this hash, made since `made_since`, once: (its organisation, True)
        if this call used it, (its organisation, False) if it was used before, (None, False) if
        there is none or it expired. One conditional UPDATE, so two people redeeming one code at
        once cannot both succeed."""
        current = (PartnerInvite.code_hash == code_hash, PartnerInvite.created_at >= made_since)
        used = await self._session.execute(
            update(PartnerInvite).where(*current, PartnerInvite.used_at.is_(None)).values(used_at=datetime.now(UTC))
        )
        organisation = await self._session.scalar(select(PartnerInvite.organisation).where(*current))
        return organisation, bool(used.rowcount)

    async def delete_invites_made_before(self, cutoff: datetime, *, dry_run: bool = False) -> int:
        """Expired invites, used or not: a used one is kept only so that its code is answered
        "used already" rather than "not valid" while it could still have been redeemed."""
        return await _delete_or_count(self._session, PartnerInvite, PartnerInvite.created_at < cutoff, dry_run)

    async def organisation_of(self, pseudonym: str) -> str | None:
        partner = await self._session.get(Partner, pseudonym)
        return partner.organisation if partner else None

    async def set_partner(self, pseudonym: str, organisation: str) -> None:
        await self._session.merge(Partner(pseudonym=pseudonym, organisation=organisation))

    async def remove(self, pseudonym: str) -> None:
        await self._session.execute(delete(Partner).where(Partner.pseudonym == pseudonym))

    async def revoke(self, organisation: str) -> tuple[int, int]:
        """Remove every partner of `organisation` and its unused invites; how many of each."""
        partners = await self._session.execute(delete(Partner).where(Partner.organisation == organisation))
        invites = await self._session.execute(
            delete(PartnerInvite).where(PartnerInvite.organisation == organisation, PartnerInvite.used_at.is_(None))
        )
        return partners.rowcount or 0, invites.rowcount or 0

    async def organisations(self) -> list[PartnerOrganisation]:
        """Every organisation with partners or unused invites, by name."""
        partners = dict(
            (await self._session.execute(select(Partner.organisation, func.count()).group_by(Partner.organisation))).all()
        )
        invites = dict(
            (
                await self._session.execute(
                    select(PartnerInvite.organisation, func.count())
                    .where(PartnerInvite.used_at.is_(None))
                    .group_by(PartnerInvite.organisation)
                )
            ).all()
        )
        return [PartnerOrganisation(name, partners.get(name, 0), invites.get(name, 0)) for name in sorted(partners.keys() | invites.keys())]
