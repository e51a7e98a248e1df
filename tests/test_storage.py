"""Migrations, repositories and the unit of work, on SQLite and on PostgreSQL."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from alembic.script import ScriptDirectory
from sqlalchemy import inspect, text
from sqlalchemy.ext.asyncio import AsyncEngine

from bot.crypto import ColumnKeys
from storage.database import alembic_config, create_engine, session_factory, upgrade_to_head
from storage.encryption import bind_cipher
from storage.unit_of_work import UnitOfWork

PSEUDONYM = "a" * 64


@pytest.fixture
async def engine(database_url: str) -> AsyncIterator[AsyncEngine]:
    engine = create_engine(database_url)
    bind_cipher(engine, ColumnKeys("s" * 40))
    yield engine
    await engine.dispose()


async def test_upgrade_head_from_empty_creates_the_schema(engine: AsyncEngine) -> None:
    async with engine.connect() as connection:
        assert await connection.run_sync(lambda c: inspect(c).get_table_names()) == []
    await upgrade_to_head(engine)
    await upgrade_to_head(engine)  # at every start: a second run changes nothing
    head = ScriptDirectory.from_config(alembic_config()).get_current_head()
    async with engine.connect() as connection:
        tables = set(await connection.run_sync(lambda c: inspect(c).get_table_names()))
        version = (await connection.execute(text("SELECT version_num FROM alembic_version"))).scalar_one()
        columns = await connection.run_sync(lambda c: {col["name"] for col in inspect(c).get_columns("preferences")})
    assert tables == {"alembic_version", "preferences", "reports", "attachments", "reporter_links", "outbox",
                      "audit_events", "report_messages", "key_generations", "blocked_senders", "processed_updates",
                      "report_facts", "partner_invites", "partners"}
    assert version == head
    assert columns == {"pseudonym", "locale", "notice_accepted", "updated_at"}


async def test_migrations_match_the_models(engine: AsyncEngine) -> None:
    from alembic.autogenerate import compare_metadata
    from alembic.migration import MigrationContext

    from storage.models import Base

    await upgrade_to_head(engine)
    async with engine.connect() as connection:
        differences = await connection.run_sync(
            lambda c: compare_metadata(MigrationContext.configure(c), Base.metadata)
        )
    assert differences == []


async def test_preferences_round_trip(engine: AsyncEngine) -> None:
    await upgrade_to_head(engine)
    sessions = session_factory(engine)
    async with UnitOfWork(sessions) as uow:
        assert await uow.preferences.locale_of(PSEUDONYM) is None
        await uow.preferences.set_locale(PSEUDONYM, "ar")
        await uow.commit()
    async with UnitOfWork(sessions) as uow:
        await uow.preferences.set_locale(PSEUDONYM, "es")
        await uow.commit()
    async with UnitOfWork(sessions) as uow:
        assert await uow.preferences.locale_of(PSEUDONYM) == "es"


async def test_leaving_without_commit_rolls_back(engine: AsyncEngine) -> None:
    await upgrade_to_head(engine)
    sessions = session_factory(engine)
    async with UnitOfWork(sessions) as uow:
        await uow.preferences.set_locale(PSEUDONYM, "ar")
    with pytest.raises(RuntimeError):
        async with UnitOfWork(sessions) as uow:
            await uow.preferences.set_locale(PSEUDONYM, "es")
            raise RuntimeError("handler failed before commit")
    async with UnitOfWork(sessions) as uow:
        assert await uow.preferences.locale_of(PSEUDONYM) is None


def test_storage_never_imports_telegram() -> None:
    from pathlib import Path

    import storage

    sources = [p.read_text() for p in Path(storage.__file__).parent.rglob("*.py")]
    assert sources and not any("import telegram" in s or "from telegram" in s for s in sources)


async def test_retention_deletes_old_reports_with_everything_attached(engine: AsyncEngine) -> None:
    from datetime import UTC, datetime, timedelta

    from sqlalchemy import func, select

    from bot.retention import Retention, purge
    from storage.models import Attachment, AuditEvent, OutboxMessage, Report, ReporterLink

    await upgrade_to_head(engine)
    sessions = session_factory(engine)
    now = datetime.now(UTC)
    async with UnitOfWork(sessions, audit_signer=lambda content: "h" * 64) as uow:
        for days, receipt in ((91, "old"), (89, "recent")):
            report = await uow.reports.add(Report(
                category="crime", urgent=False, language="en", body=receipt, status="new", location_exact=False,
                receipt_hash=receipt.ljust(64, "0"), received_at=now - timedelta(days=days),
                attachments=[Attachment(kind="photo", file_id="f", metadata_removed=False)],
            ))  # fmt: skip
            await uow.reporter_links.add(report.id, b"sealed")
            uow.outbox.add(OutboxMessage(kind="card", report_id=report.id, priority=1, payload={}, attempts=0))
            await uow.audit.append("acknowledged", report_id=report.id, officer_id=1, officer_name="Officer")
        await uow.commit()

    purged = await purge(lambda: UnitOfWork(sessions, audit_signer=lambda content: "h" * 64), Retention(90, 7))
    assert purged.reports == 1

    async with sessions() as session:
        assert list(await session.scalars(select(Report.body))) == ["recent"]
        for model in (Attachment, ReporterLink, OutboxMessage):
            assert await session.scalar(select(func.count()).select_from(model)) == 1, model.__name__
        # The audit log outlives reports, and records the purge itself.
        actions = list(await session.scalars(select(AuditEvent.action).order_by(AuditEvent.id)))
        assert actions == ["acknowledged", "acknowledged", "purge"]


async def test_a_commit_that_added_rows_of_a_model_runs_its_callback_once(engine: AsyncEngine) -> None:
    """Delivery is woken by the commit itself, never by a caller remembering to."""
    from datetime import UTC, datetime

    from storage.models import OutboxMessage, Preference, Report

    await upgrade_to_head(engine)
    sessions = session_factory(engine)
    woken: list[str] = []
    on_commit = {OutboxMessage: lambda: woken.append("delivery"), Report: lambda: woken.append("translation")}

    async with UnitOfWork(sessions, on_commit) as uow:
        await uow.preferences.set_locale(PSEUDONYM, "es")
        await uow.commit()
    assert woken == []  # a preference is nobody's work

    async with UnitOfWork(sessions, on_commit) as uow:
        report = await uow.reports.add(Report(
            category="crime", urgent=False, language="en", body="x", status="new", location_exact=False,
            receipt_hash="r" * 64, received_at=datetime.now(UTC),
        ))  # fmt: skip
        uow.outbox.add(OutboxMessage(kind="card", report_id=report.id, priority=1, payload={}, attempts=0))
        assert woken == []  # flushed, not yet committed
        await uow.commit()
        assert sorted(woken) == ["delivery", "translation"]
        await uow.commit()  # nothing new: nobody woken again
    assert sorted(woken) == ["delivery", "translation"]

    async with UnitOfWork(sessions, on_commit) as uow:  # rolled back: nothing to wake for
        uow.outbox.add(OutboxMessage(kind="card", report_id=report.id, priority=1, payload={}, attempts=0))
    async with sessions() as session:
        assert await session.get(Preference, PSEUDONYM) is not None
    assert sorted(woken) == ["delivery", "translation"]
