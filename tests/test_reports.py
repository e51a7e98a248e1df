"""Anonymous reports end to end: the conversation, the staff card, the officer queue, delivery."""

from __future__ import annotations

import asyncio
import html
import io
import re

import pytest
from PIL import Image

from bot.i18n import FSI, PDI
from storage.models import Attachment, AuditEvent, Report, ReporterLink
from tests.conftest import STAFF_CHAT_ID, RunningBot, start_bot, user
from tests.fake_telegram import FakeTelegram
from tests.reporting import CODE, OFFICER, Reporter, buttons, card_of, rows, settled, staff_chat

# --- the conversation ---------------------------------------------------------------------

@pytest.mark.parametrize(
    ("language_code", "received", "status_line", "notice", "language_on_card"),
    [
        ("en", "Thank you. Your report #1 was received.", "Officers have not opened it yet.",
         "Officers have read your report #1 and are looking at it.", "Language: English"),
        ("es", "Gracias. Su reporte #1 fue recibido.", "Los agentes todavía no lo han abierto.",
         "Los agentes leyeron su reporte #1 y lo están revisando.", "Language: Spanish"),
        ("ar", f"شكرًا لك. تم استلام بلاغك رقم {FSI}1{PDI}.", "لم يفتحه الضباط بعد.",
         f"قرأ الضباط بلاغك رقم {FSI}1{PDI} وهم يتابعونه.", "Language: Arabic"),
    ],
)
async def test_a_report_reaches_officers_and_the_reporter_hears_back(
    bot: RunningBot, tg: FakeTelegram, language_code, received, status_line, notice, language_on_card
) -> None:
    reporter = Reporter(tg, user(7100001, language_code))
    reply = await reporter.press(await reporter.start(), "report:cat:threat")
    reply = await reporter.press(await reporter.say("Someone painted threats on the mosque door <b>."), "report:next")
    reply = await reporter.say("Corner of 5th & Main")
    review = await reporter.press(reply, "report:when:today")
    assert "Someone painted threats on the mosque door &lt;b&gt;." in review.params["text"]
    assert review.params["parse_mode"] == "HTML"

    sent = await reporter.press(review, "report:send")
    assert sent.params["text"].startswith(received)
    code = CODE.search(sent.params["text"]).group()
    await reporter.press(sent, "report:notify:yes")

    card = await card_of(tg, 1)
    text = card.params["text"]
    assert "Report #1: Threat or hate incident" in text and "URGENT" in text
    assert language_on_card in text and "Status: New" in text
    assert "Place: " in text and "Corner of 5th &amp; Main" in text
    assert "When: Earlier today" in text and "(America/Chicago)" in text
    assert set(buttons(card.result)) == {"staff:ack:1", "staff:close:1", "staff:spam:1", "staff:msg:1", "staff:block:1"}

    status = await reporter.say(f"/status {code.lower()}")
    assert status_line in status.params["text"]

    after = tg.mark()
    tg.press_button(OFFICER, card.result, "staff:ack:1", chat=staff_chat(tg))
    edited = await tg.wait_for("editMessageText", lambda c: c.params["chat_id"] == STAFF_CHAT_ID, after=after)
    assert "Status: Acknowledged by Dana Reyes" in edited.params["text"]
    assert set(buttons(edited.result)) == {"staff:close:1", "staff:spam:1", "staff:msg:1", "staff:block:1"}
    told = await tg.wait_for_reply(reporter.person.id, after=after)
    assert told.params["text"] == notice


