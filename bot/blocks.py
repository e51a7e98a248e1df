"""Blocking a sender: officers refuse a person's future reports and messages, and nobody learns
who the person is.

A report keeps its sender's pseudonym, encrypted, and a block names only the pseudonym, never
the report: the row would tie a pseudonym to a report for anyone reading the database. Its audit
event names no report either, since its time and officer match the block's row. The officer who
blocked is named, since officers are staff; which report it came from is on the card in the
staff chat. The person is told only that reports
cannot be accepted through the bot for now, never by whom or because of which report.
"""

from __future__ import annotations

from bot.i18n import _
from storage.models import BlockedSender, OutboxKind, OutboxMessage, Report
from storage.unit_of_work import UnitOfWork


class SenderBlocked(Exception):
    """A blocked sender tried to reach officers; nothing was written."""


def refusal(emergency_number: str) -> str:
    """What a blocked person is told, in their language."""
    return "\n\n".join(
        [
            _("We can't accept reports or messages from you through this bot right now."),
            _("If someone is in danger right now, call {number}.", number=emergency_number),
        ]
    )


async def is_blocked(uow: UnitOfWork, pseudonym: str) -> bool:
    return await uow.blocked_senders.get(pseudonym) is not None


async def block_of(uow: UnitOfWork, report: Report) -> BlockedSender | None:
    """The block on the report's sender, if any; reports older than blocking have no sender."""
    return await uow.blocked_senders.get(report.sender) if report.sender else None


async def block_sender(uow: UnitOfWork, report: Report, officer_id: int, officer_name: str) -> bool:
    """Block the report's sender (it must have one), audit it and re-render the card; False if
    already blocked."""
    if await block_of(uow, report) is not None:
        return False
    uow.blocked_senders.add(report.sender, officer_id, officer_name)
    uow.outbox.add(OutboxMessage(kind=OutboxKind.CARD_UPDATE, report_id=report.id, priority=1, payload={}))
    await uow.audit.append("block_sender", officer_id=officer_id, officer_name=officer_name)
    await uow.commit()
    return True


async def unblock_sender(uow: UnitOfWork, report: Report, officer_id: int, officer_name: str) -> bool:
    """Undo a block, audit it and re-render the card; False if the sender is not blocked."""
    if (block := await block_of(uow, report)) is None:
        return False
    await uow.blocked_senders.delete(block)
    uow.outbox.add(OutboxMessage(kind=OutboxKind.CARD_UPDATE, report_id=report.id, priority=1, payload={}))
    await uow.audit.append("unblock_sender", officer_id=officer_id, officer_name=officer_name)
    await uow.commit()
    return True
