"""/resources: liaison officers who speak the reader's language, coming community meetings and
useful links, all from the agency profile (bot/outreach/profile.py)."""

from __future__ import annotations

from datetime import UTC, datetime

from babel.dates import format_date, format_time, get_datetime_format
from telegram import Update
from telegram.ext import BaseHandler, CallbackQueryHandler, CommandHandler, filters

from bot.context import BotContext
from bot.i18n import _, current_locale, formatting_locale
from bot.menus import main_menu
from bot.outreach.profile import Liaison, Meeting
from bot.outreach.texts import emergency_lines


def resources_text(context: BotContext, now: datetime) -> str:
    profile, locale = context.profile, current_locale()
    language_names = dict(context.i18n.picker_entries())
    sections = [_("Resources")]
    # Those who speak the reader's language first.
    liaisons = sorted(profile.liaisons, key=lambda liaison: not _speaks(liaison, locale))
    if liaisons:
        lines = [_("Liaison officers:")]
        for liaison in liaisons:
            languages = ", ".join(language_names.get(language, language) for language in liaison.languages)
            # NOTE: {name} is an officer, {languages} the languages they speak, {contact} a phone or email.
            lines.append(_("• {name} ({languages}): {contact}", name=liaison.name, languages=languages, contact=liaison.contact))
        sections.append("\n".join(lines))
    meetings = sorted((m for m in profile.meetings if m.starts >= now), key=lambda meeting: meeting.starts)
    if meetings:
        lines = [_("Community meetings:")]
        for meeting in meetings:
            # NOTE: {title} is the meeting's name, {when} its date and time, {place} where it is.
            lines.append(_("• {title}: {when}, {place}", title=context.shown(meeting.title),
                           when=_meeting_time(meeting, context), place=context.shown(meeting.place)))  # fmt: skip
        sections.append("\n".join(lines))
    if profile.links:
        lines = [_("Links:")]
        lines += [_("• {title}: {url}", title=context.shown(link.title), url=link.url) for link in profile.links]
        sections.append("\n".join(lines))
    if len(sections) == 1:
        sections.append(_("The police have not listed any resources here yet."))
    sections.append(emergency_lines(profile))
    return "\n\n".join(sections)


def _speaks(liaison: Liaison, locale: str) -> bool:
    return locale in liaison.languages or locale.split("_")[0] in liaison.languages


def _meeting_time(meeting: Meeting, context: BotContext) -> str:
    """A date and time as the reader's locale writes them, in the agency's time zone."""
    zone, locale = context.profile.zone, formatting_locale()
    local = meeting.starts.astimezone(zone)
    pattern = get_datetime_format("full", locale=locale).replace("'", "")  # e.g. "{1} 'at' {0}"
    return pattern.format(format_time(local, "short", tzinfo=zone, locale=locale), format_date(local, "full", locale=locale))


async def resources(update: Update, context: BotContext) -> None:
    """Show the agency's liaison officers, meetings and links."""
    if update.callback_query:
        await update.callback_query.answer()
    text = resources_text(context, datetime.now(UTC))
    await update.effective_chat.send_message(text, reply_markup=main_menu(), disable_web_page_preview=True)


def handlers() -> list[BaseHandler]:
    return [
        CommandHandler("resources", resources, filters=filters.ChatType.PRIVATE),
        CallbackQueryHandler(resources, pattern=r"^menu:resources$"),
    ]
