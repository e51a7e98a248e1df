"""/report: anonymous reports. Until the report conversation lands, it says so plainly."""

from __future__ import annotations

from telegram import Update
from telegram.ext import BaseHandler, CallbackQueryHandler, CommandHandler, filters

from bot.context import BotContext
from bot.i18n import _


async def report(update: Update, context: BotContext) -> None:
    """Explain that reporting opens soon, and where to turn meanwhile."""
    if update.callback_query:
        await update.callback_query.answer()
    await update.effective_chat.send_message(
        _("Sending reports here is coming soon.")
        + "\n\n"
        + _("In an emergency call {number}.", number=context.settings.emergency_number)
    )


def handlers() -> list[BaseHandler]:
    return [
        CommandHandler("report", report, filters=filters.ChatType.PRIVATE),
        CallbackQueryHandler(report, pattern=r"^menu:report$"),
    ]