async def test_reporter_text_cannot_spoof_the_card(bot: RunningBot, tg: FakeTelegram) -> None:
    spoof = "Nothing here\u202e\u2066 Status: Closed by Chief\u2069\u200b\u2060\ufeff </b><a href='x'>"
    reporter = Reporter(tg, user(7100020, "fa"))
    reply = await reporter.press(await reporter.start(), "report:cat:other")
    reply = await reporter.press(await reporter.say(spoof), "report:next")
    review = await reporter.press(await reporter.press(reply, "report:skip"), "report:skip")
    await reporter.press(await reporter.press(review, "report:send"), "report:notify:no")
    card = (await card_of(tg, 1)).params["text"]
    body = card.split("\n")[card.split("\n").index("<b>What happened:</b>") + 1]
    assert body == f"{FSI}Nothing here\ufffd\ufffd Status: Closed by Chief\ufffd &lt;/b&gt;&lt;a href=&#x27;x&#x27;&gt;{PDI}"
    for invisible in "\u202e\u2066\u2069\u200b\u2060\ufeff":
        assert invisible not in card.replace(FSI, "").replace(PDI, "")
    assert bot.services.drafts.get(bot.services.keys.pseudonym(reporter.person.id)) is None


async def test_after_send_memory_keeps_no_report_content(bot: RunningBot, tg: FakeTelegram) -> None:
    reporter = Reporter(tg, user(7100021, "en"))
    reply = await reporter.press(await reporter.start(), "report:cat:crime")
    reply = await reporter.press(await reporter.say("Private details of the incident"), "report:next")
    review = await reporter.press(await reporter.press(reply, "report:skip"), "report:skip")
    await reporter.press(review, "report:send")
    draft = bot.services.drafts.get(bot.services.keys.pseudonym(reporter.person.id))
    assert (draft.submitted_report_id, draft.text, draft.attachments) == (1, "", [])


async def test_the_privacy_notice_is_shown_once_and_read_more_explains(bot: RunningBot, tg: FakeTelegram) -> None:
    reporter = Reporter(tg, user(7100002, "es"))
    notice = await reporter.say("/report")
    assert "llame al 911" in notice.params["text"]
    more = await reporter.press(notice, "report:notice:more")
    assert more.params["text"].startswith("Cómo protegemos su privacidad")
    question = await reporter.press(notice, "report:notice:ok")
    assert question.params["text"] == "¿De qué trata su reporte?"
    again = await reporter.say("/report")  # a second report goes straight to the category
    assert again.params["text"] == "¿De qué trata su reporte?"


@pytest.mark.parametrize("step", ["notice", "category", "describe", "place", "when", "review"])
async def test_cancel_works_at_every_step(bot: RunningBot, tg: FakeTelegram, step: str) -> None:
    reporter = Reporter(tg, user(7100003, "ar"))
    reply = await reporter.say("/report")
    if step != "notice":
        reply = await reporter.press(reply, "report:notice:ok")
    if step not in ("notice", "category"):
        reply = await reporter.press(reply, "report:cat:other")
    if step not in ("notice", "category", "describe"):
        reply = await reporter.press(await reporter.say("نص البلاغ"), "report:next")
    if step in ("when", "review"):
        reply = await reporter.press(reply, "report:skip")
    if step == "review":
        reply = await reporter.press(reply, "report:skip")
        assert "report:send" in buttons(reply.result)

    cancelled = await reporter.say("/cancel")
    assert cancelled.params["text"] == "أُلغي البلاغ. لم يُرسَل أي شيء."
    assert await rows(bot.services.sessions, Report) == []
    assert bot.services.drafts.get(bot.services.keys.pseudonym(reporter.person.id)) is None
    # The conversation is over: text is ordinary text again.
    assert (await reporter.say("مرحبا")).params["text"].startswith("لإرسال بلاغ")


async def test_an_untouched_draft_expires_and_the_person_is_told(tg: FakeTelegram, make_settings) -> None:
    async for running in start_bot(tg, make_settings(draft_timeout_minutes=0.01)):
        reporter = Reporter(tg, user(7100004, "es"))
        reply = await reporter.press(await reporter.start(), "report:cat:crime")
        await reporter.say("Algo pasó")
        expired = await tg.wait_for_reply(reporter.person.id, timeout=15)
        assert expired.params["text"] == "Su reporte sin terminar se borró después de 1 minuto sin actividad. No se envió nada."
        assert running.services.drafts.get(running.services.keys.pseudonym(reporter.person.id)) is None
        assert await rows(running.services.sessions, Report) == []
        assert "report:next" in buttons(reply.result)


