"""What the bot holds about one person, for /mydata, and deleting all of it, for /forget.

A person is known by their pseudonym (preferences, partnership with a private-security firm, and
the in-memory drafts, limits and answer prompts) and, if they asked to be notified, by reporter
links. A link carries no pseudonym, on purpose: finding a person's links takes unsealing each one
and comparing it with their chat. Links are few, and unsealing one takes microseconds.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from bot.context import Services
from bot.retention import Retention
from storage.repositories import HeldLink
from storage.unit_of_work import UnitOfWork


@dataclass(frozen=True)
class Holdings:
    locale: str | None  # the language the person chose, if they did
    links_deleted_by: list[datetime]  # when each link that can notify them is gone, soonest first
    organisation: str | None = None  # the private-security firm they are a partner of, if any


async def holdings(uow: UnitOfWork, services: Services, pseudonym: str, chat_id: int) -> Holdings:
    retention = Retention(services.settings.retention_days, services.settings.link_grace_days)
    links = await _links_of(uow, services, chat_id)
    return Holdings(
        locale=await uow.preferences.locale_of(pseudonym),
        organisation=await uow.partners.organisation_of(pseudonym),
        links_deleted_by=sorted(retention.link_deleted_by(link) for link in links),
    )


async def forget_person(uow: UnitOfWork, services: Services, pseudonym: str, chat_id: int) -> None:
    """Delete the language choice, any partnership and the reporter links, and unlink the
    person's reports, in one transaction; then what memory holds. The reports stay until
    retention, linked to nobody. A block stays: forgetting must not be a way around it."""
    await uow.preferences.delete(pseudonym)
    await uow.partners.remove(pseudonym)
    await uow.reporter_links.delete_of([link.report_id for link in await _links_of(uow, services, chat_id)])
    await uow.reports.unlink_sender(pseudonym)
    await uow.commit()
    services.saved_locales.forget(pseudonym)
    services.drafts.discard(pseudonym)
    services.limits.forget(pseudonym)
    services.answering.pop(pseudonym)


async def _links_of(uow: UnitOfWork, services: Services, chat_id: int) -> list[HeldLink]:
    """The links that lead to this private chat (whose id is the person's user id)."""
    return [link for link in await uow.reporter_links.held() if services.keys.unseal_chat(link.sealed_chat, link.report_id) == chat_id]
