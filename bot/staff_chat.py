"""Where the officers are: STAFF_CHAT_ID, or the supergroup it became while the bot runs.

Telegram gives a group a new id when it becomes a supergroup (when an admin changes certain
settings, or the group grows). The bot then keeps working in the new chat: it delivers there,
takes officers' commands, buttons and replies there, and does not leave it as an unknown group.
The operator is told to update STAFF_CHAT_ID (log and `outreach-bot status`), since after a
restart only the setting counts.
"""

from __future__ import annotations

import logging

from telegram.ext import filters

log = logging.getLogger(__name__)


class StaffChat:
    def __init__(self, configured: int) -> None:
        self.configured = configured
        self.moved_to: int | None = None
        # For handlers that only listen in the staff chat; grows by the new id on a move.
        self.filter = filters.Chat(configured)

    @property
    def id(self) -> int:
        """Where to send officers' messages now."""
        return self.moved_to or self.configured

    def includes(self, chat_id: int) -> bool:
        return chat_id == self.configured or chat_id == self.moved_to

    def move_to(self, chat_id: int) -> None:
        """Follow the staff group to its new id, and ask the operator, once, to update the setting.
        A chat id is configuration, not anyone's identity."""
        if chat_id == self.moved_to:
            return
        self.moved_to = chat_id
        self.filter.add_chat_ids(chat_id)
        log.error("staff_chat_migrated: set STAFF_CHAT_ID=%s; the bot works there until it restarts", chat_id)
