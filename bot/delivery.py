"""The delivery loop: drains the outbox into the staff chat and to opted-in reporters.

Every message a report owes is a row in the outbox, written in the same transaction as the
report, so a restart resumes where the last process stopped. A message is marked done in the
transaction that records what Telegram returned (the staff message id), and a card or attachment
that already has a staff message id is never sent again, so retries do not duplicate.
Telegram's answers decide the pace: 429 pauses the staff chat for `retry_after`; 403 (the bot
was removed) keeps everything queued and is retried; network errors and 5xx back off.
"""

from __future__ import annotations

import asyncio
import logging
import time
from datetime import UTC, datetime, timedelta

from telegram import Bot, InlineKeyboardButton, InlineKeyboardMarkup, InputFile, Message, ReplyParameters
from telegram.constants import ParseMode
from telegram.error import BadRequest, Forbidden, NetworkError, RetryAfter, TelegramError

from bot.background import WakeableLoop
from bot.cards import (
    CardFields,
    dialog_messages,
    officer_heading,
    render,
    separate_text,
    staff_buttons,
    translation_messages,
)
from bot.context import Services
from bot.i18n import _, active_locale
from storage.models import Attachment, OutboxKind, OutboxMessage, Report, ReportStatus
from storage.unit_of_work import UnitOfWork

log = logging.getLogger(__name__)

BATCH = 5  # an urgent report waits behind at most this many messages already being sent
IDLE_SECONDS = 60.0
STAFF_KINDS = (
    OutboxKind.CARD, OutboxKind.REPORT_TEXT, OutboxKind.ATTACHMENT, OutboxKind.CARD_UPDATE, OutboxKind.TRANSLATION,
    OutboxKind.TO_STAFF, OutboxKind.STAFF_NOTE,
)  # fmt: skip
REPLIES_TO_CARD = (OutboxKind.REPORT_TEXT, OutboxKind.ATTACHMENT, OutboxKind.TRANSLATION, OutboxKind.TO_STAFF)


class Pace:
    """At most `per_minute` sends, spread evenly (0 = no limit)."""

    def __init__(self, per_minute: int, clock=time.monotonic, sleep=asyncio.sleep) -> None:  # noqa: ANN001
        self._interval = 60.0 / per_minute if per_minute else 0.0
        self._clock, self._sleep = clock, sleep
        self._next = 0.0

    async def wait(self) -> None:
        delay = self._next - self._clock()
        if delay > 0:
            await self._sleep(delay)
        self._next = max(self._next, self._clock()) + self._interval