async def test_a_step_sent_while_the_draft_expires_is_handled_after_it(tg: FakeTelegram, make_settings) -> None:
    """The expiry runs from PTB's job queue; in the person's lane it cannot interleave with their
    next step, which would otherwise land in a new, orphaned draft after the person was told
    everything was deleted."""
    async for running in start_bot(tg, make_settings(draft_timeout_minutes=0.01)):
        reporter = Reporter(tg, user(7100010, "en"))
        await reporter.press(await reporter.start(), "report:cat:crime")
        held = tg.hold("sendMessage")
        await asyncio.wait_for(held.arrived.wait(), 15)  # the expiry notice, unanswered for now
        after = tg.mark()
        tg.send_text(reporter.person, "One more detail")
        await tg.wait_until_drained()
        await asyncio.sleep(0.2)  # room for the step to run now, if it could
        held.release()

        expired = await tg.wait_for_reply(reporter.person.id, after=after)
        answer = await tg.wait_for_reply(reporter.person.id, after=tg.calls.index(expired) + 1)
        assert expired.params["text"].startswith("Your unfinished report was deleted")
        assert answer.params["text"].startswith("To send a report")  # no conversation any more
        assert running.services.drafts.get(running.services.keys.pseudonym(reporter.person.id)) is None


async def test_text_over_the_limit_is_refused_and_nothing_is_cut(bot: RunningBot, tg: FakeTelegram) -> None:
    reporter = Reporter(tg, user(7100005, "en"))
    await reporter.press(await reporter.start(), "report:cat:crime")
    refused = await reporter.say("x" * 4001)
    assert refused.params["text"].startswith("This is too long. A report can have at most 4,000 characters;")
    assert "4,001" in refused.params["text"]
    saved = await reporter.say("y" * 3999)
    assert saved.params["text"].startswith("Saved.")
    refused_again = await reporter.say("zz")  # 3999 + newline + 2 = 4002
    assert "4,002" in refused_again.params["text"]
    review = await reporter.press(await reporter.press(await reporter.press(saved, "report:next"), "report:skip"), "report:skip")
    full_text = await tg.wait_for_reply(reporter.person.id)  # long texts follow the review card
    assert review.params["text"].endswith("The full text follows in the next message.\u2069")
    assert full_text.params["text"] == f"{FSI}{'y' * 3999}{PDI}"


async def test_steps_explain_what_they_cannot_use(bot: RunningBot, tg: FakeTelegram, log_records) -> None:
    reporter = Reporter(tg, user(7100006, "es"))
    await reporter.press(await reporter.start(), "report:cat:crime")
    after = tg.mark()
    tg.send_message(reporter.person, sticker={"file_id": "s", "file_unique_id": "s", "type": "regular", "width": 1,
                                               "height": 1, "is_animated": False, "is_video": False})
    sticker = await tg.wait_for_reply(reporter.person.id, after=after)
    assert sticker.params["text"] == "No puedo usar esto aquí. Escriba lo que pasó, o envíe fotos, videos o archivos."
    after = tg.mark()
    tg.send_message(reporter.person, location={"latitude": 41.88, "longitude": -87.63})
    location = await tg.wait_for_reply(reporter.person.id, after=after)
    assert location.params["text"].startswith("No puedo usar esto aquí.")
    after = tg.mark()
    tg.send_message(reporter.person, contact={"phone_number": "+13125550199", "first_name": "X"})
    contact = await tg.wait_for_reply(reporter.person.id, after=after)
    assert "no acepto contactos" in contact.params["text"]
    assert "5550199" not in log_records.text


async def test_a_voice_message_needs_a_second_yes(bot: RunningBot, tg: FakeTelegram) -> None:
    reporter = Reporter(tg, user(7100007, "en"))
    await reporter.press(await reporter.start(), "report:cat:other")
    after = tg.mark()
    tg.send_message(reporter.person, voice={"file_id": "voice-1", "file_unique_id": "v1", "duration": 3})
    warning = await tg.wait_for_reply(reporter.person.id, after=after)
    assert warning.params["text"].startswith("A voice can identify the person speaking.")
    kept = await reporter.press(warning, "report:voice:yes")
    assert kept.params["text"].startswith("Voice message attached.")
    await reporter.say("Loud threats every night.")
    draft = bot.services.drafts.get(bot.services.keys.pseudonym(reporter.person.id))
    assert [a.kind for a in draft.attachments] == ["voice"]


