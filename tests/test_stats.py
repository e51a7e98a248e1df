"""/stats end to end, in English and Arabic: officers in the staff chat get a period's reports in
counts (by category, language and status, the median time to acknowledge, the "Did you feel
heard?" answers) and then a chart of them per week as a PNG photo. Anyone else is refused, and a
period the bot does not understand gets the usage line."""

from __future__ import annotations

import struct
import subprocess
import sys
from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta

import pytest
from babel.dates import format_skeleton

from bot.i18n import I18n, _, active_locale, ngettext
from bot.outreach.stats import charts, draw_chart, parse_period, summarize
from storage.models import ReportFact
from storage.repositories import Fact
from tests.conftest import STAFF_CHAT_ID, RunningBot, start_bot, user
from tests.fake_telegram import Call, FakeTelegram, FakeUser
from tests.reporting import OFFICER, Reporter, card_of, card_recorded, staff_chat

REFUSED = "This is only for officers in the staff chat."
USAGE = "Send /stats and a number of days from 1 to 400, for example: /stats 30d"


def days_ago(n: int) -> date:
    return datetime.now(UTC).date() - timedelta(days=n)


async def add_fact(running: RunningBot, received_on: date, category: str = "crime", language: str = "en",
                   status: str = "new", *, hours: int | None = None, feedback: str | None = None, count: int = 1) -> None:  # fmt: skip
    """Reports of earlier days, as their facts remain: the reports themselves may be long gone."""
    async with running.services.unit_of_work() as uow:
        start = 10_000 + len(await uow.facts.received_since(date(1970, 1, 1)))
        for n in range(count):
            uow.facts.add(ReportFact(
                report_number=start + n, received_on=received_on, category=category, language=language, status=status,
                acknowledged_after_seconds=hours * 3600 if hours is not None else None, feedback=feedback,
            ))  # fmt: skip
        await uow.commit()


async def a_month_of_reports(running: RunningBot) -> None:
    """Ten reports in the last 30 days (two of them filed now through the conversation, one of
    those acknowledged at once) and six older ones."""
    await add_fact(running, days_ago(3), "crime", "en", "closed", hours=2, feedback="yes")
    await add_fact(running, days_ago(3), "crime", "en", "acknowledged", hours=2)
    await add_fact(running, days_ago(3), "crime", "en", "new")
    await add_fact(running, days_ago(10), "threat", "ar", "closed", hours=5, feedback="partly")
    await add_fact(running, days_ago(10), "threat", "ar", "spam")
    await add_fact(running, days_ago(20), "suspicious", "en", "acknowledged", hours=2)
    await add_fact(running, days_ago(20), "crime", "so", "closed", hours=2, feedback="no")
    await add_fact(running, days_ago(29), "safety", "es", "new")  # the first of the 30 days
    await add_fact(running, days_ago(30), "other", "en", "new")  # the day before
    await add_fact(running, days_ago(45), "crime", "en", "spam", count=5)

    await Reporter(running.tg, user(7910001, "en")).file("Someone tried every car door on Elm Street", category="crime")
    await Reporter(running.tg, user(7910002, "es")).file("Una amenaza escrita en la pared de la escuela", category="threat")
    await card_recorded(running.services.sessions, 1)
    query = running.tg.press_button(OFFICER, (await card_of(running.tg, 1)).result, "staff:ack:1", chat=staff_chat(running.tg))
    query_id = query["callback_query"]["id"]
    await running.tg.wait_for("answerCallbackQuery", lambda c: c.params["callback_query_id"] == query_id)


async def stats(running: RunningBot, command: str = "/stats 30d", officer: FakeUser = OFFICER) -> tuple[str, int]:
    """The bot's answer in the staff chat; and the call mark to look for the chart after. Cards
    are delivered and updated meanwhile: the answer is the message that replies to the command."""
    tg, after = running.tg, running.tg.mark()
    sent = tg.send_text(officer, command, chat=staff_chat(tg))["message"]["message_id"]
    reply = await tg.wait_for("sendMessage", lambda c: c.params["chat_id"] == STAFF_CHAT_ID and not c.failed
                              and (c.params.get("reply_parameters") or {}).get("message_id") == sent, after=after)  # fmt: skip
    return reply.params["text"], after


async def chart_sent(tg: FakeTelegram, after: int) -> Call:
    return await tg.wait_for("sendPhoto", lambda c: c.params["chat_id"] == STAFF_CHAT_ID and not c.failed, after=after)


def png_size(data: bytes) -> tuple[int, int]:
    """Width and height of a PNG, from its signature and IHDR chunk; fails on anything else."""
    assert data[:8] == b"\x89PNG\r\n\x1a\n", "not a PNG"
    length, kind, width, height = struct.unpack(">I4sII", data[8:24])
    assert (length, kind) == (13, b"IHDR")
    assert data[-8:-4] == b"IEND", "the PNG is cut short"
    return width, height


