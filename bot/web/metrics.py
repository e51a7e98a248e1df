"""Counts for monitoring, in Prometheus' text format: never content, never who.

prometheus_client rather than a hand-written exposition: it is small, has no dependencies, is kept
by the Prometheus project, and gets the details right (label escaping, histogram buckets, the
`_total` suffixes, content type) that a hand-written one would have to re-test. Each process has
its own registry, reached through Services, so tests and several bots in one process never share
counts. Labels are bounded sets only: categories, the bot's languages, outbox kinds, exception
class names.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram
from prometheus_client.core import CounterMetricFamily
from prometheus_client.exposition import CONTENT_TYPE_LATEST, generate_latest
from prometheus_client.registry import Collector

# Translation takes from a tenth of a second to TRANSLATION_TIMEOUT_SECONDS (60 by default).
TRANSLATION_BUCKETS = (0.1, 0.25, 0.5, 1, 2.5, 5, 10, 20, 30, 60, 120)


class Metrics:
    """The counters the bot moves with one-line calls where things happen, and the gauges
    set at scrape time."""

    content_type = CONTENT_TYPE_LATEST

    def __init__(self) -> None:
        self.registry = registry = CollectorRegistry()
        self.reports = Counter(
            "outreach_reports_received", "Reports stored, by category and the reporter's language.",
            ["category", "language"], registry=registry,
        )  # fmt: skip
        self.delivery_attempts = Counter(
            "outreach_delivery_attempts", "Attempts to deliver an outbox message, by kind.", ["kind"], registry=registry
        )
        self.delivery_failures = Counter(
            "outreach_delivery_failures", "Failed delivery attempts, by error class.", ["error"], registry=registry
        )
        self.translation_jobs = Counter(
            "outreach_translation_jobs", "Translation jobs finished, by what they were and how they ended.",
            ["job", "outcome"], registry=registry,
        )  # fmt: skip
        self.translation_seconds = Histogram(
            "outreach_translation_seconds", "Time the translation worker took for one text.",
            buckets=TRANSLATION_BUCKETS, registry=registry,
        )  # fmt: skip
        self.updates = Counter("outreach_updates_processed", "Updates from Telegram handled.", registry=registry)
        self.webhook_refused = Counter(
            "outreach_webhook_refused", "Webhook requests refused, by reason.", ["reason"], registry=registry
        )
        self.outbox_waiting = Gauge(
            "outreach_outbox_waiting_messages", "Messages waiting in the outbox (set at scrape time).", registry=registry
        )
        self.outbox_oldest = Gauge(
            "outreach_outbox_oldest_waiting_seconds", "Age of the oldest waiting message, 0 when none (set at scrape time).",
            registry=registry,
        )  # fmt: skip
        self.outbox_dead = Gauge(
            "outreach_outbox_dead_messages", "Messages Telegram refused for good (set at scrape time).", registry=registry
        )

    def count_unparseable(self, skipped: Callable[[], int]) -> None:
        """Expose the count bot.unparseable_updates keeps, read at scrape time."""
        self.registry.register(_UnparseableUpdates(skipped))

    def exposition(self) -> bytes:
        return generate_latest(self.registry)


class _UnparseableUpdates(Collector):
    def __init__(self, skipped: Callable[[], int]) -> None:
        self._skipped = skipped

    def collect(self) -> Iterator[CounterMetricFamily]:
        yield CounterMetricFamily(
            "outreach_updates_unparseable", "Updates skipped because they could not be parsed.", value=self._skipped()
        )
