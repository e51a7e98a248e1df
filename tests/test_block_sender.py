"""Block sender, end to end over the fake Bot API: officers refuse a person's reports and messages
from a report's card, and can undo it; nobody learns who the person is."""

from __future__ import annotations

import pytest
from sqlalchemy import text

from bot.blocks import refusal
from bot.i18n import active_locale
from storage.models import AuditEvent, BlockedSender, Report, ReportMessage
from tests.conftest import STAFF_CHAT_ID, RunningBot, database_bytes, user
from tests.fake_telegram import Call, FakeTelegram, FakeUser
from tests.reporting import OFFICER, Reporter, buttons, card_of, card_recorded, rows, settled, staff_chat
from tests.test_dialog import answer_button, officer_replies
from tests.test_staff_input import no_failures, press

BLOCKED = "Blocked: the bot now refuses new reports and messages from the sender of report #{number}. To undo, press Unblock sender."
UNBLOCKED = "Unblocked: the sender of report #{number} can send reports and messages again."


def refusal_in(bot: RunningBot, locale: str) -> str:
    with active_locale(bot.services.i18n.get(locale)):
        return refusal("911")


async def try_to_file(reporter: Reporter, text: str) -> Call:
    """Every step of a report up to Send; returns the bot's answer to Send."""
    reply = await reporter.press(await reporter.start(), "report:cat:other")
    reply = await reporter.press(await reporter.say(text), "report:next")
    review = await reporter.press(await reporter.press(reply, "report:skip"), "report:when:today")
    return await reporter.press(review, "report:send")


async def card_edit(tg: FakeTelegram, after: int) -> Call:
    return await tg.wait_for("editMessageText", lambda c: c.params["chat_id"] == STAFF_CHAT_ID, after=after)


@pytest.mark.parametrize("language_code", ["en", "ar"])
async def test_a_blocked_sender_is_refused_politely_until_unblocked(
    bot: RunningBot, tg: FakeTelegram, log_records, language_code: str
) -> None:
    reporter = Reporter(tg, user(7900001, language_code))
    await reporter.file("Someone keeps sending threats through this bot.")
    card = (await card_of(tg, 1)).result
    await card_recorded(bot.services.sessions, 1)
    assert buttons(card)["staff:block:1"] == "Block sender"

    after = tg.mark()
    answer = await press(tg, card, "staff:block:1")
    assert (answer.params["text"], answer.params["show_alert"]) == (BLOCKED.format(number=1), True)
    blocked_card = await card_edit(tg, after)
    assert "Sender blocked by Dana Reyes" in blocked_card.params["text"]
    assert buttons(blocked_card.result)["staff:unblock:1"] == "Unblock sender"
    assert "staff:block:1" not in buttons(blocked_card.result)
    [block] = await rows(bot.services.sessions, BlockedSender)
    assert (block.officer_id, block.officer_name) == (OFFICER.id, "Dana Reyes")
    assert (await press(tg, card, "staff:block:1")).params["text"] == "The sender of report #1 is blocked already."

    refused = await try_to_file(reporter, "Another report.")
    assert refused.params["text"] == refusal_in(bot, language_code)
    assert "report:send" not in buttons(refused.result)
    assert len(await rows(bot.services.sessions, Report)) == 1
    privacy = await reporter.say("/privacy")  # everything that does not reach officers still works
    assert privacy.params["text"] != refused.params["text"]

    after = tg.mark()
    assert (await press(tg, blocked_card.result, "staff:unblock:1")).params["text"] == UNBLOCKED.format(number=1)
    unblocked_card = await card_edit(tg, after)
    assert "Sender blocked" not in unblocked_card.params["text"]
    assert "staff:block:1" in buttons(unblocked_card.result)
    assert (await press(tg, card, "staff:unblock:1")).params["text"] == "The sender of report #1 is not blocked."
    assert await rows(bot.services.sessions, BlockedSender) == []

    await reporter.file("Reporting works again.")
    await card_of(tg, 2)
    events = [e for e in await rows(bot.services.sessions, AuditEvent) if e.action.endswith("block_sender")]
    assert [(e.action, e.report_id, e.officer_id, e.officer_name) for e in events] == [
        ("block_sender", None, OFFICER.id, "Dana Reyes"), ("unblock_sender", None, OFFICER.id, "Dana Reyes"),
    ]  # fmt: skip
    assert no_failures(log_records)


@pytest.mark.parametrize("language_code", ["en", "ar"])
async def test_a_blocked_reporter_cannot_answer_officers(bot: RunningBot, tg: FakeTelegram, language_code: str) -> None:
    reporter = Reporter(tg, user(7900002, language_code))
    await reporter.file("A van keeps circling the school.", notify=True)
    card = (await card_of(tg, 1)).result
    await card_recorded(bot.services.sessions, 1)
    after = tg.mark()
    officer_replies(tg, card, "Which colour was the van?")
    question = await tg.wait_for_reply(reporter.person.id, after=after)

    await reporter.press(question, answer_button(question.result))  # writing an answer...
    await press(tg, card, "staff:block:1")  # ...when officers block the sender
    written = await reporter.say("It was red.")
    assert written.params["text"] == refusal_in(bot, language_code)
    pressed_again = await reporter.press(question, answer_button(question.result))
    assert pressed_again.params["text"] == refusal_in(bot, language_code)
    messages = await rows(bot.services.sessions, ReportMessage)
    assert [m.author for m in messages] == ["officer"]