def assert_a_readable_chart(call: Call) -> None:
    png = call.files["photo"]
    assert png_size(png) == (1200, 800)
    assert 10_000 < len(png) < 2_000_000, len(png)


def shown(running: RunningBot, locale: str):  # noqa: ANN201
    return active_locale(running.services.i18n.get(locale))


def days(first: date, last: date, locale: str) -> tuple[str, str]:
    return format_skeleton("yMMMd", first, locale=locale), format_skeleton("yMMMd", last, locale=locale)


# --- the counts and the chart -----------------------------------------------------------------------

async def test_an_officer_gets_a_month_in_counts_and_a_chart(bot: RunningBot, tg: FakeTelegram) -> None:
    await a_month_of_reports(bot)
    text, after = await stats(bot)

    first, last = days(days_ago(29), days_ago(0), "en")
    names = dict(bot.services.i18n.picker_entries())
    assert text.split("\n\n") == [
        f"Reports of the last 30 days, {first} to {last}\n10 reports received.",
        "By category:\nCrime: 5\nThreat or hate incident: 3\nSafety concern (traffic, property): 1\nSuspicious activity: 1",
        f"By language:\n{names['en']}: 5\n{names['ar']}: 2\n{names['es']}: 2\n{names['so']}: 1",
        "By status:\nNew: 3\nAcknowledged: 3\nClosed: 3\nMarked as spam: 1",
        # Six acknowledged: one at once, four after 2 hours and one after 5.
        "Median time to acknowledge: 2 hours (over 6 acknowledged reports).",
        "Did reporters feel heard after their report was closed? Yes: 1 · Partly: 1 · No: 1",
    ]
    assert "Elm Street" not in text and "amenaza" not in text  # counts, never content
    assert_a_readable_chart(await chart_sent(tg, after))


async def test_the_period_decides_what_is_counted(bot: RunningBot, tg: FakeTelegram) -> None:
    await a_month_of_reports(bot)
    assert "\n10 reports received." in (await stats(bot, "/stats"))[0]  # 30 days unless told
    assert "\n11 reports received." in (await stats(bot, "/stats 31D"))[0]  # the day before comes in
    year, after = await stats(bot, "/stats 400d")
    assert "\n16 reports received." in year and "\nSomething else: 1" in year and "\nMarked as spam: 6" in year
    assert_a_readable_chart(await chart_sent(tg, after))
    today, after = await stats(bot, "/stats 1")
    first, last = days(days_ago(0), days_ago(0), "en")
    assert today.startswith(f"Reports of the last 1 day, {first} to {last}\n2 reports received.")
    assert "Median time to acknowledge: " in today and "(over 1 acknowledged report)." in today
    assert_a_readable_chart(await chart_sent(tg, after))


async def test_a_period_without_reports_is_said_so_without_a_chart(bot: RunningBot, tg: FakeTelegram) -> None:
    await add_fact(bot, days_ago(8))
    text, after = await stats(bot, "/stats 7d")
    assert text.endswith("\n\nNo reports were received in this period.")
    await stats(bot, "/stats 9d")  # two more days: a report, so a chart
    await chart_sent(tg, after)
    assert len([call for call in tg.calls_to("sendPhoto") if call.params["chat_id"] == STAFF_CHAT_ID]) == 1


@pytest.mark.parametrize("argument", ["0d", "401d", "12w", "30 d", "-5d", "３０d", "30dd", "1e3"])
async def test_a_period_not_understood_gets_the_usage_line(bot: RunningBot, tg: FakeTelegram, argument: str) -> None:
    await add_fact(bot, days_ago(1))
    assert (await stats(bot, f"/stats {argument}"))[0] == USAGE
    await bot.handled()
    assert tg.calls_to("sendPhoto") == []


# --- who may ask ------------------------------------------------------------------------------------

async def test_stats_outside_the_staff_chat_are_refused(bot: RunningBot, tg: FakeTelegram) -> None:
    await add_fact(bot, days_ago(1), count=3)
    assert (await bot.say(user(7910003, "en"), "/stats 30d")).params["text"] == REFUSED
    assert (await bot.say(user(7910003, "en"), "/stats")).params["text"] == REFUSED
    await bot.handled()
    assert tg.calls_to("sendPhoto") == []


async def test_only_listed_officers_get_stats(tg: FakeTelegram, make_settings: Callable) -> None:
    async for running in start_bot(tg, make_settings(officer_ids="111")):
        await add_fact(running, days_ago(1), count=3)
        assert (await stats(running))[0] == REFUSED  # OFFICER is in the staff chat but not listed
        text, after = await stats(running, officer=user(111, "en"))
        assert "\n3 reports received." in text
        assert_a_readable_chart(await chart_sent(tg, after))
        assert len(tg.calls_to("sendPhoto")) == 1


