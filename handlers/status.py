"""/status CODE shows a report's progress.

A wrong code and an unknown code get the same answer, and repeated wrong codes are slowed down
per pseudonym, so codes cannot be guessed through the bot.
"""

from __future__ import annotations

import logging

from babel.dates import format_date
from telegram import InlineKeyboardButton, InlineKeyboardMarkup, Update
from telegram.constants import ParseMode
from telegram.ext import (
    BaseHandler,
    CallbackQueryHandler,
    CommandHandler,
    ConversationHandler,
    MessageHandler,
    filters,
)

from bot.cards import dialog_messages, officer_heading
from bot.context import BotContext
from bot.i18n import N_, _, formatting_locale, ngettext
from bot.limits import whole_minutes
from bot.menus import main_menu
from bot.reports import mark_picked_up
from bot.update_scope import ChatConversation
from storage.models import MessageAuthor, Report, ReportStatus

log = logging.getLogger(__name__)

AWAITING_CODE = 1

STATUS_TEXT = {
    ReportStatus.NEW: N_("Officers have not opened it yet."),
    ReportStatus.ACKNOWLEDGED: N_("Officers have read it and are looking at it."),
    ReportStatus.CLOSED: N_("Officers have closed it."),
}


async def report_for_code(update: Update, context: BotContext, code: str) -> Report | None:
    """The report with this code, or None after telling the person why not."""
    pseudonym = context.pseudonym(update.effective_user)
    wait = context.services.limits.wrong_codes.wait(pseudonym)
    if wait:
        await update.effective_chat.send_message(
            ngettext(
                "Too many wrong codes. Please wait {n} minute and try again.",
                "Too many wrong codes. Please wait {n} minutes and try again.",
                whole_minutes(wait),
            )
        )
        return None
    receipt_hash = context.services.keys.receipt_hash(code)
    report = await context.uow.reports.by_receipt(receipt_hash) if receipt_hash else None
    if report is None:
        context.services.limits.wrong_codes.record(pseudonym)
        log.info("status_code_not_found")
        await update.effective_chat.send_message(_("No report matches this code. Please check it and try again."))
    return report


async def show_status(update: Update, context: BotContext, code: str) -> None:
    report = await report_for_code(update, context, code)
    if report is None:
        return
    sent = format_date(report.received_at, "long", locale=formatting_locale())
    # Spam is shown as closed: the reporter learns nothing from how officers sorted it.
    status = STATUS_TEXT.get(report.status, STATUS_TEXT[ReportStatus.CLOSED])
    token = context.services.keys.answer_token(report.id, update.effective_user.id)
    answer = InlineKeyboardMarkup(
        [[InlineKeyboardButton(_("Answer or add information"), callback_data=f"ans:{report.id}:{token}")]]
    )
    messages = [m for m in await context.uow.messages.of_report(report.id) if m.author == MessageAuthor.OFFICER]
    await update.effective_chat.send_message(
        _("Report #{number}, sent on {date}.", number=str(report.id), date=sent) + "\n" + _(status),
        reply_markup=None if messages else answer,
    )
    # Officers' messages in the reporter's language; the answer button under the last one.
    for message in messages:
        parts = dialog_messages(officer_heading(report.id, message, context.settings.officer_names_visible), message, with_original=False)
        for part in parts:
            last = message is messages[-1] and part is parts[-1]
            await update.effective_chat.send_message(part, parse_mode=ParseMode.HTML, reply_markup=answer if last else None)
    await mark_picked_up(context.uow, messages)


async def status(update: Update, context: BotContext) -> int:
    """/status CODE answers at once; /status or the menu button asks for the code."""
    if context.args:
        await show_status(update, context, " ".join(context.args))
        return ConversationHandler.END
    if update.callback_query:
        await update.callback_query.answer()
    await update.effective_chat.send_message(_("Please send your receipt code. It looks like this: 7KQM-2XRD-9FTB-H4PN."))
    return AWAITING_CODE


async def code_sent(update: Update, context: BotContext) -> int:
    await show_status(update, context, update.effective_message.text)
    return ConversationHandler.END


async def cancel(update: Update, context: BotContext) -> int:
    await update.effective_message.reply_text(_("Cancelled."), reply_markup=main_menu())
    return ConversationHandler.END


def handlers() -> list[BaseHandler]:
    private = filters.ChatType.PRIVATE
    return [
        ChatConversation(
            entry_points=[
                CommandHandler("status", status, filters=private),
                CallbackQueryHandler(status, pattern=r"^menu:status$"),
            ],
            states={AWAITING_CODE: [MessageHandler(private & filters.TEXT & ~filters.COMMAND, code_sent)]},
            fallbacks=[CommandHandler("cancel", cancel)],
            allow_reentry=True,
            conversation_timeout=600,
            name="status",
        ),
    ]
