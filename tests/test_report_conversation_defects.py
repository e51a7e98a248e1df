"""The report conversation against a hostile tester (issue 11): a receipt Telegram did not take,
words sent as a caption, and receipt codes that must go to /status, never into a report."""

from __future__ import annotations

import pytest

from bot.i18n import FSI, PDI
from bot.reports import Draft
from storage.models import OutboxKind, OutboxMessage, Report
from tests.conftest import RunningBot, start_bot, user
from tests.fake_telegram import Call, FakeTelegram
from tests.reporting import CODE, Reporter, buttons, card_of, rows

PAUSED = "Your report is paused. To go back to it, press Continue or send /report."
NOT_A_PLACE_FOR_CODES = (
    "This looks like a receipt code, so I did not add it to your report. To check a report, send /status and your code."
)
PAUSED_IN = {
    "en": PAUSED,
    "ar": f"بلاغك متوقف مؤقتًا. للعودة إليه، اضغط على «متابعة» أو أرسل {FSI}/report{PDI}.",
}
PHOTO = {"file_id": "photo-1", "file_unique_id": "p1", "width": 90, "height": 90}
PDF = {"file_id": "doc-1", "file_unique_id": "d1", "file_name": "letter.pdf", "mime_type": "application/pdf", "file_size": 900}


def draft_of(bot: RunningBot, reporter: Reporter) -> Draft | None:
    return bot.services.drafts.get(bot.services.keys.pseudonym(reporter.person.id))


async def to_review(reporter: Reporter, text: str) -> Call:
    """A report of `text` without place or time, up to its review with the Send button."""
    reply = await reporter.press(await reporter.start(), "report:cat:crime")
    reply = await reporter.press(await reporter.say(text), "report:next")
    return await reporter.press(await reporter.press(reply, "report:skip"), "report:skip")


# --- defect 2: the receipt is never lost ------------------------------------------------------

@pytest.mark.parametrize(
    ("language_code", "failure", "retry", "sorry", "received", "status_of_1"),
    [
        ("en", 502, "press Send", "Sorry, something went wrong on our side. Please try again in a moment.",
         "Thank you. Your report #1 was received.", "Report #1, sent on "),
        ("ar", 429, "press Send", "عذرًا، حدث خطأ من جهتنا. يُرجى المحاولة مرة أخرى بعد قليل.",
         f"شكرًا لك. تم استلام بلاغك رقم {FSI}1{PDI}.", f"البلاغ رقم {FSI}1{PDI}، أُرسل في "),
        ("en", 502, "/report", "Sorry, something went wrong on our side. Please try again in a moment.",
         "Thank you. Your report #1 was received.", "Report #1, sent on "),
    ],
)
async def test_a_receipt_telegram_did_not_take_is_shown_again_and_the_report_filed_once(
    bot: RunningBot, tg: FakeTelegram, language_code, failure, retry, sorry, received, status_of_1
) -> None:
    reporter = Reporter(tg, user(7300001, language_code))
    review = await to_review(reporter, "Someone breaks into cars on Elm Street every night.")

    # After the press is answered, the next message to the reporter is the one carrying the code.
    tg.fail_next("sendMessage", status=failure, chat_id=reporter.person.id)
    after = tg.mark()
    told = await reporter.press(review, "report:send")
    refused = await tg.wait_for("sendMessage", lambda c: c.failed == failure, after=after)
    code = CODE.search(refused.params["text"]).group()
    assert told.params["text"] == sorry

    again = await (reporter.press(review, "report:send") if retry == "press Send" else reporter.say(retry))
    assert again.params["text"].startswith(received)
    assert CODE.search(again.params["text"]).group() == code
    await reporter.press(again, "report:notify:no")

    [report] = await rows(bot.services.sessions, Report)
    assert report.receipt_hash == bot.services.keys.receipt_hash(code)
    await card_of(tg, 1)
    assert [m.kind for m in await rows(bot.services.sessions, OutboxMessage)] == [OutboxKind.CARD]
    assert (await reporter.say(f"/status {code}")).params["text"].startswith(status_of_1)
    assert draft_of(bot, reporter) is None


