"""Nobody waits for anybody: people are served concurrently, each person's steps in order.

These tests show order, not speed: who was answered before whom in the fake server's call log.
"""

from __future__ import annotations

import asyncio
import io
import logging
from collections.abc import AsyncIterator, Callable

import pytest
from PIL import Image

from bot.config import Settings
from bot.media import MAX_PIXELS
from storage.models import Report
from tests.conftest import STAFF_CHAT_ID, RunningBot, start_bot, user
from tests.fake_telegram import Call, FakeTelegram
from tests.reporting import CODE, Reporter, rows


@pytest.fixture
async def paced_bot(tg: FakeTelegram, make_settings: Callable[..., Settings]) -> AsyncIterator[RunningBot]:
    """The staff chat paced as in production: 20 messages a minute, one every 3 s."""
    async for running in start_bot(tg, make_settings(staff_messages_per_minute=20)):
        yield running


@pytest.fixture(scope="module")
def fifty_megapixels() -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (10_000, MAX_PIXELS // 10_000), (90, 120, 150)).save(out, "JPEG", quality=60)
    return out.getvalue()


async def up_to_review(reporter: Reporter, text: str) -> Call:
    reply = await reporter.press(await reporter.start(), "report:cat:crime")
    reply = await reporter.press(await reporter.say(text), "report:next")
    return await reporter.press(await reporter.press(reply, "report:skip"), "report:when:today")


def staff_cards(tg: FakeTelegram) -> list[int]:
    """Call indexes of the cards the staff chat received."""
    return [
        index for index, call in enumerate(tg.calls)
        if call.method == "sendMessage" and not call.failed and call.params["chat_id"] == STAFF_CHAT_ID
        and "Report #" in call.params["text"]
    ]  # fmt: skip


async def test_twenty_people_pressing_send_at_once_all_get_their_code_while_the_staff_chat_is_paced(
    paced_bot: RunningBot, tg: FakeTelegram, log_records: pytest.LogCaptureFixture
) -> None:
    reporters = [Reporter(tg, user(7700000 + n, ("es", "ar", "en")[n % 3])) for n in range(20)]
    reviews = await asyncio.gather(*(up_to_review(r, f"Incidente número {n}") for n, r in enumerate(reporters)))

    after = tg.mark()
    for reporter, review in zip(reporters, reviews, strict=True):
        tg.press_button(reporter.person, review.result, "report:send")
    receipts = await asyncio.gather(*(tg.wait_for_reply(r.person.id, after=after) for r in reporters))

    codes = {CODE.search(receipt.params["text"]).group() for receipt in receipts}
    assert len(codes) == 20
    assert len(await rows(paced_bot.services.sessions, Report)) == 20
    # Receipts never wait for the paced staff chat: at one card per 3 s, waiting for delivery
    # would have let a card through between receipts (the old behaviour: one report per 3 s).
    last_receipt = max(tg.calls.index(receipt) for receipt in receipts)
    assert len([index for index in staff_cards(tg) if index < last_receipt]) <= 2
    assert [r.getMessage() for r in log_records.records if r.levelno >= logging.ERROR] == []


async def test_one_persons_flood_and_big_picture_hold_up_nobody_else_and_stay_in_order(
    bot: RunningBot, tg: FakeTelegram, fifty_megapixels: bytes
) -> None:
    tg.add_file("doc-50mp", fifty_megapixels, "documents/big.jpg")
    flooding, other = Reporter(tg, user(7710001, "es")), user(7710002, "ar")
    await flooding.press(await flooding.start(), "report:cat:safety")

    start = tg.mark()
    tg.send_message(flooding.person, document={"file_id": "doc-50mp", "file_unique_id": "d50", "file_name": "big.jpg",
                                               "mime_type": "image/jpeg", "file_size": len(fifty_megapixels)})  # fmt: skip
    lines = [f"line {n}" for n in range(1, 301)]
    for line in lines:
        tg.send_text(flooding.person, line)
    tg.send_text(other, "/start")

    welcome = await tg.wait_for_reply(other.id, after=start, timeout=30)
    picture = await tg.wait_for("sendMessage", lambda c: c.params["chat_id"] == flooding.person.id
                                and c.params["text"].startswith("Imagen adjunta"), after=start, timeout=30)  # fmt: skip
    replies = [c for c in tg.calls[start:] if c.method == "sendMessage" and c.params["chat_id"] == flooding.person.id]
    while len(replies) < 301:
        await tg.wait_for("sendMessage", lambda c: c.params["chat_id"] == flooding.person.id, after=tg.mark(), timeout=30)
        replies = [c for c in tg.calls[start:] if c.method == "sendMessage" and c.params["chat_id"] == flooding.person.id]

    # The other person was answered while the picture was still being cleaned, before any of
    # the flood behind it.
    assert tg.calls.index(welcome) < tg.calls.index(picture) < tg.calls.index(replies[-1])
    # The flooding person's steps kept their order: the picture first, then every line in turn.
    assert replies[0] is picture
    review = await flooding.press(await flooding.press(replies[-1], "report:next"), "report:skip")
    received = await flooding.press(await flooding.press(review, "report:skip"), "report:send")
    assert CODE.search(received.params["text"])
    [report] = await rows(bot.services.sessions, Report)
    assert report.body == "\n".join(lines)
    assert bot.application.update_processor.busy_lanes == 0


async def test_no_database_connection_is_held_while_the_bot_waits_for_telegram(bot: RunningBot, tg: FakeTelegram) -> None:
    """A newcomer's /start reads their saved language, then waits on sendMessage: the read's
    transaction has ended by then, so no connection sits "idle in transaction" meanwhile."""
    newcomer, pool = user(7710003, "es"), bot.services.engine.pool
    held = tg.hold("sendMessage")
    start = tg.mark()
    tg.send_text(newcomer, "/start")
    await asyncio.wait_for(held.arrived.wait(), 10)
    try:
        # Other work (the delivery loop) may take a connection for a moment; the update's own
        # would stay checked out for as long as the call is held.
        for _ in range(100):
            if pool.checkedout() == 0:
                break
            await asyncio.sleep(0.01)
        assert pool.checkedout() == 0
    finally:
        held.release()
    assert (await tg.wait_for_reply(newcomer.id, after=start)).params["text"]
