"""Encryption at rest: what a database file or dump shows, key rotation while reports flow, the
reporter link's binding to its report, the migration of plaintext rows, and `keys` on the CLI."""

from __future__ import annotations

import asyncio
import csv
import io
import json
import struct
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from alembic import command
from cryptography.exceptions import InvalidTag
from sqlalchemy import Connection, text
from sqlalchemy.ext.asyncio import AsyncEngine

from bot.cli import main
from bot.crypto import ColumnKeys, Keys
from storage.database import alembic_config, create_engine, session_factory, upgrade_to_head
from storage.encryption import bind_cipher
from storage.key_rotation import encrypted_columns, rotate_keys
from storage.models import Attachment, OutboxMessage, Report, ReporterLink, ReportMessage
from storage.unit_of_work import UnitOfWork
from tests.conftest import SECRET_KEY, STAFF_CHAT_ID, RunningBot, database_bytes, start_bot, user
from tests.fake_telegram import FakeTelegram
from tests.processes import CONFIG_VARS, write_env
from tests.reporting import OFFICER, Reporter, buttons, card_of, card_recorded, rows, settled, staff_chat

# Every column that holds what a person wrote or sent, named here rather than taken from the code,
# so the raw checks below do not trust what they check.
CONTENT_COLUMNS = {
    "reports": ("id", ["body", "place", "occurred", "translation", "latitude", "longitude", "sender"]),
    "attachments": ("id", ["file_id", "file_name", "cleaned_content"]),
    "report_messages": ("id", ["body", "translation"]),
    "reporter_links": ("report_id", ["sealed_chat"]),
}

WORDS = {
    "en": "A man sells stolen phones from a grey van behind the bakery",
    "ar": "رجل يبيع هواتف مسروقة من شاحنة رمادية خلف المخبز",
}


def officer_replies(tg: FakeTelegram, to: dict, message: str) -> None:
    tg.send_message(OFFICER, chat=staff_chat(tg), text=message, reply_to_message=to)


async def raw_values(engine: AsyncEngine) -> dict[tuple[str, str], list[str | bytes]]:
    """Every non-null value of the content columns, as the database holds it."""
    found: dict[tuple[str, str], list[str | bytes]] = {}
    async with engine.connect() as connection:
        for table, (_key, columns) in CONTENT_COLUMNS.items():
            for column in columns:
                result = await connection.execute(text(f"SELECT {column} FROM {table} WHERE {column} IS NOT NULL"))
                found[(table, column)] = [value for (value,) in result]
    return found


def generation_of(value: str | bytes) -> int:
    prefix = (value.encode() if isinstance(value, str) else bytes(value)).split(b":", 1)[0]
    assert prefix.startswith(b"g") and prefix[1:].isdigit(), f"not sealed: {value[:20]!r}"
    return int(prefix[1:])


def coordinate_forms(value: float) -> list[bytes]:
    """A coordinate as text (pg_dump) and as SQLite and PostgreSQL store a double."""
    return [repr(value).encode(), struct.pack(">d", value), struct.pack("<d", value)]


def test_the_content_columns_are_the_encrypted_ones() -> None:
    encrypted = {(table.name, column.name) for table, columns in encrypted_columns() for column in columns}
    assert {(table, column) for table, (_key, columns) in CONTENT_COLUMNS.items() for column in columns} <= encrypted


# --- what the database shows ------------------------------------------------------------------

