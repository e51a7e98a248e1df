"""The schema. Nothing here may hold a community member's Telegram identity.

People are keyed by pseudonym; a reporter who wants replies is reachable only through an
encrypted link they opted into; officers are staff, not anonymous, and are named in audit events.
"""

from __future__ import annotations

import json
from datetime import UTC, date, datetime
from enum import StrEnum

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    Date,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    TypeDecorator,
    false,
    func,
)
from sqlalchemy.engine import Dialect
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship

from storage.encryption import EncryptedBytes, EncryptedFloat, EncryptedText, Purpose

PSEUDONYM_LENGTH = 64  # hex of an HMAC-SHA256
ORGANISATION_LENGTH = 200  # a partner organisation's name, as staff typed it


class UTCDateTime(TypeDecorator[datetime]):
    """Aware UTC datetimes on every engine; SQLite would otherwise drop the zone on the way in."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is not None and dialect.name == "sqlite":
            return value.astimezone(UTC).replace(tzinfo=None)
        return value

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is not None and value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value


class Base(DeclarativeBase):
    pass


class Preference(Base):
    """A person's saved choices: the language they picked, and whether they read the notice."""

    __tablename__ = "preferences"

    pseudonym: Mapped[str] = mapped_column(String(PSEUDONYM_LENGTH), primary_key=True)
    locale: Mapped[str | None] = mapped_column(String(16))
    notice_accepted: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    updated_at: Mapped[datetime] = mapped_column(
        UTCDateTime(), server_default=func.now(), onupdate=func.now()
    )


class ReportStatus(StrEnum):
    NEW = "new"
    ACKNOWLEDGED = "acknowledged"
    CLOSED = "closed"
    SPAM = "spam"


class TranslationStatus(StrEnum):
    PENDING = "pending"
    DONE = "done"
    FAILED = "failed"
    NOT_NEEDED = "not_needed"  # already in the reader's language


class Report(Base):
    __tablename__ = "reports"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)  # the report number officers see
    category: Mapped[str] = mapped_column(String(32))
    urgent: Mapped[bool] = mapped_column(Boolean, default=False)
    language: Mapped[str] = mapped_column(String(16))
    body: Mapped[str] = mapped_column(EncryptedText())
    place: Mapped[str | None] = mapped_column(EncryptedText())
    latitude: Mapped[float | None] = mapped_column(EncryptedFloat())
    longitude: Mapped[float | None] = mapped_column(EncryptedFloat())
    location_exact: Mapped[bool] = mapped_column(Boolean, default=False)
    occurred: Mapped[str | None] = mapped_column(EncryptedText())
    status: Mapped[str] = mapped_column(String(16), default=ReportStatus.NEW)
    # HMAC of the receipt code: the code itself is never stored.
    receipt_hash: Mapped[str] = mapped_column(String(64), unique=True)
    received_at: Mapped[datetime] = mapped_column(UTCDateTime())
    status_changed_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    staff_message_id: Mapped[int | None] = mapped_column(BigInteger)
    # The surge digest that listed the report instead of a card (bot/delivery/digest.py), until opened.
    digest_message_id: Mapped[int | None] = mapped_column(BigInteger)
    # Machine translation for officers, made by the translation jobs after the card is out.
    translation_status: Mapped[str] = mapped_column(String(16), default=TranslationStatus.PENDING)
    source_language: Mapped[str | None] = mapped_column(String(16))
    translation: Mapped[str | None] = mapped_column(EncryptedText())
    translation_note: Mapped[str | None] = mapped_column(String(64))  # why not translated
    translation_pivot: Mapped[bool] = mapped_column(Boolean, default=False)
    translation_agreement: Mapped[float | None] = mapped_column(Float)
    # A translation worker took the job until then (PostgreSQL; bot/translation/jobs.py).
    claimed_until: Mapped[datetime | None] = mapped_column(UTCDateTime())
    # The sender's pseudonym, so officers can block them (bot.blocks). Encrypted with a fresh IV
    # each time: two reports of one person do not look related. None before blocking existed.
    sender: Mapped[str | None] = mapped_column(EncryptedText())
    # Set only for a report a partner chose to file as a partner (not anonymous by design): the
    # organisation officers see on the card. Never counted in report_facts.
    partner_organisation: Mapped[str | None] = mapped_column(String(ORGANISATION_LENGTH))

    attachments: Mapped[list[Attachment]] = relationship(
        back_populates="report", cascade="all, delete-orphan", order_by="Attachment.id"
    )


