"""/transparency: counts of what happened with the community's reports (bot/outreach/transparency.py),
and the "Did you feel heard?" buttons under a closed report's notice, whose answers it counts."""

from __future__ import annotations

import hmac
import logging
from datetime import UTC, datetime

from telegram import Update
from telegram.ext import BaseHandler, CallbackQueryHandler, CommandHandler, filters

from bot.context import BotContext
from bot.i18n import _
from bot.outreach.transparency import first_day_shown, render, summarize
from bot.reports import record_feedback
from storage.models import Feedback

log = logging.getLogger(__name__)


async def transparency(update: Update, context: BotContext) -> None:
    """Show the last twelve months in counts."""
    today = datetime.now(UTC).date()
    facts = await context.uow.facts.received_since(first_day_shown(today))
    await context.uow.release()
    await update.effective_message.reply_text(render(summarize(facts, today)))


async def feedback(update: Update, context: BotContext) -> None:
    """A reporter answers "Did you feel heard?"; the button was made for them and this report only."""
    query = update.callback_query
    _prefix, number, answer, token = query.data.split(":")
    expected = context.services.keys.feedback_token(int(number), update.effective_user.id)
    if not hmac.compare_digest(token, expected):
        log.info("feedback_refused")
        await query.answer(_("This button no longer works. Please send /start."), show_alert=True)
        return
    counted = await record_feedback(context.uow, int(number), Feedback(answer))
    await query.answer()
    if counted:
        log.info("feedback_recorded report=%s", number)
        await query.edit_message_reply_markup(None)  # one answer per report: the buttons go
        text = _("Thank you. Your answer is counted, without your name, in /transparency.")
    else:
        text = _("You have answered already. Thank you.")
    await update.effective_chat.send_message(text)


def handlers() -> list[BaseHandler]:
    return [
        CommandHandler("transparency", transparency, filters=filters.ChatType.PRIVATE),
        CallbackQueryHandler(feedback, pattern=r"^fb:\d{1,9}:(yes|partly|no):[0-9a-f]{16}$"),
    ]
