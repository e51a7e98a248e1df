"""An update the bot cannot parse is skipped and counted, not fetched again forever.

PTB parses a getUpdates batch in one go. One update it cannot parse (a field of the wrong type,
or a Bot API server older than PTB expects: PTB 22.8 requires a Poll's `allows_revoting` and
`members_only` and a PollOption's `persistent_id`) fails the whole batch. The Updater then logs
CRITICAL and asks again with the same offset: the same batch comes back at once, forever, and
nobody is answered, not even after a restart.

`SkippingBot` parses each raw update of a getUpdates answer on its own, and puts an empty
`Update` with the same update_id in place of one that fails. Webhook mode (bot/web/app.py) parses
each POSTed update the same way. The Updater confirms the offset past
it as usual, and the handlers get an Update with nothing in it, which none of them matches. The
skip is logged with the update_id and the exception type only, never the update (it holds what
someone wrote and who they are), and counted in `unparseable_updates`.

Why here: the raw updates exist only between the HTTP answer and PTB's parsing, inside
`Bot.get_updates`, and `_do_post` is the step ExtBot itself overrides (for its rate limiter).
Catching the error after `get_updates` is too late: the raw batch is gone, and PTB has already
logged all of it. So `_do_post` parses the batch and hands PTB an empty list (nothing left to
parse, nothing to log), and `get_updates` returns what `_do_post` parsed: each update is parsed
once, as before.
"""

from __future__ import annotations

import logging
from typing import Any

from telegram import Update
from telegram.ext import ExtBot

log = logging.getLogger(__name__)


class SkippingBot(ExtBot[None]):
    """PTB's ExtBot, except that getUpdates skips (and counts) an update it cannot parse."""

    __slots__ = ("_parsed", "_unparseable_updates")

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._unparseable_updates = 0
        self._parsed: tuple[Update, ...] = ()

    @property
    def unparseable_updates(self) -> int:
        """Updates skipped since start-up because they could not be parsed."""
        return self._unparseable_updates

    async def get_updates(self, *args: Any, **kwargs: Any) -> tuple[Update, ...]:
        self._parsed = ()
        await super().get_updates(*args, **kwargs)  # its answer was parsed, and emptied, below
        updates, self._parsed = self._parsed, ()
        for update in updates:
            self.insert_callback_data(update)  # what ExtBot.get_updates does with each
        return updates

    async def _do_post(self, endpoint: str, data: dict[str, Any], **timeouts: Any) -> Any:
        result = await super()._do_post(endpoint, data, **timeouts)
        if endpoint != "getUpdates":
            return result
        self._parsed = tuple(self.parse_update(raw) for raw in result)
        return []

    def parse_update(self, raw: Any) -> Update | None:
        """One update as Telegram sent it (an item of getUpdates, or a webhook's JSON body); one
        that cannot be parsed is an empty Update with its id, or None when it has no id at all."""
        try:
            if not isinstance(raw, dict):
                raise TypeError("an update is a JSON object")
            return Update.de_json(raw, self)
        except Exception as exc:  # whatever PTB raises, only this update is lost
            self._unparseable_updates += 1
            update_id = raw.get("update_id") if isinstance(raw, dict) else None
            log.warning("update_unparseable update_id=%s error=%s", update_id, type(exc).__name__)
            if not isinstance(update_id, int):
                return None
            skipped = Update(update_id=update_id)
            skipped.set_bot(self)
            return skipped
