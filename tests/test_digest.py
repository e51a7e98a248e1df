"""Surge digests end to end over the fake Bot API: while the staff chat is slow, reports pile up;
ordinary ones then reach officers ten to a message, urgent ones still first and alone, each report
exactly once; "Open #N" posts the full card, and what waited for it follows. In English and in
Arabic (right to left) for the officers; on SQLite and PostgreSQL."""

from __future__ import annotations

import html
import re
from collections import Counter
from collections.abc import Callable
from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import pytest

from bot.cards import language_name
from bot.categories import CATEGORIES
from bot.delivery.digest import DIGEST_SIZE, EXCERPT, DigestEntry, render_digest
from bot.i18n import I18n, _, active_locale, ngettext
from bot.telegram_text import TEXT_LIMIT, utf16_len
from storage.models import OutboxKind, OutboxMessage, Report
from tests.conftest import STAFF_CHAT_ID, RunningBot, start_bot, user
from tests.fake_telegram import Call, FakeTelegram
from tests.reporting import OFFICER, Reporter, buttons, rows, settled, staff_chat

THRESHOLD = 5
CAPTION = "The van outside the school has been there every night this week. " * 6  # longer than an entry shows
PHOTO = {"file_id": "photo-1", "file_unique_id": "p1", "width": 90, "height": 90}
URGENT_REPORT, PHOTO_REPORT = 9, 4
HEADING = re.compile(r"#(\d+)")


def shown(running: RunningBot, locale: str):  # noqa: ANN201
    return active_locale(running.services.i18n.get(locale))


def staff_sends(tg: FakeTelegram) -> list[Call]:
    return [c for c in tg.calls_to("sendMessage") if not c.failed and c.params["chat_id"] == STAFF_CHAT_ID]


def is_digest(call: Call) -> bool:
    return any(data.startswith("staff:open:") for data in buttons(call.result))


def numbers_in(call: Call) -> list[int]:
    """The reports a card or a digest shows, by the numbers in their buttons."""
    return sorted({int(data.rsplit(":", 1)[1]) for data in buttons(call.result) if re.fullmatch(r"staff:(open|ack):\d+", data)})


async def file_with_photo(reporter: Reporter) -> None:
    await reporter.press(await reporter.start(), "report:cat:crime")
    reply = await reporter.press(await reporter.send(photo=[PHOTO], caption=CAPTION), "report:next")
    review = await reporter.press(await reporter.press(reply, "report:skip"), "report:skip")
    await reporter.press(await reporter.press(review, "report:send"), "report:notify:no")


async def surge(running: RunningBot, tg: FakeTelegram) -> None:
    """Report 1's card is stuck on its way to the staff chat while 13 more reports arrive; report
    9 is urgent, report 4 has a photo. Then the staff chat answers again."""
    held = tg.hold("sendMessage", chat_id=STAFF_CHAT_ID)
    await Reporter(tg, user(7720001, "en")).file("A car has been parked here for days.")
    await held.arrived.wait()
    for number in range(2, 15):
        reporter = Reporter(tg, user(7720000 + number, "es" if number % 2 else "ar"))
        if number == PHOTO_REPORT:
            await file_with_photo(reporter)
        else:
            category = "threat" if number == URGENT_REPORT else "crime"
            await reporter.file(f"Report {number}: a man was trying car doors on Elm Street.", category=category)
    held.release()
    await settled(running.services.sessions, Report,
                  lambda found: len(found) == 14 and all(r.staff_message_id or r.digest_message_id for r in found))  # fmt: skip


