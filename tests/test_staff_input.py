"""Officers' buttons and commands with stale, forged or odd input, end to end over the fake Bot API.

Old buttons only ever move a report forward, and tell the reporter once per real change; numbers
that are not report or page numbers get an answer in the officers' language, never a crash.
"""

from __future__ import annotations

import logging
from collections import Counter
from collections.abc import AsyncIterator
from dataclasses import dataclass

import pytest

from bot.i18n import FSI, PDI
from bot.retention import Retention, purge
from storage.models import AuditEvent, OutboxKind, OutboxMessage, Report, ReportMessage
from tests.conftest import STAFF_CHAT_ID, RunningBot, start_bot, user
from tests.fake_telegram import Call, FakeTelegram
from tests.reporting import OFFICER, Reporter, card_of, card_recorded, rows, settled, staff_chat


async def press(tg: FakeTelegram, message: dict, data: str) -> Call:
    """An officer presses a button with `data` under `message` in the staff chat; returns its answer."""
    query_id = tg.press_button(OFFICER, message, data, chat=staff_chat(tg))["callback_query"]["id"]
    return await tg.wait_for("answerCallbackQuery", lambda c: c.params["callback_query_id"] == query_id)


async def delivered(bot: RunningBot) -> list[OutboxMessage]:
    """Every outbox row, once the delivery loop has sent them all."""
    return await settled(bot.services.sessions, OutboxMessage, lambda found: all(m.done_at for m in found))


def no_failures(log_records: pytest.LogCaptureFixture) -> bool:
    return "handler_failed" not in log_records.text and not [r for r in log_records.records if r.levelno >= logging.ERROR]


# --- stale buttons -----------------------------------------------------------------------

@pytest.mark.parametrize(
    ("language_code", "acknowledged", "closed"),
    [
        ("en", "Officers have read your report #1 and are looking at it.",
         "Officers have closed your report #1. Thank you for telling us."),
        ("ar", f"قرأ الضباط بلاغك رقم {FSI}1{PDI} وهم يتابعونه.",
         f"أغلق الضباط بلاغك رقم {FSI}1{PDI}. شكرًا لأنك أخبرتنا."),
    ],
)
async def test_old_buttons_never_move_a_closed_report_back_nor_tell_the_reporter_again(
    bot: RunningBot, tg: FakeTelegram, language_code: str, acknowledged: str, closed: str
) -> None:
    reporter = Reporter(tg, user(7800001, language_code))
    await reporter.file("A car has been parked here for days.", notify=True)
    card = (await card_of(tg, 1)).result
    await card_recorded(bot.services.sessions, 1)
    after = tg.mark()

    assert (await press(tg, card, "staff:ack:1")).params["text"] == "Saved: Acknowledged"
    assert (await press(tg, card, "staff:ack:1")).params["text"] == "Report #1 already has the status Acknowledged."
    assert (await press(tg, card, "staff:close:1")).params["text"] == "Saved: Closed"
    # The card as first posted still shows every button; each press is answered, none acts.
    for data in ["staff:ack:1"] * 5 + ["staff:close:1"] * 5 + ["staff:spam:1"]:
        answer = await press(tg, card, data)
        assert answer.params["text"] == "Report #1 already has the status Closed."

    outbox = await delivered(bot)
    [report] = await rows(bot.services.sessions, Report)
    assert report.status == "closed"
    assert [event.action for event in await rows(bot.services.sessions, AuditEvent) if event.report_id] == ["acknowledged", "closed"]
    kinds = Counter(message.kind for message in outbox)
    assert (kinds[OutboxKind.CARD_UPDATE], kinds[OutboxKind.REPORTER_NOTICE]) == (2, 2)
    told = [c.params["text"] for c in tg.calls[after:] if c.method == "sendMessage" and c.params["chat_id"] == reporter.person.id]
    assert [text.split("\n\n")[0] for text in told] == [acknowledged, closed]  # the closing one asks for feedback
    edits = [c for c in tg.calls[after:] if c.method == "editMessageText" and c.params["chat_id"] == STAFF_CHAT_ID]
    assert len(edits) == 2 and "Status: Closed by Dana Reyes" in edits[-1].params["text"]


async def test_a_report_marked_as_spam_stays_spam_and_its_reporter_hears_nothing(bot: RunningBot, tg: FakeTelegram) -> None:
    reporter = Reporter(tg, user(7800002, "en"))
    await reporter.file("Buy cheap watches", notify=True)
    card = (await card_of(tg, 1)).result
    await card_recorded(bot.services.sessions, 1)
    after = tg.mark()

    assert (await press(tg, card, "staff:spam:1")).params["text"] == "Saved: Marked as spam"
    for data in ("staff:close:1", "staff:ack:1", "staff:spam:1"):
        assert (await press(tg, card, data)).params["text"] == "Report #1 already has the status Marked as spam."

    outbox = await delivered(bot)
    [report] = await rows(bot.services.sessions, Report)
    assert report.status == "spam"
    assert [event.action for event in await rows(bot.services.sessions, AuditEvent) if event.report_id] == ["spam"]
    assert [m.kind for m in outbox if m.kind != OutboxKind.CARD] == [OutboxKind.CARD_UPDATE]
    assert not [c for c in tg.calls[after:] if c.params.get("chat_id") == reporter.person.id]


# --- numbers that are not report or page numbers -------------------------------------------

@dataclass(frozen=True)
class OfficerTexts:
    """Existing staff-chat strings as officers read them in one OFFICER_LOCALE."""

    queue_heading: str  # one open report
    show_usage: str
    missing: str  # "Report #{number} does not exist." with {number} still to fill
    already_acknowledged: str  # report #1

    def does_not_exist(self, number: str) -> str:
        return self.missing.format(number=number)


