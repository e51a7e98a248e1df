"""Telegram's 4,096-character text and 1,024-character caption limits: long texts arrive whole,
split into messages that each fit, measured as Telegram measures (UTF-16 units after parsing the
HTML, so an emoji counts 2). The fake Bot API refuses anything longer, as Telegram does."""

from __future__ import annotations

import html
import re

import pytest
from hypothesis import given
from hypothesis import strategies as st

from bot.i18n import FSI, PDI, _, active_locale
from bot.reports import MAX_TEXT
from bot.telegram_text import TEXT_LIMIT, split_text, utf16_len
from storage.models import OutboxMessage
from tests.conftest import STAFF_CHAT_ID, RunningBot, user
from tests.fake_telegram import CAPTION_LIMIT, FakeTelegram
from tests.reporting import OFFICER, Reporter, buttons, card_of, card_recorded, settled, staff_chat

LONG = ("Officer's question 😀 <b>&amp; " * 400)[:5000]  # 5,000 characters, well over 4,096 units
EMOJI_REPORT = "😀 " * (MAX_TEXT // 2)  # 4,000 characters, 6,000 units


def visible(text: str) -> str:
    return html.unescape(re.sub(r"<[^>]*>", "", text))


def words(text: str) -> str:
    """The text without the blank space where it was cut."""
    return re.sub(r"\s+", "", text)


@given(st.text(max_size=3000), st.integers(min_value=2, max_value=600))
def test_split_text_loses_nothing_and_every_part_fits(text: str, limit: int) -> None:
    parts = split_text(text, limit)
    assert all(utf16_len(part) <= limit for part in parts)
    assert words("".join(parts)) == words(text)


def test_an_emoji_counts_two_and_is_never_cut_in_half() -> None:
    parts = split_text("😀" * 5, 3)
    assert parts == ["😀", "😀", "😀", "😀", "😀"]
    assert utf16_len("😀a") == 3


def without_heading(part: str) -> str:
    """A part's content: what follows the bold heading line, the isolates removed."""
    if part.startswith("<b>"):
        part = part.split("\n", 1)[1]
    return visible(part).replace(FSI, "").replace(PDI, "")


async def delivered(bot: RunningBot) -> None:
    await bot.handled()
    await settled(bot.services.sessions, OutboxMessage, lambda found: all(m.done_at for m in found), timeout=20)


def all_fit(tg: FakeTelegram) -> bool:
    """Every text and caption the bot sent fits, and Telegram refused none as too long."""
    for call in tg.calls:
        shown = call.params.get("text") or ""
        if call.params.get("parse_mode") == "HTML":
            shown = visible(shown)
        if utf16_len(shown) > TEXT_LIMIT or utf16_len(call.params.get("caption") or "") > CAPTION_LIMIT:
            return False
    return not [c for c in tg.calls if c.failed == 400 and c.method != "editMessageText"]


@pytest.mark.parametrize("language_code", ["en", "ar"])
async def test_a_long_officer_message_reaches_the_reporter_whole(bot: RunningBot, tg: FakeTelegram, language_code: str) -> None:
    reporter = Reporter(tg, user(7_995_001, language_code))
    await reporter.file("Text", notify=True)
    card = await card_of(tg, 1)
    await card_recorded(bot.services.sessions, 1)
    after = tg.mark()
    tg.send_message(OFFICER, chat=staff_chat(tg), text=LONG, reply_to_message=card.result)
    await delivered(bot)

    parts = [c.params["text"] for c in tg.calls[after:] if c.method == "sendMessage" and c.params["chat_id"] == reporter.person.id]
    with active_locale(bot.services.i18n.get(language_code)):
        heading = _("Officers wrote about your report #{number}:", number="1")
    assert parts[0].startswith(f"<b>{heading}</b>\n")
    assert len(parts) >= 2
    assert words("".join(without_heading(p) for p in parts)) == words(LONG)
    assert all_fit(tg)


@pytest.mark.parametrize("language_code", ["en", "ar"])
async def test_long_status_output_shows_every_officer_message_whole(bot: RunningBot, tg: FakeTelegram, language_code: str) -> None:
    reporter = Reporter(tg, user(7_995_002, language_code))
    code, _final = await reporter.file("Text", notify=False)
    card = await card_of(tg, 1)
    await card_recorded(bot.services.sessions, 1)
    questions = [f"Question {n}: " + LONG for n in range(3)]
    for question in questions:
        tg.send_message(OFFICER, chat=staff_chat(tg), text=question, reply_to_message=card.result)
    await delivered(bot)

    after = tg.mark()
    await reporter.say(f"/status {code}")
    answer = await tg.wait_for("sendMessage", lambda c: c.params["chat_id"] == reporter.person.id and any(
        d.startswith("ans:") for d in buttons(c.result)), after=after)  # fmt: skip
    parts = [c.params["text"] for c in tg.calls[after:] if c.method == "sendMessage" and c.params.get("parse_mode") == "HTML"]
    assert answer.params["text"] == parts[-1]  # the Answer button under the very last part
    assert words("".join(without_heading(p) for p in parts)) == words("".join(questions))
    assert len(parts) >= 6 and all_fit(tg)


@pytest.mark.parametrize("language_code", ["en", "ar"])
async def test_a_long_answer_from_the_reporter_reaches_the_officers_whole(bot: RunningBot, tg: FakeTelegram, language_code: str) -> None:
    reporter = Reporter(tg, user(7_995_003, language_code))
    await reporter.file("Text", notify=True)
    card = await card_of(tg, 1)
    await card_recorded(bot.services.sessions, 1)
    after = tg.mark()
    tg.send_message(OFFICER, chat=staff_chat(tg), text="Tell us more?", reply_to_message=card.result)
    question = await tg.wait_for_reply(reporter.person.id, after=after)
    await reporter.press(question, next(d for d in buttons(question.result) if d.startswith("ans:")))
    thanks = await reporter.say(EMOJI_REPORT)
    with active_locale(bot.services.i18n.get(language_code)):
        assert thanks.params["text"] == _("Sent to the officers. Thank you.")
    await delivered(bot)

    parts = [c.params["text"] for c in tg.calls_to("sendMessage") if c.params["chat_id"] == STAFF_CHAT_ID and "😀" in c.params["text"]]
    assert parts[0].startswith("<b>The reporter of report #1 wrote:</b>\n")
    assert words("".join(without_heading(p) for p in parts)) == words(EMOJI_REPORT)
    assert len(parts) >= 2 and all_fit(tg)


@pytest.mark.parametrize("language_code", ["en", "ar"])
async def test_the_longest_report_text_reaches_the_review_and_the_officers_whole(
    bot: RunningBot, tg: FakeTelegram, language_code: str
) -> None:
    reporter = Reporter(tg, user(7_995_004, language_code))
    await reporter.press(await reporter.start(), "report:cat:other")
    place = await reporter.press(await reporter.say(EMOJI_REPORT), "report:next")
    review_started = tg.mark()
    await reporter.press(await reporter.press(place, "report:skip"), "report:when:today")
    with_send = await tg.wait_for("sendMessage", lambda c: "report:send" in buttons(c.result), after=review_started)
    await reporter.press(with_send, "report:send")
    await delivered(bot)
    review = [c.params["text"] for c in tg.calls[review_started:] if c.method == "sendMessage"
              and c.params["chat_id"] == reporter.person.id and c.params["text"].startswith(FSI)]  # fmt: skip
    staff = [c.params["text"] for c in tg.calls_to("sendMessage") if c.params["chat_id"] == STAFF_CHAT_ID and c.params["text"].startswith(FSI)]
    for parts in (review, staff):  # the person reviews exactly what officers receive
        assert len(parts) >= 2
        assert words("".join(without_heading(p) for p in parts)) == words(EMOJI_REPORT)
    assert review == staff and all_fit(tg)


async def test_a_caption_of_2000_characters_is_kept_whole_as_the_reports_text(bot: RunningBot, tg: FakeTelegram) -> None:
    reporter = Reporter(tg, user(7_995_005, "en"))
    caption = ("A long caption 😀 " * 200)[:2000].strip()
    await reporter.press(await reporter.start(), "report:cat:other")
    photo = [{"file_id": "photo-long-caption", "file_unique_id": "plc", "width": 9, "height": 9, "file_size": 99}]
    added = await reporter.send(photo=photo, caption=caption)
    assert added.params["text"].startswith("Photo attached.\nSaved.")
    reply = await reporter.press(added, "report:next")
    review = await reporter.press(await reporter.press(reply, "report:skip"), "report:when:today")
    await reporter.press(review, "report:send")
    await bot.handled()
    await delivered(bot)
    card = (await card_of(tg, 1)).params["text"]
    assert f"{FSI}{caption}{PDI}" in visible(card)
    attachment = tg.calls_to("sendPhoto")[0]
    assert utf16_len(attachment.params["caption"]) <= CAPTION_LIMIT and all_fit(tg)
