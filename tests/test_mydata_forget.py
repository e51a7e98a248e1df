"""/mydata, /forget and the privacy text's numbers, end to end over the fake Bot API.

New replies are read back in English and in Arabic (right to left). The Arabic expectations are
rendered through the Arabic catalog, so they stay right once the translator has added the new
messages.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import update

from bot.i18n import FSI, PDI, _, active_locale, ngettext
from bot.personal_data import Holdings
from handlers.mydata import holdings_text
from storage.models import Preference, Report, ReporterLink
from tests.conftest import STAFF_CHAT_ID, RunningBot, start_bot, user
from tests.fake_telegram import FakeTelegram
from tests.reporting import OFFICER, Reporter, buttons, card_of, card_recorded, rows, staff_chat
from tests.test_dialog import officer_replies, staff_reply_to

ZONE = ZoneInfo("America/Chicago")  # make_settings' TIME_ZONE


def rendered(bot: RunningBot, locale: str, render) -> str:  # noqa: ANN001
    with active_locale(bot.services.i18n.get(locale)):
        return render()


def what_stays(days: int = 90) -> list[str]:
    return [
        _("The reports you sent stay with the officers, but nothing in this bot links them to you any more."),
        ngettext("Reports are deleted after {n} day.", "Reports are deleted after {n} days.", days),
    ]


def confirmation() -> str:
    question = _(
        "Delete everything this bot keeps about you? That is your language choice, the links that let us "
        "write to you about your reports, and any report you have not sent yet."
    )
    return "\n\n".join([question, *what_stays()])


def forgotten() -> str:
    return "\n\n".join([_("Done. Everything this bot kept about you is deleted."), *what_stays()])


CLOSED = "This question is closed. Send /forget to start again."


async def choose_language(reporter: Reporter, locale: str) -> None:
    picker = await reporter.say("/language")
    await reporter.press(picker, f"lang:set:{locale}")


async def set_report_times(bot: RunningBot, number: int, **times: object) -> None:
    async with bot.services.sessions() as session, session.begin():
        await session.execute(update(Report).where(Report.id == number).values(**times))


# --- /mydata -------------------------------------------------------------------------------------

async def test_mydata_with_nothing_held(bot: RunningBot, tg: FakeTelegram) -> None:
    english = await Reporter(tg, user(7700001, "en")).say("/mydata")
    assert english.params["text"] == (
        "What this bot keeps about you right now:\n\n"
        "You have not chosen a language. The bot follows the language of your Telegram app.\n\n"
        "No report can notify you here.\n\n"
        "To delete all of this, send /forget."
    )
    arabic = await Reporter(tg, user(7700002, "ar")).say("/mydata")
    assert arabic.params["text"] == rendered(bot, "ar", lambda: holdings_text(Holdings(None, []), ZONE))


@pytest.mark.parametrize("locale", ["en", "ar"])
async def test_mydata_shows_the_language_and_when_each_link_goes(bot: RunningBot, tg: FakeTelegram, locale: str) -> None:
    reporter = Reporter(tg, user(7700010 if locale == "en" else 7700011, "es"))
    await choose_language(reporter, locale)
    await reporter.file("First", notify=True)
    await reporter.file("Second", notify=True)
    await Reporter(tg, user(7700012, locale)).file("Someone else's", notify=True)  # not theirs
    now = datetime.now(UTC)
    await set_report_times(bot, 1, received_at=now - timedelta(days=10))  # open: goes with the report
    await set_report_times(bot, 2, status="closed", status_changed_at=now - timedelta(days=3))  # the grace of 7 days

    reply = (await reporter.say("/mydata")).params["text"]
    # Soonest first; each by the daily purge after its time at the latest.
    deleted_by = [now + timedelta(days=4 + 1), now - timedelta(days=10) + timedelta(days=90 + 1)]
    if locale == "en":
        dates = [f"{d.astimezone(ZONE):%B} {d.astimezone(ZONE).day}, {d.astimezone(ZONE).year}" for d in deleted_by]
        assert reply == (
            "What this bot keeps about you right now:\n\n"
            "Your language: English. You chose it with /language.\n\n"
            f"2 reports can notify you here. Their links to you will be deleted by these dates at the latest: "
            f"{dates[0]} and {dates[1]}.\n\n"
            "To delete all of this, send /forget."
        )
    else:
        assert reply == rendered(bot, "ar", lambda: holdings_text(Holdings("ar", deleted_by), ZONE))
        assert f"{FSI}2{PDI}" in reply and "العربية" in reply


@pytest.mark.parametrize("locale", ["en", "ar"])
async def test_mydata_after_forget_shows_nothing(bot: RunningBot, tg: FakeTelegram, locale: str) -> None:
    reporter = Reporter(tg, user(7700020, locale))
    await choose_language(reporter, locale)
    await reporter.file("Text", notify=True)
    question = await reporter.say("/forget")
    await reporter.press(question, "forget:yes")
    reply = (await reporter.say("/mydata")).params["text"]
    assert reply == rendered(bot, locale, lambda: holdings_text(Holdings(None, []), ZONE))
    if locale == "en":
        assert "You have not chosen a language." in reply and "No report can notify you here." in reply


# --- /forget -----------------------------------------------------------------------------------

@pytest.mark.parametrize("locale", ["en", "ar"])
async def test_forget_deletes_everything_tied_to_the_person(tg: FakeTelegram, make_settings, locale: str) -> None:
    async for bot in start_bot(tg, make_settings(limit_reports_per_hour=5)):
        person = user(7700030 if locale == "en" else 7700031, "es")
        reporter, pseudonym = Reporter(tg, person), bot.services.keys.pseudonym(person.id)
        await choose_language(reporter, locale)
        code, _final = await reporter.file("A van keeps circling the school.", notify=True)
        card = await card_of(tg, 1)
        await card_recorded(bot.services.sessions, 1)
        status = await reporter.say(f"/status {code}")
        await reporter.press(status, next(data for data in buttons(status.result) if data.startswith("ans:")))
        await reporter.press(await reporter.start(), "report:cat:crime")  # an unfinished report
        assert bot.services.drafts.get(pseudonym) and len(bot.services.limits.reports) == 1
        assert bot.services.answering.get(pseudonym) == 1

        question = await reporter.say("/forget")
        assert question.params["text"] == rendered(bot, locale, confirmation)
        assert list(buttons(question.result)) == ["forget:yes", "forget:no"]
        paused = await reporter.next_message()  # the unfinished report waits meanwhile
        done = await reporter.press(question, "forget:yes")
        assert done.method == "editMessageText" and done.params["text"] == rendered(bot, locale, forgotten)
        if locale == "en":
            assert done.params["text"].startswith("Done. Everything this bot kept about you is deleted.\n\n")

        assert await rows(bot.services.sessions, Preference) == []
        assert await rows(bot.services.sessions, ReporterLink) == []
        assert bot.services.drafts.get(pseudonym) is None and len(bot.services.limits.reports) == 0
        assert bot.services.answering.get(pseudonym) is None
        [report] = await rows(bot.services.sessions, Report)  # the report stays, until retention, linked to nobody
        assert report.body == "A van keeps circling the school." and not tg.calls_to("deleteMessage")
        assert report.sender is None

        # Officers can no longer reach them: a status change tells nobody, a message waits for /status.
        after = tg.mark()
        tg.press_button(OFFICER, card.result, "staff:ack:1", chat=staff_chat(tg))
        await tg.wait_for("editMessageText", lambda c: c.params["chat_id"] == STAFF_CHAT_ID, after=after)
        asked = officer_replies(tg, card.result, "Which colour was the van?")
        assert (await staff_reply_to(tg, asked["message_id"], after)).params["text"].startswith("Waiting for pickup")
        await tg.wait_until_drained()
        assert not [c for c in tg.calls[after:] if c.method == "sendMessage" and c.params["chat_id"] == person.id]

        # The language choice is gone: the client's language (Spanish) again; the privacy notice too.
        assert (await reporter.say("/start")).params["text"].startswith("¡Le damos la bienvenida!")
        again = await reporter.press(paused, "report:resume")
        assert "report:notice:ok" in buttons(again.result)


@pytest.mark.parametrize("locale", ["en", "ar"])
async def test_no_keeps_everything(bot: RunningBot, tg: FakeTelegram, locale: str) -> None:
    reporter = Reporter(tg, user(7700040, locale))
    await choose_language(reporter, locale)
    await reporter.file("Text", notify=True)
    kept = await reporter.press(await reporter.say("/forget"), "forget:no")
    assert kept.params["text"] == rendered(bot, locale, lambda: _("Nothing was deleted."))
    assert "reply_markup" not in kept.result
    assert len(await rows(bot.services.sessions, Preference)) == 1
    assert len(await rows(bot.services.sessions, ReporterLink)) == 1


@pytest.mark.parametrize("locale", ["en", "ar"])
async def test_a_stale_or_forged_press_is_answered_kindly(bot: RunningBot, tg: FakeTelegram, locale: str) -> None:
    person = user(7700050, locale)
    reporter = Reporter(tg, person)
    await choose_language(reporter, locale)
    question = await reporter.say("/forget")
    await reporter.press(question, "forget:yes")
    closed = rendered(bot, locale, lambda: _(CLOSED))
    for data in ("forget:yes", "forget:no", "forget:everything"):  # pressed again, or made up
        after = await bot.press(person, question.result, data)
        answer = await tg.wait_for("answerCallbackQuery", after=after)
        assert (answer.params["text"], answer.params["show_alert"]) == (closed, True)
    assert not [c for c in tg.calls if c.method == "editMessageText" and c.failed]
    if locale == "en":
        assert closed == CLOSED


# --- /privacy ------------------------------------------------------------------------------------

@pytest.mark.parametrize(("retention_days", "link_grace_days"), [(45, 3), (120, 14)])
async def test_privacy_text_shows_the_real_numbers(tg: FakeTelegram, make_settings, retention_days, link_grace_days) -> None:
    settings = make_settings(retention_days=retention_days, link_grace_days=link_grace_days)
    async for running in start_bot(tg, settings):
        english = (await running.say(user(1, "en"), "/privacy")).params["text"]
        arabic = (await running.say(user(2, "ar"), "/privacy")).params["text"]
        expected_ar = rendered(running, "ar", lambda: ngettext(
            "If you ask us to tell you when officers respond, we keep an encrypted way to write to you "
            "in this chat, for that report only. It is deleted when you send /forget, {n} day after "
            "the report is closed, or with the report, whichever comes first.",
            "If you ask us to tell you when officers respond, we keep an encrypted way to write to you "
            "in this chat, for that report only. It is deleted when you send /forget, {n} days after "
            "the report is closed, or with the report, whichever comes first.",
            link_grace_days,
        ))  # fmt: skip
    assert f"Reports are deleted after {retention_days} days." in english
    assert f"It is deleted when you send /forget, {link_grace_days} days after the report is closed" in english
    assert "Send /mydata to see what we keep about you, and /forget to delete it." in english
    assert "This bot does not delete those messages" in english
    assert "Telegram itself knows that your account writes to this bot, and what you send." in english
    assert f"بعد {FSI}{retention_days}{PDI}" in arabic
    assert expected_ar in arabic and f"{FSI}{link_grace_days}{PDI}" in expected_ar
