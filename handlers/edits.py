"""An edited message changes nothing the bot already took, and is never delivered a second time.

What was sent is what counts: a report's text as it was saved (the review step shows it, and Edit
changes it), a reporter's answer and an officer's reply as they were passed on, a command as it
was run. Acting on an edit would send the same message twice, or change a report behind the
review the person confirmed. So the person is told once per edit that edits are not passed on.
"""

from __future__ import annotations

import logging

from telegram import Update
from telegram.ext import ApplicationHandlerStop, BaseHandler, MessageHandler, filters

from bot.context import BotContext
from bot.i18n import _

log = logging.getLogger(__name__)


async def edit_not_passed_on(update: Update, context: BotContext) -> None:
    log.info("edit_ignored")
    await update.edited_message.reply_text(
        _("Edits are not passed on. If something has changed, please send it as a new message.")
    )
    raise ApplicationHandlerStop


def handlers() -> list[BaseHandler]:
    return [MessageHandler(filters.UpdateType.EDITED_MESSAGE, edit_not_passed_on)]
