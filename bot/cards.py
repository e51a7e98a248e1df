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
from bot.i18n import FSI, N_, PDI, _, formatting_locale, ngettext
from bot.reports import Draft, text_is_separate
from bot.telegram_text import TEXT_LIMIT, split_text, utf16_len
from bot.translation.translator import language_code
from storage.models import AuditEvent, BlockedSender, Report, ReportMessage, ReportStatus

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
    sender_blocked_by: str | None = None  # the officer; never anything about the sender
    organisation: str | None = None  # filed by a partner of it, as a partner: not anonymous

    @classmethod
    def of_report(cls, report: Report, latest: AuditEvent | None, block: BlockedSender | None = None) -> CardFields:
        return cls(
            category=report.category, body=report.body, place=report.place, latitude=report.latitude,
            longitude=report.longitude, location_exact=report.location_exact, occurred=report.occurred,
            attachments=len(report.attachments), number=report.id, urgent=report.urgent,
            language=report.language, received_at=report.received_at, status=report.status,
            changed_by=latest.officer_name if latest else None,
            sender_blocked_by=block.officer_name if block else None, organisation=report.partner_organisation,
        )  # fmt: skip

    @classmethod
    def of_draft(cls, draft: Draft) -> CardFields:
        return cls(
            category=draft.category or "other", body=draft.text, place=draft.place,
            latitude=draft.latitude, longitude=draft.longitude, location_exact=draft.location_exact,
            occurred=draft.occurred, attachments=len(draft.attachments),
            files_with_metadata=sum(1 for a in draft.attachments if a.kind == "document" and not a.metadata_removed),
            organisation=draft.partner_organisation,
        )  # fmt: skip


def render(card: CardFields, zone: ZoneInfo) -> str:
    locale = formatting_locale()
    lines = []
    category = html.escape(_(CATEGORIES.get(card.category, CATEGORIES["other"])))
    if card.number is not None:
        # NOTE: {number} is the report's number, e.g. 12; {category} its category.
        heading = _("Report #{number}: {category}", number=str(card.number), category=category)
        lines.append(f"<b>{heading}</b>" + (" ‼️ " + _("URGENT") if card.urgent else ""))
    else:
        lines.append(f"<b>{category}</b>")
    if card.received_at is not None:
        when = format_datetime(card.received_at.astimezone(zone), "medium", locale=locale) + f" ({zone.key})"
        lines.append(_("Received: {time}", time=when))
    if card.language:
        lines.append(_("Language: {language}", language=language_name(card.language, locale)))
    if card.status:
        status = _(STATUS_LABELS.get(card.status, STATUS_LABELS[ReportStatus.NEW]))
        if card.changed_by:
            # NOTE: {status} is e.g. "Acknowledged"; {officer} the officer's name.
            status = _("{status} by {officer}", status=status, officer=html.escape(card.changed_by))
        lines.append(_("Status: {status}", status=status))
    if card.organisation:
        # NOTE: {organisation} is the private-security firm whose partner filed the report as a
        # partner, by their own choice: such a report is not anonymous.
        organisation = f"{FSI}{neutralise(card.organisation)}{PDI}"
        lines.append("🤝 " + _("Partner report from {organisation}: not anonymous, officers can write to the reporter.", organisation=organisation))
    if card.sender_blocked_by:
        # NOTE: {officer} is the name of the officer who blocked the sender of this report.
        lines.append("⛔ " + _("Sender blocked by {officer}", officer=html.escape(card.sender_blocked_by)))
    what_happened = _("What happened:")
    separate = text_is_separate(card.body, card.place, card.occurred)
    body = _("The full text follows in the next message.") if separate else neutralise(card.body)
    lines += ["", f"<b>{what_happened}</b>", f"{FSI}{body}{PDI}"]
    if card.place:
        place = f"{FSI}{neutralise(card.place)}{PDI}"
        lines += ["", _("Place: {place}", place=place)]
    if card.latitude is not None and card.longitude is not None:
        url = f"https://www.openstreetmap.org/?mlat={card.latitude:.5f}&mlon={card.longitude:.5f}#map=15/{card.latitude:.5f}/{card.longitude:.5f}"
        label = _("exact location") if card.location_exact else _("approximate location (about 1 km)")
        link = f'<a href="{url}">{label}</a>'
        lines.append(_("Map: {link}", link=link))
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


def separate_text(body: str) -> list[str]:
    """A long report text as its own messages (HTML): neutralised and isolated like on the card,
    each as long as Telegram takes (the isolates count too)."""
    return _isolated_parts(body, TEXT_LIMIT - len(FSI + PDI))