# --- in Arabic (right to left) ----------------------------------------------------------------------

async def test_officers_working_in_arabic_get_arabic_counts_and_chart(tg: FakeTelegram, make_settings: Callable) -> None:
    async for running in start_bot(tg, make_settings(officer_locale="ar")):
        await add_fact(running, days_ago(2), "crime", "ar", "closed", hours=3, feedback="yes", count=2)
        await add_fact(running, days_ago(9), "threat", "en", "new")
        text, after = await stats(running, "/stats 14d")
        usage = (await stats(running, "/stats two-weeks"))[0]

        first, last = days(days_ago(13), days_ago(0), "ar")
        names = dict(running.services.i18n.picker_entries())
        with shown(running, "ar"):
            expected = [
                ngettext("Reports of the last {n} day, {first} to {last}", "Reports of the last {n} days, {first} to {last}",
                         14, first=first, last=last) + "\n" + ngettext("{n} report received.", "{n} reports received.", 3),  # fmt: skip
                "\n".join([_("By category:"), _("{label}: {number}", label=_("Crime"), number=2),
                           _("{label}: {number}", label=_("Threat or hate incident"), number=1)]),  # fmt: skip
                "\n".join([_("By language:"), _("{label}: {number}", label=names["ar"], number=2),
                           _("{label}: {number}", label=names["en"], number=1)]),  # fmt: skip
                "\n".join([_("By status:"), *(_("{label}: {number}", label=_(label), number=number) for label, number in
                                              (("New", 1), ("Acknowledged", 0), ("Closed", 2), ("Marked as spam", 0)))]),  # fmt: skip
            ]
            expected_usage = _("Send /stats and a number of days from 1 to {longest}, for example: {example}",
                               longest=400, example="/stats 30d")  # fmt: skip
            crime = _("Crime")
        assert text.split("\n\n")[:4] == expected
        assert crime != "Crime" and crime in text  # the category names are Arabic already
        assert usage == expected_usage and "\u2068/stats 30d\u2069" in usage  # the example kept left to right
        assert_a_readable_chart(await chart_sent(tg, after))


# --- the chart's drawing ----------------------------------------------------------------------------

TODAY = date(2026, 1, 7)  # a Wednesday
FACTS = [Fact(date(2025, 12, 9), "crime", "en", "new", None, None), Fact(date(2025, 12, 29), "threat", "ar", "closed", 60, "yes"),
         Fact(date(2026, 1, 4), "crime", "es", "new", None, None), Fact(TODAY, "other", "en", "new", None, None)]  # fmt: skip


def test_weeks_start_on_monday_and_the_period_on_its_first_day() -> None:
    summary = summarize(FACTS, TODAY, 30)
    assert summary.first_day == date(2025, 12, 9)  # a Tuesday
    assert summary.weeks == [date(2025, 12, 9), date(2025, 12, 15), date(2025, 12, 22), date(2025, 12, 29), date(2026, 1, 5)]
    assert summary.per_week == {"crime": [1, 0, 0, 1, 0], "threat": [0, 0, 0, 1, 0], "other": [0, 0, 0, 0, 1]}
    assert summarize(FACTS, TODAY, 29).received == 3


@pytest.mark.parametrize(("arguments", "days"), [([], 30), (["7d"], 7), (["7"], 7), (["400D"], 400), (["1d"], 1),
                                                 (["0d"], None), (["401d"], None), (["2w"], None), (["7d", "8d"], None)])  # fmt: skip
def test_periods(arguments: list[str], days: int | None) -> None:
    assert parse_period(arguments) == days


def test_a_language_the_font_cannot_draw_gets_the_english_chart() -> None:
    i18n, summary = I18n("en"), summarize(FACTS, TODAY, 30)

    def drawn(locale: str) -> tuple[bytes, bool]:
        with active_locale(i18n.get(locale)):
            localized, source = charts(summary)
            return draw_chart(localized, source), localized.series[0][0] != source.series[0][0]

    english, _same = drawn("en")
    chinese, translated = drawn("zh_Hans")  # no CJK in the chart's font: English beats empty boxes
    assert translated and chinese == english
    arabic, translated = drawn("ar")  # the font has Arabic, and matplotlib shapes it right to left
    assert translated and arabic != english and png_size(arabic) == (1200, 800)


def test_the_bot_starts_without_matplotlib() -> None:
    """Only a chart imports matplotlib; start-up never pays for it."""
    check = "import sys, bot.application, bot.cli; assert 'matplotlib' not in sys.modules, 'imported at start-up'"
    subprocess.run([sys.executable, "-c", check], check=True, timeout=120)
