"""The hash-chained audit log: officers' actions through the running bot, `outreach-bot audit
verify` catching edits, insertions and deletions made with raw SQL, the CSV export, concurrent
appends, and the configuration event of each start; on SQLite and PostgreSQL."""

from __future__ import annotations

import asyncio
import csv
import hashlib
import io
import json
from collections.abc import AsyncIterator, Callable
from pathlib import Path

import pytest
from alembic import command
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from bot.audit import public_configuration
from bot.cli import main
from bot.config import Settings
from bot.crypto import Keys
from storage.database import alembic_config, create_engine, session_factory, upgrade_to_head
from storage.models import AuditEvent
from storage.unit_of_work import UnitOfWork
from tests.conftest import SECRET_KEY, RunningBot, start_bot, user
from tests.fake_telegram import Call, FakeTelegram
from tests.processes import CONFIG_VARS, write_env
from tests.reporting import OFFICER, Reporter, card_of, card_recorded, rows, settled, staff_chat

REPORT_TEXT = "Blue van with plates KX-4471 parks by the community centre every night"
OFFICER_TEXT = "Which entrance of the centre does it park at?"


@pytest.fixture(autouse=True)
def _no_config_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in CONFIG_VARS:
        monkeypatch.delenv(name, raising=False)


@pytest.fixture
def env_file(tmp_path: Path, database_url: str) -> Path:
    return write_env(tmp_path / "audit.env", {"DATABASE_URL": database_url, "SECRET_KEY": SECRET_KEY})


@pytest.fixture
async def engine(database_url: str) -> AsyncIterator[AsyncEngine]:
    engine = create_engine(database_url)
    await upgrade_to_head(engine)
    yield engine
    await engine.dispose()


async def cli(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str]:
    """`outreach-bot ARGV` through main(), in a thread: the command runs its own event loop."""
    code = await asyncio.to_thread(main, list(argv))
    return code, capsys.readouterr().out


async def press(tg: FakeTelegram, card: dict, data: str) -> Call:
    query_id = tg.press_button(OFFICER, card, data, chat=staff_chat(tg))["callback_query"]["id"]
    return await tg.wait_for("answerCallbackQuery", lambda c: c.params["callback_query_id"] == query_id)


def unit_of_work(engine: AsyncEngine, secret_key: str = SECRET_KEY) -> UnitOfWork:
    return UnitOfWork(session_factory(engine), audit_signer=Keys(secret_key).audit_hash)


async def append_events(engine: AsyncEngine, count: int) -> None:
    for number in range(1, count + 1):
        async with unit_of_work(engine) as uow:
            await uow.audit.append("closed", report_id=number, officer_id=880011, officer_name="Dana Reyes")
            await uow.commit()


async def execute(engine: AsyncEngine, statement: str, **values: object) -> None:
    async with engine.begin() as connection:
        await connection.execute(text(statement), values)


# --- officers' actions, end to end ------------------------------------------------------------

