"""/transparency: how the community's reports were handled over the last twelve months, in counts
only. A month with fewer than SMALL_COUNT reports, and a median or a feedback tally over fewer, is
not shown: a rare event could point at the one person who reported it."""

from __future__ import annotations

import statistics
from collections import Counter
from dataclasses import dataclass
from datetime import date, timedelta

from babel.dates import format_skeleton, format_timedelta

from bot.i18n import _, formatting_locale, ngettext
from storage.models import Feedback, ReportStatus
from storage.repositories import Fact

SMALL_COUNT = 5
MONTHS = 12


@dataclass(frozen=True)
class Month:
    first_day: date
    received: int = 0
    acknowledged: int = 0
    closed: int = 0
    spam: int = 0


@dataclass(frozen=True)
class Summary:
    months: list[Month]  # oldest first, the current month last
    acknowledgement_times: list[int]  # seconds, of every acknowledged report in those months
    feedback: Counter[str]


def _month_first(day: date, months_later: int) -> date:
    """The first day of the month `months_later` months after `day`'s (before, if negative)."""
    month = day.year * 12 + day.month - 1 + months_later
    return date(month // 12, month % 12 + 1, 1)


def first_day_shown(today: date) -> date:
    """The first day of the month eleven months before this one."""
    return _month_first(today, -(MONTHS - 1))


def summarize(facts: list[Fact], today: date) -> Summary:
    start = first_day_shown(today)
    firsts = [_month_first(start, n) for n in range(MONTHS)]
    counts = {first: Counter() for first in firsts}
    times, feedback = [], Counter()
    for fact in facts:
        if fact.received_on < start:
            continue
        month = counts[fact.received_on.replace(day=1)]
        month["received"] += 1
        month["acknowledged"] += fact.acknowledged_after_seconds is not None
        month["closed"] += fact.status == ReportStatus.CLOSED
        month["spam"] += fact.status == ReportStatus.SPAM
        if fact.acknowledged_after_seconds is not None:
            times.append(fact.acknowledged_after_seconds)
        if fact.feedback:
            feedback[fact.feedback] += 1
    return Summary([Month(first, **counts[first]) for first in firsts], times, feedback)


def render(summary: Summary) -> str:
    """The summary in the active locale, with its numbers and month names."""
    locale = formatting_locale()
    lines = []
    for month in summary.months:
        name = format_skeleton("yMMMM", month.first_day, locale=locale)
        if month.received < SMALL_COUNT:
            # NOTE: {month} is a month and year, e.g. "March 2026"; {n} is 5.
            lines.append(ngettext("{month}: fewer than {n} report", "{month}: fewer than {n} reports", SMALL_COUNT, month=name))
        else:
            lines.append(_(
                "{month}: received {received} · acknowledged {acknowledged} · closed {closed} · spam {spam}",
                month=name, received=month.received, acknowledged=month.acknowledged, closed=month.closed, spam=month.spam,
            ))  # fmt: skip
    times = summary.acknowledgement_times
    if len(times) >= SMALL_COUNT:
        median = format_timedelta(timedelta(seconds=statistics.median(times)), locale=locale)
        # NOTE: {duration} is e.g. "3 hours", already in the reader's language.
        timing = _("Half of the reports were acknowledged by an officer within {duration}.", duration=median)
    else:
        timing = ngettext(
            "How fast officers acknowledge reports is shown once more than {n} report has been acknowledged.",
            "How fast officers acknowledge reports is shown once more than {n} reports have been acknowledged.",
            SMALL_COUNT - 1,
        )
    feedback = summary.feedback
    if sum(feedback.values()) >= SMALL_COUNT:
        heard = _(
            "Did reporters feel heard after their report was closed? Yes: {yes} · Partly: {partly} · No: {no}",
            yes=feedback[Feedback.YES], partly=feedback[Feedback.PARTLY], no=feedback[Feedback.NO],
        )
    else:
        heard = ngettext(
            "Did reporters feel heard after their report was closed? This is shown once more than {n} have answered.",
            "Did reporters feel heard after their report was closed? This is shown once more than {n} have answered.",
            SMALL_COUNT - 1,
        )
    return "\n\n".join([
        _("What happened with the community's reports"),
        _("Each month of the last year: how many reports were received, and how many of them officers "
          "acknowledged, closed or marked as spam. Counts only: never what a report said or who sent it."),
        "\n".join(lines),
        timing,
        heard,
    ])  # fmt: skip