async def test_a_receipt_never_shown_is_tried_once_more_when_the_draft_expires(tg: FakeTelegram, make_settings) -> None:
    async for running in start_bot(tg, make_settings(draft_timeout_minutes=0.01)):
        reporter = Reporter(tg, user(7300002, "en"))
        review = await to_review(reporter, "Someone breaks into cars on Elm Street every night.")
        tg.fail_next("sendMessage", status=502, chat_id=reporter.person.id)
        after = tg.mark()
        await reporter.press(review, "report:send")  # sorry, try again; and then nothing
        refused = await tg.wait_for("sendMessage", lambda c: c.failed == 502, after=after)
        expired = await tg.wait_for_reply(reporter.person.id, timeout=15)
        assert expired.params["text"] == refused.params["text"]
        assert running.services.drafts.get(running.services.keys.pseudonym(reporter.person.id)) is None


# --- defect 4: a caption is part of what happened -----------------------------------------------

@pytest.mark.parametrize(
    ("language_code", "photo_answer", "file_answer"),
    [
        ("en", "Photo attached.\nSaved.\nSend more, or press Next.",
         "File attached. Hidden details in this file (such as its author) are not removed.\nSaved.\nSend more, or press Next."),
        ("ar", "تم إرفاق الصورة.\nتم الحفظ.\nأرسل المزيد، أو اضغط على «التالي».",
         "تم إرفاق الملف. لا نحذف التفاصيل المخفية في هذا الملف (مثل اسم مؤلفه).\nتم الحفظ.\nأرسل المزيد، أو اضغط على «التالي»."),
    ],
)
async def test_words_sent_with_a_photo_or_a_file_reach_officers_as_the_reports_text(
    bot: RunningBot, tg: FakeTelegram, language_code, photo_answer, file_answer
) -> None:
    reporter = Reporter(tg, user(7300010, language_code))
    await reporter.press(await reporter.start(), "report:cat:safety")
    photo = await reporter.send(photo=[PHOTO], caption="The broken window at the back door")
    assert photo.params["text"] == photo_answer
    document = await reporter.send(document=PDF, caption="The letter they left in the mailbox")
    assert document.params["text"] == file_answer

    reply = await reporter.press(document, "report:next")  # the captions are enough to go on
    review = await reporter.press(await reporter.press(reply, "report:skip"), "report:skip")
    await reporter.press(await reporter.press(review, "report:send"), "report:notify:no")
    [report] = await rows(bot.services.sessions, Report)
    assert report.body == "The broken window at the back door\nThe letter they left in the mailbox"
    assert "The letter they left in the mailbox" in (await card_of(tg, 1)).params["text"]


async def test_a_caption_over_the_limit_leaves_its_photo_out_too(bot: RunningBot, tg: FakeTelegram) -> None:
    reporter = Reporter(tg, user(7300011, "en"))
    await reporter.press(await reporter.start(), "report:cat:other")
    await reporter.say("y" * 3990)
    refused = await reporter.send(photo=[PHOTO], caption="z" * 20)
    assert refused.params["text"].startswith("This is too long. A report can have at most 4,000 characters;")
    assert "4,011" in refused.params["text"]
    draft = draft_of(bot, reporter)
    assert (draft.text, draft.attachments) == ("y" * 3990, [])


async def test_a_voice_messages_caption_is_kept_even_when_the_voice_is_not(bot: RunningBot, tg: FakeTelegram) -> None:
    reporter = Reporter(tg, user(7300012, "en"))
    await reporter.press(await reporter.start(), "report:cat:other")
    warning = await reporter.send(voice={"file_id": "voice-1", "file_unique_id": "v1", "duration": 3}, caption="He shouts every night")
    assert warning.params["text"].startswith("A voice can identify the person speaking.")
    declined = await reporter.press(warning, "report:voice:no")
    assert declined.params["text"] == "The voice message was not added.\nSaved.\nSend more, or press Next."
    draft = draft_of(bot, reporter)
    assert (draft.text, draft.attachments, draft.pending_voice) == ("He shouts every night", [], None)


