"""Telegram's refusals that no retry can cure: the message leaves the queue with an alert, once,
and nobody else's messages wait behind it."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from bot.cli import main
from bot.i18n import FSI, PDI
from storage.models import OutboxMessage, ReporterLink
from tests.conftest import SECRET_KEY, STAFF_CHAT_ID, RunningBot, start_bot, user
from tests.fake_telegram import FakeTelegram
from tests.reporting import OFFICER, Reporter, card_of, card_recorded, settled, staff_chat

SUPERGROUP_ID = -1009876543210  # what the staff group became


def status(tmp_path: Path, tg: FakeTelegram, database_url: str) -> int:
    """`outreach-bot status` against the bot's database, as an operator runs it."""
    env_file = tmp_path / ".env"
    env_file.write_text(
        f"TELEGRAM_BOT_TOKEN={tg.token}\nSTAFF_CHAT_ID={STAFF_CHAT_ID}\nSECRET_KEY={SECRET_KEY}\nDATABASE_URL={database_url}\n"
    )
    return main(["--env-file", str(env_file), "status"])


async def file_long_report(tg: FakeTelegram, reporter: Reporter, text: str) -> None:
    """A report whose text is over the card's limit: officers get it as a reply to the card."""
    reply = await reporter.press(await reporter.start(), "report:cat:crime")
    reply = await reporter.press(await reporter.say(text), "report:next")
    when = await reporter.press(reply, "report:skip")
    after = tg.mark()
    tg.press_button(reporter.person, when.result, "report:skip")
    await tg.wait_for_reply(reporter.person.id, after=after)  # the review card, then the text under it
    review_text = await tg.wait_for_reply(reporter.person.id)
    await reporter.press(await reporter.press(review_text, "report:send"), "report:notify:no")


def sends_of_card(tg: FakeTelegram, number: int) -> list[int | None]:
    """How every attempt to send report `number`'s card ended: None, or the refusal's status."""
    return [c.failed for c in tg.calls_to("sendMessage") if f"Report #{number}:" in c.params["text"]]


@pytest.mark.parametrize(
    ("description", "reason"),
    [("Bad Request: message is too long", "Message is too long"), ("Bad Request: chat not found", "Chat not found")],
)
async def test_a_message_telegram_refuses_for_good_is_dead_after_one_attempt(
    bot: RunningBot, tg: FakeTelegram, tmp_path: Path, database_url: str, log_records, capsys, description: str, reason: str
) -> None:
    tg.fail_next("sendMessage", status=400, description=description, chat_id=STAFF_CHAT_ID)
    await file_long_report(tg, Reporter(tg, user(7700001, "en")), "Secret words of the report. " * 120)
    dead = await settled(bot.services.sessions, OutboxMessage, lambda found: len(found) == 2 and all(m.dead_at for m in found))

    # Nothing waits behind it: the next reports go out, and the dead card is not tried again.
    await Reporter(tg, user(7700002, "en")).file("A second report")
    await card_of(tg, 2)
    await Reporter(tg, user(7700003, "en")).file("A third report")
    await card_of(tg, 3)
    await settled(bot.services.sessions, OutboxMessage, lambda found: all(m.done_at or m.dead_at for m in found))
    assert sends_of_card(tg, 1) == [400]
    assert [(m.kind, m.attempts, m.last_error, m.dead_reason, m.done_at) for m in sorted(dead, key=lambda m: m.id)] == [
        ("card", 1, "BadRequest", reason, None),
        ("report_text", 1, "BadRequest", f"Card not delivered: {reason}", None),  # it would have replied to the card
    ]

    assert await asyncio.to_thread(status, tmp_path, tg, database_url) == 1
    out = capsys.readouterr().out
    assert "ALERT: 2 message(s) will not be delivered" in out and f"BadRequest, Card not delivered: {reason}" in out
    assert "Waiting for delivery" not in out
    assert log_records.text.count("delivery_dead kind=card report=1 error=BadRequest") == 1
    assert log_records.text.count("delivery_dead kind=report_text report=1 error=BadRequest") == 1
    assert "Secret words" not in log_records.text + out and "7700001" not in log_records.text


@pytest.mark.parametrize(
    ("language", "notice"),
    [("en", "Officers have read your report #{number} and are looking at it."),
     ("ar", f"قرأ الضباط بلاغك رقم {FSI}{{number}}{PDI} وهم يتابعونه.")],
)
async def test_a_reporter_who_blocked_the_bot_is_not_written_to_again(
    bot: RunningBot, tg: FakeTelegram, tmp_path: Path, database_url: str, log_records, language: str, notice: str
) -> None:
    blocked, other = Reporter(tg, user(7710001, language)), Reporter(tg, user(7710002, language))
    await blocked.file("First", notify=True)
    await other.file("Second", notify=True)
    staff = staff_chat(tg)
    cards = [await card_of(tg, 1), await card_of(tg, 2)]
    for number in (1, 2):
        await card_recorded(bot.services.sessions, number)

    tg.fail_next("sendMessage", status=403, description="Forbidden: bot was blocked by the user", chat_id=blocked.person.id)
    tg.press_button(OFFICER, cards[0].result, "staff:ack:1", chat=staff)
    await settled(bot.services.sessions, ReporterLink, lambda found: [link.report_id for link in found] == [2])
    [refused] = [c for c in tg.calls_to("sendMessage") if c.params["chat_id"] == blocked.person.id and c.failed]
    assert (refused.failed, refused.params["text"]) == (403, notice.format(number=1))

    # The other reporter still hears from officers; the blocked one is not tried again.
    after = tg.mark()
    tg.press_button(OFFICER, cards[1].result, "staff:ack:2", chat=staff)
    assert (await tg.wait_for_reply(other.person.id, after=after)).params["text"] == notice.format(number=2)
    tg.press_button(OFFICER, cards[0].result, "staff:close:1", chat=staff)
    asked = tg.send_message(OFFICER, chat=staff, text="Are you safe?", reply_to_message=cards[0].result)["message"]
    note = await tg.wait_for(
        "sendMessage", lambda c: (c.params.get("reply_parameters") or {}).get("message_id") == asked["message_id"], after=after
    )
    assert note.params["text"] == "Waiting for pickup: the reporter of report #1 will see it with /status."
    await settled(bot.services.sessions, OutboxMessage, lambda found: all(m.done_at for m in found))
    assert [c for c in tg.calls[after:] if c.params.get("chat_id") == blocked.person.id] == []

    assert await asyncio.to_thread(status, tmp_path, tg, database_url) == 0  # a reporter's choice pages nobody
    assert "reporter_blocked_bot kind=reporter_notice report=1" in log_records.text
    assert str(blocked.person.id) not in log_records.text


