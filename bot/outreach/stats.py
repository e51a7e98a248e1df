"""/stats: the reports received in a period, for officers: counts by category, language and
status, the median time to acknowledge, how reporters answered "Did you feel heard?", and a chart
of reports per week stacked by category.

Officers see every report anyway, so no small count is held back (unlike /transparency); still,
counts only, never what a report said or who sent it. matplotlib is imported when a chart is
drawn, never before: start-up does not pay for it. Drawing is CPU work, so callers run
`draw_chart` in a thread. The chart's words are in the officers' language where its font can draw
them, in English otherwise (Chinese, Amharic, Hindi...); the text message is always translated.
"""

from __future__ import annotations

import functools
import io
import math
import re
import statistics
import threading
from collections import Counter
from dataclasses import dataclass
from datetime import date, timedelta

from babel.dates import format_skeleton, format_timedelta
from babel.numbers import format_decimal
from babel.support import NullTranslations

from bot.cards import STATUS_LABELS
from bot.categories import CATEGORIES, CATEGORY_KEYS
from bot.i18n import FSI, PDI, ActiveLocale, _, active_locale, formatting_locale, ngettext
from bot.retention import FACTS_KEPT_DAYS
from storage.models import Feedback
from storage.repositories import Fact

DEFAULT_DAYS = 30
LONGEST_DAYS = FACTS_KEPT_DAYS  # older facts are gone: a longer period would count too few
_PERIOD = re.compile("([0-9]{1,3})[dD]?")  # ASCII digits only, as handlers.staff.parse_number

# The chart: 1200×800 px, type large enough to read on a phone.
WIDTH, HEIGHT, DPI = 1200, 800, 100
TITLE_SIZE, LABEL_SIZE, TICK_SIZE, LEGEND_SIZE = 28, 22, 20, 18  # points, at DPI: 20 points is 28 px
MOST_WEEK_LABELS = 8
# Okabe and Ito's colours, told apart with every common colour blindness; a category keeps its
# colour from one chart to the next.
COLOURS = ("#0072B2", "#E69F00", "#009E73", "#CC79A7", "#56B4E9", "#D55E00", "#F0E442", "#000000")
FONT = "DejaVu Sans"  # ships with matplotlib, so every install draws the same
# The source strings: the chart's words when the font cannot draw the officers' language.
SOURCE_LOCALE = ActiveLocale("en", NullTranslations())


def parse_period(args: list[str]) -> int | None:
    """The days in `/stats 30d` (or `/stats 30`), 1 to LONGEST_DAYS; DEFAULT_DAYS without an
    argument; None for anything else."""
    if not args:
        return DEFAULT_DAYS
    if len(args) != 1 or not (found := _PERIOD.fullmatch(args[0])):
        return None
    days = int(found.group(1))
    return days if 1 <= days <= LONGEST_DAYS else None


def first_day(today: date, days: int) -> date:
    """The first of the `days` days that end with today."""
    return today - timedelta(days=days - 1)


@dataclass(frozen=True)
class Stats:
    first_day: date
    last_day: date
    categories: Counter[str]
    languages: Counter[str]
    statuses: Counter[str]
    acknowledgement_times: list[int]  # seconds, of every acknowledged report in the period
    feedback: Counter[str]
    weeks: list[date]  # the first day in the period of each week (weeks start on Monday)
    per_week: dict[str, list[int]]  # category -> reports in each of those weeks, in CATEGORY_KEYS order

    @property
    def days(self) -> int:
        return (self.last_day - self.first_day).days + 1

    @property
    def received(self) -> int:
        return sum(self.categories.values())


