"""Per-update scope and the order in which updates run.

**Ordering rule.** Updates from different chats run concurrently, at most `MAX_IN_FLIGHT` at a
time. Updates from one chat run one at a time, in the order Telegram sent them: a person's
conversation steps (private chat id = their user id) and everything in the staff chat keep their
order, so nobody waits behind someone else's slow step. An update without a chat (none that the
bot handles today) runs in its user's lane, else freely.

**Scope.** Each update gets one unit of work and one locale for exactly its duration. A handler
cannot undo a ContextVar after the last handler group has run, so the scope is entered here,
around the whole of PTB's processing of the update. A conversation's timeout, which PTB runs
from its job queue rather than as an update, takes its chat's lane and the same scope
(`ChatConversation`).

**No transaction across a Telegram call.** Handlers commit what they write before they answer;
what they only read would otherwise keep its transaction (on PostgreSQL, a connection "idle in
transaction") for as long as Telegram takes to answer. `TelegramRequest` ends such a read-only
transaction before every call the bot makes to Telegram.

**Each update at most once.** Telegram resends updates the bot did not confirm (after a crash or
restart), and a webhook may be redelivered. An update's first commit that writes also records its
id (storage.unit_of_work), and a repeat found there is dropped with its work rolled back. Ids seen
by this process are kept in memory too, and at start the ids recorded in the last day are loaded,
so a repeat is usually dropped before any handler runs.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Awaitable
from contextlib import asynccontextmanager
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy.exc import SQLAlchemyError
from telegram import Update
from telegram.ext import ApplicationHandlerStop, BaseUpdateProcessor, CallbackContext, ConversationHandler
from telegram.request import HTTPXRequest

from bot.context import Services, current_unit_of_work, unit_of_work_for_update
from bot.expiring import ExpiringMap
from bot.i18n import active_locale
from storage.unit_of_work import UnitOfWork

log = logging.getLogger(__name__)

# Updates handled at once, across all chats. On loopback 8 beat 16 and 64 (bench/README.md): each
# one more costs scheduling and HTTP pool contention. Against Telegram, 8 at ~100 ms a call is
# ~80 updates/s, more than Telegram lets a bot send. A slow step (a download, a picture being
# cleaned) holds one of the 8 while it lasts.
MAX_IN_FLIGHT = 8
HANDLED_MEMORY = 100_000  # update ids remembered, to answer each once
HANDLED_FOR = timedelta(hours=24)  # the longest Telegram keeps an update


class RepeatedUpdate(ApplicationHandlerStop):
    """The update's id was recorded by an earlier run: PTB stops handling it, quietly."""


def _repeated() -> RepeatedUpdate:
    log.info("update_repeated")
    return RepeatedUpdate()


@asynccontextmanager
async def update_scope(services: Services, update: object, *, record: bool = False) -> AsyncIterator[None]:
    """`record`: write the update's id with its first commit; not for a conversation's timeout,
    which runs in the scope of an update that has already been processed."""
    async with services.unit_of_work() as uow:
        if record and isinstance(update, Update):
            uow.mark_update(update.update_id, _repeated)
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
    if chat is not None and services.staff_chat.includes(chat.id):
        return settings.officer_locale
    if user is None:
        return i18n.default_locale
    try:
        saved = await services.saved_locales.of(uow, services.keys.pseudonym(user.id))
    except SQLAlchemyError as exc:
        # Still answer in the client's language rather than not at all.
        log.warning("saved_locale_unavailable error=%s", type(exc).__name__)
        saved = None
    if saved in i18n.locales:
        return saved
    return i18n.negotiate(user.language_code)


