"""/help: the commands, in the reader's language; officers get theirs in the staff chat."""

from __future__ import annotations

from telegram import Update
from telegram.ext import BaseHandler, CallbackQueryHandler, CommandHandler, filters

from bot.context import BotContext
from bot.i18n import _
from bot.menus import COMMUNITY_COMMANDS, STAFF_COMMANDS, main_menu


def command_list(commands: tuple[tuple[str, str], ...]) -> str:
    return "\n".join(f"/{name} — {_(description)}" for name, description in commands)


async def community_help(update: Update, context: BotContext) -> None:
    """List what a community member can do."""
    if update.callback_query:
        await update.callback_query.answer()
    text = _("Here is what I can do:") + "\n\n" + command_list(COMMUNITY_COMMANDS)
    await update.effective_chat.send_message(text, reply_markup=main_menu())


async def staff_help(update: Update, context: BotContext) -> None:
    """List the officers' commands."""
    text = "\n\n".join(
        [
            _("Commands for officers:") + "\n\n" + command_list(STAFF_COMMANDS),
            _(
                "To write to a reporter, reply to their report's card or press Message reporter. "
                "They never learn who you are, and you never learn who they are."
            ),
        ]
    )
    await update.effective_message.reply_text(text)


def handlers(staff_chat: filters.Chat) -> list[BaseHandler]:
    return [
        CommandHandler("help", community_help, filters=filters.ChatType.PRIVATE),
        CallbackQueryHandler(community_help, pattern=r"^menu:help$"),
        CommandHandler("help", staff_help, filters=staff_chat),
    ]
