"""The officer queue: card buttons, /queue and /show, for the staff chat only.

Anything that acts on a report must come from STAFF_CHAT_ID and, when OFFICER_IDS is set, from a
listed officer. Everything else is refused and logged without saying who tried.
"""

from __future__ import annotations

import logging

from babel.dates import format_datetime
from telegram import InlineKeyboardButton, InlineKeyboardMarkup, Update
from telegram.constants import ParseMode
from telegram.ext import BaseHandler, CallbackQueryHandler, CommandHandler

from bot.cards import STATUS_LABELS, CardFields, render, staff_buttons
from bot.categories import CATEGORIES
from bot.context import BotContext
from bot.i18n import _, formatting_locale
from bot.reports import change_status
from storage.models import ReportStatus

log = logging.getLogger(__name__)

PAGE_SIZE = 10
ACTIONS = {"ack": ReportStatus.ACKNOWLEDGED, "close": ReportStatus.CLOSED, "spam": ReportStatus.SPAM}


def is_officer(update: Update, context: BotContext) -> bool:
    chat, user = update.effective_chat, update.effective_user
    settings = context.settings
    return (
        chat is not None
        and chat.id == settings.staff_chat_id
        and (not settings.officers or (user is not None and user.id in settings.officers))
    )


async def refuse(update: Update, what: str) -> None:
    log.warning("staff_action_refused kind=%s chat_type=%s", what, update.effective_chat.type if update.effective_chat else "none")
    text = _("This is only for officers in the staff chat.")
    if update.callback_query:
        await update.callback_query.answer(text, show_alert=True)
    else:
        await update.effective_message.reply_text(text)


async def act(update: Update, context: BotContext) -> None:
    """Acknowledge, close or mark as spam; the card is re-rendered through the outbox."""
    query = update.callback_query
    if not is_officer(update, context):
        await refuse(update, "button")
        return
    action, number = query.data.split(":")[1:]
    report = await context.uow.reports.get(int(number))
    if report is None:
        await query.answer(_("Report #{number} does not exist.", number=number), show_alert=True)
        return
    officer = update.effective_user
    await change_status(context.uow, report, ACTIONS[action], officer.id, officer.full_name)
    log.info("report_status_changed report=%s status=%s", report.id, report.status)
    await query.answer(_("Saved: {status}", status=_(STATUS_LABELS[report.status])))


async def queue(update: Update, context: BotContext) -> None:
    """Open reports, oldest first."""
    if not is_officer(update, context):
        await refuse(update, "queue")
        return
    page = int(context.args[0]) - 1 if context.args and context.args[0].isdigit() else 0
    if update.callback_query:
        page = int(update.callback_query.data.rsplit(":", 1)[1])
        await update.callback_query.answer()
    total = await context.uow.reports.count_open()
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
    if not context.args or not context.args[0].lstrip("#").isdigit():
        await update.effective_message.reply_text(_("Send /show and a report number, for example: /show 12"))
        return
    report = await context.uow.reports.get(int(context.args[0].lstrip("#")))
    if report is None:
        await update.effective_message.reply_text(_("Report #{number} does not exist.", number=context.args[0].lstrip("#")))
        return
    card = render(CardFields.of_report(report, await context.uow.audit.latest(report.id)), context.settings.zone)
    await update.effective_chat.send_message(
        card, parse_mode=ParseMode.HTML, reply_markup=staff_buttons(report), disable_web_page_preview=True
    )


def handlers() -> list[BaseHandler]:
    # No chat filter here on purpose: a staff command or button from anywhere else must be
    # refused and logged, not silently ignored.
    return [
        CallbackQueryHandler(act, pattern=r"^staff:(ack|close|spam):\d{1,12}$"),
        CallbackQueryHandler(queue, pattern=r"^staff:queue:\d{1,6}$"),
        CommandHandler("queue", queue),
        CommandHandler("show", show),
    ]
