"""The two-way dialog: officers write to a reporter, the reporter answers; neither learns who the
other is. Messages are stored, translated by the translation jobs and delivered through the outbox.
"""

from __future__ import annotations

import hmac
import logging

from telegram import ForceReply, Update
from telegram.ext import (
    BaseHandler,
    CallbackQueryHandler,
    CommandHandler,
    ConversationHandler,
    MessageHandler,
    TypeHandler,
    filters,
)

from bot.blocks import is_blocked, refusal
from bot.context import BotContext
from bot.i18n import _, current_locale, ngettext
from bot.limits import whole_minutes
from bot.menus import main_menu
from bot.reports import MAX_TEXT, add_officer_message, add_reporter_message, clean_input
from bot.update_scope import ChatConversation
from handlers.fallback import stale_button
from handlers.staff import is_officer, refuse, report_of_button

log = logging.getLogger(__name__)

ANSWERING = 1


async def officer_writes(update: Update, context: BotContext) -> None:
    """A reply, in the staff chat, to a report's card, to a reporter's answer, or to a prompt."""
    message = update.effective_message
    replied_to = message.reply_to_message.message_id
    report_id = await context.uow.messages.report_of_staff_message(replied_to)
    report_id = report_id or context.services.dialog_prompts.get(replied_to)
    if report_id is None or not (text := clean_input(message.text)):
        return  # officers talking among themselves, or nothing to pass on
    if not is_officer(update, context):
        await refuse(update, "dialog")
        return
    report = await context.uow.reports.get(report_id)
    if report is None:  # deleted by retention since the prompt was posted
        await message.reply_text(_("Report #{number} does not exist.", number=str(report_id)))
        return
    officer = update.effective_user
    await add_officer_message(
        context.uow, report, text, officer_id=officer.id, officer_name=officer.full_name,
        language=context.settings.officer_locale, staff_message_id=message.message_id,
        translate=context.settings.translation,
    )  # fmt: skip
    log.info("officer_message report=%s", report.id)


async def ask_officer(update: Update, context: BotContext) -> None:
    """The card's "Message reporter" button: ask for the message as a reply to a prompt."""
    if not is_officer(update, context):
        await refuse(update, "button")
        return
    if (report := await report_of_button(update, context)) is None:
        return
    await update.callback_query.answer()
    prompt = await update.effective_chat.send_message(
        _("Reply to this message with what you want to tell the reporter of report #{number}.", number=str(report.id)),
        reply_markup=ForceReply(selective=True),
    )
    context.services.dialog_prompts[prompt.message_id] = report.id


async def start_answer(update: Update, context: BotContext) -> int:
    """The reporter's "Answer" button; it is signed for this report and this person."""
    query = update.callback_query
    report_id, token = query.data.split(":")[1:]
    expected = context.services.keys.answer_token(int(report_id), update.effective_user.id)
    if not hmac.compare_digest(token, expected):
        log.warning("answer_button_refused")
        await stale_button(update, context)
        return ConversationHandler.END
    pseudonym = context.pseudonym(update.effective_user)
    await query.answer()
    if await is_blocked(context.uow, pseudonym):
        return await refuse_blocked(update, context)
    if wait := context.services.limits.dialog_messages.wait(pseudonym):
        log.info("dialog_messages_limited")
        await update.effective_chat.send_message(
            ngettext(
                "You have sent many messages to the officers in a short time. You can write again in {n} minute.",
                "You have sent many messages to the officers in a short time. You can write again in {n} minutes.",
                whole_minutes(wait),
            )
        )
        return ConversationHandler.END
    context.services.answering[pseudonym] = int(report_id)
    await update.effective_chat.send_message(
        _("Write your answer, or more information, for the officers. You can write in any language.")
    )
    return ANSWERING


async def answer_written(update: Update, context: BotContext) -> int:
    if not (text := clean_input(update.effective_message.text)):
        await update.effective_message.reply_text(
            _("Write your answer, or more information, for the officers. You can write in any language.")
        )
        return ANSWERING
    if len(text) > MAX_TEXT:
        await update.effective_message.reply_text(
            _("This is too long. Please send at most {limit} characters.", limit=MAX_TEXT)
        )
        return ANSWERING
    pseudonym = context.pseudonym(update.effective_user)
    if await is_blocked(context.uow, pseudonym):  # blocked while writing
        context.services.answering.pop(pseudonym)
        return await refuse_blocked(update, context)
    report_id = context.services.answering.pop(pseudonym)
    report = await context.uow.reports.get(report_id) if report_id else None
    if report is None:  # deleted by retention meanwhile
        await update.effective_message.reply_text(_("This report no longer exists."), reply_markup=main_menu())
        return ConversationHandler.END
    await add_reporter_message(
        context.uow, report, text, language=current_locale(), translate=context.settings.translation
    )
    context.services.limits.dialog_messages.record(pseudonym)
    log.info("reporter_message report=%s", report.id)
    await update.effective_message.reply_text(_("Sent to the officers. Thank you."), reply_markup=main_menu())
    return ConversationHandler.END


async def refuse_blocked(update: Update, context: BotContext) -> int:
    """Officers blocked this person: nothing reaches them, and the person is not told by whom or why."""
    log.info("reporter_message_refused reason=sender_blocked")
    await update.effective_chat.send_message(refusal(context.settings.emergency_number), reply_markup=main_menu())
    return ConversationHandler.END


async def cancel_answer(update: Update, context: BotContext) -> int:
    context.services.answering.pop(context.pseudonym(update.effective_user))
    await update.effective_message.reply_text(_("Cancelled."), reply_markup=main_menu())
    return ConversationHandler.END


async def answer_timed_out(update: Update, context: BotContext) -> None:
    """Nothing was written in time: forget which report the person was answering."""
    context.services.answering.pop(context.pseudonym(update.effective_user))


def handlers(staff_chat: filters.Chat, timeout_minutes: float) -> list[BaseHandler]:
    private_text = filters.ChatType.PRIVATE & filters.TEXT & ~filters.COMMAND
    return [
        MessageHandler(staff_chat & filters.REPLY & filters.TEXT & ~filters.COMMAND, officer_writes),
        CallbackQueryHandler(ask_officer, pattern=r"^staff:msg:[^:]*$"),
        ChatConversation(
            entry_points=[CallbackQueryHandler(start_answer, pattern=r"^ans:\d{1,12}:[0-9a-f]{16}$")],
            states={
                ANSWERING: [MessageHandler(private_text, answer_written)],
                ConversationHandler.TIMEOUT: [TypeHandler(Update, answer_timed_out)],
            },
            fallbacks=[CommandHandler("cancel", cancel_answer)],
            allow_reentry=True,
            conversation_timeout=timeout_minutes * 60,  # as long as an unfinished report
            name="answer",
        ),
    ]