async def test_forget_does_not_lift_a_block(bot: RunningBot, tg: FakeTelegram) -> None:
    reporter = Reporter(tg, user(7900003, "en"))
    await reporter.file("Someone keeps sending threats through this bot.")
    card = (await card_of(tg, 1)).result
    await card_recorded(bot.services.sessions, 1)
    await press(tg, card, "staff:block:1")

    await reporter.press(await reporter.say("/forget"), "forget:yes")
    [report] = await rows(bot.services.sessions, Report)
    assert report.sender is None  # the report no longer leads to the person...
    assert len(await rows(bot.services.sessions, BlockedSender)) == 1  # ...but the block stays
    refused = await try_to_file(reporter, "Another report.")
    assert refused.params["text"] == refusal_in(bot, "en")
    assert len(await rows(bot.services.sessions, Report)) == 1


async def test_blocking_reveals_nobody(bot: RunningBot, tg: FakeTelegram, database_url: str, log_records) -> None:
    person = FakeUser(id=8_412_345_678, first_name="Firstq9zed", last_name="Lastq9zed", username="handle_q9_zed", language_code="en")
    reporter = Reporter(tg, person)
    await reporter.file("Something happened near the park.")
    card = (await card_of(tg, 1)).result
    await card_recorded(bot.services.sessions, 1)
    await press(tg, card, "staff:block:1")
    await try_to_file(reporter, "Again.")
    after = tg.mark()
    await press(tg, card, "staff:unblock:1")
    await card_edit(tg, after)
    await press(tg, card, "staff:block:1")
    await settled(bot.services.sessions, BlockedSender, lambda found: len(found) == 1)

    pseudonym = bot.services.keys.pseudonym(person.id)
    async with bot.services.engine.connect() as connection:
        [sender] = (await connection.execute(text("SELECT sender FROM reports"))).scalars()
    assert pseudonym not in str(sender)  # stored encrypted
    stored = await database_bytes(database_url)
    staff_calls = " ".join(
        str(c.params) for c in tg.calls if c.params.get("chat_id") == STAFF_CHAT_ID or c.method == "answerCallbackQuery"
    )
    for identifier in (str(person.id), person.first_name, person.last_name, person.username):
        assert identifier.encode() not in stored
        assert identifier not in staff_calls
        assert identifier not in log_records.text
    assert pseudonym not in staff_calls and pseudonym not in log_records.text


async def test_a_report_from_before_blocking_existed_has_no_block_button(bot: RunningBot, tg: FakeTelegram) -> None:
    await Reporter(tg, user(7900003, "en")).file("An old report.")
    card = (await card_of(tg, 1)).result
    await card_recorded(bot.services.sessions, 1)
    async with bot.services.engine.begin() as connection:
        await connection.execute(text("UPDATE reports SET sender = NULL"))  # as migration 0007 leaves old reports

    shown = await bot.say(OFFICER, "/show 1", chat=staff_chat(tg))
    assert not {"staff:block:1", "staff:unblock:1"} & set(buttons(shown.result))
    answer = await press(tg, card, "staff:block:1")
    assert answer.params["text"] == "Report #1 was received before senders could be blocked: its sender cannot be blocked."
    assert await rows(bot.services.sessions, BlockedSender) == []


@pytest.mark.parametrize(("data", "number"), [("staff:block:abc", "abc"), ("staff:unblock:99999999999", "99999999999")])
async def test_forged_block_buttons_are_answered_and_block_nobody(
    bot: RunningBot, tg: FakeTelegram, log_records, data: str, number: str
) -> None:
    await Reporter(tg, user(7900004, "en")).file("Text.")
    card = (await card_of(tg, 1)).result
    answer = await press(tg, card, data)
    assert answer.params["text"] == f"Report #{number} does not exist."
    assert await rows(bot.services.sessions, BlockedSender) == []
    assert no_failures(log_records)


async def test_only_officers_in_the_staff_chat_may_block(bot: RunningBot, tg: FakeTelegram) -> None:
    reporter = Reporter(tg, user(7900005, "en"))
    await reporter.file("Text.")
    card = (await card_of(tg, 1)).result
    query_id = tg.press_button(reporter.person, card, "staff:block:1", chat=reporter.person.private_chat())["callback_query"]["id"]
    answer = await tg.wait_for("answerCallbackQuery", lambda c: c.params["callback_query_id"] == query_id)
    assert answer.params["text"] == "This is only for officers in the staff chat."
    assert await rows(bot.services.sessions, BlockedSender) == []
