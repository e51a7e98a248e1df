"""An edited message is never passed on again, and changes nothing already taken."""

from __future__ import annotations

import time

import pytest

from storage.models import ReportMessage
from tests.conftest import STAFF_CHAT_ID, RunningBot, user
from tests.fake_telegram import FakeTelegram
from tests.reporting import Reporter, card_of, card_recorded, rows
from tests.test_dialog import answer_button, officer_replies, officers_asked

NOT_PASSED_ON = "Edits are not passed on. If something has changed, please send it as a new message."


def edit(tg: FakeTelegram, message: dict, text: str) -> None:
    """Telegram's update when the sender edits `message` to read `text`."""
    tg.push_update({"edited_message": {**message, "text": text, "edit_date": int(time.time())}})


@pytest.mark.parametrize(
    ("language_code", "not_passed_on"),
    [("en", NOT_PASSED_ON), ("ar", "لا تُنقَل التعديلات على الرسائل المُرسَلة. إذا تغيّر شيء، يُرجى إرساله كرسالة جديدة.")],
)
async def test_a_reporter_editing_an_answer_does_not_send_it_again(
    bot: RunningBot, tg: FakeTelegram, language_code: str, not_passed_on: str
) -> None:
    reporter = Reporter(tg, user(7830001, language_code))
    asked = await officers_asked(bot, tg, reporter, "Which colour?")
    await reporter.press(asked, answer_button(asked.result))
    sent = tg.send_text(reporter.person, "Red.")["message"]
    await tg.wait_for_reply(reporter.person.id)

    after = tg.mark()
    edit(tg, sent, "Red, with a dented door.")
    assert (await tg.wait_for_reply(reporter.person.id, after=after)).params["text"] == not_passed_on
    assert [m.body for m in await rows(bot.services.sessions, ReportMessage) if m.author == "reporter"] == ["Red."]


async def test_an_officer_fixing_a_typo_does_not_write_to_the_reporter_twice(bot: RunningBot, tg: FakeTelegram) -> None:
    reporter = Reporter(tg, user(7830002, "en"))
    await reporter.file("Text", notify=True)
    card = await card_of(tg, 1)
    await card_recorded(bot.services.sessions, 1)
    after = tg.mark()
    reply = officer_replies(tg, card.result, "Whihc colour?")
    await tg.wait_for_reply(reporter.person.id, after=after)

    after = tg.mark()
    edit(tg, reply, "Which colour?")
    notice = await tg.wait_for("sendMessage", lambda c: c.params["chat_id"] == STAFF_CHAT_ID, after=after)
    assert notice.params["text"] == NOT_PASSED_ON
    assert not [c for c in tg.calls[after:] if c.params.get("chat_id") == reporter.person.id]
    assert [m.body for m in await rows(bot.services.sessions, ReportMessage)] == ["Whihc colour?"]


async def test_an_edited_report_text_leaves_the_saved_draft_as_it_was(bot: RunningBot, tg: FakeTelegram) -> None:
    reporter = Reporter(tg, user(7830003, "en"))
    await reporter.press(await reporter.start(), "report:cat:crime")
    sent = tg.send_text(reporter.person, "A blue car.")["message"]
    await tg.wait_for_reply(reporter.person.id)

    after = tg.mark()
    edit(tg, sent, "A red car.")
    assert (await tg.wait_for_reply(reporter.person.id, after=after)).params["text"] == NOT_PASSED_ON
    assert bot.services.drafts.get(bot.services.keys.pseudonym(reporter.person.id)).text == "A blue car."
