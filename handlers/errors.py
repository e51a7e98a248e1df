"""The error handler: record what failed without recording what anyone said or who they are."""

from __future__ import annotations

import logging
import traceback
from pathlib import Path

from telegram import Chat, Update
from telegram.error import TelegramError

from bot.context import BotContext
from bot.i18n import _

log = logging.getLogger(__name__)


# Our packages only: a virtualenv inside the checkout must not count as our code.
_OUR_CODE = tuple(str(Path(__file__).resolve().parent.parent / p) + "/" for p in ("bot", "handlers", "storage"))


def _where(error: BaseException, depth: int = 4) -> str:
    """Our innermost frames as file:line:function: enough to find the bug, without its data."""
    frames = [f for f in traceback.extract_tb(error.__traceback__) if f.filename.startswith(_OUR_CODE)]
    return " < ".join(
        f"{Path(f.filename).name}:{f.lineno}:{f.name}" for f in reversed(frames[-depth:])
    ) or "outside the project"


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
