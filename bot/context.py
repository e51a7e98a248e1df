"""The typed CallbackContext through which handlers reach their dependencies."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass, field

from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker
from telegram import User
from telegram.ext import Application, CallbackContext, ExtBot

from bot.background import WakeableLoop
from bot.cleaning import PictureCleaner
from bot.config import Settings
from bot.crypto import Keys
from bot.downloads import FileDownloader
from bot.expiring import ExpiringMap
from bot.i18n import I18n, current_locale
from bot.limits import Limits
from bot.outreach.profile import AgencyProfile, Localized
from bot.outreach.texts import ProfileTexts
from bot.preferences import SavedLocales
from bot.reports import Drafts
from bot.staff_chat import StaffChat
from bot.web.metrics import Metrics
from storage.models import OutboxMessage, Report, ReportMessage
from storage.unit_of_work import UnitOfWork

# An officer can answer a "Message reporter" prompt for this long; later, they reply to the card.
PROMPT_SECONDS = 7 * 24 * 3600
MEMORY_LIMIT = 10_000  # entries in each in-memory map

_unit_of_work: ContextVar[UnitOfWork] = ContextVar("unit_of_work")


@dataclass(frozen=True)
class Services:
    """Everything a handler may need, built once by bot.application."""

    settings: Settings
    profile: AgencyProfile
    profile_texts: ProfileTexts  # the profile's free text in each reader's language
    i18n: I18n
    keys: Keys
    engine: AsyncEngine
    sessions: async_sessionmaker[AsyncSession]
    limits: Limits
    staff_chat: StaffChat
    drafts: Drafts = field(default_factory=Drafts)
    saved_locales: SavedLocales = field(default_factory=SavedLocales)
    # Set by a commit that added work (see unit_of_work), so the loops look at once.
    delivery_wakeup: asyncio.Event = field(default_factory=asyncio.Event)
    translation_wakeup: asyncio.Event = field(default_factory=asyncio.Event)
    pictures: PictureCleaner = field(default_factory=PictureCleaner)
    downloads: FileDownloader = field(default_factory=FileDownloader)
    # Pseudonym → the report a reporter is writing an answer to; in memory only.
    # Forgotten when the answer conversation times out (DRAFT_TIMEOUT_MINUTES), at the latest.
    answering: ExpiringMap[str, int] = field(default_factory=lambda: ExpiringMap(PROMPT_SECONDS, MEMORY_LIMIT))
    # Staff-chat message id of a "Message reporter" prompt → its report.
    dialog_prompts: ExpiringMap[int, int] = field(default_factory=lambda: ExpiringMap(PROMPT_SECONDS, MEMORY_LIMIT))
    metrics: Metrics = field(default_factory=Metrics)

    def unit_of_work(self) -> UnitOfWork:
        """A unit of work whose commits wake the loops that have new work: new outbox rows wake
        delivery, new reports and dialog messages the translation jobs."""
        wake_translation = self.translation_wakeup.set
        return UnitOfWork(
            self.sessions,
            {OutboxMessage: self.delivery_wakeup.set, Report: wake_translation, ReportMessage: wake_translation},
            audit_signer=self.keys.audit_hash,
        )


@contextmanager
def unit_of_work_for_update(uow: UnitOfWork) -> Iterator[None]:
    token = _unit_of_work.set(uow)
    try:
        yield
    finally:
        _unit_of_work.reset(token)


def current_unit_of_work() -> UnitOfWork | None:
    """The unit of work of the update being handled in this task, if any."""
    return _unit_of_work.get(None)


class BotData:
    """PTB's bot_data, typed: what the application keeps for its whole life."""

    services: Services
    delivery: WakeableLoop
    translation_jobs: WakeableLoop | None = None


class BotContext(CallbackContext[ExtBot[None], dict, dict, BotData]):
    @property
    def services(self) -> Services:
        return services_of(self.application)

    @property
    def settings(self) -> Settings:
        return self.services.settings

    @property
    def profile(self) -> AgencyProfile:
        return self.services.profile

    def shown(self, text: Localized) -> str:
        """The agency's `text` for this update's reader (bot/outreach/texts.py)."""
        return self.services.profile_texts.show(text, current_locale())

    @property
    def i18n(self) -> I18n:
        return self.services.i18n

    @property
    def uow(self) -> UnitOfWork:
        """The unit of work of the update being handled; commit explicitly to keep changes."""
        return _unit_of_work.get()

    def pseudonym(self, user: User) -> str:
        return self.services.keys.pseudonym(user.id)


def services_of(application: Application) -> Services:
    return application.bot_data.services
