"""PostgreSQL drops the bot's connections (a restart, a failover, an admin's pg_terminate_backend)
while people submit reports: nothing submitted is lost, whoever's commit failed is asked to try
again, and the bot goes on without a restart."""

from __future__ import annotations

import asyncio
import contextlib
import re
from collections import Counter
from collections.abc import AsyncIterator

import asyncpg
import pytest
from sqlalchemy.engine import make_url

from storage.models import OutboxMessage, Report
from tests.conftest import STAFF_CHAT_ID, RunningBot, user
from tests.fake_telegram import Call, FakeTelegram
from tests.reporting import CODE, Reporter, rows, settled

TRY_AGAIN = "Sorry, something went wrong on our side. Please try again in a moment."
CARD = re.compile(r"Report #(\d+):")
pytestmark = pytest.mark.parametrize("database_url", ["postgresql"], indirect=True)


@pytest.fixture
async def admin(database_url: str) -> AsyncIterator[asyncpg.Connection]:
    """A connection of the test's own, as a database administrator's would be."""
    url = make_url(database_url).set(drivername="postgresql")
    connection = await asyncpg.connect(url.render_as_string(hide_password=False))
    yield connection
    await connection.close()


async def terminate_the_bots_connections(admin: asyncpg.Connection) -> int:
    return await admin.fetchval(
        "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity"
        " WHERE datname = current_database() AND pid <> pg_backend_pid()"
    )


async def cut_the_connection_waiting_on_a_lock(admin: asyncpg.Connection) -> None:
    """Once one of the bot's connections waits on a lock the test holds, cut every one of them."""
    async with asyncio.timeout(10):
        while not await admin.fetchval(
            "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() AND wait_event_type = 'Lock'"
        ):
            await asyncio.sleep(0.02)
    assert await terminate_the_bots_connections(admin) >= 1


class PatientReporter(Reporter):
    """A reporter who, told to try again, does the same again; counts how often that was."""

    tries_again = 0

    async def press(self, reply: Call, data: str) -> Call:
        return await self._until_accepted(lambda: Reporter.press(self, reply, data))

    async def say(self, text: str) -> Call:
        return await self._until_accepted(lambda: Reporter.say(self, text))

    async def _until_accepted(self, step) -> Call:  # noqa: ANN001
        while TRY_AGAIN in (answer := await step()).params.get("text", ""):
            self.tries_again += 1
        return answer


def cards(tg: FakeTelegram) -> Counter[int]:
    return Counter(
        int(match.group(1))
        for call in tg.calls_to("sendMessage")
        if not call.failed and call.params["chat_id"] == STAFF_CHAT_ID and (match := CARD.search(call.params["text"]))
    )


async def test_reports_survive_postgresql_dropping_every_connection_again_and_again(
    bot: RunningBot, tg: FakeTelegram, admin: asyncpg.Connection
) -> None:
    reporters = [PatientReporter(tg, user(7500000 + n)) for n in range(12)]
    terminated = 0

    async def drop_connections_until_cancelled() -> None:
        nonlocal terminated
        while True:
            terminated += await terminate_the_bots_connections(admin)
            await asyncio.sleep(0.1)

    dropping = asyncio.create_task(drop_connections_until_cancelled())
    try:
        filed = await asyncio.gather(*(r.file(f"Incident {n} on Main Street") for n, r in enumerate(reporters)))
    finally:
        dropping.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await dropping

    codes = [code for code, _ in filed]
    stored = await settled(bot.services.sessions, OutboxMessage, lambda found: found and all(m.done_at for m in found), 30)
    reports = await rows(bot.services.sessions, Report)
    print(f"\n{terminated} connections terminated; {sum(r.tries_again for r in reporters)} answers were 'try again'")
    assert terminated > 0
    # Each receipt code names one stored report, and no report is stored that nobody got a code for.
    assert sorted(report.receipt_hash for report in reports) == sorted(bot.services.keys.receipt_hash(c) for c in codes)
    assert len(stored) == len(reports) == len(reporters)
    assert cards(tg) == Counter({report.id: 1 for report in reports})


async def test_a_report_whose_commit_is_cut_off_gets_try_again_and_the_next_send_works(
    bot: RunningBot, tg: FakeTelegram, admin: asyncpg.Connection
) -> None:
    reporter = Reporter(tg, user(7600001))
    reply = await reporter.press(await reporter.start(), "report:cat:crime")
    reply = await reporter.press(await reporter.say("A broken window at the school"), "report:next")
    review = await reporter.press(await reporter.press(reply, "report:skip"), "report:when:today")

    # The report's insert waits on a lock; its connection is cut while it waits, mid-transaction.
    locking = admin.transaction()
    await locking.start()
    await admin.execute("LOCK TABLE reports IN ACCESS EXCLUSIVE MODE")
    after = tg.mark()
    tg.press_button(reporter.person, review.result, "report:send")
    await cut_the_connection_waiting_on_a_lock(admin)
    await locking.rollback()

    answer = await tg.wait_for_reply(reporter.person.id, after=after)
    assert answer.params["text"] == TRY_AGAIN
    assert await rows(bot.services.sessions, Report) == []

    received = await reporter.press(review, "report:send")
    code = CODE.search(received.params["text"]).group()
    [report] = await rows(bot.services.sessions, Report)
    assert report.receipt_hash == bot.services.keys.receipt_hash(code)

    # And the next person is served as if nothing happened.
    next_code, _ = await Reporter(tg, user(7600002)).file("Graffiti on the bridge")
    assert CODE.fullmatch(next_code)
    await settled(bot.services.sessions, OutboxMessage, lambda found: len(found) == 2 and all(m.done_at for m in found))
    assert cards(tg) == Counter({stored.id: 1 for stored in await rows(bot.services.sessions, Report)})


async def test_a_card_telegram_took_is_not_sent_again_when_its_record_is_cut_off(
    bot: RunningBot, tg: FakeTelegram, admin: asyncpg.Connection
) -> None:
    # The card's first try meets a 429, which leaves a moment to lock `reports` before the second.
    tg.fail_next("sendMessage", status=429, retry_after=2, chat_id=STAFF_CHAT_ID)
    after = tg.mark()
    await Reporter(tg, user(7600003)).file("A window smashed at the bakery")
    await tg.wait_for("sendMessage", lambda c: c.failed == 429, after=after)
    locking = admin.transaction()
    await locking.start()
    await admin.execute("LOCK TABLE reports IN EXCLUSIVE MODE")  # reads go on; the record waits

    await tg.wait_for("sendMessage", lambda c: not c.failed and c.params["chat_id"] == STAFF_CHAT_ID, after=after)
    await cut_the_connection_waiting_on_a_lock(admin)
    await locking.rollback()

    [stored] = await settled(bot.services.sessions, OutboxMessage, lambda found: found and found[0].done_at, 15)
    [report] = await rows(bot.services.sessions, Report)
    assert report.staff_message_id is not None
    assert cards(tg) == Counter({report.id: 1})
