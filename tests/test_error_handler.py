"""The error handler names the exception type and the failed handler, and nothing else: not the
update, not the exception's message (either can quote what someone wrote)."""

from __future__ import annotations

import logging

import pytest

from bot.i18n import _, active_locale
from tests.conftest import RunningBot, user
from tests.fake_telegram import FakeTelegram

SORRY = "Sorry, something went wrong on our side. Please try again in a moment."
SECRET_WORDS = "my neighbour Firstqz sells stolen bikes"


@pytest.mark.parametrize("language_code", ["en", "ar"])
async def test_a_failing_handler_is_logged_by_type_and_name_only(
    bot: RunningBot, tg: FakeTelegram, log_records: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch,
    language_code: str,
) -> None:
    def broken(code: str) -> str:
        raise ValueError(f"cannot hash {code!r}")  # a message that quotes what the person sent

    monkeypatch.setattr(bot.services.keys, "receipt_hash", broken)
    person = user(7_990_001, language_code, first_name="Firstqz", username="handle_qz")
    answer = await bot.say(person, f"/status {SECRET_WORDS}")
    with active_locale(bot.services.i18n.get(language_code)):
        assert answer.params["text"] == _(SORRY)

    [failure] = [r for r in log_records.records if r.levelno >= logging.ERROR]
    assert failure.getMessage() == "handler_failed error=ValueError handler=handlers.status.status"
    assert failure.exc_info is None  # a traceback would carry the message, and its frames the update
    for secret in (SECRET_WORDS, "Firstqz", "handle_qz", str(person.id), "cannot hash"):
        assert secret not in log_records.text

    # The bot goes on serving.
    assert (await bot.say(user(7_990_002, "en"), "/start")).params["text"].startswith("Welcome!")


async def test_a_failure_in_a_step_of_a_conversation_names_that_step(
    bot: RunningBot, tg: FakeTelegram, log_records: pytest.LogCaptureFixture,
) -> None:
    """Telegram failing unexpectedly (a 500 on one call) is a failure of the handler that made it."""
    person = user(7_990_003, "en")
    tg.fail_next("sendMessage", status=500, chat_id=person.id)
    answer = await bot.say(person, "/report")
    assert answer.params["text"] == SORRY
    assert "handler_failed error=NetworkError handler=handlers.report.begin" in log_records.text