async def test_officer_actions_are_chained_verified_and_exported_without_content(
    bot: RunningBot, tg: FakeTelegram, env_file: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    reporter = Reporter(tg, user(7900001, "en", first_name="Zainab", username="zainab_k_1984"))
    await reporter.file(REPORT_TEXT, notify=True)
    card = (await card_of(tg, 1)).result
    await card_recorded(bot.services.sessions, 1)

    assert (await press(tg, card, "staff:ack:1")).params["text"] == "Saved: Acknowledged"
    after = tg.mark()
    tg.send_message(OFFICER, chat=staff_chat(tg), text=OFFICER_TEXT, reply_to_message=card)
    await tg.wait_for_reply(reporter.person.id, after=after)
    await press(tg, card, "staff:block:1")
    await press(tg, card, "staff:unblock:1")
    assert (await press(tg, card, "staff:close:1")).params["text"] == "Saved: Closed"

    events = await settled(bot.services.sessions, AuditEvent, lambda found: len(found) == 6)
    assert [(e.action, e.report_id, e.officer_id, e.officer_name) for e in events[1:]] == [
        ("acknowledged", 1, OFFICER.id, "Dana Reyes"), ("officer_message", 1, OFFICER.id, "Dana Reyes"),
        ("block_sender", None, OFFICER.id, "Dana Reyes"), ("unblock_sender", None, OFFICER.id, "Dana Reyes"),
        ("closed", 1, OFFICER.id, "Dana Reyes"),
    ]  # fmt: skip
    assert events[0].action == "config_started"

    code, out = await cli(capsys, "--env-file", str(env_file), "audit", "verify")
    assert code == 0
    assert out.startswith("The audit log is intact: 6 event(s). The newest, #6 of ")
    assert events[-1].hash in out

    export = tmp_path / "board.csv"
    code, out = await cli(capsys, "--env-file", str(env_file), "audit", "export", "--output", str(export))
    assert (code, out) == (0, f"Wrote 6 audit event(s) to {export}.\n")
    raw = export.read_bytes()
    for secret in (REPORT_TEXT, "KX-4471", OFFICER_TEXT, "Zainab", "zainab_k_1984", "7900001", SECRET_KEY, tg.token):
        assert secret.encode() not in raw
    table = list(csv.DictReader(io.StringIO(raw.decode())))
    assert [row["action"] for row in table] == [e.action for e in events]
    assert table[-1] | {"time": ""} == {
        "id": "6", "time": "", "action": "closed", "report": "1", "officer": "Dana Reyes",
        "officer_id": str(OFFICER.id), "detail": "", "prev_hash": events[-2].hash, "hash": events[-1].hash,
    }  # fmt: skip

    code, out = await cli(capsys, "--env-file", str(env_file), "audit", "export")
    assert (code, out.replace("\r\n", "\n")) == (0, raw.decode().replace("\r\n", "\n"))


# --- tampering with raw SQL ------------------------------------------------------------------

@pytest.mark.parametrize(
    ("tamper", "alert"),
    [
        ("UPDATE audit_events SET action = 'acknowledged' WHERE id = 3",
         "event #3 was edited: its hash does not match its content"),
        ("UPDATE audit_events SET detail = 'nothing happened' WHERE id = 4",
         "event #4 was edited: its hash does not match its content"),
        ("UPDATE audit_events SET officer_name = 'Someone Else' WHERE id = 5",
         "event #5 was edited: its hash does not match its content"),
        ("DELETE FROM audit_events WHERE id = 3", "events were deleted between event #2 and event #4"),
        ("DELETE FROM audit_events WHERE id IN (1, 2)", "events were deleted between the start of the chain and event #3"),
    ],  # fmt: skip
    ids=["action", "detail", "officer", "middle-deleted", "first-deleted"],
)
async def test_verify_names_the_event_that_was_tampered_with(
    engine: AsyncEngine, env_file: Path, capsys: pytest.CaptureFixture[str], tamper: str, alert: str
) -> None:
    await append_events(engine, 5)
    code, out = await cli(capsys, "--env-file", str(env_file), "audit", "verify")
    assert code == 0 and "intact: 5 event(s)" in out

    await execute(engine, tamper)
    code, out = await cli(capsys, "--env-file", str(env_file), "audit", "verify")
    assert (code, out) == (1, f"ALERT: the audit log was tampered with: {alert}.\n")


async def test_verify_with_another_secret_key_says_so(
    engine: AsyncEngine, database_url: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    await append_events(engine, 3)
    other_key = write_env(tmp_path / "other.env", {"DATABASE_URL": database_url, "SECRET_KEY": "b" * 40})
    code, out = await cli(capsys, "--env-file", str(other_key), "audit", "verify")
    assert (code, out) == (1, "ALERT: no event of the audit log checks out with this SECRET_KEY. Is it the key the "
                              "bot runs with? If it is, every event was tampered with.\n")  # fmt: skip


async def test_an_event_inserted_into_a_gap_of_ids_is_named(
    database_url: str, engine: AsyncEngine, env_file: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    if database_url.startswith("sqlite"):
        pytest.skip("SQLite gives a rolled-back id out again: its ids have no gap to insert into")
    await append_events(engine, 2)
    async with unit_of_work(engine) as uow:  # rolled back: PostgreSQL's sequence skips its id
        await uow.audit.append("spam", report_id=7)
    await append_events(engine, 2)
    code, out = await cli(capsys, "--env-file", str(env_file), "audit", "verify")
    assert code == 0 and "intact: 4 event(s)" in out

    await execute(
        engine,
        "INSERT INTO audit_events (id, at, action, report_id, officer_id, officer_name, prev_hash, hash) "
        "SELECT 3, at, 'closed', 7, 1, 'Forger', hash, :forged FROM audit_events WHERE id = 2",
        forged="f" * 64,
    )
    code, out = await cli(capsys, "--env-file", str(env_file), "audit", "verify")
    assert (code, out) == (1, "ALERT: the audit log was tampered with: event #3 was inserted: the chain runs past it.\n")


async def test_an_edit_rehashed_without_the_secret_key_is_caught(
    engine: AsyncEngine, env_file: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Someone with write access re-forges the chain from the edit on, with a key of their own."""
    await append_events(engine, 4)
    async with unit_of_work(engine) as uow:
        events = await uow.audit.page(0, 100)
        forged = Keys("a" * 40).audit_hash
        previous = events[1].hash
        for event in events[2:]:
            event.officer_name = "Someone Else" if event.id == 3 else event.officer_name
            event.prev_hash, event.hash = previous, forged(event.signed_content())
            previous = event.hash
        await uow.commit()
    code, out = await cli(capsys, "--env-file", str(env_file), "audit", "verify")
    assert (code, out) == (1, "ALERT: the audit log was tampered with: event #3 was edited: its hash does not match its content.\n")


# --- concurrency ------------------------------------------------------------------------------

async def test_concurrent_appends_from_two_processes_keep_one_chain(
    database_url: str, engine: AsyncEngine, env_file: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Two engines stand for two processes (the bot and a CLI purge), each with many units of work."""
    other_process = create_engine(database_url)

    async def append(on: AsyncEngine, number: int) -> None:
        async with unit_of_work(on) as uow:
            await uow.audit.append("acknowledged", report_id=number, officer_id=number, officer_name="Officer")
            await uow.commit()

    try:
        await asyncio.gather(*(append(engine if n % 2 else other_process, n) for n in range(1, 41)))
    finally:
        await other_process.dispose()

    async with unit_of_work(engine) as uow:
        events = await uow.audit.page(0, 100)
        assert sorted(e.report_id for e in events) == list(range(1, 41))
        assert len({e.prev_hash for e in events}) == 40  # no two events claim the same predecessor
    code, out = await cli(capsys, "--env-file", str(env_file), "audit", "verify")
    assert code == 0 and "intact: 40 event(s)" in out


# --- configuration at start-up -----------------------------------------------------------------

async def test_configuration_is_recorded_at_first_start_and_again_only_when_it_changed(
    tg: FakeTelegram, make_settings: Callable[..., Settings], env_file: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    async def start(settings: Settings) -> list[AuditEvent]:
        """Start the bot, read the audit log, stop it."""
        running = start_bot(tg, settings)
        try:
            return await rows((await anext(running)).services.sessions, AuditEvent)
        finally:
            await running.aclose()

    [started] = await start(make_settings())
    assert started.action == "config_started" and started.officer_id is None and started.report_id is None
    recorded = json.loads(started.detail)
    assert (recorded["RETENTION_DAYS"], recorded["AGENCY_NAME"], recorded["STAFF_CHAT_ID"]) == (
        90, "Springfield Police Department", -1001234567890)
    assert not {"TELEGRAM_BOT_TOKEN", "SECRET_KEY"} & recorded.keys()
    assert tg.token not in started.detail and SECRET_KEY not in started.detail

    assert [e.id for e in await start(make_settings())] == [started.id]  # same configuration: nothing new
    *_, changed = await start(make_settings(retention_days=30, agency_name="Shelbyville PD"))
    assert changed.action == "config_changed"
    assert json.loads(changed.detail) == {"AGENCY_NAME": ["Springfield Police Department", "Shelbyville PD"],
                                          "RETENTION_DAYS": [90, 30]}  # fmt: skip
    assert len(await start(make_settings(retention_days=30, agency_name="Shelbyville PD"))) == 2

    code, out = await cli(capsys, "--env-file", str(env_file), "audit", "verify")
    assert code == 0 and "intact: 2 event(s)" in out


def test_the_database_password_never_reaches_the_audit_log(tmp_path: Path) -> None:
    settings = Settings(
        _env_file=None, telegram_bot_token="123456789:AAH" + "x" * 32, staff_chat_id=-100123,
        secret_key=SECRET_KEY, database_url="postgresql://bot:hunter2-secret@db.example/outreach",
    )  # type: ignore[call-arg]  # fmt: skip
    public = json.dumps(public_configuration(settings))
    assert "hunter2-secret" not in public and "db.example/outreach" in public


# --- the migration ----------------------------------------------------------------------------

async def test_events_from_before_the_chain_outlive_their_report_and_are_counted(
    database_url: str, env_file: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    engine = create_engine(database_url)
    try:
        def to_0005(connection) -> None:  # noqa: ANN001
            config = alembic_config()
            config.attributes["connection"] = connection
            command.upgrade(config, "0005")

        async with engine.begin() as connection:
            await connection.run_sync(to_0005)
        await execute(
            engine,
            "INSERT INTO reports (id, category, urgent, language, body, location_exact, status, receipt_hash, "
            "received_at, translation_status, translation_pivot) VALUES (1, 'crime', false, 'en', 'x', false, "
            "'closed', :receipt, CURRENT_TIMESTAMP, 'done', false)",
            receipt="r" * 64,
        )
        await execute(engine, "INSERT INTO audit_events (report_id, action, officer_id, officer_name) "
                              "VALUES (1, 'closed', 880011, 'Dana Reyes')")
        await upgrade_to_head(engine)
        await execute(engine, "DELETE FROM reports")  # retention: the event stays
        await append_events(engine, 1)
        async with unit_of_work(engine) as uow:
            old, new = await uow.audit.page(0, 10)
            assert (old.action, old.hash, new.prev_hash) == ("closed", None, "0" * 64)
    finally:
        await engine.dispose()
    code, out = await cli(capsys, "--env-file", str(env_file), "audit", "verify")
    assert code == 0
    assert out.splitlines()[0].startswith("The audit log is intact: 1 event(s).")
    assert out.splitlines()[-1] == "1 event(s) from before the chain existed cannot be checked."


def test_the_chain_key_is_derived_from_the_secret_key() -> None:
    content = b'["0",1]'
    assert Keys(SECRET_KEY).audit_hash(content) != hashlib.sha256(content).hexdigest()
    assert Keys(SECRET_KEY).audit_hash(content) != Keys("b" * 40).audit_hash(content)
