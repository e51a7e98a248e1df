"""Retention: the daily job and `outreach-bot purge` delete exactly what is past its time.

Rows are written with explicit past timestamps, so nothing here waits for time to pass.
"""

from __future__ import annotations

import asyncio
import dataclasses
import json
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.cli import main
from bot.crypto import ColumnKeys, Keys
from bot.retention import FACTS_KEPT_DAYS, Purged
from storage.database import create_engine, session_factory, upgrade_to_head
from storage.encryption import bind_cipher
from storage.key_rotation import refresh_generation
from storage.models import Attachment, AuditEvent, ProcessedUpdate, Report, ReporterLink, ReportFact, ReportMessage
from storage.unit_of_work import UnitOfWork
from tests.conftest import SECRET_KEY, start_bot
from tests.fake_telegram import FakeTelegram

RETENTION_DAYS, LINK_GRACE_DAYS = 30, 7
# Of the reports seeded below, what retention deletes.
EXPECTED = Purged(reports=2, attachments=1, messages=2, links_of_reports=2, links_after_closure=2, update_ids=1, facts=1)


@dataclass(frozen=True)
class Seeded:
    report: int
    received_days_ago: float
    status: str = "new"
    status_changed_days_ago: float | None = None
    messages: int = 0
    attachments: int = 0
    link: bool = True


SEEDED = [
    Seeded(1, 31, messages=2, attachments=1),  # past retention: goes whole
    Seeded(2, 29, "closed", 8, messages=1),  # closed past the grace: its link goes, the report stays
    Seeded(3, 20, "closed", 6),  # closed within the grace: its link stays
    Seeded(4, 10),  # open: its link stays as long as the report
    Seeded(5, 40, "spam", 35),  # past retention: goes whole, its link counted with it
    Seeded(6, 20, "spam", 10),  # marked spam past the grace: its link goes
    Seeded(7, 29.9, "acknowledged", 29, link=False),  # just within retention
]


async def seed(sessions: async_sessionmaker[AsyncSession], now: datetime) -> None:
    keys = Keys(SECRET_KEY)
    async with UnitOfWork(sessions) as uow:
        for s in SEEDED:
            changed = now - timedelta(days=s.status_changed_days_ago) if s.status_changed_days_ago else None
            await uow.reports.add(Report(
                id=s.report, category="crime", urgent=False, language="en", body=f"report {s.report}", status=s.status,
                location_exact=False, receipt_hash=f"{s.report}".ljust(64, "0"),
                received_at=now - timedelta(days=s.received_days_ago), status_changed_at=changed,
                attachments=[Attachment(kind="photo", file_id="f", metadata_removed=False) for _ in range(s.attachments)],
            ))  # fmt: skip
            for number in range(s.messages):
                await uow.messages.add(ReportMessage(report_id=s.report, author="officer", body=f"m{number}", language="en"))
            if s.link:
                await uow.reporter_links.add(s.report, keys.seal_chat(7200000 + s.report, s.report))
        await uow.commit()
    async with sessions() as session, session.begin():
        session.add_all(
            [ProcessedUpdate(update_id=update_id, processed_at=now - timedelta(hours=hours_ago))
             for update_id, hours_ago in ((1, 25), (2, 1))]
            # Facts outlive their reports, to FACTS_KEPT_DAYS: report 1's goes, report 5's stays.
            + [ReportFact(report_number=number, received_on=(now - timedelta(days=days_ago)).date(), category="crime",
                          language="en", status="new") for number, days_ago in ((-1, FACTS_KEPT_DAYS + 1), (5, 40))]
        )  # fmt: skip


async def snapshot(sessions: async_sessionmaker[AsyncSession]) -> dict[str, list[int]]:
    async with sessions() as session:
        return {
            "reports": list(await session.scalars(select(Report.id).order_by(Report.id))),
            "links": list(await session.scalars(select(ReporterLink.report_id).order_by(ReporterLink.report_id))),
            "messages of": list(await session.scalars(select(ReportMessage.report_id).order_by(ReportMessage.id))),
            "attachments of": list(await session.scalars(select(Attachment.report_id))),
            "update ids": list(await session.scalars(select(ProcessedUpdate.update_id).order_by(ProcessedUpdate.update_id))),
            "facts of": list(await session.scalars(select(ReportFact.report_number).order_by(ReportFact.report_number))),
        }


AFTER_PURGE = {
    "reports": [2, 3, 4, 6, 7],
    "links": [3, 4],
    "messages of": [2],
    "attachments of": [],
    "update ids": [2],
    "facts of": [5],
}