@pytest.mark.parametrize("language", ["en", "ar"])
async def test_the_database_holds_none_of_a_reports_content(
    bot: RunningBot, tg: FakeTelegram, database_url: str, language: str
) -> None:
    body, place, when = WORDS[language], "Behind the Qx laundromat on Elm", "Last Tuesday at dusk, Qx"
    file_id, file_name = "BQACAgQx-distinct-file-id", "Qx-ledger-of-payments.pdf"
    question, answer = "Officer asks: which plate, Qx?", "Reporter says: the plate ends in Qx42"
    reporter = Reporter(tg, user(8100001, language))

    await reporter.press(await reporter.start(), "report:cat:crime")
    await reporter.send(document={"file_id": file_id, "file_unique_id": "qx", "file_name": file_name,
                                  "mime_type": "application/pdf", "file_size": 900})  # fmt: skip
    await reporter.press(await reporter.say(body), "report:next")
    await reporter.say(place)
    review = await reporter.say(when)
    await reporter.press(await reporter.press(review, "report:send"), "report:notify:yes")

    card = await card_of(tg, 1)
    await card_recorded(bot.services.sessions, 1)
    after = tg.mark()
    officer_replies(tg, card.result, question)
    to_reporter = await tg.wait_for_reply(reporter.person.id, after=after)
    ans = next(data for data in buttons(to_reporter.result) if data.startswith("ans:"))
    await reporter.press(to_reporter, ans)
    await reporter.say(answer)
    await settled(bot.services.sessions, ReportMessage, lambda found: len(found) == 2 and all(m.delivered_at for m in found))
    await settled(bot.services.sessions, OutboxMessage, lambda found: all(m.done_at for m in found))

    # Officers see it all, so the bot reads back what it stored.
    staff_texts = "\n".join(tg.texts(STAFF_CHAT_ID))
    assert body in card.params["text"] and place in card.params["text"] and when in card.params["text"]
    assert answer in staff_texts
    document = await tg.wait_for("sendDocument", lambda c: c.params["chat_id"] == STAFF_CHAT_ID)
    assert document.params["document"] == file_id

    stored = await database_bytes(database_url)
    assert b"reporter_notice" in stored or b"to_staff" in stored  # the scan reads real rows
    for secret in (body, place, when, file_id, file_name, question, answer, str(reporter.person.id)):
        assert secret.encode() not in stored, f"{secret!r} is readable in the database"


async def test_coordinates_are_not_stored_in_the_clear(bot: RunningBot, tg: FakeTelegram, database_url: str) -> None:
    latitude, longitude = 41.878114, -87.629798
    reporter = Reporter(tg, user(8100002, "en"))
    await reporter.press(await reporter.start(), "report:cat:safety")
    await reporter.press(await reporter.say("Broken traffic light"), "report:next")
    precision = await reporter.send(location={"latitude": latitude, "longitude": longitude})
    review = await reporter.press(await reporter.press(precision, "report:loc:exact"), "report:when:now")
    await reporter.press(await reporter.press(review, "report:send"), "report:notify:no")
    card = await card_of(tg, 1)
    assert "mlat=41.87811&mlon=-87.62980" in card.params["text"]

    stored = await database_bytes(database_url)
    for form in coordinate_forms(latitude) + coordinate_forms(longitude):
        assert form not in stored
    [report] = await rows(bot.services.sessions, Report)
    assert (report.latitude, report.longitude) == (latitude, longitude)


# --- key rotation -----------------------------------------------------------------------------