OFFICER_TEXTS = {
    "en": OfficerTexts(
        "Open reports, oldest first (1 in all):",
        "Send /show and a report number, for example: /show 12",
        "Report #{number} does not exist.",
        "Report #1 already has the status Acknowledged.",
    ),
    "ar": OfficerTexts(
        f"البلاغات المفتوحة، الأقدم أولًا (المجموع: {FSI}1{PDI}):",
        f"أرسل {FSI}/show{PDI} ثم رقم البلاغ، مثلًا: {FSI}/show{PDI} {FSI}12{PDI}",
        f"البلاغ رقم {FSI}{{number}}{PDI} غير موجود.",
        f"حالة البلاغ رقم {FSI}1{PDI} هي بالفعل {FSI}تم تأكيد الاستلام{PDI}.",
    ),
}


@dataclass
class Staff:
    bot: RunningBot
    texts: OfficerTexts
    card: dict  # report #1's card, as the staff chat has it


@pytest.fixture(params=["en", "ar"])
async def staff(request: pytest.FixtureRequest, tg: FakeTelegram, make_settings) -> AsyncIterator[Staff]:  # noqa: ANN001
    """A bot whose officers read OFFICER_LOCALE = en or ar, with one report's card in the staff chat."""
    async for running in start_bot(tg, make_settings(officer_locale=request.param)):
        await Reporter(tg, user(7800010, "en")).file("Text")
        await card_recorded(running.services.sessions, 1)
        yield Staff(running, OFFICER_TEXTS[request.param], tg.last_message_to(STAFF_CHAT_ID))


async def test_officers_read_that_a_report_keeps_its_status_in_their_language(staff: Staff, log_records) -> None:
    tg = staff.bot.tg
    await press(tg, staff.card, "staff:ack:1")
    assert (await press(tg, staff.card, "staff:ack:1")).params["text"] == staff.texts.already_acknowledged
    assert no_failures(log_records)


@pytest.mark.parametrize("page", ["²", "٣", "0", "3", "99999999999999999999", "abc"])
async def test_queue_with_any_page_lists_the_open_reports(staff: Staff, log_records, page: str) -> None:
    reply = await staff.bot.say(OFFICER, f"/queue {page}", chat=staff_chat(staff.bot.tg))
    heading, first = reply.params["text"].splitlines()[:2]
    assert heading == staff.texts.queue_heading
    assert first.startswith("#1 ")  # a page past the end shows the last one, not "No open reports."
    assert no_failures(log_records)


@pytest.mark.parametrize("number", ["", "²", "٣", "-1", "#", "2147483648", "99999999999999999999", "abc"])
async def test_show_without_a_report_number_explains_itself(staff: Staff, log_records, number: str) -> None:
    reply = await staff.bot.say(OFFICER, f"/show {number}".strip(), chat=staff_chat(staff.bot.tg))
    assert reply.params["text"] == staff.texts.show_usage
    assert no_failures(log_records)


@pytest.mark.parametrize("number", ["0", "2", "#2147483647"])
async def test_show_of_a_report_that_does_not_exist_says_so(staff: Staff, log_records, number: str) -> None:
    reply = await staff.bot.say(OFFICER, f"/show {number}", chat=staff_chat(staff.bot.tg))
    assert reply.params["text"] == staff.texts.does_not_exist(number.removeprefix("#"))
    assert no_failures(log_records)


@pytest.mark.parametrize(
    ("data", "number"),
    [("staff:ack:abc", "abc"), ("staff:ack:²", "²"), ("staff:close:999999999999", "999999999999"),
     ("staff:spam:99999999999999999999", "99999999999999999999"), ("staff:msg:99999999999999999999", "99999999999999999999"),
     ("staff:msg:", ""), ("staff:zzz:1", None), ("staff:ack:1:2", None)],
)
async def test_forged_staff_buttons_are_answered_and_change_nothing(staff: Staff, log_records, data: str, number: str | None) -> None:
    answer = await press(staff.bot.tg, staff.card, data)
    assert answer.params["text"] == (staff.texts.show_usage if number is None else staff.texts.does_not_exist(number))
    assert answer.params["show_alert"] is True
    [report] = await rows(staff.bot.services.sessions, Report)
    assert report.status == "new"
    assert [event for event in await rows(staff.bot.services.sessions, AuditEvent) if event.report_id] == []
    assert no_failures(log_records)


async def test_a_forged_queue_button_shows_the_first_page(staff: Staff, log_records) -> None:
    tg = staff.bot.tg
    after = tg.mark()
    await press(tg, staff.card, "staff:queue:abc")
    listing = await tg.wait_for_reply(STAFF_CHAT_ID, after=after)
    assert listing.params["text"].splitlines()[0] == staff.texts.queue_heading
    assert no_failures(log_records)


async def test_a_reply_to_a_prompt_whose_report_was_purged_is_answered(staff: Staff, log_records) -> None:
    tg = staff.bot.tg
    after = tg.mark()
    tg.press_button(OFFICER, staff.card, "staff:msg:1", chat=staff_chat(tg))
    prompt = await tg.wait_for_reply(STAFF_CHAT_ID, after=after)
    # As retention does, while the prompt waits.
    assert (await purge(staff.bot.services.unit_of_work, Retention(report_days=0, link_grace_days=7))).reports == 1

    after = tg.mark()
    tg.send_message(OFFICER, chat=staff_chat(tg), text="Can you tell us the time?", reply_to_message=prompt.result)
    reply = await tg.wait_for_reply(STAFF_CHAT_ID, after=after)
    assert reply.params["text"] == staff.texts.does_not_exist("1")
    assert await rows(staff.bot.services.sessions, ReportMessage) == []
    assert no_failures(log_records)