async def test_a_staff_group_that_became_a_supergroup_is_followed_until_the_setting_names_it(
    tg: FakeTelegram, make_settings, tmp_path: Path, database_url: str, log_records, capsys
) -> None:
    tg.fail_next(
        "sendMessage", status=400, description="Bad Request: group chat was upgraded to a supergroup chat",
        migrate_to_chat_id=SUPERGROUP_ID, chat_id=STAFF_CHAT_ID, times=10_000,
    )  # fmt: skip
    async for running in start_bot(tg, make_settings()):
        await Reporter(tg, user(7720001, "en")).file("First report")
        await Reporter(tg, user(7720002, "en")).file("Second report")
        for number in (1, 2):
            await tg.wait_for("sendMessage", lambda c, n=number: c.params["chat_id"] == SUPERGROUP_ID and f"Report #{n}:" in c.params["text"])
        await settled(running.services.sessions, OutboxMessage, lambda found: all(m.done_at for m in found))
    assert sends_of_card(tg, 1) == [400, None] and sends_of_card(tg, 2) == [None]  # the second went there at once
    assert log_records.text.count(f"staff_chat_migrated: set STAFF_CHAT_ID={SUPERGROUP_ID}") == 1

    assert await asyncio.to_thread(status, tmp_path, tg, database_url) == 1
    out = capsys.readouterr().out
    assert f"ALERT: the staff group became a supergroup: set STAFF_CHAT_ID={SUPERGROUP_ID} and restart the bot." in out

    # The operator follows the advice: the note is done with.
    async for running in start_bot(tg, make_settings(staff_chat_id=SUPERGROUP_ID)):
        await Reporter(tg, user(7720003, "en")).file("Third report")
        await tg.wait_for("sendMessage", lambda c: c.params["chat_id"] == SUPERGROUP_ID and "Report #3:" in c.params["text"])
        await settled(running.services.sessions, OutboxMessage, lambda found: all(m.done_at for m in found))
    assert await asyncio.to_thread(status, tmp_path, tg, database_url) == 0


async def test_a_revoked_token_keeps_everything_queued_and_says_so(
    bot: RunningBot, tg: FakeTelegram, tmp_path: Path, database_url: str, log_records, capsys
) -> None:
    tg.fail_next("sendMessage", status=401, description="Unauthorized", times=10_000, chat_id=STAFF_CHAT_ID)
    await Reporter(tg, user(7730001, "en")).file("Text")
    await settled(bot.services.sessions, OutboxMessage, lambda found: any(m.last_error == "InvalidToken" for m in found))
    await tg.wait_for("sendMessage", lambda c: c.failed == 401, after=tg.mark())  # retried: nothing is dropped

    assert await asyncio.to_thread(status, tmp_path, tg, database_url) == 1
    out = capsys.readouterr().out
    assert "Waiting for delivery: 1 message(s)" in out and "ALERT: Telegram rejects TELEGRAM_BOT_TOKEN" in out
    assert log_records.text.count("token_rejected") == 1, "one alert, not one per retry"

    tg.clear_failures()  # a new token, say
    await card_of(tg, 1)
    [card] = await settled(bot.services.sessions, OutboxMessage, lambda found: all(m.done_at for m in found))
    assert card.dead_at is None


async def test_officers_keep_working_in_the_supergroup_their_group_became(bot: RunningBot, tg: FakeTelegram, log_records) -> None:
    """Telegram's service message in the new supergroup: before, the bot took it for an unknown
    group, said goodbye and left."""
    supergroup = tg.group_chat(SUPERGROUP_ID, "Officers")
    after = tg.mark()
    tg.send_message(OFFICER, chat=supergroup, migrate_from_chat_id=STAFF_CHAT_ID)
    help_text = await bot.say(OFFICER, "/help", chat=supergroup)
    assert help_text.params["text"].startswith("Commands for officers:")

    await Reporter(tg, user(7740001, "en")).file("Text")
    card = await tg.wait_for("sendMessage", lambda c: c.params["chat_id"] == SUPERGROUP_ID and "Report #1:" in c.params["text"])
    assert not [c for c in tg.calls[after:] if c.method == "leaveChat"]
    assert [c.params["chat_id"] for c in tg.calls[after:] if c.method == "sendMessage" and "Report #1:" in c.params["text"]] == [SUPERGROUP_ID]
    assert log_records.text.count(f"staff_chat_migrated: set STAFF_CHAT_ID={SUPERGROUP_ID}") == 1
    assert card.result["reply_markup"]  # the officers' buttons came with it