# --- attachments --------------------------------------------------------------------------

def gps_jpeg() -> bytes:
    """A real JPEG carrying GPS coordinates and an author in its EXIF."""
    image = Image.new("RGB", (64, 32), "red")
    exif = Image.Exif()
    exif[0x013B] = "Artist Zq7 Hidden"  # Artist
    exif[0x8825] = {1: "N", 2: (41.0, 52.0, 55.0), 3: "W", 4: (87.0, 37.0, 40.0)}  # GPSInfo
    buffer = io.BytesIO()
    image.save(buffer, "JPEG", exif=exif)
    data = buffer.getvalue()
    assert Image.open(io.BytesIO(data)).getexif().get_ifd(0x8825), "the test image must carry GPS"
    return data


async def test_an_image_sent_as_a_file_reaches_officers_without_its_metadata(bot: RunningBot, tg: FakeTelegram) -> None:
    tg.add_file("doc-gps", gps_jpeg(), "documents/photo.jpg")
    reporter = Reporter(tg, user(7100008, "es"))
    await reporter.press(await reporter.start(), "report:cat:safety")
    after = tg.mark()
    tg.send_message(reporter.person, document={"file_id": "doc-gps", "file_unique_id": "dg", "file_name": "IMG_2041.jpg",
                                               "mime_type": "image/jpeg", "file_size": 2000})
    note = await tg.wait_for_reply(reporter.person.id, after=after)
    assert note.params["text"].startswith("Imagen adjunta. Quitamos sus detalles ocultos")
    after = tg.mark()
    tg.send_message(reporter.person, photo=[{"file_id": "photo-1", "file_unique_id": "p1", "width": 90, "height": 90}])
    assert (await tg.wait_for_reply(reporter.person.id, after=after)).params["text"].startswith("Foto adjunta.")
    reply = await reporter.press(await reporter.say("Ventana rota"), "report:next")
    review = await reporter.press(await reporter.press(reply, "report:skip"), "report:skip")
    assert "2 archivos adjuntos" in review.params["text"]
    await reporter.press(await reporter.press(review, "report:send"), "report:notify:no")

    card = await card_of(tg, 1)
    document = await tg.wait_for("sendDocument", lambda c: c.params["chat_id"] == STAFF_CHAT_ID)
    photo = await tg.wait_for("sendPhoto", lambda c: c.params["chat_id"] == STAFF_CHAT_ID)
    [clean] = document.files.values()
    assert b"Zq7" not in clean and b"GPS" not in clean and b"Exif" not in clean
    assert not Image.open(io.BytesIO(clean)).getexif()
    assert photo.params["photo"] == "photo-1"
    for attachment in (document, photo):
        assert attachment.params["reply_parameters"]["message_id"] == card.result["message_id"]
    assert not tg.calls_to("forwardMessage")
    # Once officers have the clean file, the bot keeps only Telegram's reference to it.
    attachments = await settled(bot.services.sessions, Attachment, lambda found: all(a.staff_message_id and a.cleaned_content is None for a in found))
    assert [(a.kind, a.metadata_removed) for a in attachments] == [("document", True), ("photo", False)]


# --- the officer queue --------------------------------------------------------------------

async def test_officer_buttons_change_status_and_are_audited(bot: RunningBot, tg: FakeTelegram) -> None:
    reporter = Reporter(tg, user(7100009, "en"))
    await reporter.file("Broken streetlight for weeks", category="safety")
    card = await card_of(tg, 1)
    after = tg.mark()
    tg.press_button(OFFICER, card.result, "staff:close:1", chat=staff_chat(tg))
    edited = await tg.wait_for("editMessageText", after=after)
    assert "Status: Closed by Dana Reyes" in edited.params["text"]
    assert set(buttons(edited.result)) == {"staff:msg:1", "staff:block:1"}  # officers can still write to the reporter
    [event] = [e for e in await rows(bot.services.sessions, AuditEvent) if e.report_id]  # not the start-up's
    assert (event.report_id, event.action, event.officer_id, event.officer_name) == (1, "closed", 880011, "Dana Reyes")
    [report] = await rows(bot.services.sessions, Report)
    assert report.status == "closed"


