"""The delivery loop: drains the outbox into the staff chat and to opted-in reporters.

Every message a report owes is a row in the outbox, written in the same transaction as the
report, so a restart resumes where the last process stopped. Each row goes through three steps,
and no database transaction is open across the pacing wait or a Telegram call:
0. claim (one short transaction): on PostgreSQL no other delivery loop takes it meanwhile;
1. prepare (one short transaction): count the attempt and build a `Plan`, plain values only;
2. send, outside any transaction, pacing sends to the staff chat;
3. record (one short transaction): what Telegram returned (the staff message id) and "done",
   together, so a card or attachment that has a staff message id is never sent again. Once
   Telegram has a message, its record is retried until the database takes it: giving up would
   send the message again.
A message in several parts records each part as it goes, and a retry continues after it.
Telegram's answers decide the pace: 429 pauses the staff chat for `retry_after`; 403 (the bot
was removed) and 401 (the token was revoked) keep everything queued and are retried; network
errors and 5xx back off. A message Telegram will refuse every time (400: too long, chat not
found, ...) is dead: it leaves the queue, is kept for `outreach-bot status`, and logged once. A
reporter who blocked the bot is not written to again. When the staff group becomes a
supergroup, delivery follows it until the bot restarts, and asks for STAFF_CHAT_ID to be updated.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from functools import partial

from sqlalchemy.exc import SQLAlchemyError
from telegram import Bot, InlineKeyboardButton, InlineKeyboardMarkup, InputFile, ReplyParameters
from telegram.constants import ParseMode
from telegram.error import BadRequest, ChatMigrated, Forbidden, InvalidToken, RetryAfter, TelegramError

from bot.background import WakeableLoop, backoff
from bot.blocks import block_of
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
from bot.delivery.digest import DIGEST_SIZE, DigestEntry, digest_buttons, render_digest
from bot.i18n import _, active_locale
from storage.models import Feedback, OutboxKind, OutboxMessage, Report, ReportStatus
from storage.unit_of_work import UnitOfWork

log = logging.getLogger(__name__)

IDLE_SECONDS = 60.0
# How long a claimed message is this loop's to send (PostgreSQL): longer than any attempt, paced
# parts included. A loop that dies leaves it to the next leader, which releases every claim.
CLAIM = timedelta(minutes=5)
# A reply to a report listed in a digest waits for its card this long, unless it is opened first.
DIGEST_HOLD = timedelta(days=1)
STAFF_KINDS = (
    OutboxKind.CARD, OutboxKind.REPORT_TEXT, OutboxKind.ATTACHMENT, OutboxKind.CARD_UPDATE, OutboxKind.TRANSLATION,
    OutboxKind.TO_STAFF, OutboxKind.STAFF_NOTE,
)  # fmt: skip


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


@dataclass
class Plan:
    """What one outbox row sends, built inside the prepare transaction from plain values."""

    chat_id: int | None = None
    sends: list[Callable[[], Awaitable[object]]] = field(default_factory=list)
    # Runs in the record transaction with the first sent message's id, or None when nothing was
    # sent (nothing was needed, or the reporter has blocked the bot).
    record: Callable[[UnitOfWork, int | None], Awaitable[None]] | None = None
    postpone: bool = False  # a reply whose card is not in the staff chat yet
    # More card rows a surge digest takes with this one; claimed, and recorded with it.
    companions: list[int] = field(default_factory=list)


@dataclass(frozen=True)
class Due:
    id: int
    kind: str


class DeliveryLoop(WakeableLoop):
    def __init__(self, bot: Bot, services: Services) -> None:
        super().__init__("delivery", services.delivery_wakeup, services.settings.delivery_retry_seconds)
        self._bot, self._services = bot, services
        self._settings = services.settings
        self._pace = Pace(self._settings.staff_messages_per_minute)
        self._staff_paused_until = 0.0
        self._refusal: str | None = None  # why Telegram refuses the bot itself, logged once
        # STAFF_CHAT_ID, or the supergroup it became during this run.
        self._staff_chat = services.staff_chat
        self._stale_notes_cleared = False
        self._unfinished: set[int] = set()  # claimed, but the attempt failed (the database, say)
        # One function per kind prepares its plan; a new kind is one more entry.
        self._plans: dict[str, Callable[[UnitOfWork, OutboxMessage, Report], Awaitable[Plan]]] = {
            OutboxKind.CARD: self._card_plan,
            OutboxKind.REPORT_TEXT: self._report_text_plan,
            OutboxKind.ATTACHMENT: self._attachment_plan,
            OutboxKind.CARD_UPDATE: self._card_update_plan,
            OutboxKind.REPORTER_NOTICE: self._reporter_notice_plan,
            OutboxKind.TRANSLATION: self._translation_plan,
            OutboxKind.TO_REPORTER: self._to_reporter_plan,
            OutboxKind.TO_STAFF: self._to_staff_plan,
            OutboxKind.STAFF_NOTE: self._staff_note_plan,
        }

    async def work(self) -> float:
        if not self._stale_notes_cleared:
            await self._forget_followed_staff_chat_move()
        return await self.drain()

    async def drain(self) -> float:
        """Deliver everything that is due; return how long to wait before looking again."""
        await self._release_unfinished()
        while True:
            paused = self._staff_pause_left()
            kinds = (OutboxKind.REPORTER_NOTICE,) if paused else None
            # One message at a time, so an urgent report waits behind one message at most, and
            # several loops on one PostgreSQL database never take the same (OutboxRepository.claim).
            async with self._services.unit_of_work() as uow:
                message = await uow.outbox.claim(_now(), CLAIM, kinds)
                if message is None:
                    next_due = await uow.outbox.next_due_time(kinds)
                    wait = (next_due - _now()).total_seconds() if next_due else IDLE_SECONDS
                    return min(wait, paused or IDLE_SECONDS)
                due = Due(message.id, message.kind)
                await uow.commit()
            try:
                await self._attempt(due)
            except Exception:
                self._unfinished.add(due.id)
                raise

    async def _release_unfinished(self) -> None:
        """Messages whose attempt failed are due again at once, not when their claim ends."""
        if self._unfinished:
            async with self._services.unit_of_work() as uow:
                await uow.claims.release(OutboxMessage, list(self._unfinished))
                await uow.commit()
            self._unfinished.clear()

    async def _attempt(self, due: Due) -> None:
        staff = due.kind in STAFF_KINDS
        async with self._services.unit_of_work() as uow:
            message = await uow.outbox.get(due.id)
            if message is None or message.done_at is not None or message.dead_at is not None:
                return
            message.attempts += 1
            attempts, progress = message.attempts, dict(message.payload or {})
            report = await uow.reports.get(message.report_id)
            plan = await self._plans[message.kind](uow, message, report)
            dead_card = None
            if plan.postpone:  # the card goes first: these reply to it
                message.not_before = _now() + await self._until_card(uow, report)
                message.claimed_until = None
                dead_card = await uow.outbox.dead_card(report.id)
            await uow.commit()
        # Until recorded, the companions are released again if this attempt goes wrong.
        self._unfinished.update(plan.companions)
        if plan.postpone:
            if dead_card is not None:  # ...and it never will
                reason = f"Card not delivered: {dead_card.dead_reason or dead_card.last_error}"
                await self._dead_letter(due, dead_card.last_error, reason[:64])
            return
        self._services.metrics.delivery_attempts.labels(due.kind).inc()
        started = time.monotonic()
        try:
            first = await self._send(due.id, plan, progress)
        except RetryAfter as exc:
            pause = _seconds(exc.retry_after)
            if staff:
                self._staff_paused_until = time.monotonic() + pause
            await self._failed(due.id, "RetryAfter", None if staff else pause)
        except ChatMigrated as exc:
            if staff:
                await self._follow_staff_chat(due.id, exc.new_chat_id)
            else:  # only groups migrate; a retry cannot help
                await self._dead_letter(due, "ChatMigrated", None)
        except Forbidden:
            if staff:
                self._refused("staff_chat_forbidden: the bot cannot post to STAFF_CHAT_ID; reports stay queued")
                await self._failed(due.id, "Forbidden", None)
            else:  # the reporter blocked the bot: they can still check with /status
                await self._until_recorded(partial(self._finish, due, plan, None, reporter_blocked=True))
        except InvalidToken:  # revoked: nothing goes out until it is replaced, and nothing is lost
            self._refused("token_rejected: Telegram rejects TELEGRAM_BOT_TOKEN; messages stay queued")
            await self._failed(due.id, "InvalidToken", None if staff else self._settings.delivery_max_retry_seconds)
        except BadRequest as exc:
            # Telegram will refuse this message every time. Every plan already fits its text to
            # Telegram's limits (bot/telegram_text.py splits long texts), so even "message is too long"
            # is a bug to fix, not something to retry or to split here.
            await self._dead_letter(due, "BadRequest", _reason(exc))
        except TelegramError as exc:  # network errors, timeouts, 5xx
            log.warning("delivery_retry kind=%s error=%s", due.kind, type(exc).__name__)
            await self._failed(due.id, type(exc).__name__, self._backoff(attempts))
        else:
            if staff and self._refusal:
                self._refusal = None
                log.info("staff_chat_reachable_again")
            seconds = time.monotonic() - started
            await self._until_recorded(partial(self._finish, due, plan, first, seconds=seconds))
            self._unfinished.difference_update(plan.companions)

    async def _send(self, message_id: int, plan: Plan, progress: dict) -> int | None:
        """Send the plan's parts in order, outside any transaction; a part is recorded as it goes,
        so a retry continues after the last part sent. Returns the first part's message id."""
        first: int | None = progress.get("first_id")
        for number in range(progress.get("parts_sent", 0), len(plan.sends)):
            if self._staff_chat.includes(plan.chat_id):
                await self._pace.wait()
            try:
                sent = await plan.sends[number]()
            except TelegramError as exc:
                self._services.metrics.delivery_failures.labels(type(exc).__name__).inc()
                raise
            first = first or getattr(sent, "message_id", None)
            if number < len(plan.sends) - 1:
                await self._until_recorded(partial(self._record_progress, message_id, number + 1, first))
        return first

    async def _record_progress(self, message_id: int, parts_sent: int, first: int | None) -> None:
        async with self._services.unit_of_work() as uow:
            (await uow.outbox.get(message_id)).payload = {"parts_sent": parts_sent, "first_id": first}
            await uow.commit()

    async def _until_recorded(self, record: Callable[[], Awaitable[None]]) -> None:
        """Telegram has the message: write that down however long the database takes to come
        back, since an attempt left unrecorded is made again and officers would see it twice."""
        failures = 0
        while True:
            try:
                return await record()
            except (SQLAlchemyError, OSError) as exc:
                failures += 1
                delay = backoff(self._settings.delivery_retry_seconds, failures, self._settings.delivery_max_retry_seconds)
                log.warning("delivery_record_retry error=%s failures=%d retry_in=%g", type(exc).__name__, failures, delay)
                await asyncio.sleep(delay)

    async def _finish(
        self, due: Due, plan: Plan, first: int | None, *, reporter_blocked: bool = False, seconds: float = 0.0
    ) -> None:
        """Record what was sent and mark the row done, in one transaction. A reporter who blocked
        the bot loses the link to their chat, so nothing is sent there again."""
        async with self._services.unit_of_work() as uow:
            message = await uow.outbox.get(due.id)
            if message.done_at is not None:  # recorded, though the database's answer was lost
                return
            if plan.record is not None:
                await plan.record(uow, first)
            if reporter_blocked:
                await uow.reporter_links.delete(message.report_id)
            message.done_at, message.last_error = _now(), "Forbidden" if reporter_blocked else None
            report_id = message.report_id
            await uow.commit()
        if reporter_blocked:
            log.info("reporter_blocked_bot kind=%s report=%s", due.kind, report_id)
        else:
            # Sending only, pacing included: how long the staff chat or the reporter waited on Telegram.
            log.info("delivered kind=%s report=%s seconds=%.3f", due.kind, report_id, seconds)

    async def _failed(self, message_id: int, error: str, retry_in: float | None) -> None:
        async with self._services.unit_of_work() as uow:
            message = await uow.outbox.get(message_id)
            message.last_error, message.claimed_until = error, None
            if retry_in is not None:
                message.not_before = _now() + timedelta(seconds=retry_in)
            await uow.commit()

    async def _dead_letter(self, due: Due, error: str | None, reason: str | None) -> None:
        """Out of the queue for good, kept for `outreach-bot status`, and said once."""
        async with self._services.unit_of_work() as uow:
            message = await uow.outbox.get(due.id)
            message.dead_at, message.last_error, message.dead_reason = _now(), error, reason
            report_id = message.report_id
            await uow.commit()
        log.error("delivery_dead kind=%s report=%s error=%s", due.kind, report_id, error)

    async def _follow_staff_chat(self, message_id: int, new_chat_id: int) -> None:
        """The staff group became a supergroup: send there while this process runs, retry this
        message at once, and leave a note for `outreach-bot status`."""
        self._staff_chat.move_to(new_chat_id)
        async with self._services.unit_of_work() as uow:
            message = await uow.outbox.get(message_id)
            message.last_error, message.staff_chat_moved_to, message.not_before = "ChatMigrated", new_chat_id, None
            message.claimed_until = None
            await uow.commit()

    async def _forget_followed_staff_chat_move(self) -> None:
        """Once STAFF_CHAT_ID names the supergroup, the note asking for it is done with."""
        async with self._services.unit_of_work() as uow:
            await uow.outbox.forget_staff_chat_move(self._settings.staff_chat_id)
            await uow.commit()
        self._stale_notes_cleared = True

    # --- one plan per kind ------------------------------------------------------------------

    async def _until_card(self, uow: UnitOfWork, report: Report) -> timedelta:
        """How long a reply waits for its card: a retry's wait, or, for a report listed in a
        digest and not opened, until an officer opens it (which makes it due at once)."""
        if report.digest_message_id is not None and not await uow.outbox.card_waiting(report.id):
            return DIGEST_HOLD
        return timedelta(seconds=self._settings.delivery_retry_seconds)

    async def _card_plan(self, uow: UnitOfWork, message: OutboxMessage, report: Report) -> Plan:
        if report.staff_message_id is not None:  # sent before; only "done" was not recorded
            return Plan()
        if await self._in_surge(uow, message, report):
            return await self._digest_plan(uow, message, report)
        report_id = report.id

        async def record(uow: UnitOfWork, first: int | None) -> None:
            (await uow.reports.get(report_id)).staff_message_id = first

        send = partial(
            self._bot.send_message, self._staff_chat.id, await self._card(uow, report),
            parse_mode=ParseMode.HTML, reply_markup=await self._buttons(uow, report), disable_web_page_preview=True,
        )  # fmt: skip
        return Plan(self._staff_chat.id, [send], record)

    async def _in_surge(self, uow: UnitOfWork, message: OutboxMessage, report: Report) -> bool:
        """Whether this card goes in a digest: an ordinary one (not urgent, not opened from a
        digest, not a partner's), listed in no digest yet, while DIGEST_THRESHOLD or more wait."""
        threshold = self._settings.digest_threshold
        if not threshold or message.priority == 0 or report.partner_organisation or report.digest_message_id is not None:
            return False
        return await uow.outbox.ordinary_cards_waiting(_now()) >= threshold

    async def _digest_plan(self, uow: UnitOfWork, message: OutboxMessage, report: Report) -> Plan:
        companions = await uow.outbox.claim_ordinary_cards(_now(), CLAIM, DIGEST_SIZE - 1, besides=message.id)
        reports = [report] + [await uow.reports.get(companion.report_id) for companion in companions]
        entries = [
            DigestEntry(r.id, r.category, r.received_at, r.language, r.body, len(r.attachments)) for r in reports
        ]
        numbers = [entry.number for entry in entries]
        companion_ids = [companion.id for companion in companions]

        async def record(uow: UnitOfWork, first: int | None) -> None:
            for number in numbers:
                (await uow.reports.get(number)).digest_message_id = first
            for companion_id in companion_ids:
                (await uow.outbox.get(companion_id)).done_at = _now()
            log.info("digest_delivered reports=%d", len(numbers))

        with self._for_officers():
            text, buttons = render_digest(entries, self._settings.zone), digest_buttons(numbers)
        send = partial(
            self._bot.send_message, self._staff_chat.id, text,
            parse_mode=ParseMode.HTML, reply_markup=buttons, disable_web_page_preview=True,
        )  # fmt: skip
        return Plan(self._staff_chat.id, [send], record, companions=companion_ids)

    async def _report_text_plan(self, uow: UnitOfWork, message: OutboxMessage, report: Report) -> Plan:
        if report.staff_message_id is None:
            return Plan(postpone=True)
        return self._staff_parts(separate_text(report.body), reply_to=report.staff_message_id)

    async def _attachment_plan(self, uow: UnitOfWork, message: OutboxMessage, report: Report) -> Plan:
        if report.staff_message_id is None:
            return Plan(postpone=True)
        attachment = next(a for a in report.attachments if a.id == message.attachment_id)
        if attachment.staff_message_id is not None:
            return Plan()
        with self._for_officers():
            caption = _("Attachment to report #{number}", number=str(report.id))
        common = {
            "chat_id": self._staff_chat.id,
            "caption": caption,
            "reply_parameters": ReplyParameters(report.staff_message_id, allow_sending_without_reply=True),
        }
        if attachment.cleaned_content is not None:
            file = InputFile(attachment.cleaned_content, filename=attachment.file_name or f"report-{report.id}.jpg")
            send = partial(self._bot.send_document, document=file, **common)
        else:  # re-sent by Telegram's file id: a new message from the bot, never a forward
            method, argument = {
                "photo": (self._bot.send_photo, "photo"),
                "video": (self._bot.send_video, "video"),
                "voice": (self._bot.send_voice, "voice"),
            }.get(attachment.kind, (self._bot.send_document, "document"))
            send = partial(method, **{argument: attachment.file_id}, **common)
        report_id, attachment_id = report.id, attachment.id

        async def record(uow: UnitOfWork, first: int | None) -> None:
            sent = next(a for a in (await uow.reports.get(report_id)).attachments if a.id == attachment_id)
            sent.staff_message_id, sent.cleaned_content = first, None

        return Plan(self._staff_chat.id, [send], record)

    async def _card_update_plan(self, uow: UnitOfWork, message: OutboxMessage, report: Report) -> Plan:
        # A card not yet sent will show the latest status when it is.
        if report.staff_message_id is None:
            return Plan()
        edit = partial(
            self._edit_card, await self._card(uow, report), report.staff_message_id, await self._buttons(uow, report)
        )
        return Plan(self._staff_chat.id, [edit])

    async def _reporter_notice_plan(self, uow: UnitOfWork, message: OutboxMessage, report: Report) -> Plan:
        sealed = await uow.reporter_links.sealed_chat(report.id)
        if sealed is None:  # they asked us to forget the link
            return Plan()
        chat_id = self._services.keys.unseal_chat(sealed, report.id)
        markup = None
        with active_locale(self._services.i18n.get(report.language)):
            if message.payload.get("status", "") == ReportStatus.ACKNOWLEDGED:
                text = _("Officers have read your report #{number} and are looking at it.", number=str(report.id))
            else:
                text = "\n\n".join([
                    _("Officers have closed your report #{number}. Thank you for telling us.", number=str(report.id)),
                    _("One question, if you like: did you feel heard? Your answer is counted without your name."),
                ])  # fmt: skip
                token = self._services.keys.feedback_token(report.id, chat_id)  # a private chat's id is its person's
                markup = InlineKeyboardMarkup([[
                    InlineKeyboardButton(label, callback_data=f"fb:{report.id}:{answer}:{token}")
                    for label, answer in ((_("Yes"), Feedback.YES), (_("Partly"), Feedback.PARTLY), (_("No"), Feedback.NO))
                ]])  # fmt: skip
        return Plan(chat_id, [partial(self._bot.send_message, chat_id, text, reply_markup=markup)])

    async def _translation_plan(self, uow: UnitOfWork, message: OutboxMessage, report: Report) -> Plan:
        if report.staff_message_id is None:
            return Plan(postpone=True)
        with self._for_officers():
            parts = translation_messages(report, self._settings.officer_locale)
        return self._staff_parts(parts, reply_to=report.staff_message_id)

    async def _to_reporter_plan(self, uow: UnitOfWork, message: OutboxMessage, report: Report) -> Plan:
        """An officer's message, in the reporter's language, with a button to answer; then a note
        to the staff chat: sent, or waiting for pickup with /status."""
        dialog = await uow.messages.get(message.message_id)
        report_id, dialog_id = report.id, dialog.id

        async def record(uow: UnitOfWork, first: int | None) -> None:
            if first is not None:
                (await uow.messages.get(dialog_id)).delivered_at = _now()
            else:
                log.info("reporter_unreachable report=%s", report_id)
            uow.outbox.add(OutboxMessage(kind=OutboxKind.STAFF_NOTE, report_id=report_id, message_id=dialog_id, priority=1, payload={}))

        sealed = await uow.reporter_links.sealed_chat(report.id)
        if sealed is None:
            return Plan(record=record)
        chat_id = self._services.keys.unseal_chat(sealed, report.id)
        with active_locale(self._services.i18n.get(report.language)):
            heading = officer_heading(report.id, dialog, self._settings.officer_names_visible)
            parts = dialog_messages(heading, dialog, with_original=False)
            token = self._services.keys.answer_token(report.id, chat_id)
            answer = InlineKeyboardButton(_("Answer or add information"), callback_data=f"ans:{report.id}:{token}")
        return Plan(chat_id, self._parts(chat_id, parts, markup=InlineKeyboardMarkup([[answer]])), record)

    async def _to_staff_plan(self, uow: UnitOfWork, message: OutboxMessage, report: Report) -> Plan:
        """A reporter's answer as a reply to the card; officers can reply to it in turn."""
        if report.staff_message_id is None:
            return Plan(postpone=True)
        dialog = await uow.messages.get(message.message_id)
        with self._for_officers():
            heading = _("The reporter of report #{number} wrote:", number=str(report.id))
            parts = dialog_messages(heading, dialog, with_original=True)
        dialog_id = dialog.id

        async def record(uow: UnitOfWork, first: int | None) -> None:
            posted = await uow.messages.get(dialog_id)
            posted.staff_message_id, posted.delivered_at = first, _now()

        return self._staff_parts(parts, reply_to=report.staff_message_id, record=record)

    async def _staff_note_plan(self, uow: UnitOfWork, message: OutboxMessage, report: Report) -> Plan:
        dialog = await uow.messages.get(message.message_id)
        with self._for_officers():
            if dialog.delivered_at:
                text = _("Sent to the reporter of report #{number}.", number=str(report.id))
            else:
                text = _("Waiting for pickup: the reporter of report #{number} will see it with /status.", number=str(report.id))
        return self._staff_parts([text], reply_to=dialog.staff_message_id)

    # --- helpers -----------------------------------------------------------------------------

    def _staff_parts(self, parts: list[str], *, reply_to: int | None, record=None) -> Plan:  # noqa: ANN001
        chat_id = self._staff_chat.id
        return Plan(chat_id, self._parts(chat_id, parts, reply_to=reply_to), record)

    def _parts(
        self, chat_id: int, parts: list[str], *, reply_to: int | None = None, markup: InlineKeyboardMarkup | None = None
    ) -> list[Callable[[], Awaitable[object]]]:
        """HTML messages in order, the buttons under the last."""
        reply = ReplyParameters(reply_to, allow_sending_without_reply=True) if reply_to else None
        return [
            partial(
                self._bot.send_message, chat_id, text, parse_mode=ParseMode.HTML, reply_parameters=reply,
                reply_markup=markup if number == len(parts) - 1 else None, disable_web_page_preview=True,
            )  # fmt: skip
            for number, text in enumerate(parts)
        ]

    def _for_officers(self):  # noqa: ANN202
        """Text for the staff chat is written in OFFICER_LOCALE."""
        return active_locale(self._services.i18n.get(self._settings.officer_locale))

    async def _card(self, uow: UnitOfWork, report: Report) -> str:
        with self._for_officers():
            fields = CardFields.of_report(report, await uow.audit.latest(report.id), await block_of(uow, report))
            return render(fields, self._settings.zone)

    async def _buttons(self, uow: UnitOfWork, report: Report):  # noqa: ANN202
        block = await block_of(uow, report)
        with self._for_officers():
            return staff_buttons(report, block)

    async def _edit_card(self, text: str, message_id: int, buttons: InlineKeyboardMarkup) -> None:
        try:
            await self._bot.edit_message_text(
                text, self._staff_chat.id, message_id,
                parse_mode=ParseMode.HTML, reply_markup=buttons, disable_web_page_preview=True,
            )  # fmt: skip
        except BadRequest as exc:
            # Already showing this state, or an officer deleted the card: nothing left to do.
            if "not modified" not in exc.message and "not found" not in exc.message:
                raise

    def _staff_pause_left(self) -> float:
        return max(0.0, self._staff_paused_until - time.monotonic())

    def _refused(self, event: str) -> None:
        """Telegram refuses the bot, not one message: pause the staff chat and say so once."""
        if self._refusal != event:
            log.error(event)
        self._refusal = event
        self._staff_paused_until = time.monotonic() + self._settings.delivery_max_retry_seconds

    def _backoff(self, attempts: int) -> float:
        return min(self._settings.delivery_max_retry_seconds, self._settings.delivery_retry_seconds * 2 ** (attempts - 1))


def _now() -> datetime:
    return datetime.now(UTC)


def _seconds(value: float | timedelta) -> float:
    return value.total_seconds() if isinstance(value, timedelta) else float(value)


def _reason(exc: TelegramError) -> str:
    """Telegram's reason without its details, e.g. "Chat not found": what follows a colon may
    quote the message sent."""
    return exc.message.split(":", 1)[0][:64]
