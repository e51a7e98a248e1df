"""End to end: an update python-telegram-bot cannot parse is skipped, and the bot keeps answering."""

from __future__ import annotations

import logging

import pytest

from tests.conftest import RunningBot, user
from tests.fake_telegram import FakeTelegram

MARKER = "marker-7f3a-do-not-log"
SENDER = user(5550999, "en", first_name="Marker", username="marker_sender_7f3a")


def message_with_a_word_for_date(tg: FakeTelegram) -> dict:
    """Tampered or buggy input: `date` must be a Unix time."""
    message = {"message_id": 1, "from": SENDER.to_dict(), "chat": SENDER.private_chat(), "date": "yesterday", "text": MARKER}
    return tg.push_update({"message": message})


def poll_from_an_older_bot_api(tg: FakeTelegram) -> dict:
    """A Bot API server before 9.6/10.0: no `persistent_id`, `allows_revoting` or `members_only`."""
    poll = {"id": "5120001", "question": MARKER, "options": [{"text": MARKER, "voter_count": 1}], "total_voter_count": 1,
            "is_closed": False, "is_anonymous": True, "type": "regular", "allows_multiple_answers": False}  # fmt: skip
    return tg.push_update({"poll": poll})


def batches_with(tg: FakeTelegram, update: dict) -> list[list[int]]:
    """The update ids of every getUpdates answer that handed out `update`."""
    batches = [[u["update_id"] for u in call.result or []] for call in tg.calls_to("getUpdates")]
    return [batch for batch in batches if update["update_id"] in batch]


@pytest.mark.parametrize("push_bad_update", [message_with_a_word_for_date, poll_from_an_older_bot_api])
async def test_an_unparseable_update_is_skipped_and_the_rest_answered(bot: RunningBot, tg: FakeTelegram, log_records, push_bad_update) -> None:
    first, second = user(5550001, "en"), user(5550002, "ar")
    tg.send_text(first, "/start")
    bad = push_bad_update(tg)
    tg.send_text(second, "/start")
    tg.send_text(first, "/help")  # after the bad update, in the first person's chat

    first_replies = [(await tg.wait_for_reply(first.id)).params["text"] for _ in range(2)]
    assert first_replies[0].startswith("Welcome! This is the community safety line of Springfield Police Department.")
    assert first_replies[1].startswith("Here is what I can do:")
    assert (await tg.wait_for_reply(second.id)).params["text"].startswith("أهلًا بك")

    await tg.wait_until_drained()  # a getUpdates offset confirmed every update, the bad one too
    [batch] = batches_with(tg, bad)
    assert len(batch) == 4, "one batch: good updates before and after the bad one"

    assert bot.application.bot.unparseable_updates == 1
    skipped = [r.getMessage() for r in log_records.records if r.getMessage().startswith("update_unparseable")]
    assert skipped == [f"update_unparseable update_id={bad['update_id']} error=TypeError"]
    assert not [r for r in log_records.records if r.levelno >= logging.ERROR]
    for secret in (MARKER, str(SENDER.id), "marker_sender_7f3a"):
        assert secret not in log_records.text


async def test_an_unparseable_update_last_in_its_batch_is_not_fetched_again(bot: RunningBot, tg: FakeTelegram) -> None:
    """Nothing after it in the batch: the offset must still move past it."""
    bad = poll_from_an_older_bot_api(tg)
    await tg.wait_until_drained()
    reply = await bot.say(user(5550003, "en"), "/start")
    assert reply.params["text"].startswith("Welcome!")
    assert len(batches_with(tg, bad)) == 1
    assert bot.application.bot.unparseable_updates == 1
