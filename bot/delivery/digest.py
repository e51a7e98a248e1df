"""Surge digests: when many reports wait for the staff chat, ordinary ones go several to a message.

Telegram lets a bot post about 20 messages a minute in a group, so 1,000 reports at one card each
would take almost an hour to reach officers. When DIGEST_THRESHOLD or more ordinary cards are
waiting, the delivery loop (bot/delivery/loop.py) sends up to DIGEST_SIZE of them as one digest
message: each report's heading, when it came and in which language, the start of its text, and an
"Open #N" button.
Urgent reports and partner reports still go first, one full card each. Opening a report posts
its full card with its buttons; its long text, attachments and translation wait until then, and
follow as replies to that card, as for any card.
"""

from __future__ import annotations

import html
from dataclasses import dataclass
from datetime import datetime
from zoneinfo import ZoneInfo

from babel.dates import format_datetime
from telegram import InlineKeyboardButton, InlineKeyboardMarkup

from bot.cards import language_name, neutralise
from bot.categories import CATEGORIES
from bot.i18n import FSI, PDI, _, formatting_locale, ngettext
from bot.telegram_text import split_text

DIGEST_SIZE = 10  # reports per digest message; their buttons fit on five rows of two
EXCERPT = 200  # UTF-16 units of a report's text in its entry: ten entries fit in one message


@dataclass(frozen=True)
class DigestEntry:
    """One report in a digest, as plain values."""

    number: int
    category: str
    received_at: datetime
    language: str  # the reporter's, as on the card
    body: str
    attachments: int


def render_digest(entries: list[DigestEntry], zone: ZoneInfo) -> str:
    """The digest message (HTML) in the active locale; DIGEST_SIZE entries of the longest kind fit
    in TEXT_LIMIT in every language (tests/test_digest.py)."""
    # NOTE: officers read this when many reports arrive at once; {n} is how many this message holds.
    header = ngettext(
        "Many reports at once: {n} report in short. Open it for its full card, buttons, attachments and translation.",
        "Many reports at once: {n} reports in short. Open each for its full card, buttons, attachments and translation.",
        len(entries),
    )
    return "\n\n".join([f"<i>{header}</i>", *(_entry(entry, zone) for entry in entries)])


def _entry(entry: DigestEntry, zone: ZoneInfo) -> str:
    category = html.escape(_(CATEGORIES.get(entry.category, CATEGORIES["other"])))
    heading = _("Report #{number}: {category}", number=str(entry.number), category=category)
    locale = formatting_locale()
    when = format_datetime(entry.received_at.astimezone(zone), "short", locale=locale)
    parts = split_text(entry.body, EXCERPT - 1)
    excerpt = parts[0] + ("…" if len(parts) > 1 else "")
    language = html.escape(language_name(entry.language, locale))
    lines = [f"<b>{heading}</b> · {when} · {language}", f"{FSI}{neutralise(excerpt)}{PDI}"]
    if entry.attachments:
        lines.append(ngettext("{n} attachment", "{n} attachments", entry.attachments))
    return "\n".join(lines)


def digest_buttons(numbers: list[int]) -> InlineKeyboardMarkup:
    """One "Open #N" button per report, two to a row; the data is language-neutral."""
    # NOTE: a button under a digest of many reports; it posts the full card of report {number}.
    buttons = [InlineKeyboardButton(_("Open #{number}", number=str(n)), callback_data=f"staff:open:{n}") for n in numbers]
    return InlineKeyboardMarkup([buttons[i : i + 2] for i in range(0, len(buttons), 2)])