class Attachment(Base):
    __tablename__ = "attachments"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    report_id: Mapped[int] = mapped_column(ForeignKey("reports.id", ondelete="CASCADE"), index=True)
    kind: Mapped[str] = mapped_column(String(16))  # photo, document, video, voice
    file_id: Mapped[str | None] = mapped_column(EncryptedText())
    file_name: Mapped[str | None] = mapped_column(EncryptedText())
    mime_type: Mapped[str | None] = mapped_column(String(128))
    # Metadata-free bytes of an image sent as a file, kept only until staff have it.
    cleaned_content: Mapped[bytes | None] = mapped_column(EncryptedBytes())
    metadata_removed: Mapped[bool] = mapped_column(Boolean, default=False)
    staff_message_id: Mapped[int | None] = mapped_column(BigInteger)

    report: Mapped[Report] = relationship(back_populates="attachments")


class ReporterLink(Base):
    """The reporter's chat, encrypted, stored only when they asked to be notified."""

    __tablename__ = "reporter_links"

    report_id: Mapped[int] = mapped_column(ForeignKey("reports.id", ondelete="CASCADE"), primary_key=True)
    # Sealed twice: bound to the report by bot.crypto.Keys.seal_chat, then encrypted at rest
    # under the rotating key generation like every other encrypted column.
    sealed_chat: Mapped[bytes] = mapped_column(EncryptedBytes(Purpose.REPORTER_LINK))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), server_default=func.now())


class KeyGeneration(Base):
    """A generation of the keys that encrypt columns at rest (storage/encryption.py); the newest
    seals new values, and `outreach-bot keys rotate` starts the next one."""

    __tablename__ = "key_generations"

    generation: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), server_default=func.now())
    retired_at: Mapped[datetime | None] = mapped_column(UTCDateTime())  # no value is sealed under it


class MessageAuthor(StrEnum):
    OFFICER = "officer"
    REPORTER = "reporter"


class ReportMessage(Base):
    """One message of the dialog about a report, in the writer's language and translated."""

    __tablename__ = "report_messages"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    report_id: Mapped[int] = mapped_column(ForeignKey("reports.id", ondelete="CASCADE"), index=True)
    author: Mapped[str] = mapped_column(String(16))
    officer_id: Mapped[int | None] = mapped_column(BigInteger)  # officers are staff, not anonymous
    officer_name: Mapped[str | None] = mapped_column(String(256))
    body: Mapped[str] = mapped_column(EncryptedText())
    language: Mapped[str] = mapped_column(String(16))
    translation_status: Mapped[str] = mapped_column(String(16), default=TranslationStatus.PENDING)
    translation: Mapped[str | None] = mapped_column(EncryptedText())
    translation_note: Mapped[str | None] = mapped_column(String(64))
    translation_pivot: Mapped[bool] = mapped_column(Boolean, default=False)
    claimed_until: Mapped[datetime | None] = mapped_column(UTCDateTime())  # as Report's
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), server_default=func.now())
    delivered_at: Mapped[datetime | None] = mapped_column(UTCDateTime())  # reached the other side
    picked_up_at: Mapped[datetime | None] = mapped_column(UTCDateTime())  # read through /status
    staff_message_id: Mapped[int | None] = mapped_column(BigInteger)  # where it stands in the staff chat


class OutboxKind(StrEnum):
    CARD = "card"  # the report's card in the staff chat
    REPORT_TEXT = "report_text"  # a text too long for the card, as a reply to it
    TRANSLATION = "translation"  # the machine translation (or why there is none), as a reply
    TO_REPORTER = "to_reporter"  # an officer's message, translated, to an opted-in reporter
    TO_STAFF = "to_staff"  # a reporter's answer, translated, as a reply to the card
    STAFF_NOTE = "staff_note"  # "sent" or "waiting for pickup", as a reply to the officer
    ATTACHMENT = "attachment"  # one attachment, as a reply to the card
    CARD_UPDATE = "card_update"  # re-render the card after a status change
    REPORTER_NOTICE = "reporter_notice"  # tell an opted-in reporter about a status change


class OutboxMessage(Base):
    """A message the bot owes someone. The delivery loop sends it; it is done when delivered, or
    when it cannot be delivered because the reporter blocked the bot. A message Telegram will
    refuse every time (a bad request) is dead instead: kept, never retried, shown by
    `outreach-bot status`."""

    __tablename__ = "outbox"
    __table_args__ = (Index("ix_outbox_due", "done_at", "priority", "id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    kind: Mapped[str] = mapped_column(String(32))
    report_id: Mapped[int] = mapped_column(ForeignKey("reports.id", ondelete="CASCADE"), index=True)
    attachment_id: Mapped[int | None] = mapped_column(ForeignKey("attachments.id", ondelete="CASCADE"))
    message_id: Mapped[int | None] = mapped_column(Integer)  # a report_messages row, for dialog kinds
    payload: Mapped[dict] = mapped_column(JSON, default=dict)
    priority: Mapped[int] = mapped_column(Integer, default=1)  # 0 = urgent, first
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    not_before: Mapped[datetime | None] = mapped_column(UTCDateTime())
    # A delivery loop took it until then, to send it (PostgreSQL; OutboxRepository.claim).
    claimed_until: Mapped[datetime | None] = mapped_column(UTCDateTime())
    last_error: Mapped[str | None] = mapped_column(String(64))  # an exception type, never content
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), server_default=func.now())
    done_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    dead_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    dead_reason: Mapped[str | None] = mapped_column(String(64))  # Telegram's words, e.g. "Chat not found"
    # The staff group became a supergroup with this id while the message was sent: a note for
    # `outreach-bot status` until the bot runs with STAFF_CHAT_ID set to it.
    staff_chat_moved_to: Mapped[int | None] = mapped_column(BigInteger)


