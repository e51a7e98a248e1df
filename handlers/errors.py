"""The error handler: record what failed without recording what anyone said or who they are."""

from __future__ import annotations

import logging
import traceback

from telegram import Chat, Update
from telegram.error import TelegramError

from bot.context import BotContext
from bot.i18n import _

log = logging.getLogger(__name__)


def _where(error: BaseException) -> str:
    frames = traceback.extract_tb(error.__traceback__)
    last = frames[-1] if frames else None
    return f"{last.filename.rsplit('/', 1)[-1]}:{last.lineno}:{last.name}" if last else "unknown"


async def on_error(update: object, context: BotContext) -> None:
    """Log the exception type and place only; tell a private chat that something went wrong."""
    error = context.error
    log.error("handler_failed error=%s at=%s", type(error).__name__, _where(error))
    if isinstance(update, Update) and update.effective_chat and update.effective_chat.type == Chat.PRIVATE:
        try:
            await update.effective_chat.send_message(
                _("Sorry, something went wrong on our side. Please try again in a moment.")
            )
        except TelegramError:
            pass  # Telegram is the failing part; the log line above already records it.
