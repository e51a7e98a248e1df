"""Retention: the bot deletes what /privacy says it deletes, when it says so.

- A report received more than RETENTION_DAYS ago goes, with its attachments, dialog messages,
  deliveries and reporter link. Audit events stay: they hold no content and no reporter.
- The reporter link of a report closed (or marked spam) more than LINK_GRACE_DAYS ago goes, so a
  closed report can no longer reach its reporter.
- Update ids recorded to answer each update once go after a day, the longest Telegram keeps one.
- Report facts (counts for /transparency and /stats: day, category, language, status, no content
  and no reporter) go after FACTS_KEPT_DAYS, once the twelve months /transparency shows are past.

Drafts are not here: they live in memory only and go after DRAFT_TIMEOUT_MINUTES. The bot runs
this daily (bot.application), and `outreach-bot purge` on demand. Each batch is its own short
transaction, so a large purge never keeps the database from taking reports.
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta

from storage.repositories import CLOSED_STATUSES, HeldLink
from storage.unit_of_work import UnitOfWork

BATCH = 500  # reports or links per transaction
PURGE_EVERY = timedelta(days=1)
# Telegram offers an update for at most a day; an id older than this cannot come again.
UPDATE_IDS_KEPT = timedelta(days=1)
FACTS_KEPT_DAYS = 400  # twelve whole months before the current one, and a little more
INVITE_VALID_DAYS = 14  # a partner invite (handlers/partners.py) not redeemed by then is void


@dataclass(frozen=True)
class Retention:
    """RETENTION_DAYS and LINK_GRACE_DAYS, and the moments they set."""

    report_days: int
    link_grace_days: int

    def reports_received_before(self, now: datetime) -> datetime:
        return now - timedelta(days=self.report_days)

    def closed_before(self, now: datetime) -> datetime:
        return now - timedelta(days=self.link_grace_days)

    def link_deleted_by(self, link: HeldLink) -> datetime:
        """When the daily purge has deleted this link at the latest: with its report, or the grace
        after the report closed. A report still open may close sooner, and its link go sooner."""
        expires = link.received_at + timedelta(days=self.report_days)
        if link.status in CLOSED_STATUSES and link.status_changed_at is not None:
            expires = min(expires, link.status_changed_at + timedelta(days=self.link_grace_days))
        return expires + PURGE_EVERY


@dataclass(frozen=True)
class Purged:
    """What a purge deleted, or with --dry-run would delete, by kind."""

    reports: int = 0
    attachments: int = 0
    messages: int = 0
    links_of_reports: int = 0  # deleted with their reports
    links_after_closure: int = 0
    update_ids: int = 0
    facts: int = 0
    invites: int = 0

    def __add__(self, other: Purged) -> Purged:
        return Purged(*(a + b for a, b in zip(dataclasses.astuple(self), dataclasses.astuple(other), strict=True)))

    def describe(self) -> str:
        """For the log: counts only."""
        return " ".join(f"{field.name}={getattr(self, field.name)}" for field in dataclasses.fields(self))


async def purge(
    unit_of_work: Callable[[], UnitOfWork], retention: Retention, *, dry_run: bool = False, now: datetime | None = None
) -> Purged:
    """Delete everything past retention; with `dry_run`, count it the same way and change nothing."""
    now = now or datetime.now(UTC)
    purged = await _purge_reports(unit_of_work, retention.reports_received_before(now), dry_run)
    purged += await _purge_closed_links(unit_of_work, retention, now, dry_run)
    purged += await _purge_update_ids(unit_of_work, now - UPDATE_IDS_KEPT, dry_run)
    purged += await _purge_facts(unit_of_work, (now - timedelta(days=FACTS_KEPT_DAYS)).date(), dry_run)
    purged += await _purge_invites(unit_of_work, now - timedelta(days=INVITE_VALID_DAYS), dry_run)
    if not dry_run:
        # Every run, even one that found nothing: the audit log shows that retention is enforced.
        async with unit_of_work() as uow:
            await uow.audit.append("purge", detail=json.dumps(dataclasses.asdict(purged), separators=(",", ":")))
            await uow.commit()
    return purged


async def _purge_reports(unit_of_work: Callable[[], UnitOfWork], cutoff: datetime, dry_run: bool) -> Purged:
    purged, after_id = Purged(), 0
    while True:
        async with unit_of_work() as uow:
            batch = await uow.retention.reports_received_before(cutoff, after_id=after_id, limit=BATCH)
            if not batch:
                return purged
            attached = await uow.retention.attached(batch)
            if not dry_run:
                await uow.reports.delete(batch)
                await uow.commit()
        purged += Purged(
            reports=len(batch), attachments=attached.attachments, messages=attached.messages,
            links_of_reports=attached.links,
        )  # fmt: skip
        after_id = batch[-1]


async def _purge_closed_links(
    unit_of_work: Callable[[], UnitOfWork], retention: Retention, now: datetime, dry_run: bool
) -> Purged:
    closed_before, received_since = retention.closed_before(now), retention.reports_received_before(now)
    purged, after_id = Purged(), 0
    while True:
        async with unit_of_work() as uow:
            batch = await uow.retention.links_closed_before(closed_before, received_since, after_id=after_id, limit=BATCH)
            if not batch:
                return purged
            if not dry_run:
                await uow.reporter_links.delete_of(batch)
                await uow.commit()
        purged += Purged(links_after_closure=len(batch))
        after_id = batch[-1]


async def _purge_update_ids(unit_of_work: Callable[[], UnitOfWork], cutoff: datetime, dry_run: bool) -> Purged:
    async with unit_of_work() as uow:
        if dry_run:
            return Purged(update_ids=await uow.processed_updates.count_before(cutoff))
        deleted = await uow.processed_updates.delete_before(cutoff)
        await uow.commit()
    return Purged(update_ids=deleted)


async def _purge_facts(unit_of_work: Callable[[], UnitOfWork], first_kept: date, dry_run: bool) -> Purged:
    async with unit_of_work() as uow:
        deleted = await uow.facts.delete_received_before(first_kept, dry_run=dry_run)
        await uow.commit()
    return Purged(facts=deleted)


async def _purge_invites(unit_of_work: Callable[[], UnitOfWork], cutoff: datetime, dry_run: bool) -> Purged:
    async with unit_of_work() as uow:
        deleted = await uow.partners.delete_invites_made_before(cutoff, dry_run=dry_run)
        await uow.commit()
    return Purged(invites=deleted)