class UpdateScope(BaseUpdateProcessor):
    def __init__(self, services: Services, max_in_flight: int = MAX_IN_FLIGHT) -> None:
        super().__init__(max_concurrent_updates=max_in_flight)
        self._services = services
        # One lock per chat with updates in hand; a lane is dropped when its last update is done,
        # so this holds only chats that are busy right now.
        self._lanes: dict[int, tuple[asyncio.Lock, int]] = {}
        # Update ids seen in the last day, the longest Telegram keeps an update.
        self._handled: ExpiringMap[int, bool] = ExpiringMap(HANDLED_FOR.total_seconds(), HANDLED_MEMORY)
        self._recalled = asyncio.Lock()
        self._recall_pending = True

    async def process_update(self, update: object, coroutine: Awaitable[Any]) -> None:
        # PTB starts one task per update, in the order received; the lane is taken before the
        # global bound (and before anything awaits), so a chat's updates queue in that order.
        async with self.lane(update):
            if isinstance(update, Update) and await self._seen(update.update_id):
                # Telegram, a proxy or a replayed webhook sent it again: one answer only.
                log.info("update_repeated")
                if asyncio.iscoroutine(coroutine):
                    coroutine.close()  # never to run; closed, it raises no "never awaited" warning
                return
            await super().process_update(update, coroutine)

    async def _seen(self, update_id: int) -> bool:
        """Whether the update was handled before; from now on it counts as handled."""
        await self._recall_handled()
        if self._handled.get(update_id):
            return True
        self._handled[update_id] = True
        return False

    @asynccontextmanager
    async def lane(self, update: object) -> AsyncIterator[None]:
        """Wait for the update's chat to be free, and hold it for the block."""
        key = _lane_key(update)
        if key is None:
            yield
            return
        lock, users = self._lanes.get(key) or (asyncio.Lock(), 0)
        self._lanes[key] = (lock, users + 1)
        try:
            async with lock:
                yield
        finally:
            lock, users = self._lanes[key]
            if users == 1:
                del self._lanes[key]
            else:
                self._lanes[key] = (lock, users - 1)

    @property
    def busy_lanes(self) -> int:
        return len(self._lanes)

    async def do_process_update(self, update: object, coroutine: Awaitable[Any]) -> None:
        async with update_scope(self._services, update, record=True):
            await coroutine
        self._services.metrics.updates.inc()

    async def _recall_handled(self) -> None:
        """Load the ids recorded in the last day, once, before the first update. Not in
        `initialize`: PTB runs it before on_startup has migrated the database."""
        if not self._recall_pending:
            return
        async with self._recalled:
            if not self._recall_pending:
                return
            try:
                async with self._services.unit_of_work() as uow:
                    recorded = await uow.processed_updates.since(datetime.now(UTC) - HANDLED_FOR, HANDLED_MEMORY)
            except SQLAlchemyError as exc:
                # The commit-time check still holds; try again with the next update.
                log.warning("handled_updates_unavailable error=%s", type(exc).__name__)
                return
            for update_id in recorded:
                self._handled[update_id] = True
            self._recall_pending = False

    @asynccontextmanager
    async def as_update(self, update: object) -> AsyncIterator[None]:
        """Run a block as if it were one more update of `update`'s chat: in its lane and scope."""
        async with self.lane(update), update_scope(self._services, update):
            yield

    async def initialize(self) -> None:
        pass

    async def shutdown(self) -> None:
        pass


def _lane_key(update: object) -> int | None:
    if not isinstance(update, Update):
        return None
    chat, user = update.effective_chat, update.effective_user
    return chat.id if chat is not None else user.id if user is not None else None


class ChatConversation(ConversationHandler):
    """A ConversationHandler whose timeout runs as one more update of its chat.

    PTB fires the timeout from its job queue, beside the updates. Taking the chat's lane first
    means a person's step and their conversation's timeout never interleave: a step that arrives
    while the timeout runs is handled after it, outside the ended conversation, and a step that
    was first cancels the timeout (PTB's own check, which this runs inside the lane).
    """

    async def _trigger_timeout(self, context: CallbackContext) -> None:
        processor: UpdateScope = context.application.update_processor
        async with processor.as_update(context.job.data.update):
            await super()._trigger_timeout(context)


class TelegramRequest(HTTPXRequest):
    """PTB's HTTP client, which first ends the current update's read-only transaction."""

    async def do_request(self, *args: Any, **kwargs: Any) -> tuple[int, bytes]:
        if (uow := current_unit_of_work()) is not None:
            await uow.release()
        return await super().do_request(*args, **kwargs)
