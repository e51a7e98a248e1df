"""Helpers to drive the report conversation and read the officer queue through the fake Bot API.

They talk only to the fake server, so they work the same for a bot in this process or a bot
started as `outreach-bot run`.
"""

from __future__ import annotations

import asyncio
import re
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from tests.conftest import STAFF_CHAT_ID
from tests.fake_telegram import Call, FakeTelegram, FakeUser

CODE = re.compile(r"[0-9A-Z]{4}-[0-9A-Z]{4}-[0-9A-Z]{4}-[0-9A-Z]{4}")
OFFICER = FakeUser(id=880011, first_name="Dana", last_name="Reyes", language_code="es")


@dataclass
class Reporter:
    """A community member going through the report conversation."""

    tg: FakeTelegram
    person: FakeUser

    async def say(self, text: str) -> Call:
        after = self.tg.mark()
        self.tg.send_text(self.person, text)
        return await self.tg.wait_for_reply(self.person.id, after=after)

    async def press(self, reply: Call, data: str) -> Call:
        """Press a button under the bot's message `reply`; return the bot's next message."""
        after = self.tg.mark()
        self.tg.press_button(self.person, reply.result, data)
        return await self.tg.wait_for_reply(self.person.id, after=after)

    async def start(self) -> Call:
        """/report, accepting the privacy notice if it is shown; returns the category question."""
        reply = await self.say("/report")
        if "report:notice:ok" in buttons(reply.result):
            reply = await self.press(reply, "report:notice:ok")
        return reply

    async def send(self, **content: object) -> Call:
        """A message with any content (photo=, document=, caption=...); returns the bot's answer."""
        after = self.tg.mark()
        self.tg.send_message(self.person, **content)
        return await self.tg.wait_for_reply(self.person.id, after=after)

    async def next_message(self) -> Call:
        """The bot's next message to this person, e.g. the second of two answers to one step."""
        return await self.tg.wait_for_reply(self.person.id)

    async def file(self, text: str = "A car has been parked here for days.", *, category: str = "crime",
                   place: str | None = None, when: str = "today", notify: bool = False) -> tuple[str, Call]:
        """A whole report; returns the receipt code and the bot's last answer."""
        reply = await self.press(await self.start(), f"report:cat:{category}")
        reply = await self.press(await self.say(text), "report:next")
        reply = await self.say(place) if place else await self.press(reply, "report:skip")
        review = await self.press(reply, f"report:when:{when}")
        received = await self.press(review, "report:send")
        code = CODE.search(received.params["text"]).group()
        final = await self.press(received, "report:notify:yes" if notify else "report:notify:no")
        return code, final


def buttons(message: dict) -> dict[str, str]:
    rows = (message.get("reply_markup") or {}).get("inline_keyboard", [])
    return {button["callback_data"]: button["text"] for row in rows for button in row}


def staff_chat(tg: FakeTelegram) -> dict:
    return tg.group_chat(STAFF_CHAT_ID, "Officers")


async def card_recorded(sessions: async_sessionmaker[AsyncSession], number: int) -> None:
    """Until the bot has recorded where report `number`'s card stands in the staff chat."""
    from storage.models import Report

    await settled(sessions, Report, lambda found: any(r.id == number and r.staff_message_id for r in found))


async def card_of(tg: FakeTelegram, number: int) -> Call:
    """The card of report `number` as the staff chat received it (refused attempts do not count)."""
    return await tg.wait_for(
        "sendMessage",
        lambda c: not c.failed and c.params["chat_id"] == STAFF_CHAT_ID and f"Report #{number}:" in c.params["text"],
    )


async def rows(sessions: async_sessionmaker[AsyncSession], model) -> list:  # noqa: ANN001
    async with sessions() as session:
        return list(await session.scalars(select(model)))


async def settled(sessions: async_sessionmaker[AsyncSession], model, check, timeout: float = 10) -> list:  # noqa: ANN001
    """The rows of `model` once `check(rows)` holds; a bounded wait for the delivery loop's commits."""
    deadline = asyncio.get_running_loop().time() + timeout
    while not check(found := await rows(sessions, model)):
        assert asyncio.get_running_loop().time() < deadline, f"{model.__name__} rows never settled: {found}"
        await asyncio.sleep(0.05)
    return found


