"""/privacy: what is kept, for how long, who sees it and what is never asked.

The text is built from the running configuration, so it cannot drift from what the bot does.
"""

from __future__ import annotations

from telegram import Update
from telegram.ext import BaseHandler, CallbackQueryHandler, CommandHandler, filters

from bot.context import BotContext
from bot.i18n import _, ngettext


def privacy_text(context: BotContext) -> str:
    settings = context.settings
    readers = (
        _(
            "Only officers of {agency} read reports, in a private staff group. They do not see who you are.",
            agency=settings.agency_name,
        )
        if settings.agency_name
        else _("Only police officers read reports, in a private staff group. They do not see who you are.")
    )
    questions = (
        # NOTE: {contact} is how to reach the agency, e.g. a phone number or an email address.
        _("Questions about this service? Contact {contact}.", contact=settings.agency_contact)
        if settings.agency_contact
        else _("Questions about this service? Call your local police on their non-emergency number.")
    )
    return "\n\n".join(
        [
            _("How we protect your privacy"),
            _(
                "What we keep: the language you choose, and the reports you send. "
                "We do not keep your name, phone number, username or Telegram account with them."
            ),
            _(
                "To remember your language, we use a code made from your account. "
                "Nobody can turn this code back into your account."
            ),
            _(
                "If you ask us to tell you when officers respond, we keep an encrypted way to write "
                "to you in this chat, for that report only, until you send /forget or the report is deleted."
            ),
            ngettext(
                "Reports are deleted after {n} day.",
                "Reports are deleted after {n} days.",
                settings.retention_days,
            ),
            readers,
            _("Telegram itself knows that your account writes to this bot. We cannot change that."),
            _("We never ask about immigration status. You never have to give your name."),
            _("Our records show only what happened in the bot, never your messages or who you are."),
            questions,
            _("In an emergency call {number}.", number=settings.emergency_number),
        ]
    )


async def privacy(update: Update, context: BotContext) -> None:
    """Explain the privacy safeguards."""
    await update.effective_message.reply_text(privacy_text(context))


async def privacy_from_menu(update: Update, context: BotContext) -> None:
    await update.callback_query.answer()
    await update.effective_chat.send_message(privacy_text(context))


def handlers() -> list[BaseHandler]:
    return [
        CommandHandler("privacy", privacy, filters=filters.ChatType.PRIVATE),
        CallbackQueryHandler(privacy_from_menu, pattern=r"^menu:privacy$"),
    ]
