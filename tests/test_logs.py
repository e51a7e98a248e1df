"""The log as an operator reads it: LOG_FORMAT=json gives one JSON object per line with the event
and its fields, LOG_LEVEL filters, and neither carries content or identities."""

from __future__ import annotations

import json
import logging
from pathlib import Path

import pytest

from tests.conftest import SECRET_KEY, STAFF_CHAT_ID, user
from tests.fake_telegram import FakeTelegram
from tests.processes import PROCESS_TIMEOUT, bot_env, start_run, write_env
from tests.reporting import Reporter

REPORTER = user(7731904422, "es", first_name="Qzmaria", last_name="Qzlopez", username="qz_maria_handle")
REPORT_TEXT = "Qz a red van keeps circling the school at night"


async def run_and_report(tmp_path: Path, tg: FakeTelegram, **settings: str) -> str:
    """Run the bot, have one person file a report, stop the bot; its stderr."""
    bot = await start_run(bot_env(tmp_path, tg, STAFF_MESSAGES_PER_MINUTE="0", **settings))
    try:
        await bot.until(tg.wait_for_request("getUpdates", timeout=PROCESS_TIMEOUT), "polling started")
        await bot.until(Reporter(tg, REPORTER).file(REPORT_TEXT), "taking a report")
        await bot.until(tg.wait_for("sendMessage", lambda c: c.params["chat_id"] == STAFF_CHAT_ID,
                                    timeout=PROCESS_TIMEOUT), "delivering the card")  # fmt: skip
    finally:
        bot.process.terminate()
    assert await bot.exit_code() == 0
    return await bot.stderr()


def assert_anonymous(log: str) -> None:
    for secret in (str(REPORTER.id), "Qzmaria", "Qzlopez", "qz_maria_handle", "Qz a red van", SECRET_KEY):
        assert secret not in log, secret


async def test_json_logs_are_one_object_per_line_with_event_fields(tmp_path: Path, tg: FakeTelegram) -> None:
    log = await run_and_report(tmp_path, tg, LOG_FORMAT="json")
    entries = [json.loads(line) for line in log.splitlines()]  # every line is JSON
    assert {"time", "level", "logger", "message"} <= set(entries[0])
    delivered = [e for e in entries if e.get("event") == "delivered" and e.get("kind") == "card"]
    assert delivered and delivered[0]["report"] == "1" and delivered[0]["level"] == "INFO"
    assert float(delivered[0]["seconds"]) >= 0  # how long the send took
    assert any(e.get("event") == "ready" for e in entries)
    assert_anonymous(log)


async def test_log_level_warning_leaves_out_the_routine(tmp_path: Path, tg: FakeTelegram) -> None:
    log = await run_and_report(tmp_path, tg, LOG_LEVEL="warning")
    assert " INFO " not in log and "delivered" not in log
    assert_anonymous(log)


@pytest.mark.parametrize(("variable", "value"), [("LOG_FORMAT", "xml"), ("LOG_LEVEL", "chatty")])
def test_a_wrong_log_setting_is_one_line(tmp_path: Path, variable: str, value: str) -> None:
    from bot.config import ConfigError, Settings, load_settings

    env = write_env(tmp_path / ".env", {
        "TELEGRAM_BOT_TOKEN": "123456:" + "A" * 35, "STAFF_CHAT_ID": "-100123", "SECRET_KEY": SECRET_KEY, variable: value,
    })  # fmt: skip
    with pytest.raises(ConfigError) as failed:
        load_settings(env, Settings)
    [problem] = failed.value.problems
    assert problem.startswith(f"{variable}: ")


async def test_the_log_scan_after_every_test_would_find_a_leak(bot, tg: FakeTelegram) -> None:
    """tests/conftest.py scans the log of every test; here it is shown a leak, and a library line
    that carries a whole update, which the production filter reduces to its wording."""
    from tests.conftest import OPERATOR_LOG, personal_data_in

    reporter = Reporter(tg, REPORTER)
    await reporter.file(REPORT_TEXT)
    assert {str(REPORTER.id), "Qzmaria", "Qzlopez", "qz_maria_handle", REPORT_TEXT} <= tg.personal_data
    assert personal_data_in(OPERATOR_LOG, tg.personal_data) == []

    logging.getLogger("telegram.ext.Updater").error("Cannot parse %s", {"from": REPORTER.to_dict(), "text": REPORT_TEXT})
    assert personal_data_in(OPERATOR_LOG, tg.personal_data) == []

    logging.getLogger("bot.delivery.loop").info("a careless line about %s (%d)", REPORTER.first_name, REPORTER.id)
    assert personal_data_in(OPERATOR_LOG, tg.personal_data) == sorted([str(REPORTER.id), "Qzmaria"])
    OPERATOR_LOG.pop()  # the scan after this test would fail on it, as it should