@pytest.mark.parametrize("locale", ["en", "ar"])
async def test_a_surge_reaches_officers_in_digests_and_nothing_is_lost_or_doubled(
    tg: FakeTelegram, make_settings: Callable, locale: str
) -> None:
    async for running in start_bot(tg, make_settings(digest_threshold=THRESHOLD, officer_locale=locale)):
        await surge(running, tg)
        sent = staff_sends(tg)
        # The card that was on its way, then the urgent one, then ten ordinary ones in one
        # digest, then the two left, fewer than the threshold, one card each.
        assert [(is_digest(c), numbers_in(c)) for c in sent] == [
            (False, [1]), (False, [URGENT_REPORT]), (True, [2, 3, 4, 5, 6, 7, 8, 10, 11, 12]), (False, [13]), (False, [14]),
        ]  # fmt: skip
        shown_once = Counter(n for call in sent for n in numbers_in(call))
        assert shown_once == Counter(range(1, 15))
        digest = sent[2]
        assert utf16_len(html.unescape(re.sub("<[^>]+>", "", digest.params["text"]))) <= TEXT_LIMIT
        with shown(running, locale):
            header = ngettext(
                "Many reports at once: {n} report in short. Open it for its full card, buttons, attachments and translation.",
                "Many reports at once: {n} reports in short. Open each for its full card, buttons, attachments and translation.",
                10,
            )
            labels = {f"staff:open:{n}": _("Open #{number}", number=str(n)) for n in numbers_in(digest)}
            heading = _("Report #{number}: {category}", number="4", category=_(CATEGORIES["crime"]))
        assert digest.params["text"].startswith(f"<i>{header}</i>\n\n")
        assert buttons(digest.result) == labels
        entry = next(part for part in digest.params["text"].split("\n\n") if heading in part)
        assert "The van outside the school" in entry and entry.count("The van") < 10 and "…" in entry
        assert language_name("ar", locale) in entry.splitlines()[0]  # report 4's reporter wrote in Arabic
        assert tg.calls_to("sendPhoto") == []  # the photo waits for its card

        reports = {r.id: r for r in await rows(running.services.sessions, Report)}
        assert {n for n, r in reports.items() if r.digest_message_id} == set(numbers_in(digest))
        assert all(reports[n].digest_message_id == digest.result["message_id"] for n in numbers_in(digest))
        assert {n for n, r in reports.items() if r.staff_message_id} == {1, URGENT_REPORT, 13, 14}
        waiting = [m for m in await rows(running.services.sessions, OutboxMessage) if m.done_at is None]
        assert [(m.kind, m.report_id, m.dead_at) for m in waiting] == [(OutboxKind.ATTACHMENT, PHOTO_REPORT, None)]

        # Opening report 4 posts its full card with its buttons; its photo follows as a reply.
        after = tg.mark()
        tg.press_button(OFFICER, digest.result, f"staff:open:{PHOTO_REPORT}", chat=staff_chat(tg))
        card = await tg.wait_for("sendMessage", lambda c: c.params["chat_id"] == STAFF_CHAT_ID and not is_digest(c), after=after)
        assert numbers_in(card) == [PHOTO_REPORT] and f"staff:ack:{PHOTO_REPORT}" in buttons(card.result)
        photo = await tg.wait_for("sendPhoto", lambda c: not c.failed, after=after)
        assert (photo.params["chat_id"], photo.params["reply_parameters"]["message_id"]) == (STAFF_CHAT_ID, card.result["message_id"])
        await settled(running.services.sessions, OutboxMessage, lambda found: all(m.done_at for m in found))
        # Opened again: the card is posted again, as /show does, and nothing is queued twice.
        after = tg.mark()
        tg.press_button(OFFICER, digest.result, f"staff:open:{PHOTO_REPORT}", chat=staff_chat(tg))
        again = await tg.wait_for("sendMessage", lambda c: c.params["chat_id"] == STAFF_CHAT_ID, after=after)
        assert numbers_in(again) == [PHOTO_REPORT]
        cards = [m for m in await rows(running.services.sessions, OutboxMessage) if m.kind == OutboxKind.CARD]
        assert Counter(m.report_id for m in cards) == Counter({**dict.fromkeys(range(1, 15), 1), PHOTO_REPORT: 2})


