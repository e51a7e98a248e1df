"""/privacy: what is kept, for how long, who sees it and what is never asked.

The text is built from the running configuration, so it cannot drift from what the bot does.
Every claim in it must agree with docs/THREAT_MODEL.md.
"""

from __future__ import annotations

from telegram import Update
from telegram.ext import BaseHandler, CallbackQueryHandler, CommandHandler, filters

from bot.context import BotContext
from bot.i18n import _, ngettext
from bot.outreach.texts import emergency_lines
from bot.retention import FACTS_KEPT_DAYS


def privacy_text(context: BotContext) -> str:
    settings, profile = context.settings, context.profile
    agency = context.shown(profile.name)
    readers = (
        _("Only officers of {agency} read reports, in a private staff group. They do not see who you are.", agency=agency)
        if agency
        else _("Only police officers read reports, in a private staff group. They do not see who you are.")
    )
    if profile.immigration_statement:
        immigration = context.shown(profile.immigration_statement)
    elif agency:
        immigration = _("We never ask about immigration status, and {agency} does not share reports for "
                        "immigration enforcement.", agency=agency)  # fmt: skip
    else:
        immigration = _("We never ask about immigration status, and the police do not share reports for "
                        "immigration enforcement.")  # fmt: skip
    questions = (
        # NOTE: {contact} is how to reach the agency, e.g. a phone number or an email address.
        _("Questions about this service? Contact {contact}.", contact=context.shown(profile.privacy_contact))
        if profile.privacy_contact
        else _("Questions about this service? Call your local police on their non-emergency number.")
    )
    oversight = profile.oversight and _(
        # NOTE: {oversight} is the body that oversees the police, e.g. "Civilian Police Review Board".
        "The police are overseen by {oversight}. To complain about officers or this service, contact them: {contact}.",
        oversight=context.shown(profile.oversight.name), contact=profile.oversight.contact,
    )  # fmt: skip
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
            ngettext(
                "For /transparency we keep, for {n} day, each report's day, category, language and status, "
                "never what it said or who sent it.",
                "For /transparency we keep, for {n} days, each report's day, category, language and status, "
                "never what it said or who sent it.",
                FACTS_KEPT_DAYS,
            ),
            _(
                "Officers also receive each report as a message in their Telegram group. "
                "This bot does not delete those messages; the group's own settings decide how long they stay."
            ),
            readers,
            _("Telegram itself knows that your account writes to this bot, and what you send. We cannot change that."),
            immigration,
            _("You never have to give your name."),
            _(
                "Private-security firms that work with the police can be invited as partners. A partner can "
                "choose, for each report, to send it as a partner: officers then see the firm's name and can "
                "write to them. Every other report is anonymous."
            ),
            _("Our records show only what happened in the bot, never your messages or who you are."),
            _("Send /mydata to see what we keep about you, and /forget to delete it."),
            questions,
            *([oversight] if oversight else []),
            emergency_lines(profile),
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