async def test_a_report_paused_at_the_voice_warning_asks_it_again(bot: RunningBot, tg: FakeTelegram) -> None:
    reporter = Reporter(tg, user(7300013, "ar"))
    await reporter.press(await reporter.start(), "report:cat:other")
    warning = await reporter.send(voice={"file_id": "voice-1", "file_unique_id": "v1", "duration": 3})
    await reporter.say("/privacy")
    again = await reporter.press(await reporter.next_message(), "report:resume")
    assert again.params["text"] == warning.params["text"]
    kept = await reporter.press(again, "report:voice:yes")
    assert kept.params["text"] == "تم إرفاق الرسالة الصوتية.\nأرسل المزيد، أو اضغط على «التالي»."
    assert [a.file_id for a in draft_of(bot, reporter).attachments] == ["voice-1"]


# --- defect 5: codes go to /status, and another command pauses the report -----------------------

@pytest.mark.parametrize(
    ("language_code", "how", "asked", "status_of_1", "describe"),
    [
        ("en", "/status", "Please send your receipt code. It looks like this: 7KQM-2XRD-9FTB-H4PN.", "Report #1, sent on ",
         "Please describe what happened, in any language. You can also send photos, videos or files (up to 5)."),
        ("ar", "/status", "يُرجى إرسال رمز الإيصال.", f"البلاغ رقم {FSI}1{PDI}، أُرسل في ",
         f"يُرجى وصف ما حدث، بأي لغة. يمكنك أيضًا إرسال صور أو مقاطع فيديو أو ملفات (بحد أقصى {FSI}5{PDI})."),
        ("en", "menu:status", "Please send your receipt code. It looks like this: 7KQM-2XRD-9FTB-H4PN.", "Report #1, sent on ",
         "Please describe what happened, in any language. You can also send photos, videos or files (up to 5)."),
    ],
)
async def test_a_code_pasted_after_status_goes_to_status_and_never_into_the_report(
    bot: RunningBot, tg: FakeTelegram, language_code, how, asked, status_of_1, describe
) -> None:
    reporter = Reporter(tg, user(7300020, language_code))
    greeting = await reporter.say("/start")  # its main menu stays in the chat
    code, _ = await reporter.file("The first report.")
    await reporter.press(await reporter.start(), "report:cat:crime")
    await reporter.say("The second report starts here.")

    answer = await (reporter.say(how) if how.startswith("/") else reporter.press(greeting, how))
    assert answer.params["text"].startswith(asked)
    paused = await reporter.next_message()
    assert set(buttons(paused.result)) == {"report:resume", "report:cancel"}
    assert paused.params["text"] == PAUSED_IN[language_code]
    status = await reporter.say(code)
    assert status.params["text"].startswith(status_of_1)

    assert (await reporter.say("/report")).params["text"] == describe  # back where the person left
    reply = await reporter.press(await reporter.say("And it goes on here."), "report:next")
    review = await reporter.press(await reporter.press(reply, "report:skip"), "report:skip")
    await reporter.press(await reporter.press(review, "report:send"), "report:notify:no")
    second = {r.id: r for r in await rows(bot.services.sessions, Report)}[2]
    assert second.body == "The second report starts here.\nAnd it goes on here."
    assert code not in (await card_of(tg, 2)).params["text"]


async def test_after_send_status_and_the_code_work_while_the_notify_question_waits(bot: RunningBot, tg: FakeTelegram) -> None:
    reporter = Reporter(tg, user(7300021, "ar"))
    received = await reporter.press(await to_review(reporter, "نص البلاغ"), "report:send")
    code = CODE.search(received.params["text"]).group()
    await reporter.say("/status")
    status = await reporter.say(code)
    assert "لم يفتحه الضباط بعد." in status.params["text"]
    # The question is still answered by its buttons.
    assert (await reporter.press(received, "report:notify:no")).params["text"].startswith("لن نراسلك.")