def staff_buttons(report: Report, block: BlockedSender | None = None) -> InlineKeyboardMarkup | None:
    """Acknowledge, close or mark as spam; data is language-neutral, e.g. `staff:ack:12`. Block
    sender (or its undo) sits alone on the last row, away from the everyday buttons; a report
    filed before blocking existed has no sender to block."""
    actions = []
    if report.status == ReportStatus.NEW:
        actions.append(InlineKeyboardButton(_("Acknowledge"), callback_data=f"staff:ack:{report.id}"))
    if report.status in (ReportStatus.NEW, ReportStatus.ACKNOWLEDGED):
        actions.append(InlineKeyboardButton(_("Close"), callback_data=f"staff:close:{report.id}"))
        actions.append(InlineKeyboardButton(_("Mark as spam"), callback_data=f"staff:spam:{report.id}"))
    rows = [actions] if actions else []
    if report.status != ReportStatus.SPAM:
        rows.append([InlineKeyboardButton(_("Message reporter"), callback_data=f"staff:msg:{report.id}")])
    if block is not None:
        rows.append([InlineKeyboardButton(_("Unblock sender"), callback_data=f"staff:unblock:{report.id}")])
    elif report.sender is not None:
        rows.append([InlineKeyboardButton(_("Block sender"), callback_data=f"staff:block:{report.id}")])
    return InlineKeyboardMarkup(rows) if rows else None


def language_name(code: str, in_locale: str) -> str:
    """A report's language named in `in_locale`, e.g. "Spanish"; the code if CLDR has no name."""
    try:
        return Locale.parse(code).get_display_name(in_locale) or code
    except (UnknownLocaleError, ValueError):
        return code


UNTRANSLATED_REASONS = {
    "no_model": N_("no offline model for this language is installed"),
    "unsafe_package": N_("the installed model would need the internet, so it is not used"),
    "timeout": N_("the translation took too long"),
    "worker_stopped": N_("the translation service stopped; it starts again for the next text"),
    "worker_not_started": N_("the translation service could not start"),
}
MESSAGE_PART = 3500  # UTF-16 units: leaves room for a heading within Telegram's 4,096
# Below this share of words surviving the round trip (there and back), officers are warned.
ROUND_TRIP_WARNING = 0.35


UNTRANSLATED_OTHERWISE = N_("the translation service failed")


def untranslated(reason: str | None) -> str:
    return _(UNTRANSLATED_REASONS.get(reason or "", UNTRANSLATED_OTHERWISE))


def translation_messages(report: Report, officer_locale: str) -> list[str]:
    """The machine translation of a report for officers (HTML), split into messages that fit."""
    if report.translation is None:
        return [_("Report #{number} was not translated: {reason}.", number=str(report.id), reason=untranslated(report.translation_note))]
    pair = f"{report.source_language} → {language_code(officer_locale)}"
    # NOTE: {pair} is e.g. "so → en"; the translation is made on this server, no cloud service.
    heading = _("Machine translation of report #{number} ({pair}, offline):", number=str(report.id), pair=pair)
    if report.translation_pivot:
        heading += " " + _("(through English: there is no direct model)")
    messages = _isolated_parts(report.translation)
    messages[0] = f"<b>{heading}</b>\n{messages[0]}"
    if report.translation_agreement is not None and report.translation_agreement < ROUND_TRIP_WARNING:
        messages[-1] += "\n\n⚠️ " + _("Translated back, this text differs a lot from the original. Ask a speaker to check it.")
    return messages


def dialog_messages(heading: str, message: ReportMessage, *, with_original: bool) -> list[str]:
    """A dialog message as the other side reads it (HTML parts that each fit a message): the
    translation, or the original with why it was not translated; officers also get the original."""
    shown = message.translation if message.translation is not None else message.body
    parts = _isolated_parts(shown)
    parts[0] = f"<b>{heading}</b>\n{parts[0]}"
    if message.translation is not None:
        parts[-1] += "\n<i>" + _("(machine translation, made on this server)") + "</i>"
        if with_original:
            original = _isolated_parts(message.body)
            original[0] = "<b>" + _("Original ({language}):", language=message.language) + f"</b>\n{original[0]}"
            parts += original
    elif message.translation_note:
        parts[-1] += "\n<i>" + _("Not translated: {reason}.", reason=untranslated(message.translation_note)) + "</i>"
    return _joined(parts)


def _joined(parts: list[str]) -> list[str]:
    """Neighbouring parts that fit one message together are sent as one."""
    joined: list[str] = []
    for part in parts:
        # The HTML is measured as it is: never less than what Telegram counts after parsing it.
        if joined and utf16_len(joined[-1]) + utf16_len(part) + 2 <= TEXT_LIMIT:
            joined[-1] += "\n\n" + part
        else:
            joined.append(part)
    return joined


def officer_heading(report_id: int, message: ReportMessage, names_visible: bool) -> str:
    """Who wrote, as the reporter sees it: "Officers" unless the agency shows officers' names."""
    if names_visible and message.officer_name:
        # NOTE: {officer} is the officer's name as set in Telegram, shown only if the agency allows it.
        return _("{officer} wrote about your report #{number}:", officer=html.escape(message.officer_name), number=str(report_id))
    return _("Officers wrote about your report #{number}:", number=str(report_id))


def _isolated_parts(text: str, limit: int = MESSAGE_PART) -> list[str]:
    # Split the plain text first, so no cut can fall inside an escaped character or a tag.
    return [f"{FSI}{neutralise(part)}{PDI}" for part in split_text(text, limit)]
