"""Per-update scope: one unit of work and one locale for exactly the duration of an update.

A handler cannot undo a ContextVar after the last handler group has run, so the scope is
entered here, around the whole of PTB's processing of the update.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable
from typing import Any

from sqlalchemy.exc import SQLAlchemyError
from telegram import Update
from telegram.ext import BaseUpdateProcessor

from bot.context import Services, unit_of_work_for_update
from bot.i18n import active_locale
from storage.unit_of_work import UnitOfWork

log = logging.getLogger(__name__)


class UpdateScope(BaseUpdateProcessor):
    def __init__(self, services: Services) -> None:
        # One update at a time keeps a person's conversation steps in order.
        super().__init__(max_concurrent_updates=1)
        self._services = services

    async def do_process_update(self, update: object, coroutine: Awaitable[Any]) -> None:
        async with UnitOfWork(self._services.sessions) as uow:
            with unit_of_work_for_update(uow):
                locale = await self._locale_for(update, uow)
                with active_locale(self._services.i18n.get(locale)):
                    await coroutine

    async def _locale_for(self, update: object, uow: UnitOfWork) -> str:
        """The saved choice, else the client's language_code, else DEFAULT_LOCALE."""
        settings, i18n = self._services.settings, self._services.i18n
        if not isinstance(update, Update):
            return i18n.default_locale
        chat, user = update.effective_chat, update.effective_user
        if chat is not None and chat.id == settings.staff_chat_id:
            return settings.officer_locale
        if user is None:
            return i18n.default_locale
        try:
            saved = await uow.preferences.locale_of(self._services.keys.pseudonym(user.id))
        except SQLAlchemyError as exc:
            # Still answer in the client's language rather than not at all.
            log.warning("saved_locale_unavailable error=%s", type(exc).__name__)
            saved = None
        if saved in i18n.locales:
            return saved
        return i18n.negotiate(user.language_code)

    async def initialize(self) -> None:
        pass

    async def shutdown(self) -> None:
        pass