async def test_the_daily_job_deletes_exactly_what_is_past_retention(tg: FakeTelegram, make_settings, log_records) -> None:
    async for running in start_bot(tg, make_settings(retention_days=RETENTION_DAYS, link_grace_days=LINK_GRACE_DAYS)):
        await seed(running.services.sessions, datetime.now(UTC))
        [job] = running.application.job_queue.get_jobs_by_name("retention")
        assert job.trigger.interval == timedelta(days=1)
        # Not at once: first a minute after start, when the bot already answers.
        assert job.next_t - datetime.now(UTC) > timedelta(seconds=30)

        await job.run(running.application)
        assert await snapshot(running.services.sessions) == AFTER_PURGE
        await job.run(running.application)  # nothing left to delete
        assert await snapshot(running.services.sessions) == AFTER_PURGE
    purged = [r.getMessage() for r in log_records.records if r.getMessage().startswith("purged ")]
    assert purged == [f"purged {EXPECTED.describe()}", f"purged {Purged().describe()}"]
    assert not [r for r in log_records.records if "report 1" in r.getMessage()]


async def test_a_link_goes_the_day_its_grace_ends_and_not_before(tg: FakeTelegram, make_settings) -> None:
    async for running in start_bot(tg, make_settings(retention_days=RETENTION_DAYS, link_grace_days=0)):
        await seed(running.services.sessions, datetime.now(UTC))
        await running.application.job_queue.get_jobs_by_name("retention")[0].run(running.application)
        # With no grace, every closed report's link goes at once; open reports keep theirs.
        assert (await snapshot(running.services.sessions))["links"] == [4]


def write_env(tmp_path: Path, database_url: str) -> Path:
    env = tmp_path / ".env"
    env.write_text(
        f"DATABASE_URL={database_url}\nSECRET_KEY={SECRET_KEY}\n"
        f"RETENTION_DAYS={RETENTION_DAYS}\nLINK_GRACE_DAYS={LINK_GRACE_DAYS}\n"
    )
    return env


@pytest.fixture
async def seeded_database(database_url: str) -> async_sessionmaker[AsyncSession]:
    engine = create_engine(database_url)
    bind_cipher(engine, ColumnKeys(SECRET_KEY))
    await upgrade_to_head(engine)
    await refresh_generation(engine)
    sessions = session_factory(engine)
    await seed(sessions, datetime.now(UTC))
    yield sessions
    await engine.dispose()


async def test_purge_dry_run_counts_what_would_go_and_changes_nothing(
    tmp_path: Path, database_url: str, seeded_database, capsys: pytest.CaptureFixture[str]
) -> None:
    before = await snapshot(seeded_database)
    env = write_env(tmp_path, database_url)

    assert await asyncio.to_thread(main, ["--env-file", str(env), "purge", "--dry-run"]) == 0
    dry_run = capsys.readouterr().out
    assert await snapshot(seeded_database) == before
    assert dry_run.splitlines() == [
        "Would delete (nothing was changed):",
        "  2 report(s) received more than 30 day(s) ago (RETENTION_DAYS), with",
        "    1 attachment(s), 2 dialog message(s) and 2 reporter link(s)",
        "  2 reporter link(s) of reports closed more than 7 day(s) ago (LINK_GRACE_DAYS)",
        "  1 update id(s) older than a day, kept only to answer each update once",
        "  1 report fact(s) received more than 400 days ago, the counts behind /transparency",
        "  0 partner invite(s) made more than 14 days ago, used or not",
    ]

    assert await asyncio.to_thread(main, ["--env-file", str(env), "purge"]) == 0
    done = capsys.readouterr().out
    assert done.splitlines() == ["Deleted:", *dry_run.splitlines()[1:]]
    assert await snapshot(seeded_database) == AFTER_PURGE

    assert await asyncio.to_thread(main, ["--env-file", str(env), "purge", "--dry-run"]) == 0
    assert "  0 report(s) received more than 30 day(s) ago (RETENTION_DAYS), with" in capsys.readouterr().out

    # The purge is an audit event with its counts; the dry runs are not.
    async with seeded_database() as session:
        purges = list(await session.scalars(select(AuditEvent).where(AuditEvent.action == "purge")))
    assert [json.loads(event.detail) for event in purges] == [dataclasses.asdict(EXPECTED)]


async def test_purge_needs_the_secret_key_and_a_sane_grace(
    tmp_path: Path, database_url: str, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    for name in ("SECRET_KEY", "RETENTION_DAYS", "LINK_GRACE_DAYS", "DATABASE_URL"):
        monkeypatch.delenv(name, raising=False)
    env = tmp_path / ".env"
    env.write_text(f"DATABASE_URL={database_url}\nLINK_GRACE_DAYS=-1\n")
    assert main(["--env-file", str(env), "purge"]) == 2
    assert capsys.readouterr().err.splitlines() == [
        "error: SECRET_KEY: is not set (give the bot's own, e.g. --env-file with the bot's .env)",
        "error: LINK_GRACE_DAYS: must be a whole number of days, 0 or more",
    ]

