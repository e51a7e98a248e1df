"""An update that arrives twice (a misbehaving proxy, a replayed webhook) is answered once."""

from __future__ import annotations

import copy

from tests.conftest import RunningBot, user
from tests.fake_telegram import FakeTelegram
from tests.reporting import Reporter


async def test_a_repeated_update_id_adds_its_text_to_the_report_once(bot: RunningBot, tg: FakeTelegram) -> None:
    reporter = Reporter(tg, user(7810001, "ar"))
    await reporter.press(await reporter.start(), "report:cat:other")
    after = tg.mark()
    sent = tg.send_text(reporter.person, "سيارة متوقفة هنا منذ أيام")
    tg.push_update(copy.deepcopy(sent))  # the same update_id, in the same batch
    await bot.handled()

    replies = [c for c in tg.calls[after:] if c.method == "sendMessage" and c.params["chat_id"] == reporter.person.id]
    assert len(replies) == 1
    draft = bot.services.drafts.get(bot.services.keys.pseudonym(reporter.person.id))
    assert draft.text == "سيارة متوقفة هنا منذ أيام"