def summarize(facts: list[Fact], today: date, days: int) -> Stats:
    start = first_day(today, days)
    monday = start - timedelta(days=start.weekday())
    weeks = [max(monday + timedelta(weeks=n), start) for n in range((today - monday).days // 7 + 1)]
    categories, languages, statuses, feedback = Counter(), Counter(), Counter(), Counter()
    times: list[int] = []
    per_week: dict[str, list[int]] = {}
    for fact in facts:
        if not start <= fact.received_on <= today:
            continue
        categories[fact.category] += 1
        languages[fact.language] += 1
        statuses[fact.status] += 1
        if fact.acknowledged_after_seconds is not None:
            times.append(fact.acknowledged_after_seconds)
        if fact.feedback:
            feedback[fact.feedback] += 1
        per_week.setdefault(fact.category, [0] * len(weeks))[(fact.received_on - monday).days // 7] += 1
    order = {key: n for n, key in enumerate(CATEGORY_KEYS)}
    per_week = dict(sorted(per_week.items(), key=lambda item: (order.get(item[0], len(order)), item[0])))
    return Stats(start, today, categories, languages, statuses, times, feedback, weeks, per_week)


def category_label(key: str) -> str:
    """A category in the active locale; a key no longer offered is shown as stored."""
    return _(CATEGORIES[key]) if key in CATEGORIES else key


def _day(day: date) -> str:
    return format_skeleton("yMMMd", day, locale=formatting_locale())


def render(stats: Stats, language_names: dict[str, str]) -> str:
    """The counts in the active locale. `language_names`: locale → its name, as the language
    picker shows it; a language without one is shown by its code."""
    locale = formatting_locale()

    def count(label: str, number: int) -> str:
        # NOTE: one line of a list of counts, e.g. "Crime: 12" or "Closed: 3".
        return _("{label}: {number}", label=label, number=number)

    def by_count(counter: Counter[str], label) -> list[str]:  # noqa: ANN001
        return [count(label(key), number) for key, number in sorted(counter.items(), key=lambda item: (-item[1], item[0]))]

    # NOTE: {first} and {last} are dates, e.g. "Mar 3, 2026"; {n} is the number of days.
    heading = ngettext("Reports of the last {n} day, {first} to {last}", "Reports of the last {n} days, {first} to {last}",
                       stats.days, first=_day(stats.first_day), last=_day(stats.last_day))  # fmt: skip
    if not stats.received:
        return "\n\n".join([heading, _("No reports were received in this period.")])
    received = ngettext("{n} report received.", "{n} reports received.", stats.received)
    times = stats.acknowledgement_times
    if times:
        median = format_timedelta(timedelta(seconds=statistics.median(times)), locale=locale)
        # NOTE: {duration} is e.g. "3 hours", already in the reader's language; {n} how many
        # reports of the period were acknowledged.
        timing = ngettext("Median time to acknowledge: {duration} (over {n} acknowledged report).",
                          "Median time to acknowledge: {duration} (over {n} acknowledged reports).",
                          len(times), duration=median)  # fmt: skip
    else:
        timing = _("Median time to acknowledge: no report of this period has been acknowledged yet.")
    heard = _(
        "Did reporters feel heard after their report was closed? Yes: {yes} · Partly: {partly} · No: {no}",
        yes=stats.feedback[Feedback.YES], partly=stats.feedback[Feedback.PARTLY], no=stats.feedback[Feedback.NO],
    )  # fmt: skip
    statuses = [count(_(label), stats.statuses[status]) for status, label in STATUS_LABELS.items()]
    return "\n\n".join([
        f"{heading}\n{received}",
        "\n".join([_("By category:"), *by_count(stats.categories, category_label)]),
        "\n".join([_("By language:"), *by_count(stats.languages, lambda code: language_names.get(code, code))]),
        "\n".join([_("By status:"), *statuses]),
        timing,
        heard,
    ])  # fmt: skip


# --- the chart ------------------------------------------------------------------------------------

@dataclass(frozen=True)
class Chart:
    """What the chart shows, its words already in one language."""

    title: str
    x_label: str
    y_label: str
    weeks: list[str]
    series: list[tuple[str, str, list[int]]]  # (category, colour, reports per week)
    number_locale: str

    def characters(self) -> set[str]:
        """Every character drawn, the digits of the y axis included. The isolates that keep a date in
        place in right-to-left text have no glyph: matplotlib's layout (libraqm) applies them."""
        words = [self.title, self.x_label, self.y_label, *self.weeks, *(label for label, _c, _n in self.series)]
        return set("".join(words) + format_decimal(1234567890, locale=self.number_locale)) - {" ", "\n", FSI, PDI}


def chart(stats: Stats) -> Chart:
    """The chart's words in the active locale."""
    locale = formatting_locale()
    colours = {key: COLOURS[n % len(COLOURS)] for n, key in enumerate(CATEGORY_KEYS)}
    others = iter(COLOURS[len(CATEGORY_KEYS):])
    return Chart(
        # NOTE: the chart's title; {first} and {last} are dates, e.g. "Mar 3, 2026".
        title=_("Reports per week, {first} to {last}", first=_day(stats.first_day), last=_day(stats.last_day)),
        x_label=_("Week starting"),
        y_label=_("Reports"),
        weeks=[format_skeleton("MMMd", week, locale=locale) for week in stats.weeks],
        series=[(category_label(key), colours.get(key) or next(others, "#999999"), counts)
                for key, counts in stats.per_week.items()],  # fmt: skip
        number_locale=locale,
    )


def charts(stats: Stats) -> tuple[Chart, Chart]:
    """The chart in the active locale, and in the source language for when the font lacks a
    character of the former (Amharic, Chinese, Hindi...): English beats rows of empty boxes."""
    localized = chart(stats)
    with active_locale(SOURCE_LOCALE):
        return localized, chart(stats)


_drawing = threading.Lock()  # matplotlib's font caches are shared: one chart at a time


@functools.cache
def _drawable(font_path: str) -> frozenset[str]:
    """The characters the font at `font_path` has a glyph for."""
    from matplotlib.ft2font import FT2Font

    return frozenset(chr(code) for code in FT2Font(font_path).get_charmap())


def draw_chart(localized: Chart, source: Chart) -> bytes:
    """A PNG of reports per week stacked by category, WIDTH×HEIGHT pixels. Blocks: run it in a thread."""
    from matplotlib import font_manager
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure
    from matplotlib.ticker import FuncFormatter, MaxNLocator

    with _drawing:
        font = font_manager.FontProperties(family=FONT)
        shown = localized if localized.characters() <= _drawable(font_manager.findfont(font)) else source
        figure = Figure(figsize=(WIDTH / DPI, HEIGHT / DPI), dpi=DPI, layout="constrained")
        canvas = FigureCanvasAgg(figure)
        axes = figure.add_subplot()
        positions = list(range(len(shown.weeks)))
        bottom = [0] * len(positions)
        for label, colour, counts in shown.series:
            axes.bar(positions, counts, 0.8, bottom=bottom, label=label, color=colour)
            bottom = [below + count for below, count in zip(bottom, counts, strict=True)]
        # Wrapped to the figure: with its two dates, the title is longer than the chart in some languages.
        axes.set_title(shown.title, fontproperties=font, fontsize=TITLE_SIZE, pad=20, wrap=True)
        axes.set_xlabel(shown.x_label, fontproperties=font, fontsize=LABEL_SIZE, labelpad=12)
        axes.set_ylabel(shown.y_label, fontproperties=font, fontsize=LABEL_SIZE, labelpad=12)
        step = math.ceil(len(positions) / MOST_WEEK_LABELS)
        axes.set_xticks(positions[::step], shown.weeks[::step], fontproperties=font, fontsize=TICK_SIZE)
        axes.set_xlim(-0.6, len(positions) - 0.4)
        axes.yaxis.set_major_locator(MaxNLocator(integer=True))
        axes.yaxis.set_major_formatter(FuncFormatter(lambda value, _position: format_decimal(int(value), locale=shown.number_locale)))
        axes.tick_params(labelsize=TICK_SIZE)
        axes.grid(axis="y", alpha=0.3)
        axes.set_axisbelow(True)
        axes.spines[["top", "right"]].set_visible(False)
        # Below the chart, two columns: the longest category names still fit side by side.
        figure.legend(loc="outside lower center", ncols=min(len(shown.series), 2), frameon=False,
                      prop=font_manager.FontProperties(family=FONT, size=LEGEND_SIZE))  # fmt: skip
        png = io.BytesIO()
        canvas.print_png(png, metadata={"Software": None})
        return png.getvalue()