async def test_spam_is_marked_and_shown_to_the_reporter_as_closed(bot: RunningBot, tg: FakeTelegram) -> None:
    reporter = Reporter(tg, user(7100010, "es"))
    code, _ = await reporter.file("Texto", category="other")
    card = await card_of(tg, 1)
    after = tg.mark()
    tg.press_button(OFFICER, card.result, "staff:spam:1", chat=staff_chat(tg))
    edited = await tg.wait_for("editMessageText", after=after)
    assert "Status: Marked as spam by Dana Reyes" in edited.params["text"]
    assert "Los agentes lo cerraron." in (await reporter.say(f"/status {code}")).params["text"]


async def test_queue_lists_open_reports_oldest_first_in_pages(bot: RunningBot, tg: FakeTelegram) -> None:
    for n in range(12):
        await Reporter(tg, user(7200000 + n, "en")).file(f"Report text {n}", category="threat" if n == 5 else "crime")
    await card_of(tg, 12)
    staff = staff_chat(tg)
    first = await bot.say(OFFICER, "/queue", chat=staff)
    lines = first.params["text"].splitlines()
    assert lines[0] == "Open reports, oldest first (12 in all):"
    assert [line.split(" ")[0] for line in lines[1:11]] == [f"#{n}" for n in range(1, 11)]
    assert "#6 ‼️ · Threat or hate incident · New" in first.params["text"]
    after = tg.mark()
    tg.press_button(OFFICER, first.result, "staff:queue:1", chat=staff)
    second = await tg.wait_for_reply(STAFF_CHAT_ID, after=after)
    assert [line.split(" ")[0] for line in second.params["text"].splitlines()[1:3]] == ["#11", "#12"]
    shown = await bot.say(OFFICER, "/show 6", chat=staff)
    assert "Report #6: Threat or hate incident" in shown.params["text"]


async def test_a_forged_staff_button_from_a_private_chat_is_refused(bot: RunningBot, tg: FakeTelegram, log_records) -> None:
    await Reporter(tg, user(7100011, "en")).file("Text")
    await card_of(tg, 1)
    intruder = user(7300001, "ar", first_name="Mallory", username="mallory_x")
    menu = (await bot.say(intruder, "/start")).result
    after = await bot.press(intruder, menu, "staff:close:1")
    refusal = await tg.wait_for("answerCallbackQuery", after=after)
    assert refusal.params["text"] == "هذا للضباط في مجموعة الموظفين فقط."
    [report] = await rows(bot.services.sessions, Report)
    assert report.status == "new"
    assert "staff_action_refused kind=button chat_type=private" in log_records.text
    assert "Mallory" not in log_records.text and "7300001" not in log_records.text
    queue = await bot.say(intruder, "/queue")
    assert queue.params["text"] == "هذا للضباط في مجموعة الموظفين فقط."


async def test_a_staff_command_from_another_group_is_not_obeyed(bot: RunningBot, tg: FakeTelegram) -> None:
    await Reporter(tg, user(7100012, "en")).file("Text")
    await card_of(tg, 1)
    group = tg.group_chat(-100999, "Not staff")
    after = tg.mark()
    tg.send_text(OFFICER, "/queue", chat=group)
    await tg.wait_for("leaveChat", lambda c: c.params["chat_id"] == group["id"], after=after)
    assert not [c for c in tg.calls[after:] if c.method == "sendMessage" and "Open reports" in c.params["text"]]


