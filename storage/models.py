"""The schema. Nothing here may hold a Telegram identity: people are keyed by pseudonym."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import DateTime, String, func
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

PSEUDONYM_LENGTH = 64  # hex of an HMAC-SHA256


class Base(DeclarativeBase):
    pass


class Preference(Base):
    """A person's saved choices; today only the language they picked."""

    __tablename__ = "preferences"

    pseudonym: Mapped[str] = mapped_column(String(PSEUDONYM_LENGTH), primary_key=True)
    locale: Mapped[str] = mapped_column(String(16))
    updated_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), server_default=func.now(), onupdate=func.now()
    )
