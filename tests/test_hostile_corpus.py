"""A corpus of hostile inputs, each driven end to end through the fake Bot API.

Every case ends with a clear answer in the person's language, no failed handler, the bot still
serving the next person, and every report that was sent delivered exactly once. The whole corpus
runs in English on SQLite; a subset runs in Arabic, and the cases that write reports also run on
PostgreSQL.
"""

from __future__ import annotations

import html
import logging
import re
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from functools import partial

import pytest

from bot.i18n import FSI, PDI, _, active_locale
from bot.reports import MAX_FILE_BYTES, MAX_TEXT
from storage.models import OutboxKind, OutboxMessage, Report
from tests.conftest import STAFF_CHAT_ID, RunningBot, start_bot, user
from tests.fake_telegram import CAPTION_LIMIT, TEXT_LIMIT, Call, FakeTelegram, FakeUser
from tests.reporting import CODE, OFFICER, buttons, settled, staff_chat

# --- what the bot answers (English source texts; compared in the person's language) --------

FALLBACK = "To send a report, press Report. To see all options, send /help."
UNKNOWN_COMMAND = "Sorry, I do not know that command. Here is what I can do:"
CONTACT = ("For your safety, I do not accept contacts, and I did not save this phone number. "
           "You never need to share a phone number here.")  # fmt: skip
LOCATION = "I did not save this location. You can add a place when you send a report."
MEDIA = "I did not keep this file. To send photos or files, start a report first."
UNSUPPORTED = "Sorry, I cannot use this kind of message. Please write text or use the buttons."
STALE = "This button no longer works. Please send /start."
OFFICERS_ONLY = "This is only for officers in the staff chat."
NO_SUCH_CODE = "No report matches this code. Please check it and try again."
SHOW_USAGE = "Send /show and a report number, for example: /show 12"
NO_OPEN_REPORTS = "No open reports."
DOES_NOT_EXIST = "Report #{number} does not exist."
EDITS = "Edits are not passed on. If something has changed, please send it as a new message."
SAVED = "Saved."
SEND_MORE = "Send more, or press Next."
TOO_LONG = ("This is too long. A report can have at most {limit} characters; with this message it "
            "would have {count}. Nothing was cut: please send a shorter text.")  # fmt: skip
DESCRIBE = "Please describe what happened, in any language. You can also send photos, videos or files (up to {count})."
CANNOT_USE = "I cannot use this here."
HINT_DESCRIBE = "Please write what happened, or send photos, videos or files."
HINT_CATEGORY = "Please choose what your report is about with the buttons."
TOO_BIG = "This file is larger than {size} MB. Please send a smaller one."
PHOTO_ATTACHED = "Photo attached."
FILE_ATTACHED = "File attached. Hidden details in this file (such as its author) are not removed."
CANNOT_OPEN = "I could not open this picture. Please send it as a photo instead."
GROUP = "This bot only works in private chats. Please message it directly. Goodbye!"
CHOOSE_LANGUAGE = "Choose your language:"
LANGUAGE_UNAVAILABLE = "This language is not available."
WELCOME = "Welcome! This is the community safety line of {agency}."
HELP = "Here is what I can do:"
CATEGORY = "What is your report about?"
NOTICE = "Before you start: you do not have to give your name, and we never ask about immigration status."
PLACE = "Where did it happen? Write a place or an address, or share a location with the 📎 button. You can also skip this."
WHEN = "When did it happen? Choose below or write it. You can also skip this."
CHECK = "Please check your report. Officers will receive this:"
CODE_SHAPED = ("This looks like a receipt code, so I did not add it to your report. To check a report, "
               "send /status and your code.")  # fmt: skip
ASK_CODE = "Please send your receipt code. It looks like this: 7KQM-2XRD-9FTB-H4PN."
PAUSED = "Your report is paused. To go back to it, press Continue or send /report."
PLEASE_WRITE_FIRST = "Please first write what happened."

NEXT_PERSON = 7_999_001


# --- one case, driven through the running bot -----------------------------------------------

