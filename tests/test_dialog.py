"""The anonymous two-way dialog and translated reports, end to end over the fake Bot API."""

from __future__ import annotations

import asyncio
import re
from pathlib import Path

import pytest

from bot.i18n import FSI, PDI
from storage.models import ReportMessage
from tests.conftest import STAFF_CHAT_ID, RunningBot, install_packages, start_bot, user
from tests.fake_telegram import Call, FakeTelegram, FakeUser
from tests.reporting import OFFICER, Reporter, buttons, card_of, card_recorded, rows, settled, staff_chat


def officer_replies(tg: FakeTelegram, to: dict, text: str, officer: FakeUser = OFFICER) -> dict:
    """An officer answers a message in the staff chat with Telegram's reply."""
    return tg.send_message(officer, chat=staff_chat(tg), text=text, reply_to_message=to)["message"]


async def staff_reply_to(tg: FakeTelegram, message_id: int, after: int = 0) -> Call:
    return await tg.wait_for(
        "sendMessage",
        lambda c: c.params["chat_id"] == STAFF_CHAT_ID and (c.params.get("reply_parameters") or {}).get("message_id") == message_id,
        after=after,
    )


async def officers_asked(bot: RunningBot, tg: FakeTelegram, reporter: Reporter, question: str) -> Call:
    """The reporter files report #1 with notifications on, an officer replies to its card with
    `question`; returns the message the reporter received."""
    await reporter.file("Text", notify=True)
    card = await card_of(tg, 1)
    await card_recorded(bot.services.sessions, 1)
    after = tg.mark()
    officer_replies(tg, card.result, question)
    return await tg.wait_for_reply(reporter.person.id, after=after)


def answer_button(message: dict) -> str:
    [data] = [d for d in buttons(message) if d.startswith("ans:")]
    return data


async def test_an_opted_in_reporter_gets_the_officers_message_and_answers(bot: RunningBot, tg: FakeTelegram) -> None:
    reporter = Reporter(tg, user(7600001, "en"))
    await reporter.file("A van keeps circling the school.", notify=True)
    card = await card_of(tg, 1)
    await card_recorded(bot.services.sessions, 1)

    after = tg.mark()
    asked = officer_replies(tg, card.result, "Which colour was the van?")
    to_reporter = await tg.wait_for_reply(reporter.person.id, after=after)
    assert to_reporter.params["text"] == f"<b>Officers wrote about your report #1:</b>\n{FSI}Which colour was the van?{PDI}"
    note = await staff_reply_to(tg, asked["message_id"], after)
    assert note.params["text"] == "Sent to the reporter of report #1."
    assert "Dana" not in to_reporter.params["text"]  # no officer names unless the agency wants them

    prompt = await reporter.press(to_reporter, answer_button(to_reporter.result))
    assert prompt.params["text"].startswith("Write your answer, or more information, for the officers.")
    after = tg.mark()
    thanks = await reporter.say("It was red, with a dented door.")
    assert thanks.params["text"] == "Sent to the officers. Thank you."
    answer = await staff_reply_to(tg, card.result["message_id"], after)
    assert answer.params["text"] == f"<b>The reporter of report #1 wrote:</b>\n{FSI}It was red, with a dented door.{PDI}"

    # Officers can reply to the reporter's answer, too, once the bot has noted where it stands.
    await settled(bot.services.sessions, ReportMessage, lambda found: any(m.staff_message_id and m.author == "reporter" for m in found))
    after = tg.mark()
    officer_replies(tg, answer.result, "Thank you, we are on it.")
    again = await tg.wait_for_reply(reporter.person.id, after=after)
    assert "Thank you, we are on it." in again.params["text"]
    messages = await rows(bot.services.sessions, ReportMessage)
    assert [(m.author, m.officer_name) for m in messages] == [("officer", "Dana Reyes"), ("reporter", None), ("officer", "Dana Reyes")]


async def test_without_notifications_a_message_waits_for_status(bot: RunningBot, tg: FakeTelegram) -> None:
    reporter = Reporter(tg, user(7600002, "en"))
    code, _ = await reporter.file("Broken lock at the community garden.", notify=False)
    card = await card_of(tg, 1)
    await card_recorded(bot.services.sessions, 1)
    after = tg.mark()
    asked = officer_replies(tg, card.result, "Is the gate open at night?")
    note = await staff_reply_to(tg, asked["message_id"], after)
    assert note.params["text"] == "Waiting for pickup: the reporter of report #1 will see it with /status."
    assert not [c for c in tg.calls[after:] if c.params.get("chat_id") == reporter.person.id]

    status = await reporter.say(f"/status {code}")
    assert status.params["text"].startswith("Report #1, sent on")
    message = await tg.wait_for_reply(reporter.person.id)
    assert "Is the gate open at night?" in message.params["text"]
    assert answer_button(message.result).startswith("ans:1:")
    [stored] = await settled(bot.services.sessions, ReportMessage, lambda found: found[0].picked_up_at is not None)
    assert stored.delivered_at is None


