"""Repositories: the only code that queries the database."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession

from storage.models import Preference


class PreferenceRepository:
    def __init__(self, session: AsyncSession) -> None:
        self._session = session

    async def locale_of(self, pseudonym: str) -> str | None:
        preference = await self._session.get(Preference, pseudonym)
        return preference.locale if preference else None

    async def set_locale(self, pseudonym: str, locale: str) -> None:
        preference = await self._session.get(Preference, pseudonym)
        if preference is None:
            self._session.add(Preference(pseudonym=pseudonym, locale=locale))
        else:
            preference.locale = locale
