"""/start: a warm greeting in the person's language, and the main menu."""

from __future__ import annotations

from telegram import Update
from telegram.ext import BaseHandler, CommandHandler, filters

from bot.context import BotContext
from bot.i18n import _
from bot.menus import main_menu
from bot.outreach.texts import emergency_lines


def greeting(context: BotContext) -> str:
    if agency := context.shown(context.profile.name):
        # NOTE: {agency} is the police department's name, e.g. "Springfield Police Department".
        welcome = _("Welcome! This is the community safety line of {agency}.", agency=agency)
    else:
        welcome = _("Welcome! This is the community safety line of your local police.")
    return "\n\n".join(
        [
            welcome,
            _("Here you can tell the police about crimes and safety problems, in your own language."),
            _("You do not have to give your name. Reports can be anonymous."),
            emergency_lines(context.profile),
        ]
    )


async def start(update: Update, context: BotContext) -> None:
    """Greet the person and show what they can do."""
    await update.effective_message.reply_text(greeting(context), reply_markup=main_menu())


def handlers() -> list[BaseHandler]:
    return [CommandHandler("start", start, filters=filters.ChatType.PRIVATE)]
