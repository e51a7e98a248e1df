"""/forget deletes everything the bot keeps about a person, once they confirm; /forget CODE only
stops notices about one report.

The confirmation is a short conversation. A press of its buttons once it was answered or timed
out, or one it never asked for, gets a kind word and changes nothing, so confirming twice
deletes once.
"""

from __future__ import annotations

import logging

from telegram import InlineKeyboardButton, InlineKeyboardMarkup, Update
from telegram.ext import BaseHandler, CallbackQueryHandler, CommandHandler, ConversationHandler, filters

from bot.context import BotContext
from bot.i18n import _, ngettext
from bot.personal_data import forget_person
from bot.reports import forget_reporter
from bot.update_scope import ChatConversation
from handlers.status import report_for_code

log = logging.getLogger(__name__)

CONFIRMING = 1
QUESTION_SECONDS = 600


def what_stays(context: BotContext) -> str:
    return "\n\n".join(
        [
            _("The reports you sent stay with the officers, but nothing in this bot links them to you any more."),
            ngettext(
                "Reports are deleted after {n} day.",
                "Reports are deleted after {n} days.",
                context.settings.retention_days,
            ),
        ]
    )


async def forget(update: Update, context: BotContext) -> int:
    """/forget asks first; /forget CODE stops notices about that report at once."""
    if context.args:
        await forget_report(update, context, " ".join(context.args))
        return ConversationHandler.END
    question = _(
        "Delete everything this bot keeps about you? That is your language choice, the links that let us "
        "write to you about your reports, and any report you have not sent yet."
    )
    buttons = InlineKeyboardMarkup(
        [[InlineKeyboardButton(_("Yes, delete it"), callback_data="forget:yes"),
          InlineKeyboardButton(_("No, keep it"), callback_data="forget:no")]]
    )  # fmt: skip
    await update.effective_message.reply_text(question + "\n\n" + what_stays(context), reply_markup=buttons)
    return CONFIRMING


async def forget_report(update: Update, context: BotContext, code: str) -> None:
    """Delete the reporter link of one report; officers' messages then wait for /status."""
    report = await report_for_code(update, context, code)
    if report is None:
        return
    await forget_reporter(context.uow, report.id)
    log.info("reporter_link_forgotten report=%s", report.id)
    await update.effective_message.reply_text(
        _("Done. We can no longer write to you about this report. You can still check it with /status.")
    )


async def confirmed(update: Update, context: BotContext) -> int:
    await forget_person(context.uow, context.services, context.pseudonym(update.effective_user), update.effective_chat.id)
    log.info("person_forgotten")
    await update.callback_query.answer()
    await update.callback_query.edit_message_text(
        _("Done. Everything this bot kept about you is deleted.") + "\n\n" + what_stays(context)
    )
    return ConversationHandler.END


async def kept(update: Update, context: BotContext) -> int:
    await update.callback_query.answer()
    await update.callback_query.edit_message_text(_("Nothing was deleted."))
    return ConversationHandler.END


async def not_asked(update: Update, context: BotContext) -> None:
    """A press of a question that is closed, or was never asked."""
    await update.callback_query.answer(_("This question is closed. Send /forget to start again."), show_alert=True)


def handlers() -> list[BaseHandler]:
    return [
        ChatConversation(
            entry_points=[CommandHandler("forget", forget, filters=filters.ChatType.PRIVATE)],
            states={
                CONFIRMING: [
                    CallbackQueryHandler(confirmed, pattern=r"^forget:yes$"),
                    CallbackQueryHandler(kept, pattern=r"^forget:no$"),
                ]
            },
            fallbacks=[],
            allow_reentry=True,
            conversation_timeout=QUESTION_SECONDS,
            name="forget",
        ),
        CallbackQueryHandler(not_asked, pattern=r"^forget:"),
    ]