async def test_the_message_reporter_button_asks_for_a_reply(bot: RunningBot, tg: FakeTelegram) -> None:
    reporter = Reporter(tg, user(7600003, "en"))
    await reporter.file("Text", notify=True)
    card = await card_of(tg, 1)
    await card_recorded(bot.services.sessions, 1)
    after = tg.mark()
    tg.press_button(OFFICER, card.result, "staff:msg:1", chat=staff_chat(tg))
    prompt = await tg.wait_for_reply(STAFF_CHAT_ID, after=after)
    assert prompt.params["text"] == "Reply to this message with what you want to tell the reporter of report #1."
    assert prompt.params["reply_markup"]["force_reply"] is True
    after = tg.mark()
    officer_replies(tg, prompt.result, "Can you tell us the time?")
    assert "Can you tell us the time?" in (await tg.wait_for_reply(reporter.person.id, after=after)).params["text"]


async def test_a_forged_answer_button_is_refused(bot: RunningBot, tg: FakeTelegram, log_records) -> None:
    to_reporter = await officers_asked(bot, tg, Reporter(tg, user(7600004, "en")), "Question?")

    intruder = Reporter(tg, user(7600005, "ar", first_name="Mallory"))
    menu = await intruder.say("/start")
    after = tg.mark()
    tg.press_button(intruder.person, menu.result, answer_button(to_reporter.result))  # copied from someone else
    refusal = await tg.wait_for("answerCallbackQuery", after=after)
    assert refusal.params["text"] == f"هذا الزر لم يعد يعمل. يُرجى إرسال {FSI}/start{PDI}."
    assert "answer_button_refused" in log_records.text and "Mallory" not in log_records.text
    assert len(await rows(bot.services.sessions, ReportMessage)) == 1


async def test_only_listed_officers_may_write(tg: FakeTelegram, make_settings) -> None:
    async for running in start_bot(tg, make_settings(officer_ids="111")):
        await Reporter(tg, user(7600006, "en")).file("Text", notify=True)
        card = await card_of(tg, 1)
        await card_recorded(running.services.sessions, 1)
        after = tg.mark()
        officer_replies(tg, card.result, "Hello?")
        refusal = await tg.wait_for_reply(STAFF_CHAT_ID, after=after)
        assert refusal.params["text"] == "This is only for officers in the staff chat."
        assert await rows(running.services.sessions, ReportMessage) == []


async def test_officer_names_are_shown_only_when_the_agency_wants(tg: FakeTelegram, make_settings) -> None:
    async for running in start_bot(tg, make_settings(officer_names_visible=True)):
        reporter = Reporter(tg, user(7600007, "en"))
        await reporter.file("Text", notify=True)
        card = await card_of(tg, 1)
        await card_recorded(running.services.sessions, 1)
        after = tg.mark()
        officer_replies(tg, card.result, "Hello")
        told = await tg.wait_for_reply(reporter.person.id, after=after)
        assert told.params["text"].startswith("<b>Dana Reyes wrote about your report #1:</b>")


async def test_after_forget_officers_messages_wait_for_pickup(bot: RunningBot, tg: FakeTelegram) -> None:
    reporter = Reporter(tg, user(7600008, "en"))
    code, _ = await reporter.file("Text", notify=True)
    await reporter.say(f"/forget {code}")
    card = await card_of(tg, 1)
    await card_recorded(bot.services.sessions, 1)
    after = tg.mark()
    asked = officer_replies(tg, card.result, "Still there?")
    note = await staff_reply_to(tg, asked["message_id"], after)
    assert note.params["text"].startswith("Waiting for pickup")


# --- with the real translation worker ---------------------------------------------------

@pytest.fixture
async def translating(tg: FakeTelegram, make_settings, tmp_path: Path, packages) -> RunningBot:
    directory = tmp_path / "translation"
    install_packages(directory, packages["es_en"], packages["en_es"])
    async for running in start_bot(tg, make_settings(translation=True, translation_dir=directory)):
        yield running


async def test_a_report_is_translated_for_officers_after_its_card(translating: RunningBot, tg: FakeTelegram) -> None:
    text = "Hay un coche sospechoso aparcado frente a la escuela desde hace tres días. Nadie lo mueve."
    await Reporter(tg, user(7600010, "es")).file(text, category="suspicious")
    card = await card_of(tg, 1)
    await card_recorded(translating.services.sessions, 1)
    assert text in card.params["text"]  # the original, at once
    translation = await staff_reply_to(tg, card.result["message_id"])
    lines = translation.params["text"].split("\n")
    assert lines[0] == "<b>Machine translation of report #1 (es → en, offline):</b>"
    assert lines[1].startswith(FSI) and len(lines[1]) > 2
    # Random weights cannot survive a round trip: officers are warned.
    assert "Translated back, this text differs a lot from the original." in translation.params["text"]