class AuditEvent(Base):
    """One event of the append-only audit log: an officer's action, a configuration change at
    start-up, a purge, a key rotation. Each holds the keyed hash of the event before it (bot.audit),
    so an edit or a deletion shows. Officers are staff, so they are named; no reporter identity and
    no report content is ever here. Events outlive reports: `report_id` is a number, not a key."""

    __tablename__ = "audit_events"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    at: Mapped[datetime] = mapped_column(UTCDateTime())
    action: Mapped[str] = mapped_column(String(32))
    report_id: Mapped[int | None] = mapped_column(Integer, index=True)
    officer_id: Mapped[int | None] = mapped_column(BigInteger)  # None for the system's own events
    officer_name: Mapped[str | None] = mapped_column(String(256))
    detail: Mapped[str | None] = mapped_column(Text)  # e.g. "reports=12 links=3", never content
    # None only for events recorded before the chain existed (migration 0006).
    prev_hash: Mapped[str | None] = mapped_column(String(64))
    hash: Mapped[str | None] = mapped_column(String(64))

    def signed_content(self) -> bytes:
        """What `hash` covers, encoded so that no two different events encode alike."""
        fields = [self.prev_hash, self.id, self.at.astimezone(UTC).isoformat(), self.action, self.report_id,
                  self.officer_id, self.officer_name, self.detail]  # fmt: skip
        return json.dumps(fields, ensure_ascii=False, separators=(",", ":")).encode()


class BlockedSender(Base):
    """A pseudonym whose reports and messages officers refused. No report number here: it would
    tie the pseudonym to a report for anyone who reads the database."""

    __tablename__ = "blocked_senders"

    pseudonym: Mapped[str] = mapped_column(String(PSEUDONYM_LENGTH), primary_key=True)
    blocked_at: Mapped[datetime] = mapped_column(UTCDateTime())
    officer_id: Mapped[int] = mapped_column(BigInteger)  # officers are staff, not anonymous
    officer_name: Mapped[str] = mapped_column(String(256))


class ProcessedUpdate(Base):
    """A Telegram update whose effects are committed: written in the same transaction as them
    (storage.unit_of_work), so a redelivered update is recognised and not run twice."""

    __tablename__ = "processed_updates"

    update_id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    processed_at: Mapped[datetime] = mapped_column(UTCDateTime(), index=True)


class Feedback(StrEnum):
    """A reporter's answer to "Did you feel heard?" after their report was closed."""

    YES = "yes"
    PARTLY = "partly"
    NO = "no"


class ReportFact(Base):
    """What /transparency and /stats count about one report: never its content, its reporter or
    its exact time. It outlives the report (retention keeps it for FACTS_KEPT_DAYS), so the
    number is a plain column, not a key."""

    __tablename__ = "report_facts"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    report_number: Mapped[int] = mapped_column(Integer, unique=True)
    received_on: Mapped[date] = mapped_column(Date, index=True)  # the UTC day, no time
    category: Mapped[str] = mapped_column(String(32))
    language: Mapped[str] = mapped_column(String(16))
    status: Mapped[str] = mapped_column(String(16))
    # From receipt to the first officer who acknowledged or closed it; None until then, and for spam.
    acknowledged_after_seconds: Mapped[int | None] = mapped_column(Integer)
    feedback: Mapped[str | None] = mapped_column(String(8))


class PartnerInvite(Base):
    """A single-use invite for a private-security partner, made by staff (/partner_invite). Only
    the keyed hash of the code is stored (bot.crypto.Keys.invite_hash), never the code, and
    nothing about who redeemed it."""

    __tablename__ = "partner_invites"

    code_hash: Mapped[str] = mapped_column(String(64), primary_key=True)
    organisation: Mapped[str] = mapped_column(String(ORGANISATION_LENGTH), index=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    used_at: Mapped[datetime | None] = mapped_column(UTCDateTime())  # None while it can be redeemed


class Partner(Base):
    """A person who redeemed an invite: their pseudonym and the organisation, nothing more."""

    __tablename__ = "partners"

    pseudonym: Mapped[str] = mapped_column(String(PSEUDONYM_LENGTH), primary_key=True)
    organisation: Mapped[str] = mapped_column(String(ORGANISATION_LENGTH), index=True)
