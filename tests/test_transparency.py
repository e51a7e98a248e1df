"""/transparency end to end, in English and Arabic: the last twelve months in counts, the rule
that hides fewer than five, the median time to acknowledgement, and the "Did you feel heard?"
question a reporter who opted in is asked once their report is closed."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest
from babel.dates import format_skeleton, format_timedelta
from sqlalchemy import text

from bot.i18n import _, active_locale, ngettext
from bot.outreach.transparency import SMALL_COUNT, first_day_shown, summarize
from storage.database import alembic_config, create_engine, session_factory, upgrade_to_head
from storage.models import Feedback, ReportFact
from storage.repositories import Fact
from storage.unit_of_work import UnitOfWork
from tests.conftest import RunningBot, user
from tests.fake_telegram import FakeTelegram
from tests.reporting import OFFICER, Reporter, buttons, card_of, card_recorded, rows, staff_chat

TODAY = datetime.now(UTC).date()


def months_ago(n: int, day: int = 10) -> date:
    month = TODAY.year * 12 + TODAY.month - 1 - n
    return date(month // 12, month % 12 + 1, day)


async def add_facts(running: RunningBot, received_on: date, *, count: int, acknowledged: int = 0, closed: int = 0,
                    spam: int = 0, hours: int = 2, feedback: list[str] = ()) -> None:  # fmt: skip
    """Reports of an earlier month, as their facts remain: the reports themselves may be long gone."""
    async with running.services.unit_of_work() as uow:
        start = 10_000 + len(await uow.facts.received_since(date(1970, 1, 1)))
        answers = list(feedback)
        for n in range(count):
            status = "closed" if n < closed else "acknowledged" if n < acknowledged else "spam" if n < acknowledged + spam else "new"
            uow.facts.add(ReportFact(
                report_number=start + n, received_on=received_on, category="crime", language="en", status=status,
                acknowledged_after_seconds=hours * 3600 if n < acknowledged else None,
                feedback=answers.pop() if answers and status == "closed" else None,
            ))  # fmt: skip
        await uow.commit()


def shown(running: RunningBot, locale: str):  # noqa: ANN201
    return active_locale(running.services.i18n.get(locale))


async def press(tg: FakeTelegram, message: dict, data: str, person=OFFICER, chat: dict | None = None) -> dict:  # noqa: ANN001
    """Press a button as `person` (an officer in the staff chat by default); the bot's answer to the press."""
    query_id = tg.press_button(person, message, data, chat=chat or staff_chat(tg))["callback_query"]["id"]
    return (await tg.wait_for("answerCallbackQuery", lambda c: c.params["callback_query_id"] == query_id)).params


# --- the counts -----------------------------------------------------------------------------------

async def test_the_last_twelve_months_in_english_and_arabic(bot: RunningBot) -> None:
    busy, quiet, too_old = months_ago(2), months_ago(5), months_ago(13)
    await add_facts(bot, busy, count=7, acknowledged=6, closed=4, spam=1, hours=3)
    await add_facts(bot, quiet, count=3, acknowledged=3, closed=3)
    await add_facts(bot, too_old, count=9, acknowledged=9)

    english = (await bot.say(user(7900001, "en"), "/transparency")).params["text"]
    arabic = (await bot.say(user(7900002, "ar"), "/transparency")).params["text"]

    month = format_skeleton("yMMMM", busy, locale="en")
    assert f"{month}: received 7 · acknowledged 6 · closed 4 · spam 1" in english
    assert f"{format_skeleton('yMMMM', quiet, locale='en')}: fewer than 5 reports" in english
    assert format_skeleton("yMMMM", too_old, locale="en") not in english  # older than twelve months
    assert english.count("fewer than 5 reports") == 11  # every other month, this one included
    # Nine acknowledged in the window (six after 3 hours, three after 2): half within 3 hours.
    assert "Half of the reports were acknowledged by an officer within 3 hours." in english

    with shown(bot, "ar"):
        busy_line = _("{month}: received {received} · acknowledged {acknowledged} · closed {closed} · spam {spam}",
                      month=format_skeleton("yMMMM", busy, locale="ar"), received=7, acknowledged=6, closed=4, spam=1)
        quiet_line = ngettext("{month}: fewer than {n} report", "{month}: fewer than {n} reports", SMALL_COUNT,
                              month=format_skeleton("yMMMM", quiet, locale="ar"))
        timing = _("Half of the reports were acknowledged by an officer within {duration}.",
                   duration=format_timedelta(timedelta(hours=3), locale="ar"))  # fmt: skip
    assert busy_line in arabic and quiet_line in arabic and timing in arabic
    assert "received" not in busy_line and "fewer" not in quiet_line  # in Arabic, not English


async def test_a_small_year_shows_no_median_and_no_feedback(bot: RunningBot) -> None:
    await add_facts(bot, months_ago(1), count=6, acknowledged=4, closed=4, feedback=["yes"] * 4)
    english = (await bot.say(user(7900003, "en"), "/transparency")).params["text"]
    assert "How fast officers acknowledge reports is shown once more than 4 reports have been acknowledged." in english
    assert "This is shown once more than 4 have answered." in english
    assert "Yes:" not in english


def test_counting_follows_the_calendar_across_a_new_year() -> None:
    facts = [Fact(date(2026, 1, 31), "crime", "en", "closed", 60, None)] * 5 + [Fact(date(2025, 1, 31), "crime", "en", "new", None, None)]
    summary = summarize(facts, date(2026, 12, 4))
    assert first_day_shown(date(2026, 12, 4)) == date(2026, 1, 1)
    assert [m.first_day for m in summary.months][:2] == [date(2026, 1, 1), date(2026, 2, 1)]
    assert (summary.months[0].received, summary.months[0].closed) == (5, 5)
    assert first_day_shown(date(2027, 3, 1)) == date(2026, 4, 1)


