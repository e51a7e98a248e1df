"""Per-person rate limits, in memory, under the pseudonym (never a Telegram id).

A flood from one account must not bury the officers or slow the bot for everybody: one account
filed 50 urgent reports in 6 s, and 500 messages got 500 replies. Each limit is a sliding
window (at most N events in any period); 0 switches a limit off. What a limit remembers about a
person is forgotten once their window has passed, and at most MEMORY_LIMIT people are
remembered, the least recent forgotten first.
"""

from __future__ import annotations

import math
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass

from bot.expiring import ExpiringMap

MEMORY_LIMIT = 10_000  # people each limit remembers at once


class RateLimit:
    """At most `limit` events per person in any `window_seconds`."""

    def __init__(self, limit: int, window_seconds: float, clock: Callable[[], float] = time.monotonic) -> None:
        self._limit, self._window, self._clock = limit, window_seconds, clock
        self._events: ExpiringMap[str, deque[float]] = ExpiringMap(window_seconds, MEMORY_LIMIT, clock)

    def wait(self, pseudonym: str) -> float:
        """Seconds until this person may act again; 0 when they may now."""
        if not self._limit:
            return 0
        events = self._recent(pseudonym)
        return events[0] + self._window - self._clock() if len(events) >= self._limit else 0

    def record(self, pseudonym: str) -> None:
        if self._limit:
            events = self._recent(pseudonym)
            events.append(self._clock())
            self._events[pseudonym] = events  # setting again keeps it for a whole window more

    def take(self, pseudonym: str) -> float:
        """Record an event if the limit allows it; otherwise the seconds to wait."""
        if waiting := self.wait(pseudonym):
            return waiting
        self.record(pseudonym)
        return 0

    def forget(self, pseudonym: str) -> None:
        self._events.pop(pseudonym)

    def __len__(self) -> int:
        """How many people this limit remembers now."""
        return len(self._events)

    def _recent(self, pseudonym: str) -> deque[float]:
        events = self._events.get(pseudonym) or deque()
        while events and events[0] <= self._clock() - self._window:
            events.popleft()
        return events


@dataclass(frozen=True)
class Limits:
    """The limits configured for this bot (LIMIT_* settings)."""

    updates: RateLimit
    reports: RateLimit
    dialog_messages: RateLimit
    wrong_codes: RateLimit  # receipt codes that matched no report, which could be guesses
    # Who has been told to slow down in their current window: told once, then left in peace.
    told: ExpiringMap[str, bool]

    @classmethod
    def per(
        cls, updates_per_minute: int, reports_per_hour: int, dialog_messages_per_hour: int, wrong_codes_per_hour: int
    ) -> Limits:
        return cls(
            updates=RateLimit(updates_per_minute, 60),
            reports=RateLimit(reports_per_hour, 3600),
            dialog_messages=RateLimit(dialog_messages_per_hour, 3600),
            wrong_codes=RateLimit(wrong_codes_per_hour, 3600),
            told=ExpiringMap(60, MEMORY_LIMIT),
        )

    def forget(self, pseudonym: str) -> None:
        """/forget: nothing about this person stays, not even what they did in the last hour."""
        for limit in (self.updates, self.reports, self.dialog_messages, self.wrong_codes):
            limit.forget(pseudonym)
        self.told.pop(pseudonym)


def whole_minutes(seconds: float) -> int:
    return max(1, math.ceil(seconds / 60))
