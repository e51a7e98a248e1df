"""The baseline for bench/throughput.py: a bare python-telegram-bot echo bot, PTB's defaults.

    .venv/bin/python bench/echo_bot.py TOKEN BASE_URL

One reply per update: a text message is echoed (MessageHandler); a button press is answered and
its callback data sent back as one message (CallbackQueryHandler), as the full bot answers a press
in a report conversation with one message.
"""

from __future__ import annotations

import sys

from telegram import Update
from telegram.ext import ApplicationBuilder, CallbackQueryHandler, ContextTypes, MessageHandler, filters


async def echo(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    await update.effective_message.reply_text(update.effective_message.text)


async def press(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    await update.callback_query.answer()
    await update.effective_chat.send_message(update.callback_query.data)


def main() -> None:
    token, base_url = sys.argv[1:3]
    application = ApplicationBuilder().token(token).base_url(base_url).build()
    application.add_handler(MessageHandler(filters.TEXT, echo))
    application.add_handler(CallbackQueryHandler(press))
    application.run_polling()


if __name__ == "__main__":
    main()
