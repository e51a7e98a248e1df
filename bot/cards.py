"""Report cards as HTML, in the active locale.

Officers get the card in OFFICER_LOCALE; the reporter's review shows the same fields in their own
language, so they see exactly what officers will receive. Reporter text is escaped and stripped
of the invisible characters that could reorder or hide parts of the card.
"""

from __future__ import annotations

import html
import re
from dataclasses import dataclass
from datetime import datetime
from zoneinfo import ZoneInfo

from babel import Locale, UnknownLocaleError
from babel.dates import format_datetime
from telegram import InlineKeyboardButton, InlineKeyboardMarkup

from bot.categories import CATEGORIES
from bot.i18n import FSI, N_, PDI, _, current_locale, ngettext
from bot.reports import Draft, text_is_separate
from storage.models import AuditEvent, Report, ReportStatus

# Embeddings, overrides and isolates (they reorder text) become a visible mark; zero-width
# spaces, word joiners and byte-order marks (they hide text) are dropped. ZWJ and ZWNJ stay:
# Persian, Kurdish, Indic scripts and emoji need them, and they cannot move text around.
_REORDERING = re.compile("[\u202a-\u202e\u2066-\u2069]")
_HIDING = re.compile("[\u200b\u2060\ufeff\u180e]")

STATUS_LABELS = {
    ReportStatus.NEW: N_("New"),
    ReportStatus.ACKNOWLEDGED: N_("Acknowledged"),
    ReportStatus.CLOSED: N_("Closed"),
    ReportStatus.SPAM: N_("Marked as spam"),
}
OCCURRED_LABELS = {"now": N_("Happening now"), "today": N_("Earlier today"), "earlier": N_("Before today")}


def neutralise(text: str) -> str:
    """Reporter text made safe to show inside our own message: visible, in order, escaped."""
    return html.escape(_HIDING.sub("", _REORDERING.sub("\ufffd", text)))


@dataclass
class CardFields:
    category: str
    body: str
    place: str | None = None
    latitude: float | None = None
    longitude: float | None = None
    location_exact: bool = False
    occurred: str | None = None
    attachments: int = 0
    files_with_metadata: int = 0  # documents whose metadata we could not remove
    number: int | None = None
    urgent: bool = False
    language: str | None = None
    received_at: datetime | None = None
    status: str | None = None
    changed_by: str | None = None

    @classmethod
    def of_report(cls, report: Report, latest: AuditEvent | None) -> CardFields:
        return cls(
            category=report.category, body=report.body, place=report.place, latitude=report.latitude,
            longitude=report.longitude, location_exact=report.location_exact, occurred=report.occurred,
            attachments=len(report.attachments), number=report.id, urgent=report.urgent,
            language=report.language, received_at=report.received_at, status=report.status,
            changed_by=latest.officer_name if latest else None,
        )  # fmt: skip

    @classmethod
    def of_draft(cls, draft: Draft) -> CardFields:
        return cls(
            category=draft.category or "other", body=draft.text, place=draft.place,
            latitude=draft.latitude, longitude=draft.longitude, location_exact=draft.location_exact,
            occurred=draft.occurred, attachments=len(draft.attachments),
            files_with_metadata=sum(1 for a in draft.attachments if a.kind == "document" and not a.metadata_removed),
        )  # fmt: skip


def render(card: CardFields, zone: ZoneInfo) -> str:
    locale = current_locale()
    lines = []
    category = html.escape(_(CATEGORIES.get(card.category, CATEGORIES["other"])))
    if card.number is not None:
        # NOTE: {number} is the report's number, e.g. 12; {category} its category.
        heading = _("Report #{number}: {category}", number=str(card.number), category=category)
        lines.append(f"<b>{heading}</b>" + (" ‼️ " + _("URGENT") if card.urgent else ""))
    else:
        lines.append(f"<b>{category}</b>")
    if card.received_at is not None:
        when = format_datetime(card.received_at.astimezone(zone), "medium", locale=locale)
        lines.append(_("Received: {time}", time=f"{when} ({zone.key})"))
    if card.language:
        lines.append(_("Language: {language}", language=_language_name(card.language, locale)))
    if card.status:
        status = _(STATUS_LABELS.get(card.status, STATUS_LABELS[ReportStatus.NEW]))
        if card.changed_by:
            # NOTE: {status} is e.g. "Acknowledged"; {officer} the officer's name.
            status = _("{status} by {officer}", status=status, officer=html.escape(card.changed_by))
        lines.append(_("Status: {status}", status=status))
    what_happened = _("What happened:")
    body = _("The full text follows in the next message.") if text_is_separate(card.body) else neutralise(card.body)
    lines += ["", f"<b>{what_happened}</b>", f"{FSI}{body}{PDI}"]
    if card.place:
        lines += ["", _("Place: {place}", place=f"{FSI}{neutralise(card.place)}{PDI}")]
    if card.latitude is not None and card.longitude is not None:
        url = f"https://www.openstreetmap.org/?mlat={card.latitude:.5f}&mlon={card.longitude:.5f}#map=15/{card.latitude:.5f}/{card.longitude:.5f}"
        label = _("exact location") if card.location_exact else _("approximate location (about 1 km)")
        lines.append(_("Map: {link}", link=f'<a href="{url}">{label}</a>'))
    if card.occurred:
        occurred = _(OCCURRED_LABELS[card.occurred]) if card.occurred in OCCURRED_LABELS else neutralise(card.occurred)
        lines.append(_("When: {time}", time=occurred))
    if card.attachments:
        lines.append(ngettext("{n} attachment", "{n} attachments", card.attachments))
    if card.files_with_metadata:
        lines.append(
            ngettext(
                "{n} file is sent as it is: its hidden details (such as dates or authors) are not removed.",
                "{n} files are sent as they are: their hidden details (such as dates or authors) are not removed.",
                card.files_with_metadata,
            )
        )
    return "\n".join(lines)


def separate_text(body: str) -> str:
    """A long report text as its own message (HTML): neutralised and isolated like on the card."""
    return f"{FSI}{neutralise(body)}{PDI}"


def staff_buttons(report: Report) -> InlineKeyboardMarkup | None:
    """Acknowledge, close or mark as spam; data is language-neutral, e.g. `staff:ack:12`."""
    actions = []
    if report.status == ReportStatus.NEW:
        actions.append(InlineKeyboardButton(_("Acknowledge"), callback_data=f"staff:ack:{report.id}"))
    if report.status in (ReportStatus.NEW, ReportStatus.ACKNOWLEDGED):
        actions.append(InlineKeyboardButton(_("Close"), callback_data=f"staff:close:{report.id}"))
        actions.append(InlineKeyboardButton(_("Mark as spam"), callback_data=f"staff:spam:{report.id}"))
    return InlineKeyboardMarkup([actions]) if actions else None


def _language_name(code: str, in_locale: str) -> str:
    try:
        return Locale.parse(code).get_display_name(in_locale) or code
    except (UnknownLocaleError, ValueError):
        return code
