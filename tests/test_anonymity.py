"""Nothing ties a report to a Telegram identity: proven by scanning bytes, not by reading code.

Twenty people with distinctive ids, usernames and names file reports in three languages; some
opt into notifications; officers act on every report and write to every reporter; those who can
be reached answer. Then the raw database (SQLite file bytes or a pg_dump), every captured log
line and every text the staff chat received are searched for those identifiers, in decimal and
as text.
"""

from __future__ import annotations

from storage.models import OutboxMessage, ReportMessage
from tests.conftest import STAFF_CHAT_ID, RunningBot, database_bytes
from tests.fake_telegram import FakeTelegram, FakeUser
from tests.reporting import OFFICER, Reporter, buttons, card_of, card_recorded, settled, staff_chat

LANGUAGES = ("en", "es", "ar")
NOTICES = ("Officers have read your report", "Los agentes leyeron su reporte", "قرأ الضباط بلاغك")


def people() -> list[FakeUser]:
    return [
        FakeUser(
            id=8_300_000_000 + 7919 * n,
            first_name=f"Firstq{n}zed",
            last_name=f"Lastq{n}zed",
            username=f"handle_q{n}_zed",
            language_code=LANGUAGES[n % 3],
        )
        for n in range(20)
    ]


def identifiers(person: FakeUser) -> list[str]:
    return [str(person.id), person.first_name, person.last_name, person.username]


async def test_no_identity_reaches_the_database_logs_or_staff_chat(
    bot: RunningBot, tg: FakeTelegram, database_url: str, log_records
) -> None:
    everyone = people()
    for n, person in enumerate(everyone):
        await Reporter(tg, person).file(f"Something happened near the park, case {n}.", notify=n % 2 == 0,
                                        place="Near the park" if n % 3 else None)
    staff = staff_chat(tg)
    cards = {}
    for number in range(1, len(everyone) + 1):
        card = await card_of(tg, number)
        await card_recorded(bot.services.sessions, number)
        cards[number] = card.result
        tg.press_button(OFFICER, card.result, f"staff:ack:{number}", chat=staff)
    await settled(
        bot.services.sessions, OutboxMessage,
        lambda found: sum(m.kind == "reporter_notice" for m in found) == 10 and all(m.done_at for m in found),
        timeout=30,
    )  # fmt: skip

    # The dialog: officers write to every reporter; those who can be reached answer.
    for number in range(1, len(everyone) + 1):
        tg.send_message(OFFICER, chat=staff, text=f"Officer question about case {number}", reply_to_message=cards[number])
    for n, person in enumerate(everyone):
        if n % 2 == 0:
            question = await tg.wait_for("sendMessage", lambda c, p=person: c.params["chat_id"] == p.id
                                         and "Officer question" in c.params["text"], timeout=30)  # fmt: skip
            reporter = Reporter(tg, person)
            await reporter.press(question, next(d for d in buttons(question.result) if d.startswith("ans:")))
            await reporter.say(f"My answer for case {n + 1}")
    await settled(
        bot.services.sessions, ReportMessage,
        lambda found: len(found) == 30 and all(m.delivered_at or m.author == "officer" for m in found),
        timeout=30,
    )  # fmt: skip
    await settled(bot.services.sessions, OutboxMessage, lambda found: all(m.done_at for m in found), timeout=30)

    # Opted-in reporters did hear back, so the sealed links were really used.
    notified = {c.params["chat_id"] for c in tg.calls_to("sendMessage") if c.params["text"].startswith(NOTICES)}
    assert notified == {p.id for n, p in enumerate(everyone) if n % 2 == 0}

    stored = await database_bytes(database_url)
    staff_texts = "\n".join(tg.texts(STAFF_CHAT_ID))
    assert "Something happened near the park, case 19." in staff_texts  # the scan reads real content
    # The scan reads real rows; their content itself is encrypted (tests/test_encryption.py).
    assert "My answer for case 19" in staff_texts and b"reporter_notice" in stored
    assert len(stored) > 10_000 and "report_submitted" in log_records.text
    for person in everyone:
        for identifier in identifiers(person):
            assert identifier.encode() not in stored, f"{identifier} in the database"
            assert identifier not in log_records.text, f"{identifier} in the logs"
            assert identifier not in staff_texts, f"{identifier} in the staff chat"
    assert not tg.calls_to("forwardMessage")
