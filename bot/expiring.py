"""State kept in memory about people's conversations: bounded in size, and forgotten when stale."""

from __future__ import annotations

import time
from collections import OrderedDict
from collections.abc import Callable
from typing import Generic, TypeVar

K = TypeVar("K")
V = TypeVar("V")


class ExpiringMap(Generic[K, V]):
    """At most `limit` entries, each forgotten `ttl_seconds` after it was last set; past the
    limit, the oldest goes first. So a flood of new keys cannot grow memory without end, and
    nothing about a person outlives its use."""

    def __init__(self, ttl_seconds: float, limit: int, clock: Callable[[], float] = time.monotonic) -> None:
        self._ttl, self._limit, self._clock = ttl_seconds, limit, clock
        self._entries: OrderedDict[K, tuple[float, V]] = OrderedDict()

    def __setitem__(self, key: K, value: V) -> None:
        self._entries.pop(key, None)
        self._entries[key] = (self._clock() + self._ttl, value)
        self._forget_stale()
        while len(self._entries) > self._limit:
            self._entries.popitem(last=False)

    def get(self, key: K) -> V | None:
        self._forget_stale()
        entry = self._entries.get(key)
        return entry[1] if entry else None

    def pop(self, key: K) -> V | None:
        value = self.get(key)
        self._entries.pop(key, None)
        return value

    def __len__(self) -> int:
        self._forget_stale()
        return len(self._entries)

    def _forget_stale(self) -> None:
        # Entries are in the order they were set, so the stale ones are at the front.
        now = self._clock()
        while self._entries and next(iter(self._entries.values()))[0] <= now:
            self._entries.popitem(last=False)
