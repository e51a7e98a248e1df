"""The error handler: record what failed without recording what anyone said or who they are."""

from __future__ import annotations

import logging
import traceback
from pathlib import Path

from telegram import Chat, Update
from telegram.error import TelegramError
from telegram.ext import BaseHandler

from bot.context import BotContext
from bot.i18n import _

log = logging.getLogger(__name__)


_HANDLERS = str(Path(__file__).resolve().parent) + "/"


def handler_name(error: BaseException) -> str:
    """The callback that failed, e.g. handlers.report.add_text: the outermost frame of our
    handlers, which is the function PTB called. An error raised before any callback ran (in a
    handler's check of the update) names the handler PTB was checking."""
    for frame, _line in traceback.walk_tb(error.__traceback__):
        if frame.f_code.co_filename.startswith(_HANDLERS):
            return f"{frame.f_globals['__name__']}.{frame.f_code.co_qualname}"
    for frame, _line in traceback.walk_tb(error.__traceback__):
        # PTB's Application.process_update holds the handler it was checking in `handler`.
        if isinstance(checked := frame.f_locals.get("handler"), BaseHandler):
            callback = checked.callback
            return f"{callback.__module__}.{callback.__qualname__}"
    return "unknown"


async def on_error(update: object, context: BotContext) -> None:
    """Log the exception type and the handler only, never the update nor the exception's message
    (both can hold what someone wrote); tell a private chat that something went wrong."""
    error = context.error
    log.error("handler_failed error=%s handler=%s", type(error).__name__, handler_name(error))
    if isinstance(update, Update) and update.effective_chat and update.effective_chat.type == Chat.PRIVATE:
        try:
            await update.effective_chat.send_message(
                _("Sorry, something went wrong on our side. Please try again in a moment.")
            )
        except TelegramError:
            pass  # Telegram is the failing part; the log line above already records it.