@pytest.mark.parametrize("command", ["/start", "/help", "/privacy", "/language", "/forget", "/whatever"])
async def test_another_command_pauses_the_report_and_continue_goes_back_to_the_step(
    bot: RunningBot, tg: FakeTelegram, command: str
) -> None:
    reporter = Reporter(tg, user(7300030, "en"))
    await reporter.press(await reporter.start(), "report:cat:crime")
    place = await reporter.press(await reporter.say("Two men broke the bus stop glass."), "report:next")
    assert place.params["text"].startswith("Where did it happen?")

    await reporter.say(command)
    paused = await reporter.next_message()
    assert paused.params["text"] == PAUSED
    # The next text is not taken for the place: the report is not listening.
    assert (await reporter.say("Main Street")).params["text"].startswith("To send a report, press Report.")
    assert draft_of(bot, reporter).place is None

    again = await reporter.press(paused, "report:resume")
    assert again.params["text"] == place.params["text"]
    review = await reporter.press(await reporter.say("Main Street"), "report:skip")
    assert "Main Street" in review.params["text"] and "Two men broke the bus stop glass." in review.params["text"]


async def test_a_paused_report_is_deleted_by_its_cancel_button(bot: RunningBot, tg: FakeTelegram) -> None:
    reporter = Reporter(tg, user(7300031, "ar"))
    await reporter.press(await reporter.start(), "report:cat:crime")
    await reporter.say("نص البلاغ")
    await reporter.say("/help")
    cancelled = await reporter.press(await reporter.next_message(), "report:cancel")
    assert cancelled.params["text"] == "أُلغي البلاغ. لم يُرسَل أي شيء."
    assert draft_of(bot, reporter) is None
    assert await rows(bot.services.sessions, Report) == []


async def test_a_receipt_code_is_never_added_to_a_report(bot: RunningBot, tg: FakeTelegram) -> None:
    reporter = Reporter(tg, user(7300040, "en"))
    code, _ = await reporter.file("The first report.")
    await reporter.press(await reporter.start(), "report:cat:crime")
    assert (await reporter.say(f"My code is {code}, please add this")).params["text"] == NOT_A_PLACE_FOR_CODES
    assert (await reporter.send(photo=[PHOTO], caption=code)).params["text"] == NOT_A_PLACE_FOR_CODES
    # Numbers and words joined by hyphens are not codes.
    saved = await reporter.say("Card 4111-1111-1111-1111 was used by a well-kept-dark-blue car.")
    assert saved.params["text"].startswith("Saved.")

    await reporter.press(saved, "report:next")
    assert (await reporter.say(code)).params["text"] == NOT_A_PLACE_FOR_CODES
    await reporter.say("Elm Street")
    assert (await reporter.say(code.lower())).params["text"] == NOT_A_PLACE_FOR_CODES
    review = await reporter.say("Yesterday")
    await reporter.press(await reporter.press(review, "report:send"), "report:notify:no")

    second = {r.id: r for r in await rows(bot.services.sessions, Report)}[2]
    assert (second.body, second.place, second.occurred) == (
        "Card 4111-1111-1111-1111 was used by a well-kept-dark-blue car.", "Elm Street", "Yesterday"
    )
    assert draft_of(bot, reporter) is None
    assert (await reporter.say(f"/status {code}")).params["text"].startswith("Report #1, sent on ")


async def test_a_receipt_code_is_refused_in_the_persons_language(bot: RunningBot, tg: FakeTelegram) -> None:
    reporter = Reporter(tg, user(7300041, "ar"))
    code, _ = await reporter.file("البلاغ الأول.")
    await reporter.press(await reporter.start(), "report:cat:crime")
    refused = await reporter.say(code)
    assert refused.params["text"] == (
        f"يبدو هذا رمز إيصال، لذلك لم تتم إضافته إلى بلاغك. للتحقق من بلاغ، أرسل {FSI}/status{PDI} ثم رمز الإيصال."
    )
    assert draft_of(bot, reporter).text == ""