async def test_keys_rotate_while_reports_flow(
    tg: FakeTelegram, make_settings, database_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The bot looks for a new generation every 0.2 s instead of 30, so rotation may settle in 1 s.
    monkeypatch.setattr("bot.application.REFRESH_EVERY", timedelta(seconds=0.2))
    people = [user(8200000 + n, "ar" if n % 2 else "en") for n in range(6)]
    texts = {person.id: [f"Report {k} of person {person.id}" for k in range(3)] for person in people}

    async for bot in start_bot(tg, make_settings()):
        # Before the rotation: one report with a link that the rotation must carry over.
        early = Reporter(tg, people[0])
        await early.file(texts[people[0].id][0], notify=True)
        await card_recorded(bot.services.sessions, 1)

        # Another process rotates, with its own engine, while everyone keeps reporting.
        rotating = create_engine(database_url)
        bind_cipher(rotating, ColumnKeys(SECRET_KEY))

        async def keep_reporting(person) -> None:  # noqa: ANN001
            for body in texts[person.id]:
                if body != texts[people[0].id][0]:
                    await Reporter(tg, person).file(body, place=f"Street of {body}")

        try:
            rotation, *_ = await asyncio.gather(
                rotate_keys(rotating, settle=timedelta(seconds=1), batch_size=3),
                *(keep_reporting(person) for person in people),
            )
        finally:
            await rotating.dispose()
        total = sum(len(bodies) for bodies in texts.values())
        await settled(bot.services.sessions, OutboxMessage,
                      lambda found, total=total: len({m.report_id for m in found}) == total and all(m.done_at for m in found),
                      timeout=30)  # fmt: skip

        assert rotation.generation == 2 and rotation.retired == [1] and rotation.resealed > 0
        # Every report reached the staff chat exactly once.
        cards = [c for c in tg.calls_to("sendMessage") if c.params["chat_id"] == STAFF_CHAT_ID and not c.failed
                 and c.params["text"].startswith("<b>Report #")]  # fmt: skip
        assert sorted(int(c.params["text"].split("#")[1].split(":")[0]) for c in cards) == list(range(1, total + 1))
        # Every stored value is under the new generation, as the raw bytes say.
        values = await raw_values(bot.services.engine)
        assert values[("reports", "body")] and values[("reporter_links", "sealed_chat")]
        assert {generation_of(v) for found in values.values() for v in found} == {2}
        # And all of it opens.
        reports = await rows(bot.services.sessions, Report)
        assert sorted(r.body for r in reports) == sorted(body for bodies in texts.values() for body in bodies)

        # The link sealed before the rotation still reaches its reporter.
        card = await card_of(tg, 1)
        after = tg.mark()
        officer_replies(tg, card.result, "Thank you, we are looking into it.")
        reached = await tg.wait_for_reply(people[0].id, after=after)
        assert "Thank you, we are looking into it." in reached.params["text"]

        # A report after the rotation is sealed under the new generation by the running bot.
        await Reporter(tg, user(8209999, "en")).file("After the rotation")
        await card_recorded(bot.services.sessions, total + 1)
        async with bot.services.engine.connect() as connection:
            newest = await connection.scalar(text(f"SELECT body FROM reports WHERE id = {total + 1}"))
        assert generation_of(newest) == 2


async def test_a_link_moved_to_another_report_does_not_open(bot: RunningBot, tg: FakeTelegram) -> None:
    for n in range(2):
        await Reporter(tg, user(8300001 + n, "en")).file(f"Report {n}", notify=True)
    await settled(bot.services.sessions, ReporterLink, lambda found: len(found) == 2)
    async with bot.services.engine.begin() as connection:
        await connection.execute(text(
            "UPDATE reporter_links SET sealed_chat = (SELECT sealed_chat FROM reporter_links WHERE report_id = 1)"
            " WHERE report_id = 2"
        ))  # fmt: skip

    async with bot.services.unit_of_work() as uow:
        moved = await uow.reporter_links.sealed_chat(2)
    with pytest.raises(InvalidTag):
        bot.services.keys.unseal_chat(moved, 2)
    assert bot.services.keys.unseal_chat(moved, 1) == 8300001


# --- the migration ----------------------------------------------------------------------------

def _upgrade_to(connection: Connection, revision: str) -> None:
    config = alembic_config()
    config.attributes["connection"] = connection
    command.upgrade(config, revision)


def _downgrade_to(connection: Connection, revision: str) -> None:
    config = alembic_config()
    config.attributes["connection"] = connection
    command.downgrade(config, revision)


async def test_the_migration_encrypts_rows_stored_in_the_clear(database_url: str) -> None:
    engine = create_engine(database_url)
    bind_cipher(engine, ColumnKeys(SECRET_KEY))
    keys = Keys(SECRET_KEY)
    body, file_name, message = "Plaintext body from before Qx", "Qx-old-photo-name.jpg", "Officer note Qx before"
    latitude = 41.878114
    try:
        async with engine.begin() as connection:
            await connection.run_sync(_upgrade_to, "0004")
            await connection.execute(
                text("INSERT INTO reports (id, category, urgent, language, body, latitude, longitude, location_exact,"
                     " status, receipt_hash, received_at, translation_status, translation_pivot)"
                     " VALUES (1, 'crime', false, 'en', :body, :latitude, -87.6, true, 'new', 'r', :at, 'done', false)"),
                {"body": body, "latitude": latitude, "at": datetime.now(UTC)},
            )  # fmt: skip
            await connection.execute(text(
                "INSERT INTO attachments (report_id, kind, file_id, file_name, cleaned_content, metadata_removed)"
                " VALUES (1, 'document', 'old-file-id-Qx', :name, :content, true)"),
                {"name": file_name, "content": b"JPEG bytes Qx"},
            )  # fmt: skip
            await connection.execute(text(
                "INSERT INTO report_messages (report_id, author, body, language, translation_status, translation_pivot)"
                " VALUES (1, 'officer', :body, 'en', 'done', false)"), {"body": message},
            )  # fmt: skip
            await connection.execute(text("INSERT INTO reporter_links (report_id, sealed_chat) VALUES (1, :sealed)"),
                                     {"sealed": keys.seal_chat(7319046521, 1)})  # fmt: skip
        assert body.encode() in await database_bytes(database_url)  # the scan would see it

        await upgrade_to_head(engine)

        stored = await database_bytes(database_url)
        for secret in (body, file_name, message, "old-file-id-Qx", "JPEG bytes Qx"):
            assert secret.encode() not in stored
        for form in coordinate_forms(latitude):
            assert form not in stored
        assert {generation_of(v) for found in (await raw_values(engine)).values() for v in found} == {1}
        async with UnitOfWork(session_factory(engine)) as uow:
            report = await uow.reports.get(1)
            assert (report.body, report.latitude, report.longitude) == (body, latitude, -87.6)
            [attachment] = report.attachments
            assert (attachment.file_name, attachment.cleaned_content) == (file_name, b"JPEG bytes Qx")
            assert keys.unseal_chat(await uow.reporter_links.sealed_chat(1), 1) == 7319046521

        # And back: every row is there again in the clear; no table rebuild cascaded a delete.
        async with engine.begin() as connection:
            await connection.run_sync(_downgrade_to, "0004")
            counts = [(await connection.execute(text(f"SELECT count(*) FROM {table}"))).scalar_one()
                      for table in ("reports", "attachments", "report_messages", "reporter_links")]  # fmt: skip
            assert counts == [1, 1, 1, 1]
            assert (await connection.execute(text("SELECT body FROM reports"))).scalar_one() == body
            assert (await connection.execute(text("SELECT body FROM report_messages"))).scalar_one() == message
    finally:
        await engine.dispose()


# --- the command line ---------------------------------------------------------------------------

@pytest.fixture
def _no_config_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in CONFIG_VARS:
        monkeypatch.delenv(name, raising=False)


@pytest.mark.usefixtures("_no_config_from_the_environment")
def test_keys_rotate_and_status_on_the_command_line(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    database_url = f"sqlite+aiosqlite:///{tmp_path / 'outreach.db'}"
    env_file = write_env(tmp_path / ".env", {"DATABASE_URL": database_url, "SECRET_KEY": SECRET_KEY})
    assert main(["--env-file", str(env_file), "db", "upgrade"]) == 0

    async def add_report() -> None:
        engine = create_engine(database_url)
        bind_cipher(engine, ColumnKeys(SECRET_KEY))
        async with UnitOfWork(session_factory(engine)) as uow:
            await uow.reports.add(Report(category="crime", urgent=False, language="en", body="Body", place="Place",
                                         status="new", receipt_hash="r", received_at=datetime.now(UTC),
                                         attachments=[Attachment(kind="photo", file_id="f")]))  # fmt: skip
            await uow.commit()
        await engine.dispose()

    asyncio.run(add_report())
    capsys.readouterr()

    assert main(["--env-file", str(env_file), "keys", "status"]) == 0
    assert capsys.readouterr().out == "Key generation 1 is current; 0 value(s) are under older ones.\n"
    assert main(["--env-file", str(env_file), "keys", "rotate", "--settle", "0"]) == 0
    out = capsys.readouterr().out.splitlines()
    assert out[-1] == "Key generation 2 is current: 3 value(s) re-encrypted in 2 pass(es). Retired generations: 1."
    assert main(["--env-file", str(env_file), "keys", "status"]) == 0
    assert capsys.readouterr().out == "Key generation 2 is current; 0 value(s) are under older ones.\n"

    # The rotation is an audit event, in the chain, with counts only.
    assert main(["--env-file", str(env_file), "audit", "export"]) == 0
    [rotation] = [row for row in csv.DictReader(io.StringIO(capsys.readouterr().out)) if row["action"] == "key_rotation"]
    assert json.loads(rotation["detail"]) == {"generation": 2, "resealed": 3, "retired": [1]}
    assert main(["--env-file", str(env_file), "audit", "verify"]) == 0


@pytest.mark.usefixtures("_no_config_from_the_environment")
def test_keys_rotate_without_a_secret_key_is_one_line(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    env_file = write_env(tmp_path / ".env", {"DATABASE_URL": f"sqlite+aiosqlite:///{tmp_path / 'outreach.db'}"})

    assert main(["--env-file", str(env_file), "keys", "rotate", "--settle", "0"]) == 2

    [line] = capsys.readouterr().err.splitlines()
    assert line.startswith("error: SECRET_KEY: is not set")
