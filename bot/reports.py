"""Reports: drafts in memory, submission in one transaction, status changes that notify.

Drafts are keyed by pseudonym and never written anywhere; a submitted report carries no identity.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import UTC, datetime

from bot.blocks import SenderBlocked, is_blocked
from bot.crypto import Keys, new_receipt_code
from bot.telegram_text import utf16_len
from storage.models import (
    Attachment,
    Feedback,
    MessageAuthor,
    OutboxKind,
    OutboxMessage,
    Report,
    ReportFact,
    ReportMessage,
    ReportStatus,
    TranslationStatus,
)
from storage.unit_of_work import UnitOfWork

MAX_TEXT = 4000
MAX_ATTACHMENTS = 5
MAX_FILE_BYTES = 20 * 1024 * 1024  # what a bot may download from Telegram
COARSE_DEGREES = 0.01  # about 1.1 km north-south; less east-west away from the equator
OCCURRED_CHOICES = ("now", "today", "earlier")
NOTIFY_ON = (ReportStatus.ACKNOWLEDGED, ReportStatus.CLOSED)
# Telegram caps a message at 4,096 UTF-16 units. When the text, place and time are longer than
# this together, the text leaves the card room for its other fields and travels as its own
# messages, replying to the card.
CARD_TEXT_LIMIT = 3000


@dataclass
class DraftAttachment:
    kind: str  # photo, document, video, voice
    file_id: str
    file_name: str | None = None
    mime_type: str | None = None
    cleaned_content: bytes | None = None  # set when metadata was removed

    @property
    def metadata_removed(self) -> bool:
        return self.cleaned_content is not None


@dataclass
class Draft:
    category: str | None = None
    text: str = ""
    attachments: list[DraftAttachment] = field(default_factory=list)
    pending_voice: DraftAttachment | None = None
    voice_warned: bool = False
    place: str | None = None
    latitude: float | None = None
    longitude: float | None = None
    location_exact: bool = False
    occurred: str | None = None
    editing: bool = False  # back to review after the step being edited
    pending_caption: str = ""  # words sent with the voice message awaiting its warning
    paused_at: int | None = None  # the step to go back to, while the person does something else
    submitted_report_id: int | None = None  # waiting for the notify-me choice
    receipt_code: str | None = None  # kept only until the reporter has been shown it
    # A partner's choice to file as a partner of this organisation; None files anonymously.
    partner_organisation: str | None = None


# C0 and C1 control characters but tab and newline: invisible, able to break a card, and NUL is
# refused by PostgreSQL in text.
_CONTROL = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f]")
_INVISIBLE = "\u200b\u200c\u200d\u2060\ufeff\u180e"


def clean_input(text: str) -> str:
    """What a person typed, without control characters or blank space around it; "" if nothing
    is left to read."""
    text = _CONTROL.sub("", _without_lone_surrogates(text).replace("\r\n", "\n")).strip()
    return text if text.strip(_INVISIBLE).strip() else ""


def _without_lone_surrogates(text: str) -> str:
    """Half of a UTF-16 pair (a broken client) becomes U+FFFD: neither the database nor Telegram
    takes it, so the report could never be saved or shown."""
    return text.encode("utf-16-le", "surrogatepass").decode("utf-16-le", "replace")


def text_is_separate(body: str, place: str | None, occurred: str | None) -> bool:
    return sum(utf16_len(part or "") for part in (body, place, occurred)) > CARD_TEXT_LIMIT


def coarsen(latitude: float, longitude: float) -> tuple[float, float]:
    """Snap a point to a grid of about 1 km, so it names an area rather than a doorstep."""
    return round(latitude / COARSE_DEGREES) * COARSE_DEGREES, round(longitude / COARSE_DEGREES) * COARSE_DEGREES


async def submit(
    uow: UnitOfWork, draft: Draft, *, sender: str, language: str, urgent: bool, keys: Keys, translate: bool,
    chat_id: int | None = None,
) -> tuple[Report, str]:
    """Write the report and its staff deliveries in one transaction; return it with its receipt code.

    Only after this returns is the reporter told the report was received. `sender` is the
    reporter's pseudonym, stored encrypted so that officers can block them (bot.blocks); a
    blocked sender's report is refused with SenderBlocked, and nothing is written.

    A draft a partner chose to file as a partner carries its organisation, which the report
    keeps only if the sender is still a partner of it (staff may have revoked them meanwhile:
    then it is filed anonymously, like anyone's); such a report keeps a reporter link to
    `chat_id`, so officers can write to the partner. `draft.partner_organisation` is left as
    what was filed.
    """
    if await is_blocked(uow, sender):
        raise SenderBlocked
    organisation = draft.partner_organisation
    if organisation is not None and await uow.partners.organisation_of(sender) != organisation:
        organisation = draft.partner_organisation = None
    code = new_receipt_code()
    report = await uow.reports.add(
        Report(
            sender=sender,
            category=draft.category,
            urgent=urgent,
            language=language,
            body=draft.text,
            place=draft.place,
            latitude=draft.latitude,
            longitude=draft.longitude,
            location_exact=draft.location_exact,
            occurred=draft.occurred,
            status=ReportStatus.NEW,
            translation_status=TranslationStatus.PENDING if translate else TranslationStatus.NOT_NEEDED,
            receipt_hash=keys.receipt_hash(code),
            received_at=datetime.now(UTC),
            partner_organisation=organisation,
            attachments=[
                Attachment(
                    kind=a.kind,
                    file_id=a.file_id,
                    file_name=a.file_name,
                    mime_type=a.mime_type,
                    cleaned_content=a.cleaned_content,
                    metadata_removed=a.metadata_removed,
                )
                for a in draft.attachments
            ],
        )
    )
    uow.facts.add(ReportFact(report_number=report.id, received_on=report.received_at.date(), category=report.category,
                             language=language, status=ReportStatus.NEW))  # fmt: skip
    if organisation is not None and chat_id is not None:  # not anonymous by the partner's choice
        await uow.reporter_links.add(report.id, keys.seal_chat(chat_id, report.id))
    priority = 0 if urgent else 1
    uow.outbox.add(OutboxMessage(kind=OutboxKind.CARD, report_id=report.id, priority=priority, payload={}))
    if text_is_separate(report.body, report.place, report.occurred):
        uow.outbox.add(OutboxMessage(kind=OutboxKind.REPORT_TEXT, report_id=report.id, priority=priority, payload={}))
    for attachment in report.attachments:
        uow.outbox.add(
            OutboxMessage(
                kind=OutboxKind.ATTACHMENT, report_id=report.id, attachment_id=attachment.id,
                priority=priority, payload={},
            )
        )  # fmt: skip
    await uow.commit()
    return report, code


# Statuses only move forward, new → acknowledged → closed | spam: each one and where it may come from.
REACHABLE_FROM = {
    ReportStatus.ACKNOWLEDGED: (ReportStatus.NEW,),
    ReportStatus.CLOSED: (ReportStatus.NEW, ReportStatus.ACKNOWLEDGED),
    ReportStatus.SPAM: (ReportStatus.NEW, ReportStatus.ACKNOWLEDGED),
}


async def change_status(uow: UnitOfWork, report: Report, status: ReportStatus, officer_id: int, officer_name: str) -> bool:
    """Record who changed what, re-render the card, and tell an opted-in reporter.

    Any other move (to the same status, back, or between closed and spam), as an older card's
    button asks for, changes nothing, records nothing, tells nobody and returns False.
    """
    if report.status not in REACHABLE_FROM.get(status, ()):
        return False
    report.status = status
    report.status_changed_at = datetime.now(UTC)
    if (fact := await uow.facts.of_report(report.id)) is not None:  # none for reports purged of it
        fact.status = status
        if status != ReportStatus.SPAM and fact.acknowledged_after_seconds is None:
            fact.acknowledged_after_seconds = int((report.status_changed_at - report.received_at).total_seconds())
    uow.outbox.add(OutboxMessage(kind=OutboxKind.CARD_UPDATE, report_id=report.id, priority=1, payload={}))
    if status in NOTIFY_ON and await uow.reporter_links.sealed_chat(report.id):
        uow.outbox.add(
            OutboxMessage(kind=OutboxKind.REPORTER_NOTICE, report_id=report.id, priority=1, payload={"status": status})
        )
    await uow.audit.append(status, report_id=report.id, officer_id=officer_id, officer_name=officer_name)
    await uow.commit()
    return True


async def record_feedback(uow: UnitOfWork, report_number: int, feedback: Feedback) -> bool:
    """The reporter's answer to "Did you feel heard?"; only the first counts. False if there was one."""
    fact = await uow.facts.of_report(report_number)
    if fact is None or fact.feedback is not None:
        return False
    fact.feedback = feedback
    await uow.commit()
    return True


async def link_reporter(uow: UnitOfWork, report_id: int, sealed_chat: bytes) -> None:
    """The reporter opted in to notices: keep their chat, sealed for this one report."""
    await uow.reporter_links.add(report_id, sealed_chat)
    await uow.commit()


async def forget_reporter(uow: UnitOfWork, report_id: int) -> None:
    await uow.reporter_links.delete(report_id)
    await uow.commit()


async def mark_picked_up(uow: UnitOfWork, messages: list[ReportMessage]) -> None:
    """Officers' messages the reporter has now read with /status."""
    now = datetime.now(UTC)
    for message in messages:
        message.picked_up_at = message.picked_up_at or now
    await uow.commit()


async def add_officer_message(
    uow: UnitOfWork, report: Report, body: str, *, officer_id: int, officer_name: str, language: str,
    staff_message_id: int, translate: bool,
) -> None:  # fmt: skip
    message = ReportMessage(
        author=MessageAuthor.OFFICER, officer_id=officer_id, officer_name=officer_name, body=body,
        language=language, staff_message_id=staff_message_id,
    )  # fmt: skip
    await _add_dialog_message(uow, report, message, translate=translate)
    await uow.audit.append("officer_message", report_id=report.id, officer_id=officer_id, officer_name=officer_name)
    await uow.commit()


async def add_reporter_message(uow: UnitOfWork, report: Report, body: str, *, language: str, translate: bool) -> None:
    message = ReportMessage(author=MessageAuthor.REPORTER, body=body, language=language)
    await _add_dialog_message(uow, report, message, translate=translate)
    await uow.commit()


async def _add_dialog_message(uow: UnitOfWork, report: Report, message: ReportMessage, *, translate: bool) -> None:
    """Store one message of the dialog, for the caller to commit; the translation jobs take it
    from there, or, without translation, it is queued for delivery at once."""
    message.report_id = report.id
    message.translation_status = TranslationStatus.PENDING if translate else TranslationStatus.NOT_NEEDED
    await uow.messages.add(message)
    if not translate:
        await queue_dialog_delivery(uow, report, message)


async def queue_dialog_delivery(uow: UnitOfWork, report: Report, message: ReportMessage) -> None:
    """A reporter's words go to the staff chat; an officer's to the reporter if they can be
    reached, otherwise a note tells the officer it waits for /status."""
    if message.author == MessageAuthor.REPORTER:
        kind = OutboxKind.TO_STAFF
    elif await uow.reporter_links.sealed_chat(report.id):
        kind = OutboxKind.TO_REPORTER
    else:
        kind = OutboxKind.STAFF_NOTE
    uow.outbox.add(OutboxMessage(kind=kind, report_id=report.id, message_id=message.id, priority=1, payload={}))


class Drafts:
    """Unfinished reports, in memory only, keyed by pseudonym."""

    def __init__(self) -> None:
        self._drafts: dict[str, Draft] = {}

    def start(self, pseudonym: str) -> Draft:
        self._drafts[pseudonym] = draft = Draft()
        return draft

    def submitted(self, pseudonym: str, report_id: int, receipt_code: str) -> Draft:
        """What memory keeps once the report is in the database: its number, and its code until
        shown, so that a confirmation Telegram failed to deliver can be shown again."""
        self._drafts[pseudonym] = draft = Draft(submitted_report_id=report_id, receipt_code=receipt_code)
        return draft

    def get(self, pseudonym: str) -> Draft | None:
        return self._drafts.get(pseudonym)

    def discard(self, pseudonym: str) -> None:
        self._drafts.pop(pseudonym, None)