@dataclass
class Scene:
    """One person (and the officers) talking to the bot; answers come back as plain text."""

    bot: RunningBot
    tg: FakeTelegram
    person: FakeUser
    receipts: list[str] = field(default_factory=list)

    def text(self, message: str, /, **values: object) -> str:
        """`message` as the person reads it: the bot's catalog in their language."""
        with active_locale(self.bot.services.i18n.get(self.bot.services.i18n.negotiate(self.person.language_code))):
            return _(message, **values)

    def officers_text(self, message: str, /, **values: object) -> str:
        with active_locale(self.bot.services.i18n.get(self.bot.services.settings.officer_locale)):
            return _(message, **values)

    async def answer(self, send: Callable[[], dict], chat_id: int | None = None) -> Call:
        after = self.tg.mark()
        update = send()
        query_id = update["callback_query"]["id"] if "callback_query" in update else None
        return await self.tg.wait_for_answer(chat_id or self.person.id, query_id=query_id, after=after)

    async def say(self, text: str, **fields: object) -> str:
        return _text(await self.answer(lambda: self.tg.send_text(self.person, text, **fields)))

    async def send(self, **content: object) -> str:
        return _text(await self.answer(lambda: self.tg.send_message(self.person, **content)))

    async def press(self, data: str, message: dict | None = None) -> str:
        message = message or self.tg.last_message_to(self.person.id)
        return _text(await self.answer(lambda: self.tg.press_button(self.person, message, data)))

    async def staff_say(self, text: str) -> str:
        return _text(await self.answer(lambda: self.tg.send_text(OFFICER, text, chat=staff_chat(self.tg)), STAFF_CHAT_ID))

    async def staff_press(self, data: str) -> str:
        message = {"message_id": 1, "chat": staff_chat(self.tg), "date": int(time.time())}
        return _text(await self.answer(lambda: self.tg.press_button(OFFICER, message, data, chat=staff_chat(self.tg)), STAFF_CHAT_ID))

    async def describing(self) -> None:
        """/report, past the notice and the category: the bot now takes what happened."""
        shown = await self.say("/report")
        if "report:notice:ok" in buttons(self.tg.last_message_to(self.person.id)):
            shown = await self.press("report:notice:ok")
        assert shown == self.text(CATEGORY)
        assert (await self.press("report:cat:other")).startswith(self.text(DESCRIBE, count=5))

    async def reviewing(self) -> dict:
        """From what happened to the review: no place, earlier today; returns the message with Send."""
        assert await self.press("report:next") == self.text(PLACE)
        assert await self.press("report:skip") == self.text(WHEN)
        after = self.tg.mark()
        assert (await self.press("report:when:today")).startswith(self.text(CHECK))
        # A long text follows the card in messages of its own; Send is under the last.
        return (await self.tg.wait_for("sendMessage", lambda c: c.params["chat_id"] == self.person.id
                                       and "report:send" in buttons(c.result), after=after)).result  # fmt: skip

    async def finish(self) -> str:
        """From what happened to the receipt, without notices."""
        receipt = await self.press("report:send", await self.reviewing())
        self.receipts.append(CODE.search(receipt).group())
        await self.press("report:notify:no")
        return receipt

    async def file(self, text: str) -> str:
        await self.describing()
        assert await self.say(text) == self.text(SAVED) + "\n" + self.text(SEND_MORE)
        return await self.finish()


def _text(call: Call) -> str:
    return call.params["text"]


def visible(html_text: str) -> str:
    """What Telegram shows of an HTML message."""
    return html.unescape(re.sub(r"<[^>]*>", "", html_text))


def utf16_len(text: str) -> int:
    return len(text.encode("utf-16-le", "surrogatepass")) // 2


async def staff_texts(scene: Scene) -> list[str]:
    """Everything delivered to the staff chat, once the outbox is empty."""
    await settled(scene.bot.services.sessions, OutboxMessage, lambda found: all(m.done_at or m.dead_at for m in found))
    return [visible(t) for t in scene.tg.texts(STAFF_CHAT_ID)]


# --- kinds of case ----------------------------------------------------------------------------

async def answered_with(send: Callable[[Scene], Awaitable[str]], expected: str, scene: Scene, **values: object) -> None:
    assert (await send(scene)).startswith(scene.text(expected, **values))


def says(text: str, expected: str, **values: object) -> Callable[[Scene], Awaitable[None]]:
    """A message outside any conversation, and the one answer it must get."""
    return partial(answered_with, lambda scene: scene.say(text), expected, **values)


def sends(content: dict, expected: str) -> Callable[[Scene], Awaitable[None]]:
    return partial(answered_with, lambda scene: scene.send(**content), expected)


def presses_on_old_message(data: str, expected: str, **values: object) -> Callable[[Scene], Awaitable[None]]:
    """A button under a message so old that Telegram no longer gives it to the bot (date 0)."""

    async def press(scene: Scene) -> str:
        old = {"message_id": 10**6, "chat": scene.person.private_chat(), "date": 0}
        return _text(await scene.answer(lambda: scene.tg.press_button(scene.person, old, data)))

    return partial(answered_with, press, expected, **values)


def presses_on_others_message(data: str, expected: str, **values: object) -> Callable[[Scene], Awaitable[None]]:
    """Forged: a button under the person's own message, which the bot cannot edit."""

    async def press(scene: Scene) -> str:
        own = (await _sent(scene, "hello"))["message"]
        return _text(await scene.answer(lambda: scene.tg.press_button(scene.person, own, data)))

    return partial(answered_with, press, expected, **values)


def presses(data: str, expected: str) -> Callable[[Scene], Awaitable[None]]:
    async def press(scene: Scene) -> str:
        await scene.say("/start")
        return await scene.press(data)

    return partial(answered_with, press, expected)


async def _staff(send: Callable[[Scene], Awaitable[str]], expected: str, scene: Scene, **values: object) -> None:
    assert await send(scene) == scene.officers_text(expected, **values)


def staff_says(text: str, expected: str, **values: object) -> Callable[[Scene], Awaitable[None]]:
    return partial(_staff, lambda scene: scene.staff_say(text), expected, **values)


def staff_presses(data: str, expected: str, **values: object) -> Callable[[Scene], Awaitable[None]]:
    return partial(_staff, lambda scene: scene.staff_press(data), expected, **values)


