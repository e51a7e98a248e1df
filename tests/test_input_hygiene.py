"""Text people send is cleaned before it is kept: no control characters, nothing blank."""

from __future__ import annotations

import pytest

from bot.reports import clean_input
from storage.models import Report
from tests.conftest import RunningBot, user
from tests.fake_telegram import FakeTelegram
from tests.reporting import Reporter, card_of, rows


@pytest.mark.parametrize(
    ("typed", "kept"),
    [
        ("Broken\x00 window\x07 at the\x1b corner", "Broken window at the corner"),
        ("  two\r\nlines\tand a tab \n", "two\nlines\tand a tab"),
        ("\x85C1 control\x9f", "C1 control"),
        (" \n\t ", ""),
        ("\u200b\u2060\ufeff", ""),
        ("\x00\x01\x02", ""),
        ("نص\u200cعربي", "نص\u200cعربي"),  # ZWNJ inside a word stays: Persian and others need it
    ],
)
def test_control_characters_and_blank_space_are_not_kept(typed: str, kept: str) -> None:
    assert clean_input(typed) == kept


@pytest.mark.parametrize(
    ("language_code", "prompt"),
    [
        ("en", "Please describe what happened, in any language."),
        ("ar", "يُرجى وصف ما حدث، بأي لغة."),
    ],
)
async def test_a_blank_description_is_asked_for_again(bot: RunningBot, tg: FakeTelegram, language_code, prompt) -> None:
    reporter = Reporter(tg, user(7820001, language_code))
    await reporter.press(await reporter.start(), "report:cat:other")
    again = await reporter.say(" \n\t\u200b ")
    assert again.params["text"].startswith(prompt)
    assert bot.services.drafts.get(bot.services.keys.pseudonym(reporter.person.id)).text == ""


async def test_null_bytes_and_control_characters_never_reach_the_database_or_the_card(
    bot: RunningBot, tg: FakeTelegram
) -> None:
    """PostgreSQL refuses NUL in text: without cleaning, this report was lost there."""
    reporter = Reporter(tg, user(7820002, "en"))
    await reporter.file("Broken\x00 window\x07 at the\x1b corner", place="Main St\x00reet")
    [report] = await rows(bot.services.sessions, Report)
    assert (report.body, report.place) == ("Broken window at the corner", "Main Street")
    card = (await card_of(tg, 1)).params["text"]
    assert "Broken window at the corner" in card
    assert not any(ord(c) < 32 and c not in "\n\t" for c in card)
