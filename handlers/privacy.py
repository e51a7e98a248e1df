"""/privacy: what is kept, for how long, who sees it and what is never asked.

The text is built from the running configuration, so it cannot drift from what the bot does.
Every claim in it must agree with docs/THREAT_MODEL.md.
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
                "To remember your language, and so officers can block someone who misuses this service, "
                "we use a code made from your account. It is also kept, encrypted, with each report you send, "
                "until you send /forget. "
                "Without the secret key of this service, nobody can turn this code back into your account."
            ),
            ngettext(
                "If you ask us to tell you when officers respond, we keep an encrypted way to write to you "
                "in this chat, for that report only. It is deleted when you send /forget, {n} day after "
                "the report is closed, or with the report, whichever comes first.",
                "If you ask us to tell you when officers respond, we keep an encrypted way to write to you "
                "in this chat, for that report only. It is deleted when you send /forget, {n} days after "
                "the report is closed, or with the report, whichever comes first.",
                settings.link_grace_days,
            ),
            ngettext(
                "Reports are deleted after {n} day.",
                "Reports are deleted after {n} days.",
                settings.retention_days,
            ),
            _(
                "Officers also receive each report as a message in their Telegram group. "
                "This bot does not delete those messages; the group's own settings decide how long they stay."
            ),
            readers,
            _("Telegram itself knows that your account writes to this bot, and what you send. We cannot change that."),
            _("We never ask about immigration status. You never have to give your name."),
            _("Our records show only what happened in the bot, never your messages or who you are."),
            _("Send /mydata to see what we keep about you, and /forget to delete it."),
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
