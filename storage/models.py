"""The schema. Nothing here may hold a community member's Telegram identity.

People are keyed by pseudonym; a reporter who wants replies is reachable only through an
encrypted link they opted into; officers are staff, not anonymous, and are named in audit events.
"""

from __future__ import annotations

from datetime import UTC, datetime
from enum import StrEnum

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    String,
    Text,
    TypeDecorator,
    false,
    func,
)
from sqlalchemy.engine import Dialect
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship

PSEUDONYM_LENGTH = 64  # hex of an HMAC-SHA256


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
    body: Mapped[str] = mapped_column(Text)
    place: Mapped[str | None] = mapped_column(Text)
    latitude: Mapped[float | None] = mapped_column(Float)
    longitude: Mapped[float | None] = mapped_column(Float)
    location_exact: Mapped[bool] = mapped_column(Boolean, default=False)
    occurred: Mapped[str | None] = mapped_column(Text)
    status: Mapped[str] = mapped_column(String(16), default=ReportStatus.NEW)
    # HMAC of the receipt code: the code itself is never stored.
    receipt_hash: Mapped[str] = mapped_column(String(64), unique=True)
    received_at: Mapped[datetime] = mapped_column(UTCDateTime())
    status_changed_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    staff_message_id: Mapped[int | None] = mapped_column(BigInteger)
    # Machine translation for officers, made by the translation jobs after the card is out.
    translation_status: Mapped[str] = mapped_column(String(16), default=TranslationStatus.PENDING)
    source_language: Mapped[str | None] = mapped_column(String(16))
    translation: Mapped[str | None] = mapped_column(Text)
    translation_note: Mapped[str | None] = mapped_column(String(64))  # why not translated
    translation_pivot: Mapped[bool] = mapped_column(Boolean, default=False)
    translation_agreement: Mapped[float | None] = mapped_column(Float)

    attachments: Mapped[list[Attachment]] = relationship(
        back_populates="report", cascade="all, delete-orphan", order_by="Attachment.id"
    )


class Attachment(Base):
    __tablename__ = "attachments"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    report_id: Mapped[int] = mapped_column(ForeignKey("reports.id", ondelete="CASCADE"), index=True)
    kind: Mapped[str] = mapped_column(String(16))  # photo, document, video, voice
    file_id: Mapped[str | None] = mapped_column(String(256))
    file_name: Mapped[str | None] = mapped_column(String(256))
    mime_type: Mapped[str | None] = mapped_column(String(128))
    # Metadata-free bytes of an image sent as a file, kept only until staff have it.
    cleaned_content: Mapped[bytes | None] = mapped_column(LargeBinary)
    metadata_removed: Mapped[bool] = mapped_column(Boolean, default=False)
    staff_message_id: Mapped[int | None] = mapped_column(BigInteger)

    report: Mapped[Report] = relationship(back_populates="attachments")


class ReporterLink(Base):
    """The reporter's chat, encrypted, stored only when they asked to be notified."""

    __tablename__ = "reporter_links"

    report_id: Mapped[int] = mapped_column(ForeignKey("reports.id", ondelete="CASCADE"), primary_key=True)
    sealed_chat: Mapped[bytes] = mapped_column(LargeBinary)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), server_default=func.now())


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
    body: Mapped[str] = mapped_column(Text)
    language: Mapped[str] = mapped_column(String(16))
    translation_status: Mapped[str] = mapped_column(String(16), default=TranslationStatus.PENDING)
    translation: Mapped[str | None] = mapped_column(Text)
    translation_note: Mapped[str | None] = mapped_column(String(64))
    translation_pivot: Mapped[bool] = mapped_column(Boolean, default=False)
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
    last_error: Mapped[str | None] = mapped_column(String(64))  # an exception type, never content
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), server_default=func.now())
    done_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    dead_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    dead_reason: Mapped[str | None] = mapped_column(String(64))  # Telegram's words, e.g. "Chat not found"
    # The staff group became a supergroup with this id while the message was sent: a note for
    # `outreach-bot status` until the bot runs with STAFF_CHAT_ID set to it.
    staff_chat_moved_to: Mapped[int | None] = mapped_column(BigInteger)


class AuditEvent(Base):
    """Who on the staff did what to a report. Officers are staff, so they are named."""

    __tablename__ = "audit_events"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    report_id: Mapped[int] = mapped_column(ForeignKey("reports.id", ondelete="CASCADE"), index=True)
    action: Mapped[str] = mapped_column(String(32))
    officer_id: Mapped[int] = mapped_column(BigInteger)
    officer_name: Mapped[str] = mapped_column(String(256))
    at: Mapped[datetime] = mapped_column(UTCDateTime(), server_default=func.now())
