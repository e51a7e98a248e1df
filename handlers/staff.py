"""The officer queue: card buttons, /queue and /show, for the staff chat only.

Anything that acts on a report must come from STAFF_CHAT_ID and, when OFFICER_IDS is set, from a
listed officer. Everything else is refused and logged without saying who tried.
"""

from __future__ import annotations

import logging
import re

from babel.dates import format_datetime
from telegram import InlineKeyboardButton, InlineKeyboardMarkup, Update
from telegram.constants import ParseMode
from telegram.ext import BaseHandler, CallbackQueryHandler, CommandHandler

from bot.blocks import block_of, block_sender, unblock_sender
from bot.cards import STATUS_LABELS, CardFields, render, staff_buttons
from bot.categories import CATEGORIES
from bot.context import BotContext
from bot.i18n import _, formatting_locale
from bot.reports import change_status
from storage.models import OutboxKind, OutboxMessage, Report, ReportStatus

log = logging.getLogger(__name__)

PAGE_SIZE = 10
ACTIONS = {"ack": ReportStatus.ACKNOWLEDGED, "close": ReportStatus.CLOSED, "spam": ReportStatus.SPAM}
# Report numbers are 32-bit integers: PostgreSQL rejects a larger one outright, and no page is that far.
LARGEST_NUMBER = 2**31 - 1
_ASCII_NUMBER = re.compile("[0-9]{1,10}")


def parse_number(text: str) -> int | None:
    """A report or page number, 0 to LARGEST_NUMBER, as typed or carried in button data; None if
    it is not one. ASCII digits only: str.isdigit() also takes "²", which int() refuses."""
    if not _ASCII_NUMBER.fullmatch(text):
        return None
    number = int(text)
    return number if number <= LARGEST_NUMBER else None


def is_officer(update: Update, context: BotContext) -> bool:
    chat, user = update.effective_chat, update.effective_user
    settings = context.settings
    return (
        chat is not None
        and context.services.staff_chat.includes(chat.id)
        and (not settings.officers or (user is not None and user.id in settings.officers))
    )


async def refuse(update: Update, what: str) -> None:
    log.warning("staff_action_refused kind=%s chat_type=%s", what, update.effective_chat.type if update.effective_chat else "none")
    text = _("This is only for officers in the staff chat.")
    if update.callback_query:
        await update.callback_query.answer(text, show_alert=True)
    else:
        await update.effective_message.reply_text(text)


async def report_of_button(update: Update, context: BotContext) -> Report | None:
    """The report a staff button names (`staff:<action>:<number>`), or None once the officer is told
    it does not exist."""
    number = update.callback_query.data.rsplit(":", 1)[1]
    report_id = parse_number(number)
    report = await context.uow.reports.get(report_id) if report_id is not None else None
    if report is None:
        await update.callback_query.answer(_("Report #{number} does not exist.", number=number), show_alert=True)
    return report


async def act(update: Update, context: BotContext) -> None:
    """Acknowledge, close or mark as spam; the card is re-rendered through the outbox."""
    query = update.callback_query
    if not is_officer(update, context):
        await refuse(update, "button")
        return
    if (report := await report_of_button(update, context)) is None:
        return
    officer, action = update.effective_user, query.data.split(":")[1]
    status_changed = await change_status(context.uow, report, ACTIONS[action], officer.id, officer.full_name)
    status = _(STATUS_LABELS[report.status])
    if status_changed:
        log.info("report_status_changed report=%s status=%s", report.id, report.status)
        await query.answer(_("Saved: {status}", status=status))
    else:
        log.info("report_status_kept report=%s status=%s", report.id, report.status)
        # NOTE: {status} is the status the report keeps, e.g. "Closed" or "Marked as spam".
        await query.answer(_("Report #{number} already has the status {status}.", number=str(report.id), status=status))


async def block(update: Update, context: BotContext) -> None:
    """Block the sender of a report, or undo it; the card is re-rendered through the outbox. There
    is no confirmation step: the card offers Unblock at once, and the sender is told nothing."""
    query = update.callback_query
    if not is_officer(update, context):
        await refuse(update, "button")
        return
    if (report := await report_of_button(update, context)) is None:
        return
    number = str(report.id)
    if report.sender is None:
        await query.answer(
            _("Report #{number} was received before senders could be blocked: its sender cannot be blocked.", number=number),
            show_alert=True,
        )
        return
    officer = update.effective_user
    if query.data.startswith("staff:block:"):
        if await block_sender(context.uow, report, officer.id, officer.full_name):
            log.info("sender_blocked report=%s", report.id)
            text = _("Blocked: the bot now refuses new reports and messages from the sender of report #{number}. To undo, press Unblock sender.", number=number)
        else:
            text = _("The sender of report #{number} is blocked already.", number=number)
    elif await unblock_sender(context.uow, report, officer.id, officer.full_name):
        log.info("sender_unblocked report=%s", report.id)
        text = _("Unblocked: the sender of report #{number} can send reports and messages again.", number=number)
    else:
        text = _("The sender of report #{number} is not blocked.", number=number)
    await query.answer(text, show_alert=True)