def on_the_card(typed: str, shown: str) -> Callable[[Scene], Awaitable[None]]:
    """A report whose text is `typed`: the card shows `shown`, as text and nothing else."""

    async def run(scene: Scene) -> None:
        await scene.file(typed)
        card = await _card(scene)
        assert f"{FSI}{shown}{PDI}" in visible(card)
        assert set(re.findall(r"</?([a-z]+)", card)) <= {"b"}, "the reporter's text became markup"

    return run


async def _card(scene: Scene) -> str:
    call = await scene.tg.wait_for("sendMessage", lambda c: c.params["chat_id"] == STAFF_CHAT_ID and "Report #1:" in c.params["text"])
    return call.params["text"]


def mid_report(text: str, expected: str, **values: object) -> Callable[[Scene], Awaitable[None]]:
    """A message while the report takes what happened; the report goes on and is sent once."""

    async def run(scene: Scene) -> None:
        await scene.describing()
        assert (await scene.say(text)).startswith(scene.text(expected, **values))
        assert await scene.say("A real description.") == scene.text(SAVED) + "\n" + scene.text(SEND_MORE)
        await scene.finish()

    return run


def content_mid_report(content: dict, expected: str, **values: object) -> Callable[[Scene], Awaitable[None]]:
    async def run(scene: Scene) -> None:
        await scene.describing()
        assert (await scene.send(**content)).startswith(scene.text(expected, **values))
        assert await scene.say("A real description.") == scene.text(SAVED) + "\n" + scene.text(SEND_MORE)
        await scene.finish()

    return run


async def other_command_mid_report(scene: Scene) -> None:
    """/status while describing: answered, the report paused, and it goes on with Continue."""
    await scene.describing()
    after = scene.tg.mark()
    assert await scene.say("/status") == scene.text(ASK_CODE)
    paused = await scene.tg.wait_for("sendMessage", lambda c: c.params["text"] == scene.text(PAUSED), after=after)
    assert (await scene.press("report:resume", paused.result)).startswith(scene.text(DESCRIBE, count=5))
    assert await scene.say("A real description.") == scene.text(SAVED) + "\n" + scene.text(SEND_MORE)
    await scene.finish()


def too_long(text: str) -> Callable[[Scene], Awaitable[None]]:
    async def run(scene: Scene) -> None:
        await scene.describing()
        count = len(text)
        assert await scene.say(text) == scene.text(TOO_LONG, limit=MAX_TEXT, count=count)
        assert bot_draft(scene).text == ""

    return run


def bot_draft(scene: Scene):  # noqa: ANN201
    return scene.bot.services.drafts.get(scene.bot.services.keys.pseudonym(scene.person.id))


def longest_report(text: str) -> Callable[[Scene], Awaitable[None]]:
    """A report of MAX_TEXT characters that Telegram counts as more than 4,096: it reaches the
    staff chat whole, in parts that each fit."""

    async def run(scene: Scene) -> None:
        await scene.file(text)
        delivered = await staff_texts(scene)
        parts = [t.removeprefix(FSI).removesuffix(PDI) for t in delivered if "Report #1:" not in t]
        assert "".join(parts).replace(" ", "").replace("\n", "") == text.replace(" ", "").replace("\n", "")
        assert len(parts) > utf16_len(text) // TEXT_LIMIT

    return run


def document(file_id: str, size: int | None, mime_type: str, name: str = "file.bin") -> dict:
    fields = {"file_id": file_id, "file_unique_id": file_id[-8:], "file_name": name, "mime_type": mime_type}
    return fields | ({} if size is None else {"file_size": size})


async def empty_document(mime_type: str, expected: str, scene: Scene) -> None:
    scene.tg.add_file("empty-file-0001", b"")
    await scene.describing()
    assert (await scene.send(document=document("empty-file-0001", 0, mime_type))).startswith(scene.text(expected))
    assert await scene.say("The file above is empty.") == scene.text(SAVED) + "\n" + scene.text(SEND_MORE)
    await scene.finish()


def odd_file(name: str, mime_type: str = "application/pdf") -> Callable[[Scene], Awaitable[None]]:
    """A file whose name or declared type is hostile: attached, and the report arrives once."""

    async def run(scene: Scene) -> None:
        await scene.describing()
        assert (await scene.send(document=document("odd-name-0001", 10, mime_type, name))).startswith(scene.text(FILE_ATTACHED))
        assert await scene.say("See the file.") == scene.text(SAVED) + "\n" + scene.text(SEND_MORE)
        await scene.finish()

    return run


