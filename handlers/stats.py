"""/stats for officers in the staff chat: the reports of a period in counts, then a chart of them
per week (bot/outreach/stats.py). `/stats 30d`; 30 days without an argument."""

from __future__ import annotations

import asyncio
import logging
from datetime import UTC, datetime

from telegram import Update
from telegram.ext import BaseHandler, CommandHandler

from bot.context import BotContext
from bot.i18n import _
from bot.outreach.stats import (
    DEFAULT_DAYS,
    LONGEST_DAYS,
    charts,
    draw_chart,
    first_day,
    parse_period,
    render,
    summarize,
)
from handlers.staff import is_officer, refuse

log = logging.getLogger(__name__)


def usage() -> str:
    # NOTE: {longest} is the longest period in days (400); {example} is "/stats 30d", as typed.
    example = f"/stats {DEFAULT_DAYS}d"
    return _("Send /stats and a number of days from 1 to {longest}, for example: {example}", longest=LONGEST_DAYS, example=example)


async def stats(update: Update, context: BotContext) -> None:
    """Counts by category, language and status, the median time to acknowledge, the feedback, and the chart."""
    if not is_officer(update, context):
        await refuse(update, "stats")
        return
    if (days := parse_period(context.args or [])) is None:
        await update.effective_message.reply_text(usage())
        return
    today = datetime.now(UTC).date()
    facts = await context.uow.facts.received_since(first_day(today, days))
    await context.uow.release()  # no transaction stays open while the chart is drawn and sent
    summary = summarize(facts, today, days)
    await update.effective_message.reply_text(render(summary, dict(context.i18n.picker_entries())))
    log.info("stats_shown days=%s reports=%s", days, summary.received)
    if summary.received:
        png = await asyncio.to_thread(draw_chart, *charts(summary))
        await update.effective_message.reply_photo(png, filename="stats.png")


def handlers() -> list[BaseHandler]:
    # No chat filter, as in handlers/staff.py: from anywhere else /stats is refused and logged.
    return [CommandHandler("stats", stats)]