async def test_a_digest_telegram_refuses_is_sent_again_whole_and_once(tg: FakeTelegram, make_settings: Callable) -> None:
    """429, a 502 and a network-level failure while the surge drains: every report still reaches
    officers exactly once, in a card or a digest, and nothing is left queued or dead."""
    async for running in start_bot(tg, make_settings(digest_threshold=THRESHOLD)):
        tg.fail_next("sendMessage", status=502, chat_id=STAFF_CHAT_ID, times=2)
        tg.fail_next("sendMessage", status=429, retry_after=1, chat_id=STAFF_CHAT_ID)
        tg.fail_next("sendMessage", status=504, chat_id=STAFF_CHAT_ID)
        await surge(running, tg)
        refused = [c for c in tg.calls_to("sendMessage") if c.failed and c.params["chat_id"] == STAFF_CHAT_ID]
        assert sorted(c.failed for c in refused) == [429, 502, 502, 504]
        assert any("staff:open:" in str(c.params.get("reply_markup")) for c in refused)  # a digest was among them
        sent = staff_sends(tg)
        assert any(is_digest(c) for c in sent)
        assert Counter(n for call in sent for n in numbers_in(call)) == Counter(range(1, 15))
        messages = await rows(running.services.sessions, OutboxMessage)
        assert [m.dead_at for m in messages] == [None] * len(messages)
        assert [(m.kind, m.report_id) for m in messages if m.done_at is None] == [(OutboxKind.ATTACHMENT, PHOTO_REPORT)]


async def test_open_buttons_are_for_officers_and_numbers_are_checked(tg: FakeTelegram, make_settings: Callable) -> None:
    async for running in start_bot(tg, make_settings(digest_threshold=THRESHOLD)):
        await surge(running, tg)
        digest = next(c for c in staff_sends(tg) if is_digest(c))
        after = tg.mark()
        query = tg.press_button(OFFICER, digest.result, "staff:open:999", chat=staff_chat(tg))["callback_query"]
        forged = await tg.wait_for_answer(STAFF_CHAT_ID, query_id=query["id"], after=after)
        assert forged.params["text"] == "Report #999 does not exist."
        outsider = user(7729999, "en")
        query = tg.press_button(outsider, digest.result, "staff:open:2", chat=outsider.private_chat())["callback_query"]
        refused = await tg.wait_for_answer(outsider.id, query_id=query["id"], after=after)
        assert refused.params["text"] == "This is only for officers in the staff chat."
        cards = [m for m in await rows(running.services.sessions, OutboxMessage) if m.kind == OutboxKind.CARD]
        assert len(cards) == 14  # nothing was queued by either press


async def test_show_n_opens_a_report_listed_in_a_digest(tg: FakeTelegram, make_settings: Callable) -> None:
    async for running in start_bot(tg, make_settings(digest_threshold=THRESHOLD)):
        await surge(running, tg)
        after = tg.mark()
        await running.say(OFFICER, f"/show {PHOTO_REPORT}", chat=staff_chat(tg))
        card = await tg.wait_for("sendMessage", lambda c: c.params["chat_id"] == STAFF_CHAT_ID, after=after)
        assert numbers_in(card) == [PHOTO_REPORT] and f"staff:ack:{PHOTO_REPORT}" in buttons(card.result)
        photo = await tg.wait_for("sendPhoto", lambda c: not c.failed, after=after)
        assert photo.params["reply_parameters"]["message_id"] == card.result["message_id"]


async def test_no_digest_below_the_threshold_or_when_turned_off(tg: FakeTelegram, make_settings: Callable) -> None:
    async for running in start_bot(tg, make_settings(digest_threshold=0)):
        await surge(running, tg)
        sent = staff_sends(tg)
        assert not any(is_digest(c) for c in sent)
        assert Counter(n for call in sent for n in numbers_in(call)) == Counter(range(1, 15))


SHIPPED = I18n("en")


@pytest.mark.parametrize("locale", SHIPPED.locales)
def test_a_digest_of_the_longest_entries_fits_one_message(locale: str) -> None:
    with active_locale(SHIPPED.get(locale)):
        category = max(CATEGORIES, key=lambda key: len(_(CATEGORIES[key])))
        language = max(SHIPPED.locales, key=lambda code: len(language_name(code, locale)))
        entries = [
            DigestEntry(2**31 - 1 - n, category, datetime(2026, 12, 31, 23, 59, tzinfo=UTC), language, "𝒲" * EXCERPT * 2, 10)
            for n in range(DIGEST_SIZE)
        ]
        text = render_digest(entries, ZoneInfo("America/Chicago"))
    assert utf16_len(html.unescape(re.sub("<[^>]+>", "", text))) <= TEXT_LIMIT
