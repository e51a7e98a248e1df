"""Anything no feature handled gets a short, kind answer; nothing is stored or echoed back."""

from __future__ import annotations

import logging

from telegram import Update
from telegram.ext import BaseHandler, CallbackQueryHandler, MessageHandler, filters

from bot.context import BotContext
from bot.i18n import _
from bot.menus import main_menu

log = logging.getLogger(__name__)

# New messages only: an edited message is not a new request and gets no second answer.
_PRIVATE = filters.ChatType.PRIVATE & filters.UpdateType.MESSAGE
_MEDIA = (
    filters.PHOTO | filters.VIDEO | filters.Document.ALL | filters.AUDIO | filters.VOICE | filters.VIDEO_NOTE
)


async def unknown_command(update: Update, context: BotContext) -> None:
    await update.effective_message.reply_text(
        _("Sorry, I do not know that command. Here is what I can do:"), reply_markup=main_menu()
    )


async def contact(update: Update, context: BotContext) -> None:
    """Refuse a shared contact; its phone number is neither stored nor logged."""
    log.info("contact_refused")
    await update.effective_message.reply_text(
        _(
            "For your safety, I do not accept contacts, and I did not save this phone number. "
            "You never need to share a phone number here."
        )
    )


async def location(update: Update, context: BotContext) -> None:
    await update.effective_message.reply_text(
        _("I did not save this location. You can add a place when you send a report."),
        reply_markup=main_menu(),
    )


async def media(update: Update, context: BotContext) -> None:
    await update.effective_message.reply_text(
        _("I did not keep this file. To send photos or files, start a report first."),
        reply_markup=main_menu(),
    )


async def text(update: Update, context: BotContext) -> None:
    await update.effective_message.reply_text(
        _("To send a report, press Report. To see all options, send /help."),
        reply_markup=main_menu(),
    )


async def unsupported(update: Update, context: BotContext) -> None:
    """Stickers, polls, dice, games and anything else a conversation here cannot use."""
    log.info("unsupported_message")
    await update.effective_message.reply_text(
        _("Sorry, I cannot use this kind of message. Please write text or use the buttons."),
        reply_markup=main_menu(),
    )


async def stale_button(update: Update, context: BotContext) -> None:
    """An old, unknown or forged button: say so instead of leaving a spinner."""
    log.info("unknown_callback")
    await update.callback_query.answer(
        _("This button no longer works. Please send /start."), show_alert=True
    )


def handlers() -> list[BaseHandler]:
    # Order matters: the first match wins, and the catch-all comes last.
    return [
        MessageHandler(_PRIVATE & filters.COMMAND, unknown_command),
        MessageHandler(_PRIVATE & filters.CONTACT, contact),
        MessageHandler(_PRIVATE & (filters.LOCATION | filters.VENUE), location),
        MessageHandler(_PRIVATE & _MEDIA, media),
        MessageHandler(_PRIVATE & filters.TEXT, text),
        MessageHandler(_PRIVATE, unsupported),
        CallbackQueryHandler(stale_button),
    ]