async def test_officers_not_on_the_allowlist_are_refused(tg: FakeTelegram, make_settings) -> None:
    async for running in start_bot(tg, make_settings(officer_ids="111,222")):
        await Reporter(tg, user(7100013, "en")).file("Text")
        card = await card_of(tg, 1)
        after = tg.mark()
        tg.press_button(OFFICER, card.result, "staff:ack:1", chat=staff_chat(tg))
        refusal = await tg.wait_for("answerCallbackQuery", after=after)
        assert refusal.params["text"] == "This is only for officers in the staff chat."
        [report] = await rows(running.services.sessions, Report)
        assert report.status == "new"


# --- status and forget -------------------------------------------------------------------

async def test_wrong_codes_get_the_unknown_answer_and_are_slowed_down(tg: FakeTelegram, make_settings) -> None:
    async for _running in start_bot(tg, make_settings(limit_wrong_codes_per_hour=5)):
        reporter = Reporter(tg, user(7100014, "es"))
        code, _ = await reporter.file("Texto")
        unknown = "No hay ningún reporte con este código. Revíselo e intente de nuevo."
        assert (await reporter.say("/status 7KQM-2XRD-9FTB-H4PN")).params["text"] == unknown
        assert (await reporter.say("/status hello")).params["text"] == unknown
        for _attempt in range(3):
            await reporter.say("/status 0000-0000-0000-0000")
        blocked = await reporter.say(f"/status {code}")  # even the right code waits now
        assert blocked.params["text"].startswith("Demasiados códigos incorrectos.")
        assert "60" in blocked.params["text"]
        other = Reporter(tg, user(7100015, "es"))  # limits are per person
        assert "#1" in (await other.say(f"/status {code}")).params["text"]


async def test_status_from_the_menu_asks_for_the_code(bot: RunningBot, tg: FakeTelegram) -> None:
    reporter = Reporter(tg, user(7100016, "ar"))
    code, final = await reporter.file("نص")
    asked = await reporter.press(final, "menu:status")
    assert asked.params["text"].startswith("يُرجى إرسال رمز الإيصال.")
    answer = await reporter.say(code)
    assert answer.params["text"].startswith(f"البلاغ رقم {FSI}1{PDI}")


async def test_forget_removes_the_reporter_link(bot: RunningBot, tg: FakeTelegram) -> None:
    reporter = Reporter(tg, user(7100017, "en"))
    code, final = await reporter.file("Text", notify=True)
    assert final.params["text"].startswith("We will write to you here when officers respond.")
    assert len(await rows(bot.services.sessions, ReporterLink)) == 1
    done = await reporter.say(f"/forget {code}")
    assert done.params["text"].startswith("Done. We can no longer write to you about this report.")
    assert await rows(bot.services.sessions, ReporterLink) == []
    card = await card_of(tg, 1)
    after = tg.mark()
    tg.press_button(OFFICER, card.result, "staff:ack:1", chat=staff_chat(tg))
    await tg.wait_for("editMessageText", after=after)
    await tg.wait_until_drained()
    assert not [c for c in tg.calls[after:] if c.method == "sendMessage" and c.params["chat_id"] == reporter.person.id]


@pytest.mark.parametrize("language_code", ["en", "ar"])
async def test_a_report_at_the_length_limit_reaches_officers_whole(bot: RunningBot, tg: FakeTelegram, language_code) -> None:
    text = ("Línea & <detalle> " * 300)[:3999] + "!"  # 4,000 characters; escaping makes it longer still
    reporter = Reporter(tg, user(7100030, language_code))
    reply = await reporter.press(await reporter.start(), "report:cat:crime")
    reply = await reporter.press(await reporter.say(text), "report:next")
    when = await reporter.press(reply, "report:skip")
    after = tg.mark()
    tg.press_button(reporter.person, when.result, "report:skip")
    review_card = await tg.wait_for_reply(reporter.person.id, after=after)
    review_text = await tg.wait_for_reply(reporter.person.id)
    assert "report:send" in buttons(review_text.result) and "report:send" not in buttons(review_card.result)
    await reporter.press(await reporter.press(review_text, "report:send"), "report:notify:no")

    card = await card_of(tg, 1)
    follow = await tg.wait_for("sendMessage", lambda c: c.params["chat_id"] == STAFF_CHAT_ID and c is not card
                               and c.params.get("reply_parameters"))
    assert "The full text follows in the next message." in card.params["text"]
    assert follow.params["reply_parameters"]["message_id"] == card.result["message_id"]
    assert html.unescape(follow.params["text"]) == f"{FSI}{text}{PDI}"
    for sent in (card, follow, review_card, review_text):
        # Telegram's limit counts the text after HTML parsing: tags gone, entities one character.
        assert len(html.unescape(re.sub(r"<[^>]+>", "", sent.params["text"]))) <= 4096


