"""What the bot keeps about a person, under their pseudonym only: the language they chose and
whether they have read the privacy notice."""

from __future__ import annotations

from storage.unit_of_work import UnitOfWork


async def save_language(uow: UnitOfWork, pseudonym: str, locale: str) -> None:
    await uow.preferences.set_locale(pseudonym, locale)
    await uow.commit()


async def accept_notice(uow: UnitOfWork, pseudonym: str) -> None:
    await uow.preferences.accept_notice(pseudonym)
    await uow.commit()