async def test_a_report_with_no_model_says_why_it_is_not_translated(translating: RunningBot, tg: FakeTelegram) -> None:
    await Reporter(tg, user(7600011, "ar")).file("هناك سيارة مشبوهة متوقفة أمام المدرسة منذ ثلاثة أيام.")
    card = await card_of(tg, 1)
    await card_recorded(translating.services.sessions, 1)
    note = await staff_reply_to(tg, card.result["message_id"])
    assert note.params["text"] == "Report #1 was not translated: no offline model for this language is installed."


async def test_the_dialog_is_translated_both_ways(translating: RunningBot, tg: FakeTelegram) -> None:
    reporter = Reporter(tg, user(7600012, "es"))
    await reporter.file("Hay un coche sospechoso frente a la escuela.", notify=True)
    card = await card_of(tg, 1)
    await card_recorded(translating.services.sessions, 1)
    after = tg.mark()
    officer_replies(tg, card.result, "What colour is the car?")
    told = await tg.wait_for_reply(reporter.person.id, after=after)
    heading, body, label = told.params["text"].split("\n")
    assert heading == "<b>Los agentes escribieron sobre su reporte #1:</b>"
    assert body.startswith(FSI) and "What colour" not in body  # translated, not the English original
    assert label == "<i>(traducción automática, hecha en este servidor)</i>"

    await reporter.press(told, answer_button(told.result))
    after = tg.mark()
    await reporter.say("El coche es rojo y tiene una puerta abollada.")
    answer = await staff_reply_to(tg, card.result["message_id"], after)
    assert answer.params["text"].startswith("<b>The reporter of report #1 wrote:</b>")
    assert "<i>(machine translation, made on this server)</i>" in answer.params["text"]
    assert re.search(r"<b>Original \((es)\):</b>\n\u2068El coche es rojo y tiene una puerta abollada\.\u2069", answer.params["text"])


async def test_a_translation_that_times_out_still_reaches_officers(tg: FakeTelegram, make_settings, tmp_path, packages) -> None:
    directory = tmp_path / "translation"
    install_packages(directory, packages["es_en"])
    settings = make_settings(translation=True, translation_dir=directory, translation_timeout_seconds=1e-6)
    async for running in start_bot(tg, settings):
        await Reporter(tg, user(7600013, "es")).file("Hay un problema en la calle principal desde ayer.")
        card = await card_of(tg, 1)
        await card_recorded(running.services.sessions, 1)
        note = await staff_reply_to(tg, card.result["message_id"])
        assert note.params["text"] == "Report #1 was not translated: the translation took too long."
        assert running.services.settings.translation_timeout_seconds == 1e-6


async def test_an_answer_not_written_in_time_is_forgotten(tg: FakeTelegram, make_settings) -> None:
    async for bot in start_bot(tg, make_settings(draft_timeout_minutes=0.02)):  # 1.2 s
        reporter = Reporter(tg, user(7600010, "en"))
        to_reporter = await officers_asked(bot, tg, reporter, "Since when?")
        prompt = await reporter.press(to_reporter, answer_button(to_reporter.result))
        assert prompt.params["text"].startswith("Write your answer")
        answering = bot.services.answering
        assert len(answering) == 1

        for _ in range(200):  # the conversation times out after 1.2 s; a bounded wait for it
            if not len(answering):
                break
            await asyncio.sleep(0.05)
        assert len(answering) == 0
        reply = await reporter.say("Since Monday.")  # too late: not taken as an answer
        assert reply.params["text"] != "Sent to the officers. Thank you."
        assert [m.author for m in await rows(bot.services.sessions, ReportMessage)] == ["officer"]


@pytest.mark.parametrize(
    ("language_code", "limited_text"),
    [
        ("en", "You have sent many messages to the officers in a short time. You can write again in 60 minutes."),
        ("ar", f"لقد أرسلت رسائل كثيرة إلى الضباط في وقت قصير. يمكنك الكتابة مرة أخرى بعد {FSI}60{PDI} دقيقة."),
    ],
)
async def test_past_the_dialog_limit_the_answer_button_says_when_to_write_again(
    tg: FakeTelegram, make_settings, language_code, limited_text
) -> None:
    async for bot in start_bot(tg, make_settings(limit_dialog_messages_per_hour=1)):
        reporter = Reporter(tg, user(7600011, language_code))
        to_reporter = await officers_asked(bot, tg, reporter, "Since when?")
        await reporter.press(to_reporter, answer_button(to_reporter.result))
        await reporter.say("Since Monday.")
        assert [m.author for m in await rows(bot.services.sessions, ReportMessage)] == ["officer", "reporter"]

        limited = await reporter.press(to_reporter, answer_button(to_reporter.result))
        assert limited.params["text"] == limited_text
        assert not len(bot.services.answering)
        assert [m.author for m in await rows(bot.services.sessions, ReportMessage)] == ["officer", "reporter"]
