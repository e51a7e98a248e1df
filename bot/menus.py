"""Commands and keyboards shared by several handlers. Callback data is language-neutral."""

from __future__ import annotations

from telegram import BotCommand, InlineKeyboardButton, InlineKeyboardMarkup

from bot.i18n import N_, _, current_locale

# (command, description) in the order /help lists them and Telegram's menu shows them.
COMMUNITY_COMMANDS = (
    ("start", N_("Welcome and main menu")),
    ("report", N_("Send an anonymous report")),
    ("status", N_("Check a report with its receipt code")),
    ("privacy", N_("How your privacy is protected")),
    ("resources", N_("Liaison officers, meetings and useful links")),
    ("transparency", N_("What happened with the community's reports")),
    ("mydata", N_("What this bot keeps about you")),
    ("language", N_("Change the language")),
    ("help", N_("List of commands")),
)
STAFF_COMMANDS = (
    ("queue", N_("Open reports, oldest first")),
    ("show", N_("Show a report again: /show 12")),
    ("stats", N_("Report counts and a chart: /stats 30d")),
    ("partners", N_("Partner organisations, their partners and unused invites")),
    ("partner_invite", N_("Invite code for a partner: /partner_invite Name of firm")),
    ("partner_revoke", N_("End a partnership: /partner_revoke Name of firm")),
    ("help", N_("List of commands")),
)


def bot_commands(commands: tuple[tuple[str, str], ...]) -> list[BotCommand]:
    """The commands with descriptions in the active locale."""
    return [BotCommand(name, _(description)) for name, description in commands]


def main_menu() -> InlineKeyboardMarkup:
    """The main menu in the active locale; built once per locale, as Telegram objects are immutable."""
    locale = current_locale()
    if (menu := _main_menus.get(locale)) is None:
        menu = _main_menus[locale] = InlineKeyboardMarkup(
            [
                [InlineKeyboardButton(_("Report"), callback_data="menu:report")],
                [InlineKeyboardButton(_("Check a report"), callback_data="menu:status")],
                [
                    InlineKeyboardButton(_("Privacy"), callback_data="menu:privacy"),
                    InlineKeyboardButton(_("Language"), callback_data="menu:language"),
                ],
                [
                    InlineKeyboardButton(_("Resources"), callback_data="menu:resources"),
                    InlineKeyboardButton(_("Help"), callback_data="menu:help"),
                ],
            ]
        )
    return menu


_main_menus: dict[str, InlineKeyboardMarkup] = {}
