"""Per-update scope: one unit of work and one locale for exactly the duration of an update.

A handler cannot undo a ContextVar after the last handler group has run, so the scope is
entered here, around the whole of PTB's processing of the update. The conversation timeout,
which PTB runs from its job queue rather than as an update, enters the same scope.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Awaitable
from contextlib import asynccontextmanager
from typing import Any

from sqlalchemy.exc import SQLAlchemyError
from telegram import Update
from telegram.ext import BaseUpdateProcessor

from bot.context import Services, unit_of_work_for_update
from bot.i18n import active_locale
from storage.unit_of_work import UnitOfWork

log = logging.getLogger(__name__)


@asynccontextmanager
async def update_scope(services: Services, update: object) -> AsyncIterator[None]:
    async with UnitOfWork(services.sessions) as uow:
        with unit_of_work_for_update(uow):
            locale = await _locale_for(services, update, uow)
            with active_locale(services.i18n.get(locale)):
                yield


async def _locale_for(services: Services, update: object, uow: UnitOfWork) -> str:
    """The saved choice, else the client's language_code, else DEFAULT_LOCALE."""
    settings, i18n = services.settings, services.i18n
    if not isinstance(update, Update):
        return i18n.default_locale
    chat, user = update.effective_chat, update.effective_user
    if chat is not None and chat.id == settings.staff_chat_id:
        return settings.officer_locale
    if user is None:
        return i18n.default_locale
    try:
        saved = await uow.preferences.locale_of(services.keys.pseudonym(user.id))
    except SQLAlchemyError as exc:
        # Still answer in the client's language rather than not at all.
        log.warning("saved_locale_unavailable error=%s", type(exc).__name__)
        saved = None
    if saved in i18n.locales:
        return saved
    return i18n.negotiate(user.language_code)


class UpdateScope(BaseUpdateProcessor):
    def __init__(self, services: Services) -> None:
        # One update at a time keeps a person's conversation steps in order.
        super().__init__(max_concurrent_updates=1)
        self._services = services

    async def do_process_update(self, update: object, coroutine: Awaitable[Any]) -> None:
        async with update_scope(self._services, update):
            await coroutine

    async def initialize(self) -> None:
        pass

    async def shutdown(self) -> None:
        pass
