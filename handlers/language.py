"""/language: a picker showing every language in its own name; the choice is saved."""

from __future__ import annotations

import logging

from telegram import InlineKeyboardButton, InlineKeyboardMarkup, Message, Update
from telegram.error import BadRequest
from telegram.ext import BaseHandler, CallbackQueryHandler, CommandHandler, filters

from bot.context import BotContext
from bot.i18n import I18n, _, active_locale, native_name
from bot.menus import main_menu

log = logging.getLogger(__name__)

PAGE_SIZE = 10
COLUMNS = 2


def picker(i18n: I18n, page: int = 0) -> InlineKeyboardMarkup:
    entries = i18n.picker_entries()
    pages = max(1, -(-len(entries) // PAGE_SIZE))
    page = min(max(page, 0), pages - 1)
    shown = entries[page * PAGE_SIZE : (page + 1) * PAGE_SIZE]
    buttons = [InlineKeyboardButton(name, callback_data=f"lang:set:{locale}") for locale, name in shown]
    rows = [buttons[i : i + COLUMNS] for i in range(0, len(buttons), COLUMNS)]
    if pages > 1:
        # Arrows and digits read the same in every language, so the page row needs no catalog.
        rows.append(
            [
                InlineKeyboardButton(f"◀ {page + 1}/{pages}", callback_data=f"lang:page:{(page - 1) % pages}"),
                InlineKeyboardButton("▶", callback_data=f"lang:page:{(page + 1) % pages}"),
            ]
        )
    return InlineKeyboardMarkup(rows)


async def choose_language(update: Update, context: BotContext) -> None:
    """Show the picker."""
    if update.callback_query:
        await update.callback_query.answer()
    await update.effective_chat.send_message(
        _("Choose your language:"), reply_markup=picker(context.i18n)
    )


async def turn_page(update: Update, context: BotContext) -> None:
    query = update.callback_query
    await query.answer()
    markup = picker(context.i18n, int(query.data.rsplit(":", 1)[1]))
    # Telegram refuses an edit that changes nothing (one page, or a double tap).
    if not isinstance(query.message, Message) or markup != query.message.reply_markup:
        await _show(update, markup)


async def set_language(update: Update, context: BotContext) -> None:
    """Save the choice and confirm it in the new language."""
    query = update.callback_query
    locale = query.data.removeprefix("lang:set:")
    if locale not in context.i18n.locales:
        await query.answer(_("This language is not available."), show_alert=True)
        return
    await context.services.saved_locales.save(context.uow, context.pseudonym(update.effective_user), locale)
    log.info("language_chosen locale=%s", locale)
    await query.answer()
    with active_locale(context.i18n.get(locale)):
        # NOTE: {language} is the language's own name, e.g. "Español".
        confirmation = _("Done. I will write to you in {language}.", language=native_name(locale))
        await _show(update, main_menu(), confirmation)


async def _show(update: Update, markup: InlineKeyboardMarkup, text: str | None = None) -> None:
    """The picker's message gets `markup` (and `text`, if given); a new message if it cannot be
    edited: too old for Telegram to give it to the bot, deleted, not the bot's (forged), or
    showing this already (a double tap)."""
    query = update.callback_query
    if isinstance(query.message, Message):
        try:
            await (query.edit_message_reply_markup(markup) if text is None else query.edit_message_text(text, reply_markup=markup))
            return
        except BadRequest:
            pass
    await update.effective_chat.send_message(text or _("Choose your language:"), reply_markup=markup)


def handlers() -> list[BaseHandler]:
    return [
        CommandHandler("language", choose_language, filters=filters.ChatType.PRIVATE),
        CallbackQueryHandler(choose_language, pattern=r"^menu:language$"),
        CallbackQueryHandler(turn_page, pattern=r"^lang:page:\d{1,3}$"),
        CallbackQueryHandler(set_language, pattern=r"^lang:set:[A-Za-z_]{2,16}$"),
    ]
