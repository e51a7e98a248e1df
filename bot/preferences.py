"""What the bot keeps about a person, under their pseudonym only: the language they chose and
whether they have read the privacy notice."""

from __future__ import annotations

from bot.expiring import ExpiringMap
from storage.unit_of_work import UnitOfWork

CACHE_SECONDS = 600
CACHE_LIMIT = 10_000


class SavedLocales:
    """The language each person chose, cached under their pseudonym (never a Telegram id), a
    bounded number for a few minutes: a person's next update then costs no database read."""

    def __init__(self) -> None:
        self._cache: ExpiringMap[str, str] = ExpiringMap(CACHE_SECONDS, CACHE_LIMIT)  # "" = none chosen

    async def of(self, uow: UnitOfWork, pseudonym: str) -> str | None:
        saved = self._cache.get(pseudonym)
        if saved is None:
            saved = self._cache[pseudonym] = await uow.preferences.locale_of(pseudonym) or ""
        return saved or None

    async def save(self, uow: UnitOfWork, pseudonym: str, locale: str) -> None:
        await uow.preferences.set_locale(pseudonym, locale)
        await uow.commit()
        self._cache[pseudonym] = locale

    def forget(self, pseudonym: str) -> None:
        self._cache.pop(pseudonym)


async def accept_notice(uow: UnitOfWork, pseudonym: str) -> None:
    await uow.preferences.accept_notice(pseudonym)
    await uow.commit()