async def queue(update: Update, context: BotContext) -> None:
    """Open reports, oldest first."""
    if not is_officer(update, context):
        await refuse(update, "queue")
        return
    if update.callback_query:  # ◀ and ▶ count pages from 0
        page = parse_number(update.callback_query.data.rsplit(":", 1)[1]) or 0
        await update.callback_query.answer()
    else:  # officers count from 1; anything else is the first page
        page = ((parse_number(context.args[0]) if context.args else None) or 1) - 1
    total = await context.uow.reports.count_open()
    page = min(page, max(total - 1, 0) // PAGE_SIZE)  # past the end: the last page
    reports = await context.uow.reports.open_reports(page * PAGE_SIZE, PAGE_SIZE)
    if not reports:
        await update.effective_chat.send_message(_("No open reports."))
        return
    lines = [_("Open reports, oldest first ({count} in all):", count=total)]
    for report in reports:
        received = format_datetime(report.received_at.astimezone(context.settings.zone), "short", locale=formatting_locale())
        urgent = " ‼️" if report.urgent else ""
        lines.append(
            f"#{report.id}{urgent} · {_(CATEGORIES.get(report.category, CATEGORIES['other']))} · "
            f"{_(STATUS_LABELS[report.status])} · {received}"
        )
    lines.append(_("Send /show and a number to see a report."))
    navigation = []
    if page > 0:
        navigation.append(InlineKeyboardButton("◀", callback_data=f"staff:queue:{page - 1}"))
    if (page + 1) * PAGE_SIZE < total:
        navigation.append(InlineKeyboardButton("▶", callback_data=f"staff:queue:{page + 1}"))
    markup = InlineKeyboardMarkup([navigation]) if navigation else None
    await update.effective_chat.send_message("\n".join(lines), reply_markup=markup)


async def show(update: Update, context: BotContext) -> None:
    """Post one report's card again, with its buttons."""
    if not is_officer(update, context):
        await refuse(update, "show")
        return
    number = parse_number(context.args[0].removeprefix("#")) if context.args else None
    if number is None:
        await update.effective_message.reply_text(_("Send /show and a report number, for example: /show 12"))
        return
    report = await context.uow.reports.get(number)
    if report is None:
        await update.effective_message.reply_text(_("Report #{number} does not exist.", number=str(number)))
        return
    await show_card(update, context, report)


async def show_card(update: Update, context: BotContext, report: Report) -> None:
    """A report's card in the staff chat. One so far only listed in a surge digest
    (bot/delivery/digest.py) gets its card through the outbox, ahead of ordinary cards, so that its
    attachments and translation, held until then, follow it as for any card; any other card is
    posted again at once."""
    if report.staff_message_id is None and report.digest_message_id is not None:
        if not await context.uow.outbox.card_waiting(report.id):
            context.uow.outbox.add(OutboxMessage(kind=OutboxKind.CARD, report_id=report.id, priority=0, payload={}))
            await context.uow.outbox.release_held(report.id)
            await context.uow.commit()
            log.info("digest_report_opened report=%s", report.id)
        return
    await post_card(update, context, report)


async def post_card(update: Update, context: BotContext, report: Report) -> None:
    sender_block = await block_of(context.uow, report)
    card = render(CardFields.of_report(report, await context.uow.audit.latest(report.id), sender_block), context.settings.zone)
    await context.uow.release()
    await update.effective_chat.send_message(
        card, parse_mode=ParseMode.HTML, reply_markup=staff_buttons(report, sender_block), disable_web_page_preview=True
    )


async def open_report(update: Update, context: BotContext) -> None:
    """An "Open #N" button under a surge digest: the report's card, as /show N gives it."""
    if not is_officer(update, context):
        await refuse(update, "button")
        return
    if (report := await report_of_button(update, context)) is None:
        return
    await show_card(update, context, report)
    await context.uow.release()
    await update.callback_query.answer()


async def unknown_button(update: Update, context: BotContext) -> None:
    """Staff button data no version of the bot made: /show posts the card with working buttons."""
    if not is_officer(update, context):
        await refuse(update, "button")
        return
    log.info("unknown_staff_callback")
    await update.callback_query.answer(_("Send /show and a report number, for example: /show 12"), show_alert=True)


def handlers() -> list[BaseHandler]:
    # No chat filter here on purpose: a staff command or button from anywhere else must be
    # refused and logged, not silently ignored. Numbers in button data are checked by the
    # handlers (parse_number), so forged ones get an answer too.
    return [
        CallbackQueryHandler(act, pattern=r"^staff:(ack|close|spam):[^:]*$"),
        CallbackQueryHandler(block, pattern=r"^staff:(block|unblock):[^:]*$"),
        CallbackQueryHandler(queue, pattern=r"^staff:queue:[^:]*$"),
        CallbackQueryHandler(open_report, pattern=r"^staff:open:[^:]*$"),
        CallbackQueryHandler(unknown_button, pattern=r"^staff:"),
        CommandHandler("queue", queue),
        CommandHandler("show", show),
    ]