async def huge_document(declared: bool, scene: Scene) -> None:
    size = 25 * 1024 * 1024
    if not declared:  # the declared size is missing: the download itself must stop it
        scene.tg.add_file("huge-file-0001", b"\xff\xd8" + bytes(size))
    await scene.describing()
    sent = document("huge-file-0001", size if declared else None, "image/jpeg", "IMG_2.jpg")
    assert await scene.send(document=sent) == scene.text(TOO_BIG, size=MAX_FILE_BYTES // 2**20)
    assert bot_draft(scene).attachments == []


async def long_caption(scene: Scene) -> None:
    caption = ("Long caption. " * 150)[:2000]
    await scene.describing()
    photo = [{"file_id": "photo-0001", "file_unique_id": "ph01", "width": 90, "height": 90, "file_size": 900}]
    answer = await scene.send(photo=photo, caption=caption)
    assert answer == scene.text(PHOTO_ATTACHED) + "\n" + scene.text(SAVED) + "\n" + scene.text(SEND_MORE)
    await scene.finish()
    delivered = "\n".join(await staff_texts(scene))
    assert caption.strip() in delivered  # the caption travels as the report's text, whole


async def edited_mid_report(scene: Scene) -> None:
    await scene.describing()
    message = (await _sent(scene, "The original words."))["message"]
    after = scene.tg.mark()
    scene.tg.push_update({"edited_message": {**message, "text": "Changed <b>words</b>", "edit_date": int(time.time())}})
    assert _text(await scene.tg.wait_for_answer(scene.person.id, after=after)) == scene.text(EDITS)
    await scene.finish()
    [report] = await _reports(scene)
    assert report.body == "The original words."


async def _sent(scene: Scene, text: str) -> dict:
    """Send `text`; returns the update once the bot has answered it."""
    after = scene.tg.mark()
    update = scene.tg.send_text(scene.person, text)
    await scene.tg.wait_for_answer(scene.person.id, after=after)
    return update


async def edited_outside(scene: Scene) -> None:
    after = scene.tg.mark()
    message = {"message_id": 99, "from": scene.person.to_dict(), "chat": scene.person.private_chat(),
               "date": int(time.time()) - 60, "edit_date": int(time.time()), "text": "/start \u202eevil"}  # fmt: skip
    scene.tg.push_update({"edited_message": message})
    assert _text(await scene.tg.wait_for_answer(scene.person.id, after=after)) == scene.text(EDITS)


async def repeated_update(scene: Scene) -> None:
    """Telegram resending an update (same update_id) gets one answer, not two."""
    after = scene.tg.mark()
    scene.tg.push_update(dict(scene.tg.send_text(scene.person, "/help")))
    await scene.bot.handled()
    await scene.say("/privacy")
    helps = [c for c in scene.tg.calls[after:] if c.method == "sendMessage" and c.params["text"].startswith(scene.text(HELP))]
    assert len(helps) == 1


async def repeated_send(same_update: bool, scene: Scene) -> None:
    """Send pressed twice (a resent update, or a double tap) files one report."""
    await scene.describing()
    await scene.say("Pressed twice.")
    review = await scene.reviewing()
    after = scene.tg.mark()
    first = scene.tg.press_button(scene.person, review, "report:send")
    second = dict(first) if same_update else scene.tg.press_button(scene.person, review, "report:send")
    if same_update:
        scene.tg.push_update(second)
    receipt = _text(await scene.tg.wait_for_answer(scene.person.id, after=after))
    scene.receipts.append(CODE.search(receipt).group())
    await scene.bot.handled()
    await scene.press("report:notify:no", scene.tg.last_message_to(scene.person.id))


async def rapid_fire(scene: Scene) -> None:
    """A hundred messages at once, mid-report: each is answered, kept once and in order."""
    await scene.describing()
    after = scene.tg.mark()
    for n in range(100):
        scene.tg.send_text(scene.person, f"Line {n}.")
    saved = scene.text(SAVED) + "\n" + scene.text(SEND_MORE)
    await scene.tg.wait_for("sendMessage", lambda c: sum(
        1 for x in scene.tg.calls[after:] if x.method == "sendMessage" and x.params.get("text") == saved) == 100, after=after, timeout=30)
    await scene.bot.handled()
    await scene.finish()
    [report] = await _reports(scene)
    assert report.body == "\n".join(f"Line {n}." for n in range(100))


async def rapid_fire_commands(scene: Scene) -> None:
    after = scene.tg.mark()
    for _n in range(100):
        scene.tg.send_text(scene.person, "/help")
    helps = lambda: [c for c in scene.tg.calls[after:] if c.method == "sendMessage" and c.params["text"].startswith(scene.text(HELP))]  # noqa: E731
    await scene.tg.wait_for("sendMessage", lambda c: len(helps()) == 100, after=after, timeout=30)


async def language_twice(scene: Scene) -> None:
    """A double tap on a language: the second edit would change nothing, and Telegram refuses it."""
    picker = await scene.answer(lambda: scene.tg.send_text(scene.person, "/language"))
    assert await scene.press("lang:set:en", picker.result) == scene.text("Done. I will write to you in {language}.", language="English")
    assert await scene.press("lang:set:en", picker.result) == scene.text("Done. I will write to you in {language}.", language="English")


async def another_reports_answer_button(scene: Scene) -> None:
    """An Answer button is signed for one report and one person: data naming another report, or
    copied from someone else's chat, is refused."""
    other = Scene(scene.bot, scene.tg, user(7_999_500, "en"))
    await other.file("Someone else's report.")
    await other.describing()
    await other.say("Their second report.")
    await other.finish()
    scene.receipts += other.receipts
    await other.say(f"/status {other.receipts[0]}")
    token = next(d for d in buttons(scene.tg.last_message_to(other.person.id)) if d.startswith("ans:")).split(":")[2]
    await scene.say("/start")
    assert await scene.press(f"ans:1:{token}") == scene.text(STALE)
    assert await scene.press(f"ans:2:{token}") == scene.text(STALE)
    assert scene.bot.services.answering.get(scene.bot.services.keys.pseudonym(scene.person.id)) is None


async def stale_report_buttons(scene: Scene) -> None:
    """The review's buttons after the report was sent and the conversation ended."""
    await scene.file("Sent already.")
    review = next(c.result for c in reversed(scene.tg.calls) if c.method == "sendMessage"
                  and "report:send" in buttons(c.result or {}))  # fmt: skip
    for data in ("report:send", "report:edit", "report:cat:crime", "report:notify:yes"):
        assert await scene.press(data, review) == scene.text(STALE)


async def group_message(chat_type: str, text: str, scene: Scene) -> None:
    group = {"id": -100777000 - len(text), "type": chat_type, "title": "<b>Some group</b>"}
    after = scene.tg.mark()
    scene.tg.send_text(scene.person, text, chat=group)
    assert _text(await scene.tg.wait_for_answer(group["id"], after=after)) == scene.text(GROUP)
    await scene.tg.wait_for("leaveChat", lambda c: c.params["chat_id"] == group["id"], after=after)


async def channel_post(scene: Scene) -> None:
    channel = {"id": -100888000, "type": "channel", "title": "News"}
    after = scene.tg.mark()
    scene.tg.push_update({"channel_post": {"message_id": 1, "chat": channel, "date": int(time.time()), "text": "/queue"}})
    await scene.tg.wait_for("leaveChat", lambda c: c.params["chat_id"] == channel["id"], after=after)
    assert not [c for c in scene.tg.calls[after:] if c.method == "sendMessage"]


def broken_entity(text: str, entity: dict, expected: str) -> Callable[[Scene], Awaitable[None]]:
    """Entities whose offsets cut a character in half (an emoji is two UTF-16 units)."""

    async def run(scene: Scene) -> None:
        answer = await scene.answer(lambda: scene.tg.send_message(scene.person, text=text, entities=[entity]))
        assert _text(answer).startswith(scene.text(expected))

    return run


def broken_entity_mid_report(text: str, entity: dict) -> Callable[[Scene], Awaitable[None]]:
    async def run(scene: Scene) -> None:
        await scene.describing()
        answer = await scene.answer(lambda: scene.tg.send_message(scene.person, text=text, entities=[entity]))
        assert _text(answer) == scene.text(SAVED) + "\n" + scene.text(SEND_MORE)
        await scene.finish()

    return run


async def _reports(scene: Scene) -> list[Report]:
    async with scene.bot.services.sessions() as session:
        from sqlalchemy import select

        return list(await session.scalars(select(Report).order_by(Report.id)))


# --- the corpus ---------------------------------------------------------------------------

INJECTIONS = {
    "html-script": "<script>alert(1)</script>",
    "html-bold-link": '<b>bold</b> <a href="tg://user?id=1">me</a>',
    "html-unclosed": "<b><i>never closed",
    "html-entities": "&lt;b&gt; &amp;amp; &#x202E; &nbsp;",
    "html-comment": "<!-- hidden --> <tg-spoiler>x</tg-spoiler>",
    "markdown-v2": "*bold* _it_ `code` [link](http://x.test) ||spoiler|| \\*",
    "markdown-v1": "*__*[`](tg://user?id=123)",
    "pre-block": "```\n</pre><b>x</b>\n```",
    "quotes": "He said \"it's <fine>\" & left",
    "attribute-break": "\" onmouseover=\"alert(1)",
}
BIDI = {
    "rlo": ("Pay \u202egnp.exe", "Pay \ufffdgnp.exe"),
    "lro-pdf": ("\u202dabc\u202c", "\ufffdabc\ufffd"),
    "isolates": ("\u2066x\u2067y\u2068z\u2069", "\ufffdx\ufffdy\ufffdz\ufffd"),
    "embeddings": ("\u202aleft\u202bright\u202c", "\ufffdleft\ufffdright\ufffd"),
    "zero-width-space": ("ad\u200bmin pass\u2060word", "admin password"),
    "bom-inside": ("\ufeffstart and \ufeffmiddle", "start and middle"),
    "zwj-emoji": ("Family 👨\u200d👩\u200d👧 here", "Family 👨\u200d👩\u200d👧 here"),
    "zwnj-persian": ("می\u200cخواهم", "می\u200cخواهم"),
    "homoglyph-cyrillic": ("Pаypal аccount", "Pаypal аccount"),
    "homoglyph-greek": ("Οfficer Ρolice", "Οfficer Ρolice"),
    "fullwidth": ("ｐｏｌｉｃｅ ＜ｂ＞", "ｐｏｌｉｃｅ ＜ｂ＞"),
    "combining-zalgo": ("Z̵̡̛a̷l̶g̸o̴", "Z̵̡̛a̷l̶g̸o̴"),
    "arabic-with-rlm": ("شارع \u200fالملك 12", "شارع \u200fالملك 12"),
    "mixed-rlo-html": ("\u202e<b>x</b>", "\ufffd<b>x</b>"),
}

COMMANDS = {
    "status-garbage": ("/status <b>'; DROP TABLE reports; --", NO_SUCH_CODE),
    "status-10000": ("/status " + "A" * 10_000, NO_SUCH_CODE),
    "status-code-lowercase-unknown": ("/status 7kqm-2xrd-9ftb-h4pn", NO_SUCH_CODE),
    "status-many-args": ("/status " + " ".join(["7KQM-2XRD"] * 500), NO_SUCH_CODE),
    "status-null": ("/status \x00\x00", NO_SUCH_CODE),
    "forget-garbage": ("/forget ../../etc/passwd", NO_SUCH_CODE),
    "forget-emoji": ("/forget " + "😀" * 500, NO_SUCH_CODE),
    "status-blank-args": ("/status \u200b \u2060", NO_SUCH_CODE),
    "language-args": ("/language xx_YY ../ <b>", CHOOSE_LANGUAGE),
    "language-huge": ("/language " + "ar" * 3000, CHOOSE_LANGUAGE),
    "show-private": ("/show 1", OFFICERS_ONLY),
    "show-private-garbage": ("/show -1e309", OFFICERS_ONLY),
    "queue-private": ("/queue 99999999999999999999", OFFICERS_ONLY),
    "help-args": ("/help me <now>", HELP),
    "unknown-command": ("/drop_table_reports", UNKNOWN_COMMAND),
    "unknown-command-long": ("/" + "a" * 3000, UNKNOWN_COMMAND),
    "other-bots-command": ("/start@some_other_bot", UNKNOWN_COMMAND),
    "status-lone-surrogate": ("/status \ud800\udfff7KQM", NO_SUCH_CODE),
    "cancel-nothing": ("/cancel now!", UNKNOWN_COMMAND),
}

TEXTS = {
    "whitespace": "   \n\t  ",
    "zero-width-only": "\u200b\u200b\u2060",
    "text-10000": "x" * 10_000,
    "emoji-5000": "😀" * 5_000,
    "null-bytes": "\x00\x00 hello \x00",
    "rtl-override-only": "\u202e",
    "json-looking": '{"update_id": 1, "message": {"text": "/queue"}}',
    "code-shaped": "7KQM-2XRD-9FTB-H4PN",
}

STAFF = {
    "show-garbage": ("/show <b>x</b>", SHOW_USAGE, {}),
    "show-huge": ("/show 99999999999999999999999", SHOW_USAGE, {}),
    "show-superscript": ("/show ²", SHOW_USAGE, {}),
    "show-missing": ("/show #424242", DOES_NOT_EXIST, {"number": "424242"}),
    "queue-negative": ("/queue -5", NO_OPEN_REPORTS, {}),
    "queue-huge": ("/queue 99999999999999999999", NO_OPEN_REPORTS, {}),
}
STAFF_BUTTONS = {
    "ack-missing": ("staff:ack:424242", DOES_NOT_EXIST, {"number": "424242"}),
    "close-negative": ("staff:close:-1", DOES_NOT_EXIST, {"number": "-1"}),
    "spam-overflow": ("staff:spam:99999999999999999999", DOES_NOT_EXIST, {"number": "99999999999999999999"}),
    "block-letters": ("staff:block:abc", DOES_NOT_EXIST, {"number": "abc"}),
    "unknown-action": ("staff:delete:1", SHOW_USAGE, {}),
}
FORGED_BUTTONS = {
    "empty-like": ("x", STALE),
    "report-category-traversal": ("report:cat:../../admin", STALE),
    "answer-bad-token": ("ans:1:0000000000000000", STALE),
    "answer-overflow": ("ans:99999999999999:00000000", STALE),
    "language-unknown": ("lang:set:xx_XX", LANGUAGE_UNAVAILABLE),
    "staff-ack-from-private": ("staff:ack:1", OFFICERS_ONLY),
    "staff-block-from-private": ("staff:block:1", OFFICERS_ONLY),
    "staff-queue-from-private": ("staff:queue:0", OFFICERS_ONLY),
    "menu-unknown": ("menu:admin", STALE),
    "unicode-data": ("report:cat:\u202eemirc", STALE),
    "surrogate-like": ("report:😀" * 10, STALE),
}
STICKER = {"sticker": {"file_id": "s1", "file_unique_id": "u1", "type": "regular", "width": 512, "height": 512,
                       "is_animated": False, "is_video": False}}  # fmt: skip
DICE = {"dice": {"emoji": "🎲", "value": 3}}
VIDEO_NOTE = {"video_note": {"file_id": "vn1", "file_unique_id": "vnu1", "length": 240, "duration": 3}}
CONTACT_CARD = {"contact": {"phone_number": "+15555550123", "first_name": "Alex", "user_id": 42}}
LOCATION_POINT = {"location": {"latitude": 40.7, "longitude": -74.0}}
VENUE = {"venue": {"location": {"latitude": 1.0, "longitude": 2.0}, "title": "<b>Bar</b>", "address": "Main St"}}
POLL = {"poll": {"id": "p1", "question": "?", "options": [{"text": "a", "voter_count": 0, "persistent_id": "o1"}],
                 "total_voter_count": 0, "is_closed": False, "is_anonymous": True, "type": "regular",
                 "allows_multiple_answers": False, "allows_revoting": False, "members_only": False}}  # fmt: skip
PHOTO = {"photo": [{"file_id": "f1", "file_unique_id": "fu1", "width": 90, "height": 90}]}


@dataclass(frozen=True)
class Case:
    name: str
    run: Callable[[Scene], Awaitable[None]]
    reports: int = 0  # reports the case sends, each to arrive exactly once


CASES = [
    *(Case(f"card-{name}", on_the_card(text, text.strip()), 1) for name, text in INJECTIONS.items()),
    *(Case(f"card-{name}", on_the_card(typed, shown), 1) for name, (typed, shown) in BIDI.items()),
    Case("card-null-bytes", on_the_card("Broken\x00 window\x07", "Broken window"), 1),
    Case("card-lone-surrogates", on_the_card("bad \ud800 half \udfff emoji", "bad \ufffd half \ufffd emoji"), 1),
    *(Case(f"command-{name}", says(text, expected)) for name, (text, expected) in COMMANDS.items()),
    Case("command-start-payload", says("/start <script>" + "x" * 60, WELCOME, agency="Springfield Police Department")),
    Case("command-start-deep-link-bidi", says("/start \u202eyad", WELCOME, agency="Springfield Police Department")),
    *(Case(f"text-{name}", says(text, FALLBACK)) for name, text in TEXTS.items()),
    Case("text-empty", sends({"text": ""}, UNSUPPORTED)),
    *(Case(f"staff-{name}", staff_says(text, expected, **values)) for name, (text, expected, values) in STAFF.items()),
    *(Case(f"staff-button-{name}", staff_presses(data, expected, **values)) for name, (data, expected, values) in STAFF_BUTTONS.items()),
    *(Case(f"button-{name}", presses(data, expected)) for name, (data, expected) in FORGED_BUTTONS.items()),
    Case("button-old-message-language", presses_on_old_message("lang:set:en", "Done. I will write to you in {language}.", language="English")),
    Case("button-forged-message-language-page", presses_on_others_message("lang:page:1", CHOOSE_LANGUAGE)),
    Case("button-forged-message-language", presses_on_others_message("lang:set:en", "Done. I will write to you in {language}.", language="English")),
    Case("button-old-message-language-page", presses_on_old_message("lang:page:1", CHOOSE_LANGUAGE)),
    Case("button-old-message-report", presses_on_old_message("menu:report", NOTICE)),
    Case("button-old-message-status", presses_on_old_message("menu:status", ASK_CODE)),
    Case("button-language-twice", language_twice),
    Case("button-other-reports-answer", another_reports_answer_button, 2),
    Case("button-stale-after-sending", stale_report_buttons, 1),
    Case("contact", sends(CONTACT_CARD, CONTACT)),
    Case("contact-mid-report", content_mid_report(CONTACT_CARD, CONTACT), 1),
    Case("location-outside-step", sends(LOCATION_POINT, LOCATION)),
    Case("venue-outside-step", sends(VENUE, LOCATION)),
    Case("location-mid-description", content_mid_report(LOCATION_POINT, CANNOT_USE), 1),
    Case("sticker", sends(STICKER, UNSUPPORTED)),
    Case("dice", sends(DICE, UNSUPPORTED)),
    Case("poll", sends(POLL, UNSUPPORTED)),
    Case("video-note", sends(VIDEO_NOTE, MEDIA)),
    Case("photo-outside-report", sends(PHOTO, MEDIA)),
    Case("sticker-mid-report", content_mid_report(STICKER, CANNOT_USE), 1),
    Case("poll-mid-report", content_mid_report(POLL, CANNOT_USE), 1),
    Case("photo-caption-2000", long_caption, 1),
    Case("document-0-bytes-image", partial(empty_document, "image/jpeg", CANNOT_OPEN), 1),
    Case("document-0-bytes-pdf", partial(empty_document, "application/pdf", FILE_ATTACHED), 1),
    Case("document-name-markup", odd_file("<b>x</b>\u202egpj.exe"), 1),
    Case("document-name-lone-surrogate", odd_file("bad\ud800.pdf"), 1),
    Case("document-name-null-and-long", odd_file("\x00" + "n" * 5000 + ".pdf"), 1),
    Case("document-type-300-characters", odd_file("a.pdf", "application/" + "x" * 300), 1),
    Case("document-type-markup", odd_file("a.pdf", "<b>/x"), 1),
    Case("document-25mb-declared", partial(huge_document, True)),
    Case("document-25mb-undeclared", partial(huge_document, False)),
    Case("report-text-10000", too_long("x" * 10_000)),
    Case("report-emoji-5000", too_long("😀" * 5_000)),
    Case("report-emoji-4000", longest_report("😀" * MAX_TEXT), 1),
    Case("report-markup-4000", longest_report("<&>" * (MAX_TEXT // 3)), 1),
    Case("report-whitespace", mid_report(" \n\t ", DESCRIBE, count=5), 1),
    Case("report-zero-width-only", mid_report("\u200b\u2060\ufeff", DESCRIBE, count=5), 1),
    Case("report-code-shaped", mid_report("my code 7KQM-2XRD-9FTB-H4PN", CODE_SHAPED), 1),
    Case("report-other-command", other_command_mid_report, 1),
    Case("edit-mid-report", edited_mid_report, 1),
    Case("edit-outside", edited_outside),
    Case("duplicate-update-id", repeated_update),
    Case("duplicate-send-same-update", partial(repeated_send, True), 1),
    Case("duplicate-send-double-tap", partial(repeated_send, False), 1),
    Case("group-unknown", partial(group_message, "group", "/start")),
    Case("supergroup-unknown-staff-command", partial(group_message, "supergroup", "/queue")),
    Case("channel-unknown", channel_post),
    Case("entity-cuts-emoji-command", broken_entity("😀/start", {"type": "bot_command", "offset": 1, "length": 6}, FALLBACK)),
    Case("entity-past-the-end", broken_entity("/help", {"type": "bot_command", "offset": 0, "length": 50}, HELP)),
    Case("entity-half-surrogate", broken_entity("/start😀", {"type": "bot_command", "offset": 0, "length": 7}, UNKNOWN_COMMAND)),
    Case("entity-mid-report", broken_entity_mid_report("😀😀 bold", {"type": "bold", "offset": 1, "length": 3}), 1),
    Case("rapid-fire-100-texts", rapid_fire, 1),
    Case("rapid-fire-100-commands", rapid_fire_commands),
]
# The Arabic subset: one or more of each kind, answered from the Arabic catalog.
IN_ARABIC = {
    "card-html-script", "card-rlo", "card-lone-surrogates", "command-status-garbage", "command-show-private",
    "command-unknown-command", "text-emoji-5000", "text-empty", "button-answer-bad-token",
    "button-staff-ack-from-private", "contact", "location-outside-step", "sticker", "photo-caption-2000",
    "document-25mb-declared", "report-text-10000", "report-emoji-4000", "edit-mid-report", "group-unknown",
    "duplicate-send-same-update",
}  # fmt: skip
ON_EVERY_DATABASE = {"card-null-bytes", "card-lone-surrogates", "card-html-script", "report-emoji-4000", "rapid-fire-100-texts",
                     "duplicate-send-same-update", "document-0-bytes-image", "button-other-reports-answer",
                     "document-type-300-characters", "document-name-lone-surrogate", "command-status-lone-surrogate"}  # fmt: skip


def test_the_corpus_is_large_and_named_uniquely() -> None:
    names = [case.name for case in CASES]
    assert len(names) == len(set(names)) and len(names) >= 80
    assert IN_ARABIC | ON_EVERY_DATABASE <= set(names)


async def run_case(case: Case, tg: FakeTelegram, settings, log_records, language_code: str) -> None:  # noqa: ANN001
    async for bot in start_bot(tg, settings):
        scene = Scene(bot, tg, user(7_999_100, language_code, first_name="Firstqz", username="handle_qz"))
        await case.run(scene)

        # The bot still serves the next person.
        greeting = await bot.say(user(NEXT_PERSON, "en"), "/start")
        assert greeting.params["text"].startswith("Welcome!")
        await bot.handled()

        # Every report sent arrived once, as one card and one outbox row, and nothing is stuck.
        reports = await _reports(scene)
        assert len(reports) == case.reports == len(set(scene.receipts))
        rows = await settled(bot.services.sessions, OutboxMessage, lambda found: all(m.done_at or m.dead_at for m in found))
        assert not [m for m in rows if m.dead_at], "Telegram refused a message for good"
        for report in reports:
            cards = [t for t in tg.texts(STAFF_CHAT_ID) if f"Report #{report.id}:" in t]
            assert len(cards) == 1
            assert sum(m.kind == OutboxKind.CARD and m.report_id == report.id for m in rows) == 1

        # Nothing the bot sent is longer than Telegram takes, and nothing failed.
        for call in tg.calls:
            if call.params.get("parse_mode") == "HTML":
                assert utf16_len(visible(call.params.get("text") or call.params.get("caption") or "")) <= TEXT_LIMIT
            else:
                assert utf16_len(call.params.get("text") or "") <= TEXT_LIMIT
            assert utf16_len(call.params.get("caption") or "") <= CAPTION_LIMIT
        assert "handler_failed" not in log_records.text
        assert not [r for r in log_records.records if r.levelno >= logging.ERROR]
        assert "Firstqz" not in log_records.text and str(scene.person.id) not in log_records.text


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
@pytest.mark.parametrize("case", CASES, ids=[case.name for case in CASES])
async def test_hostile_input_in_english(case: Case, tg: FakeTelegram, make_settings, log_records) -> None:  # noqa: ANN001
    await run_case(case, tg, make_settings(), log_records, "en")


ARABIC = [case for case in CASES if case.name in IN_ARABIC]


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
@pytest.mark.parametrize("case", ARABIC, ids=[case.name for case in ARABIC])
async def test_hostile_input_in_arabic(case: Case, tg: FakeTelegram, make_settings, log_records) -> None:  # noqa: ANN001
    await run_case(case, tg, make_settings(), log_records, "ar")


EVERY_DATABASE = [case for case in CASES if case.name in ON_EVERY_DATABASE]


@pytest.mark.parametrize("database_url", [pytest.param("postgresql", marks=pytest.mark.postgres)], indirect=True)
@pytest.mark.parametrize("case", EVERY_DATABASE, ids=[case.name for case in EVERY_DATABASE])
async def test_hostile_input_on_postgresql(case: Case, tg: FakeTelegram, make_settings, log_records) -> None:  # noqa: ANN001
    await run_case(case, tg, make_settings(), log_records, "en")
