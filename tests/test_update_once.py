"""Each update_id is processed at most once, across restarts too: Telegram resends what the bot
had not confirmed when it stopped, and a webhook may be delivered again."""

from __future__ import annotations

import copy
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

from bot.config import Settings
from storage.models import OutboxKind, OutboxMessage, ProcessedUpdate, Report, ReportMessage
from tests.conftest import STAFF_CHAT_ID, start_bot, user
from tests.fake_telegram import FakeTelegram
from tests.reporting import OFFICER, Reporter, card_of, card_recorded, rows, settled, staff_chat
from tests.test_staff_input import no_failures

SEND_UPDATE_ID = 50_000  # above every id the fake hands out in these tests


async def test_a_report_sent_again_after_a_restart_is_filed_once(
    tg: FakeTelegram, make_settings: Callable[..., Settings], log_records
) -> None:
    settings = make_settings()
    reporter = Reporter(tg, user(7950001, "ar"))
    async for running in start_bot(tg, settings):
        reply = await reporter.press(await reporter.start(), "report:cat:other")
        reply = await reporter.press(await reporter.say("سيارة متوقفة هنا منذ أيام"), "report:next")
        review = await reporter.press(await reporter.press(reply, "report:skip"), "report:when:today")
        send = tg.press_button(reporter.person, review.result, "report:send")
        await tg.wait_for_reply(reporter.person.id)
        await card_of(tg, 1)
        await card_recorded(running.services.sessions, 1)

    async for running in start_bot(tg, settings):
        after = tg.mark()
        tg.push_update(copy.deepcopy(send))
        await running.handled()
        assert [c.method for c in tg.calls[after:] if c.method not in ("getUpdates", "setMyCommands")] == []
        assert len(await rows(running.services.sessions, Report)) == 1
        cards = [c for c in tg.calls_to("sendMessage") if c.params["chat_id"] == STAFF_CHAT_ID]
        assert len(cards) == 1
    assert "update_repeated" in log_records.text
    assert no_failures(log_records)


async def test_an_officers_message_sent_again_after_a_restart_is_passed_on_once(
    tg: FakeTelegram, make_settings: Callable[..., Settings], log_records
) -> None:
    settings = make_settings()
    reporter = Reporter(tg, user(7950002, "en"))
    async for running in start_bot(tg, settings):
        await reporter.file("A van keeps circling the school.", notify=True)
        card = await card_of(tg, 1)
        await card_recorded(running.services.sessions, 1)
        reply = tg.send_message(OFFICER, chat=staff_chat(tg), text="Which colour was the van?", reply_to_message=card.result)
        await tg.wait_for_reply(reporter.person.id)
        await settled(running.services.sessions, OutboxMessage, lambda found: all(m.done_at for m in found))

    async for running in start_bot(tg, settings):
        after = tg.mark()
        tg.push_update(copy.deepcopy(reply))
        await running.handled()
        assert [m.author for m in await rows(running.services.sessions, ReportMessage)] == ["officer"]
        dialog = [m for m in await rows(running.services.sessions, OutboxMessage) if m.kind == OutboxKind.TO_REPORTER]
        assert len(dialog) == 1
        assert not [c for c in tg.calls[after:] if c.method == "sendMessage"]
    assert no_failures(log_records)


async def test_an_update_recorded_by_another_process_is_dropped_at_commit(
    tg: FakeTelegram, make_settings: Callable[..., Settings], log_records
) -> None:
    async for running in start_bot(tg, make_settings()):
        await Reporter(tg, user(7950003, "en")).file("Text.")
        card = await card_of(tg, 1)
        await card_recorded(running.services.sessions, 1)
        async with running.services.unit_of_work() as uow:  # as if another replica took it first
            await uow.processed_updates.add(SEND_UPDATE_ID)
            await uow.commit()

        after = tg.mark()
        message = {"message_id": 9001, "from": OFFICER.to_dict(), "chat": staff_chat(tg), "date": int(time.time()),
                   "text": "Which colour was the van?", "reply_to_message": card.result}  # fmt: skip
        tg.push_update({"update_id": SEND_UPDATE_ID, "message": message})
        await running.handled()
        await settled(running.services.sessions, OutboxMessage, lambda found: all(m.done_at for m in found))
        assert await rows(running.services.sessions, ReportMessage) == []
        assert not [c for c in tg.calls[after:] if c.method == "sendMessage"]
    assert "update_repeated" in log_records.text
    assert no_failures(log_records)


async def test_a_read_only_update_repeated_is_answered_once_and_again_after_a_restart(
    tg: FakeTelegram, make_settings: Callable[..., Settings], log_records
) -> None:
    settings = make_settings()
    person = user(7950004, "ar")
    async for running in start_bot(tg, settings):
        after = tg.mark()
        privacy = tg.send_text(person, "/privacy")
        tg.push_update(copy.deepcopy(privacy))
        await running.handled()
        await tg.wait_for_reply(person.id, after=after)
        assert len([c for c in tg.calls[after:] if c.method == "sendMessage"]) == 1
        assert await rows(running.services.sessions, ProcessedUpdate) == []  # no write for a read

    # Nothing marked it: after a restart it is answered again, which changes nothing.
    async for running in start_bot(tg, settings):
        after = tg.mark()
        tg.push_update(copy.deepcopy(privacy))
        await running.handled()
        await tg.wait_for_reply(person.id, after=after)
    assert no_failures(log_records)


async def test_ids_older_than_a_day_can_be_forgotten(tg: FakeTelegram, make_settings: Callable[..., Settings]) -> None:
    async for running in start_bot(tg, make_settings()):
        async with running.services.unit_of_work() as uow:
            await uow.processed_updates.add(1)
            await uow.processed_updates.add(2)
            await uow.commit()
        async with running.services.unit_of_work() as uow:
            assert await uow.processed_updates.delete_before(datetime.now(UTC) - timedelta(hours=24)) == 0
            assert await uow.processed_updates.delete_before(datetime.now(UTC) + timedelta(seconds=1)) == 2
            await uow.commit()
        assert await rows(running.services.sessions, ProcessedUpdate) == []
