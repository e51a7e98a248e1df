"""The audit log for an oversight board: checking its hash chain, exporting it, and the event
that records the configuration each start runs with.

Events are appended by storage (AuditRepository.append), each holding the keyed hash
(Keys.audit_hash) of the event before it. Editing, inserting or deleting an event breaks the
chain where it happened, and without SECRET_KEY nobody can hash a forged chain again. Removing
the newest events leaves a shorter chain that is intact: only a head hash noted earlier shows it.
"""

from __future__ import annotations

import csv
import json
import logging
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import datetime
from typing import TextIO

from bot.config import Settings
from bot.crypto import Keys
from storage.models import AuditEvent
from storage.repositories import GENESIS_HASH
from storage.unit_of_work import UnitOfWork

log = logging.getLogger(__name__)

CONFIG_ACTIONS = ("config_started", "config_changed")
PAGE_SIZE = 1000
EXPORT_COLUMNS = ("id", "time", "action", "report", "officer", "officer_id", "detail", "prev_hash", "hash")
# A spreadsheet runs a cell that starts with one of these as a formula; officers choose their names.
_FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


@dataclass(frozen=True)
class Break:
    """Where the chain stops holding, and how: an event "edited" (its hash does not match its
    content), "inserted" (the chain runs past it) or "deleted" (events before it are missing)."""

    event_id: int
    kind: str
    intact_before: int | None = None  # for "deleted": the last intact event before the gap

    def describe(self) -> str:
        if self.kind == "deleted":
            since = f"event #{self.intact_before}" if self.intact_before else "the start of the chain"
            return f"events were deleted between {since} and event #{self.event_id}"
        if self.kind == "inserted":
            return f"event #{self.event_id} was inserted: the chain runs past it"
        return f"event #{self.event_id} was edited: its hash does not match its content"


@dataclass(frozen=True)
class Head:
    """The newest event of an intact chain: its hash, noted, later shows a shortened chain."""

    id: int
    at: datetime
    hash: str


@dataclass(frozen=True)
class Verdict:
    chained: int  # events checked
    before_chain: int  # recorded before the chain existed (migration 0006), so never hashed
    head: Head | None
    broken: Break | None


async def verify(uow: UnitOfWork, keys: Keys) -> Verdict:
    """Walk the chain oldest first and stop at the first break."""
    chained = before_chain = 0
    head: Head | None = None
    suspect: int | None = None  # an event whose hash fails: its successor tells edited from inserted
    async for event in _events(uow):
        expected_previous = head.hash if head else GENESIS_HASH
        if suspect is not None:
            inserted = event.prev_hash == expected_previous and _intact(event, keys)
            return Verdict(chained, before_chain, head, Break(suspect, "inserted" if inserted else "edited"))
        if event.hash is None and head is None:
            before_chain += 1
        elif event.hash is None or not _intact(event, keys):
            suspect = event.id
        elif event.prev_hash != expected_previous:
            return Verdict(chained, before_chain, head, Break(event.id, "deleted", head.id if head else None))
        else:
            chained, head = chained + 1, Head(event.id, event.at, event.hash)
    return Verdict(chained, before_chain, head, Break(suspect, "edited") if suspect is not None else None)


async def signed_with(uow: UnitOfWork, keys: Keys) -> bool:
    """Whether any event's hash checks out with these keys: if none does, the likelier cause is a
    SECRET_KEY other than the bot's, not a log tampered with from its first event."""
    async for event in _events(uow):
        if event.hash is not None and _intact(event, keys):
            return True
    return False


def _intact(event: AuditEvent, keys: Keys) -> bool:
    return event.hash == keys.audit_hash(event.signed_content())


async def _events(uow: UnitOfWork) -> AsyncIterator[AuditEvent]:
    last_id = 0
    while page := await uow.audit.page(last_id, PAGE_SIZE):
        for event in page:
            yield event
        last_id = page[-1].id


async def export_csv(uow: UnitOfWork, out: TextIO) -> int:
    """Every event as CSV, oldest first; returns how many. Events hold no report content or
    reporter identity, so none can reach the file."""
    writer = csv.writer(out)
    writer.writerow(EXPORT_COLUMNS)
    count = 0
    async for event in _events(uow):
        writer.writerow([
            event.id, event.at.isoformat(), event.action, event.report_id or "", _cell(event.officer_name),
            event.officer_id or "", _cell(event.detail), event.prev_hash or "", event.hash or "",
        ])  # fmt: skip
        count += 1
    return count


def _cell(text: str | None) -> str:
    if not text:
        return ""
    return "'" + text if text.startswith(_FORMULA_STARTS) else text


def public_configuration(settings: Settings) -> dict[str, object]:
    """Every setting by its variable name, except the secrets (the fields kept out of repr: the
    token, SECRET_KEY, and DATABASE_URL, given here without its password)."""
    values = settings.model_dump(mode="json")
    public = {name.upper(): values[name] for name, field in type(settings).model_fields.items() if field.repr}
    public["DATABASE_URL"] = settings.database_description
    return dict(sorted(public.items()))


async def record_configuration(uow: UnitOfWork, settings: Settings) -> str | None:
    """At start-up: "config_started" with every public setting the first time, then
    "config_changed" with each changed setting's old and new value when they differ from what
    the log holds. Returns the action recorded, if any."""
    events = await uow.audit.of_actions(CONFIG_ACTIONS)
    current = public_configuration(settings)
    if not events:
        action, detail = "config_started", current
    else:
        recorded = _replay(events)
        names = sorted(current.keys() | recorded.keys())
        changes = {name: [recorded.get(name), current.get(name)] for name in names if recorded.get(name) != current.get(name)}
        if not changes:
            return None
        action, detail = "config_changed", changes
    await uow.audit.append(action, detail=json.dumps(detail, ensure_ascii=False, separators=(",", ":")))
    await uow.commit()
    log.info("audit_configuration action=%s", action)
    return action


def _replay(events: list[AuditEvent]) -> dict[str, object]:
    """The configuration the configuration events add up to."""
    configuration: dict[str, object] = {}
    for event in events:
        detail = json.loads(event.detail or "{}")
        if event.action == "config_started":
            configuration = dict(detail)
            continue
        for name, (_old, new) in detail.items():
            if new is None:
                configuration.pop(name, None)
            else:
                configuration[name] = new
    return configuration