@pytest.mark.parametrize(("choice", "expected"), [("report:loc:area", "41.88000&mlon=-87.63000"),
                                                  ("report:loc:exact", "41.87811&mlon=-87.62980")])
async def test_a_shared_location_is_an_area_unless_the_exact_point_is_chosen(
    bot: RunningBot, tg: FakeTelegram, choice: str, expected: str
) -> None:
    reporter = Reporter(tg, user(7100040, "es"))
    await reporter.press(await reporter.start(), "report:cat:safety")
    await reporter.press(await reporter.say("Semáforo roto"), "report:next")
    after = tg.mark()
    tg.send_message(reporter.person, location={"latitude": 41.878114, "longitude": -87.629798})
    precision = await tg.wait_for_reply(reporter.person.id, after=after)
    assert "1 km" in precision.params["text"]
    when = await reporter.press(precision, choice)
    review = await reporter.press(when, "report:when:now")
    assert expected in review.params["text"]
    await reporter.press(await reporter.press(review, "report:send"), "report:notify:no")
    card = (await card_of(tg, 1)).params["text"]
    assert expected in card
    label = "exact location" if choice.endswith("exact") else "approximate location (about 1 km)"
    assert f">{label}</a>" in card and "When: Happening now" in card


async def test_edit_a_part_returns_to_the_review(bot: RunningBot, tg: FakeTelegram) -> None:
    reporter = Reporter(tg, user(7100041, "en"))
    await reporter.press(await reporter.start(), "report:cat:crime")
    await reporter.press(await reporter.say("First version"), "report:next")
    await reporter.say("Main Street station")
    review = await reporter.say("Yesterday around 9 pm")  # the time as free text
    assert "When: Yesterday around 9 pm" in review.params["text"] and "Main Street station" in review.params["text"]

    category = await reporter.press(await reporter.press(review, "report:edit"), "report:edit:category")
    review = await reporter.press(category, "report:cat:suspicious")  # straight back to the review
    assert review.params["text"].splitlines()[2] == "<b>Suspicious activity</b>"

    await reporter.press(await reporter.press(review, "report:edit"), "report:edit:describe")
    review = await reporter.press(await reporter.say("Second version"), "report:next")
    assert "Second version" in review.params["text"] and "First version" not in review.params["text"]
    assert "Main Street station" in review.params["text"]  # other parts are kept


async def test_attachments_are_limited_in_number_and_size(bot: RunningBot, tg: FakeTelegram) -> None:
    reporter = Reporter(tg, user(7100042, "ar"))
    await reporter.press(await reporter.start(), "report:cat:other")
    big = {"file_id": "big", "file_unique_id": "b", "file_name": "video.mp4", "mime_type": "video/mp4",
           "file_size": 21 * 2**20}
    after = tg.mark()
    tg.send_message(reporter.person, document=big)
    assert "20" in (await tg.wait_for_reply(reporter.person.id, after=after)).params["text"]
    for n in range(6):
        after = tg.mark()
        tg.send_message(reporter.person, photo=[{"file_id": f"p{n}", "file_unique_id": f"u{n}", "width": 9, "height": 9}])
        answer = await tg.wait_for_reply(reporter.person.id, after=after)
    assert f"{FSI}5{PDI}" in answer.params["text"]  # the sixth is refused with the limit
    draft = bot.services.drafts.get(bot.services.keys.pseudonym(reporter.person.id))
    assert [a.file_id for a in draft.attachments] == ["p0", "p1", "p2", "p3", "p4"]
