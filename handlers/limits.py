"""A person who sends too much, too fast, is told once when to go on; the rest is not answered.

Officers in the staff chat are not limited. The limit is counted under the pseudonym.
"""

from __future__ import annotations

import logging
import math

from telegram import Chat, Update
from telegram.ext import ApplicationHandlerStop, BaseHandler, TypeHandler

from bot.context import BotContext
from bot.i18n import ngettext

log = logging.getLogger(__name__)


async def limit_updates(update: Update, context: BotContext) -> None:
    chat, user = update.effective_chat, update.effective_user
    if chat is None or chat.type != Chat.PRIVATE or user is None:
        return
    limits, pseudonym = context.services.limits, context.pseudonym(user)
    if not (wait := limits.updates.take(pseudonym)):
        return
    if limits.told.get(pseudonym) is None:
        limits.told[pseudonym] = True
        log.info("updates_limited")
        seconds = math.ceil(wait)
        text = ngettext(
            "You are sending messages very quickly. Please wait {n} second, then go on.",
            "You are sending messages very quickly. Please wait {n} seconds, then go on.",
            seconds,
        )
        if update.callback_query:
            await update.callback_query.answer(text, show_alert=True)
        else:
            await chat.send_message(text)
    elif update.callback_query:
        await update.callback_query.answer()  # stops the button's spinner, says nothing new
    raise ApplicationHandlerStop


def handlers() -> list[BaseHandler]:
    return [TypeHandler(Update, limit_updates)]
