"""Per-person rate limits: a flood is told once when to go on, and nobody else notices it."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator, Callable

import pytest

from bot.config import Settings
from bot.i18n import FSI, PDI
from bot.limits import RateLimit
from storage.models import Report
from tests.conftest import STAFF_CHAT_ID, RunningBot, start_bot, user
from tests.fake_telegram import FakeTelegram
from tests.reporting import OFFICER, Reporter, rows, staff_chat

SLOW_DOWN = "You are sending messages very quickly."


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_a_limit_allows_its_number_per_window_then_says_how_long_to_wait() -> None:
    clock = Clock()
    limit = RateLimit(3, 60, clock)
    assert [limit.take("p") for _ in range(3)] == [0, 0, 0]
    clock.now += 20
    assert limit.take("p") == pytest.approx(40)  # the first of the three leaves the window at +60
    assert limit.take("q") == 0  # counted per person
    clock.now += 40
    assert limit.take("p") == 0


def test_people_are_forgotten_once_their_window_has_passed_whoever_comes_next() -> None:
    """Before, wrong-code lock-outs were only purged when the same person came back."""
    clock = Clock()
    limit = RateLimit(5, 60, clock)
    for n in range(100):
        limit.record(f"person {n}")
    assert len(limit) == 100
    clock.now += 61
    limit.take("somebody else")
    assert len(limit) == 1


def test_a_limit_of_zero_is_no_limit() -> None:
    limit = RateLimit(0, 60, Clock())
    assert all(limit.take("p") == 0 for _ in range(1000))


@pytest.fixture
async def limited_bot(tg: FakeTelegram, make_settings: Callable[..., Settings]) -> AsyncIterator[RunningBot]:
    async for running in start_bot(tg, make_settings(limit_updates_per_minute=10)):
        yield running


def texts_to(tg: FakeTelegram, chat_id: int, after: int) -> list[str]:
    return [c.params["text"] for c in tg.calls[after:] if c.method == "sendMessage" and c.params["chat_id"] == chat_id]


@pytest.mark.parametrize(
    ("language_code", "help_heading", "slow_down"),
    [
        ("en", "Here is what I can do", SLOW_DOWN),
        ("ar", "إليك ما يمكنني فعله", "أنت ترسل الرسائل بسرعة كبيرة."),
    ],
)
async def test_a_flood_gets_its_limit_of_answers_and_one_notice_while_others_are_served(
    limited_bot: RunningBot, tg: FakeTelegram, language_code, help_heading, slow_down
) -> None:
    flooding, other = user(7800001, language_code), user(7800002, "en")
    start = tg.mark()
    for _ in range(40):
        tg.send_text(flooding, "/help")
    answer = await limited_bot.say(other, "/help")
    await limited_bot.handled()

    answers = texts_to(tg, flooding.id, start)
    assert len(answers) == 11
    assert sum(text.startswith(help_heading) for text in answers) == 10
    [notice] = [text for text in answers if text.startswith(slow_down)]
    assert re.search(r"\d+", notice)  # how many seconds to wait
    assert answer.params["text"].startswith("Here is what I can do")


async def test_a_limited_button_press_is_answered_so_the_button_stops_spinning(
    limited_bot: RunningBot, tg: FakeTelegram
) -> None:
    person = user(7800003, "en")
    menu = await limited_bot.say(person, "/start")
    for _ in range(12):
        tg.press_button(person, menu.result, "menu:help")
    await limited_bot.handled()

    presses = [c for c in tg.calls if c.method == "answerCallbackQuery"]
    assert len(presses) == 12  # every press answered: 9 by /help, one alert, two quietly
    [alert] = [c for c in presses if c.params.get("show_alert")]
    assert alert.params["text"].startswith(SLOW_DOWN)


async def test_officers_in_the_staff_chat_are_not_limited(limited_bot: RunningBot, tg: FakeTelegram) -> None:
    start = tg.mark()
    for _ in range(15):
        tg.send_text(OFFICER, "/help", chat=staff_chat(tg))
    await limited_bot.handled()
    answers = texts_to(tg, STAFF_CHAT_ID, start)
    assert len(answers) == 15
    assert not any(text.startswith(SLOW_DOWN) for text in answers)


@pytest.mark.parametrize(
    ("language_code", "refusal"),
    [
        ("en", "You have sent several reports in a short time. You can send another in 60 minutes.\n\n"
               "If someone is in danger right now, call 911."),
        ("ar", f"لقد أرسلت عدة بلاغات في وقت قصير. يمكنك إرسال بلاغ آخر بعد {FSI}60{PDI} دقيقة.\n\n"
               f"إذا كان أحد في خطر الآن، اتصل بالرقم {FSI}911{PDI}."),
    ],
)  # fmt: skip
async def test_past_the_report_limit_report_says_when_and_who_to_call(
    tg: FakeTelegram, make_settings, language_code, refusal
) -> None:
    async for bot in start_bot(tg, make_settings(limit_reports_per_hour=2)):
        reporter = Reporter(tg, user(7800004, language_code))
        for _ in range(2):
            await reporter.file("A car has been parked here for days.", category="threat")
        refused = await reporter.say("/report")
        assert refused.params["text"] == refusal
        assert len(await rows(bot.services.sessions, Report)) == 2
        assert bot.services.drafts.get(bot.services.keys.pseudonym(reporter.person.id)) is None
