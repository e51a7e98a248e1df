"""Durable delivery: Telegram's refusals, restarts and surges never lose or duplicate a report."""

from __future__ import annotations

import asyncio
import re
from pathlib import Path

from bot.cli import main
from bot.delivery.loop import Pace
from storage.models import OutboxMessage
from tests.conftest import SECRET_KEY, STAFF_CHAT_ID, RunningBot, user
from tests.fake_telegram import Call, FakeTelegram
from tests.reporting import Reporter, card_of, settled

CARD_NUMBER = re.compile(r"Report #(\d+):")


def staff_sends(tg: FakeTelegram) -> list[Call]:
    return [c for c in tg.calls_to("sendMessage") if c.params["chat_id"] == STAFF_CHAT_ID]


def delivered_cards(tg: FakeTelegram) -> list[int]:
    return [int(CARD_NUMBER.search(c.params["text"]).group(1)) for c in staff_sends(tg) if not c.failed]


async def test_429_then_403_then_5xx_then_recovery_delivers_every_report_once(bot: RunningBot, tg: FakeTelegram) -> None:
    tg.fail_next("sendMessage", status=429, retry_after=1, chat_id=STAFF_CHAT_ID)
    tg.fail_next("sendMessage", status=403, chat_id=STAFF_CHAT_ID)
    tg.fail_next("sendMessage", status=502, chat_id=STAFF_CHAT_ID)
    for n in range(3):
        await Reporter(tg, user(7400000 + n, "es")).file(f"Reporte {n}")

    for number in (1, 2, 3):
        await card_of(tg, number)
    await settled(bot.services.sessions, OutboxMessage, lambda found: len(found) == 3 and all(m.done_at for m in found))
    assert [c.failed for c in staff_sends(tg) if c.failed] == [429, 403, 502]
    assert sorted(delivered_cards(tg)) == [1, 2, 3]


async def test_an_urgent_report_goes_to_the_head_of_the_queue(bot: RunningBot, tg: FakeTelegram) -> None:
    tg.fail_next("sendMessage", status=429, retry_after=2, chat_id=STAFF_CHAT_ID)  # the staff chat pauses
    await Reporter(tg, user(7410001, "en")).file("Graffiti", category="crime")
    await Reporter(tg, user(7410002, "en")).file("Noise", category="other")
    await Reporter(tg, user(7410003, "ar")).file("تهديد", category="threat")
    await card_of(tg, 2)
    await card_of(tg, 3)
    await card_of(tg, 1)
    assert delivered_cards(tg) == [3, 1, 2]


async def test_a_removed_bot_keeps_everything_queued_and_says_so(
    bot: RunningBot, tg: FakeTelegram, tmp_path: Path, database_url: str, log_records, capsys
) -> None:
    tg.fail_next("sendMessage", status=403, times=10_000, chat_id=STAFF_CHAT_ID)
    await Reporter(tg, user(7420001, "en")).file("Text")
    await settled(bot.services.sessions, OutboxMessage, lambda found: any(m.last_error == "Forbidden" for m in found))
    refused = len([c for c in staff_sends(tg) if c.failed == 403])

    env_file = tmp_path / ".env"
    env_file.write_text(
        f"TELEGRAM_BOT_TOKEN={tg.token}\nSTAFF_CHAT_ID={STAFF_CHAT_ID}\nSECRET_KEY={SECRET_KEY}\nDATABASE_URL={database_url}\n"
    )
    assert await asyncio.to_thread(main, ["--env-file", str(env_file), "status"]) == 1
    out = capsys.readouterr().out
    assert "Waiting for delivery: 1 message(s)" in out and "ALERT" in out and "Forbidden" in out
    assert log_records.text.count("staff_chat_forbidden") == 1, "one alert, not one per retry"
    assert refused >= 1

    tg.clear_failures()
    await card_of(tg, 1)
    await settled(bot.services.sessions, OutboxMessage, lambda found: all(m.done_at for m in found))
    assert await asyncio.to_thread(main, ["--env-file", str(env_file), "status"]) == 0
    assert delivered_cards(tg) == [1]


async def test_pace_spreads_sends_over_the_minute() -> None:
    now, slept = [100.0], []

    async def sleep(seconds: float) -> None:
        slept.append(seconds)
        now[0] += seconds

    pace = Pace(20, clock=lambda: now[0], sleep=sleep)
    for _ in range(3):
        await pace.wait()
    assert slept == [3.0, 3.0]  # 20 a minute: one every 3 seconds, the first at once
    now[0] += 10  # a quiet spell does not bank a burst beyond the next send
    await pace.wait()
    await pace.wait()
    assert slept == [3.0, 3.0, 3.0]
    unlimited = Pace(0, clock=lambda: now[0], sleep=sleep)
    for _ in range(5):
        await unlimited.wait()
    assert len(slept) == 3