class DeliveryLoop(WakeableLoop):
    def __init__(self, bot: Bot, services: Services) -> None:
        super().__init__("delivery", services.delivery_wakeup, services.settings.delivery_retry_seconds)
        self._bot, self._services = bot, services
        self._settings = services.settings
        self._pace = Pace(self._settings.staff_messages_per_minute)
        self._staff_paused_until = 0.0
        self._staff_blocked = False

    async def work(self) -> float:
        return await self.drain()

    async def drain(self) -> float:
        """Deliver everything that is due; return how long to wait before looking again."""
        while True:
            async with UnitOfWork(self._services.sessions) as uow:
                paused = self._staff_pause_left()
                kinds = (OutboxKind.REPORTER_NOTICE,) if paused else None
                due = await uow.outbox.due(_now(), BATCH, kinds)
                if not due:
                    next_due = await uow.outbox.next_due_time(kinds)
                    wait = (next_due - _now()).total_seconds() if next_due else IDLE_SECONDS
                    return min(wait, paused or IDLE_SECONDS)
                for message in due:
                    if message.kind in STAFF_KINDS and self._staff_pause_left():
                        break
                    await self._attempt(uow, message)

    async def _attempt(self, uow: UnitOfWork, message: OutboxMessage) -> None:
        staff = message.kind in STAFF_KINDS
        message.attempts += 1
        try:
            await self._deliver(uow, message)
        except RetryAfter as exc:
            message.last_error = "RetryAfter"
            pause = _seconds(exc.retry_after)
            if staff:
                self._staff_paused_until = time.monotonic() + pause
            else:
                message.not_before = _now() + timedelta(seconds=pause)
        except Forbidden:
            message.last_error = "Forbidden"
            if staff:
                self._staff_blocked_now()
            else:  # the reporter blocked the bot: they can still check with /status
                message.done_at = _now()
        except (NetworkError, TelegramError) as exc:  # BadRequest is a NetworkError in PTB
            message.last_error = type(exc).__name__
            message.not_before = _now() + timedelta(seconds=self._backoff(message.attempts))
            log.warning("delivery_retry kind=%s report=%s error=%s", message.kind, message.report_id, message.last_error)
        else:
            if staff and self._staff_blocked:
                self._staff_blocked = False
                log.info("staff_chat_reachable_again")
            message.last_error = None
        await uow.commit()

    async def _deliver(self, uow: UnitOfWork, message: OutboxMessage) -> None:
        report = await uow.reports.get(message.report_id)
        if message.kind == OutboxKind.CARD:
            if report.staff_message_id is None:
                report.staff_message_id = (await self._send_card(uow, report)).message_id
        elif message.kind in REPLIES_TO_CARD and report.staff_message_id is None:
            # The card goes first: these reply to it. Try again after it.
            message.not_before = _now() + timedelta(seconds=self._settings.delivery_retry_seconds)
            return
        elif message.kind == OutboxKind.REPORT_TEXT:
            parts = [separate_text(report.body)]
            await self._send_parts(uow, message, self._settings.staff_chat_id, parts, reply_to=report.staff_message_id)
        elif message.kind == OutboxKind.ATTACHMENT:
            attachment = next(a for a in report.attachments if a.id == message.attachment_id)
            if attachment.staff_message_id is None:
                sent = await self._send_attachment(report, attachment)
                attachment.staff_message_id, attachment.cleaned_content = sent.message_id, None
        elif message.kind == OutboxKind.CARD_UPDATE:
            # A card not yet sent will show the latest status when it is.
            if report.staff_message_id is not None:
                await self._update_card(uow, report)
        elif message.kind == OutboxKind.REPORTER_NOTICE:
            await self._notify_reporter(uow, report, message.payload.get("status", ""))
        elif message.kind == OutboxKind.TRANSLATION:
            await self._send_translation(uow, report, message)
        elif message.kind == OutboxKind.TO_REPORTER:
            await self._send_to_reporter(uow, report, message)
        elif message.kind == OutboxKind.TO_STAFF:
            await self._send_to_staff(uow, report, message)
        elif message.kind == OutboxKind.STAFF_NOTE:
            await self._send_staff_note(uow, report, message)
        message.done_at = _now()
        log.info("delivered kind=%s report=%s", message.kind, report.id)

    def _for_officers(self):  # noqa: ANN202
        """Text for the staff chat is written in OFFICER_LOCALE."""
        return active_locale(self._services.i18n.get(self._settings.officer_locale))

    async def _card(self, uow: UnitOfWork, report: Report) -> str:
        with self._for_officers():
            return render(CardFields.of_report(report, await uow.audit.latest(report.id)), self._settings.zone)

    def _buttons(self, report: Report):  # noqa: ANN202
        with self._for_officers():
            return staff_buttons(report)

    async def _send_card(self, uow: UnitOfWork, report: Report) -> Message:
        await self._pace.wait()
        return await self._bot.send_message(
            self._settings.staff_chat_id, await self._card(uow, report), parse_mode=ParseMode.HTML,
            reply_markup=self._buttons(report), disable_web_page_preview=True,
        )  # fmt: skip

    async def _update_card(self, uow: UnitOfWork, report: Report) -> None:
        await self._pace.wait()
        try:
            await self._bot.edit_message_text(
                await self._card(uow, report), self._settings.staff_chat_id, report.staff_message_id,
                parse_mode=ParseMode.HTML, reply_markup=self._buttons(report), disable_web_page_preview=True,
            )  # fmt: skip
        except BadRequest as exc:
            # Already showing this state, or an officer deleted the card: nothing left to do.
            if "not modified" not in exc.message and "not found" not in exc.message:
                raise

    async def _send_attachment(self, report: Report, attachment: Attachment) -> Message:
        await self._pace.wait()
        with self._for_officers():
            caption = _("Attachment to report #{number}", number=str(report.id))
        common = {
            "chat_id": self._settings.staff_chat_id,
            "caption": caption,
            "reply_parameters": ReplyParameters(report.staff_message_id, allow_sending_without_reply=True),
        }
        if attachment.cleaned_content is not None:
            file = InputFile(attachment.cleaned_content, filename=attachment.file_name or f"report-{report.id}.jpg")
            return await self._bot.send_document(document=file, **common)
        # Re-sent by Telegram's file id: a new message from the bot, never a forward.
        if attachment.kind == "photo":
            return await self._bot.send_photo(photo=attachment.file_id, **common)
        if attachment.kind == "video":
            return await self._bot.send_video(video=attachment.file_id, **common)
        if attachment.kind == "voice":
            return await self._bot.send_voice(voice=attachment.file_id, **common)
        return await self._bot.send_document(document=attachment.file_id, **common)

    async def _notify_reporter(self, uow: UnitOfWork, report: Report, status: str) -> None:
        sealed = await uow.reporter_links.sealed_chat(report.id)
        if sealed is None:  # they asked us to forget the link
            return
        chat_id = self._services.keys.unseal_chat(sealed, report.id)
        with active_locale(self._services.i18n.get(report.language)):
            if status == ReportStatus.ACKNOWLEDGED:
                text = _("Officers have read your report #{number} and are looking at it.", number=str(report.id))
            else:
                text = _("Officers have closed your report #{number}. Thank you for telling us.", number=str(report.id))
        await self._bot.send_message(chat_id, text)

    async def _send_translation(self, uow: UnitOfWork, report: Report, message: OutboxMessage) -> None:
        with self._for_officers():
            parts = translation_messages(report, self._settings.officer_locale)
        await self._send_parts(uow, message, self._settings.staff_chat_id, parts, reply_to=report.staff_message_id)

    async def _send_to_reporter(self, uow: UnitOfWork, report: Report, message: OutboxMessage) -> None:
        """An officer's message, in the reporter's language, with a button to answer."""
        dialog = await uow.messages.get(message.message_id)
        sealed = await uow.reporter_links.sealed_chat(report.id)
        if sealed is not None:
            chat_id = self._services.keys.unseal_chat(sealed, report.id)
            with active_locale(self._services.i18n.get(report.language)):
                heading = officer_heading(report.id, dialog, self._settings.officer_names_visible)
                parts = dialog_messages(heading, dialog, with_original=False)
                token = self._services.keys.answer_token(report.id, chat_id)
                answer = InlineKeyboardButton(_("Answer or add information"), callback_data=f"ans:{report.id}:{token}")
            try:
                await self._send_parts(uow, message, chat_id, parts, markup=InlineKeyboardMarkup([[answer]]))
                dialog.delivered_at = _now()
            except Forbidden:  # the reporter blocked the bot: the message waits for /status instead
                log.info("reporter_unreachable report=%s", report.id)
        uow.outbox.add(OutboxMessage(kind=OutboxKind.STAFF_NOTE, report_id=report.id, message_id=dialog.id, priority=1, payload={}))

    async def _send_to_staff(self, uow: UnitOfWork, report: Report, message: OutboxMessage) -> None:
        """A reporter's answer as a reply to the card; officers can reply to it in turn."""
        dialog = await uow.messages.get(message.message_id)
        with self._for_officers():
            heading = _("The reporter of report #{number} wrote:", number=str(report.id))
            parts = dialog_messages(heading, dialog, with_original=True)
        first = await self._send_parts(uow, message, self._settings.staff_chat_id, parts, reply_to=report.staff_message_id)
        dialog.staff_message_id, dialog.delivered_at = first, _now()

    async def _send_staff_note(self, uow: UnitOfWork, report: Report, message: OutboxMessage) -> None:
        """Tell the officer whether their message reached the reporter or waits for /status."""
        dialog = await uow.messages.get(message.message_id)
        with self._for_officers():
            if dialog.delivered_at:
                text = _("Sent to the reporter of report #{number}.", number=str(report.id))
            else:
                text = _("Waiting for pickup: the reporter of report #{number} will see it with /status.", number=str(report.id))
        await self._send_parts(uow, message, self._settings.staff_chat_id, [text], reply_to=dialog.staff_message_id)

    async def _send_parts(
        self, uow: UnitOfWork, message: OutboxMessage, chat_id: int, parts: list[str], *,
        reply_to: int | None = None, markup: InlineKeyboardMarkup | None = None,
    ) -> int:
        """Send HTML parts in order (buttons under the last); a retry continues after the last
        part sent, because each part is recorded as it goes. Returns the first part's id."""
        first = message.payload.get("first_id")
        reply = ReplyParameters(reply_to, allow_sending_without_reply=True) if reply_to else None
        for number in range(message.payload.get("parts_sent", 0), len(parts)):
            if chat_id == self._settings.staff_chat_id:
                await self._pace.wait()
            sent = await self._bot.send_message(
                chat_id, parts[number], parse_mode=ParseMode.HTML, reply_parameters=reply,
                reply_markup=markup if number == len(parts) - 1 else None, disable_web_page_preview=True,
            )  # fmt: skip
            first = first or sent.message_id
            message.payload = {"parts_sent": number + 1, "first_id": first}
            await uow.commit()
        return first

    def _staff_pause_left(self) -> float:
        return max(0.0, self._staff_paused_until - time.monotonic())

    def _staff_blocked_now(self) -> None:
        if not self._staff_blocked:
            log.error("staff_chat_forbidden: the bot cannot post to STAFF_CHAT_ID; reports stay queued")
        self._staff_blocked = True
        self._staff_paused_until = time.monotonic() + self._settings.delivery_max_retry_seconds

    def _backoff(self, attempts: int) -> float:
        return min(self._settings.delivery_max_retry_seconds, self._settings.delivery_retry_seconds * 2 ** (attempts - 1))


def _now() -> datetime:
    return datetime.now(UTC)


def _seconds(value: float | timedelta) -> float:
    return value.total_seconds() if isinstance(value, timedelta) else float(value)
