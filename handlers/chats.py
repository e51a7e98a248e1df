"""Gatekeeping: the bot works in private chats and in the staff chat, nowhere else."""

from __future__ import annotations

import logging

from telegram import Chat, ChatMember, Update
from telegram.error import TelegramError
from telegram.ext import ApplicationHandlerStop, BaseHandler, TypeHandler

from bot.context import BotContext
from bot.i18n import _

log = logging.getLogger(__name__)

_GONE = {ChatMember.LEFT, ChatMember.BANNED}


async def keep_to_private_and_staff(update: Update, context: BotContext) -> None:
    """Leave any group or channel other than the staff chat, saying why once."""
    chat = update.effective_chat
    follow_staff_chat(update, context)
    if chat is None or chat.type == Chat.PRIVATE or context.services.staff_chat.includes(chat.id):
        return
    removed = update.my_chat_member and update.my_chat_member.new_chat_member.status in _GONE
    if not removed and not context.chat_data.get("left"):
        context.chat_data["left"] = True
        log.info("leaving_unknown_chat type=%s", chat.type)
        try:
            if chat.type != Chat.CHANNEL:
                await chat.send_message(
                    _("This bot only works in private chats. Please message it directly. Goodbye!")
                )
            await chat.leave()
        except TelegramError as exc:
            log.warning("leave_chat_failed error=%s", type(exc).__name__)
    raise ApplicationHandlerStop


def follow_staff_chat(update: Update, context: BotContext) -> None:
    """Telegram's notice that the staff group became a supergroup (in the old chat, or the new)."""
    message, chat, staff_chat = update.effective_message, update.effective_chat, context.services.staff_chat
    if message is None or chat is None:
        return
    if message.migrate_to_chat_id and chat.id == staff_chat.configured:
        staff_chat.move_to(message.migrate_to_chat_id)
    elif message.migrate_from_chat_id == staff_chat.configured:
        staff_chat.move_to(chat.id)


def handlers() -> list[BaseHandler]:
    return [TypeHandler(Update, keep_to_private_and_staff)]