# --- reports as they happen, and the question after closing ---------------------------------------

async def test_a_closed_report_asks_whether_its_reporter_felt_heard_once(bot: RunningBot, tg: FakeTelegram) -> None:
    reporter = Reporter(tg, user(7900004, "ar"))
    await reporter.file("A window smashed at the bakery", notify=True)
    card = (await card_of(tg, 1)).result
    await card_recorded(bot.services.sessions, 1)
    await press(tg, card, "staff:ack:1")
    await press(tg, card, "staff:close:1")
    notice = await tg.wait_for("sendMessage", lambda c: c.params["chat_id"] == reporter.person.id and "fb:1:" in str(c.params.get("reply_markup")))

    with shown(bot, "ar"):
        assert notice.params["text"].endswith(
            _("One question, if you like: did you feel heard? Your answer is counted without your name."))
        labels = [_("Yes"), _("Partly"), _("No")]
    choices = buttons(notice.result)
    assert list(choices.values()) == labels
    assert [data.split(":")[:3] for data in choices] == [["fb", "1", "yes"], ["fb", "1", "partly"], ["fb", "1", "no"]]

    # Someone else sending the same button's data, or a made-up token, is refused and counts nothing.
    stranger = user(7900005, "ar")
    yes = next(data for data in choices if ":yes:" in data)
    after = tg.mark()
    forged = [await press(tg, notice.result, yes, stranger, stranger.private_chat()),
              await press(tg, notice.result, yes[:-16] + "0" * 16, reporter.person, reporter.person.private_chat())]  # fmt: skip
    with shown(bot, "ar"):
        assert [answer.get("text") for answer in forged] == [_("This button no longer works. Please send /start.")] * 2
    [fact] = await rows(bot.services.sessions, ReportFact)
    assert fact.feedback is None

    answer = await reporter.press(notice, next(data for data in choices if ":partly:" in data))
    with shown(bot, "ar"):
        assert answer.params["text"] == _("Thank you. Your answer is counted, without your name, in /transparency.")
    assert (await tg.wait_for("editMessageReplyMarkup", after=after)).params.get("reply_markup") in (None, "")
    again = await reporter.press(notice, yes)  # the message as it was, buttons and all
    with shown(bot, "ar"):
        assert again.params["text"] == _("You have answered already. Thank you.")
    [fact] = await rows(bot.services.sessions, ReportFact)
    assert (fact.status, fact.feedback, fact.language) == ("closed", Feedback.PARTLY, "ar")
    assert fact.acknowledged_after_seconds is not None and fact.acknowledged_after_seconds >= 0


async def test_reports_filed_now_count_this_month_and_feedback_shows_from_five_answers(bot: RunningBot, tg: FakeTelegram) -> None:
    await add_facts(bot, months_ago(1), count=5, acknowledged=5, closed=5, feedback=["yes", "yes", "no", "partly"])
    for n in range(5):
        await Reporter(tg, user(7900010 + n, "en")).file(f"Report number {n} about the park lights")
    for number in range(1, 6):
        await card_recorded(bot.services.sessions, number)
    await press(tg, (await card_of(tg, 1)).result, "staff:spam:1")
    await press(tg, (await card_of(tg, 2)).result, "staff:close:2")
    async with bot.services.unit_of_work() as uow:  # a fifth answer, as the closed report's reporter gave it
        (await uow.facts.of_report(2)).feedback = Feedback.YES
        await uow.commit()

    english = (await bot.say(user(7900020, "en"), "/transparency")).params["text"]
    this_month = format_skeleton("yMMMM", TODAY, locale="en")
    assert f"{this_month}: received 5 · acknowledged 1 · closed 1 · spam 1" in english
    assert "Did reporters feel heard after their report was closed? Yes: 3 · Partly: 1 · No: 1" in english


async def test_privacy_says_what_is_kept_for_transparency(bot: RunningBot) -> None:
    english = (await bot.say(user(7900021, "en"), "/privacy")).params["text"]
    assert ("For /transparency we keep, for 400 days, each report's day, category, language and status, "
            "never what it said or who sent it.") in english  # fmt: skip


# --- the migration --------------------------------------------------------------------------------

@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
async def test_the_migration_counts_the_reports_already_held(database_url: str) -> None:
    from alembic import command

    def to_0008(connection) -> None:  # noqa: ANN001
        config = alembic_config()
        config.attributes["connection"] = connection
        command.upgrade(config, "0008")

    engine = create_engine(database_url)
    received = datetime(2026, 11, 2, 9, 0, tzinfo=UTC)
    try:
        async with engine.begin() as connection:
            await connection.run_sync(to_0008)
            for number, status in ((1, "acknowledged"), (2, "spam")):
                await connection.execute(text(
                    "INSERT INTO reports (id, category, urgent, language, body, location_exact, status, receipt_hash,"
                    " received_at, status_changed_at, translation_status, translation_pivot)"
                    " VALUES (:id, 'threat', false, 'so', 'x', false, :status, :hash, :at, :changed, 'done', false)"),
                    {"id": number, "status": status, "hash": f"r{number}", "at": received, "changed": received + timedelta(hours=5)},
                )  # fmt: skip
        await upgrade_to_head(engine)
        async with UnitOfWork(session_factory(engine)) as uow:
            facts = await uow.facts.received_since(date(2026, 1, 1))
    finally:
        await engine.dispose()
    assert facts == [Fact(date(2026, 11, 2), "threat", "so", "acknowledged", 5 * 3600, None),
                     Fact(date(2026, 11, 2), "threat", "so", "spam", None, None)]  # fmt: skip
