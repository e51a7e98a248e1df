"""/mydata: in plain words, what the bot keeps about this person right now, and nothing more.

That is their language choice and the reports that can notify them, with the date each link to
them is deleted by. Reports themselves do not count: nothing in them says who sent them.
"""

from __future__ import annotations

from zoneinfo import ZoneInfo

from babel.dates import format_date
from babel.lists import format_list
from telegram import Update
from telegram.ext import BaseHandler, CommandHandler, filters

from bot.context import BotContext
from bot.i18n import FSI, PDI, _, formatting_locale, native_name, ngettext
from bot.personal_data import Holdings, holdings


def holdings_text(held: Holdings, zone: ZoneInfo) -> str:
    language = (
        # NOTE: {language} is the language's own name, e.g. "Español".
        _("Your language: {language}. You chose it with /language.", language=native_name(held.locale))
        if held.locale
        else _("You have not chosen a language. The bot follows the language of your Telegram app.")
    )
    if held.links_deleted_by:
        dates = [format_date(when.astimezone(zone), "long", locale=formatting_locale()) for when in held.links_deleted_by]
        # NOTE: {dates} is a list of dates formatted for the reader, e.g. "June 2, 2026 and July 9, 2026".
        links = ngettext(
            "{n} report can notify you here. Its link to you will be deleted by {dates} at the latest.",
            "{n} reports can notify you here. Their links to you will be deleted by these dates at the latest: {dates}.",
            len(dates),
            dates=format_list(dates, locale=formatting_locale()),
        )
    else:
        links = _("No report can notify you here.")
    kept = [_("What this bot keeps about you right now:"), language, links]
    if held.organisation:
        # NOTE: {organisation} is the private-security firm whose invite the person redeemed.
        named = f"{FSI}{held.organisation}{PDI}"
        kept.append(_("You are a partner of {organisation}.", organisation=named))
    return "\n\n".join([*kept, _("To delete all of this, send /forget.")])


async def mydata(update: Update, context: BotContext) -> None:
    """Show what the bot keeps about the person asking."""
    held = await holdings(context.uow, context.services, context.pseudonym(update.effective_user), update.effective_chat.id)
    await update.effective_message.reply_text(holdings_text(held, context.settings.zone))


def handlers() -> list[BaseHandler]:
    return [CommandHandler("mydata", mydata, filters=filters.ChatType.PRIVATE)]
