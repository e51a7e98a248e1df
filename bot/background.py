"""Background work that runs whenever it is woken, or on a timer, and never stops on an error."""

from __future__ import annotations

import asyncio
import contextlib
import logging

log = logging.getLogger(__name__)


MAX_RETRY_SECONDS = 300.0


def backoff(retry_seconds: float, failures: int, max_seconds: float = MAX_RETRY_SECONDS) -> float:
    """The wait after `failures` failed passes in a row: doubling from `retry_seconds`, capped."""
    return min(retry_seconds * 2 ** (failures - 1), max(max_seconds, retry_seconds))


class WakeableLoop:
    """Call `work()` whenever `wakeup` is set, or after the delay `work()` returned; an error
    (the database is down, say) is logged by type and retried with exponential backoff, so a
    long outage costs a few log lines and queries, not one every few seconds."""

    def __init__(self, name: str, wakeup: asyncio.Event, retry_seconds: float) -> None:
        self.name, self._wakeup, self._retry_seconds = name, wakeup, retry_seconds
        self._task: asyncio.Task[None] | None = None
        self.failures = 0  # failed passes in a row; readiness reports a loop that keeps failing

    async def work(self) -> float:
        """Do what is due; return how long to wait before looking again."""
        raise NotImplementedError

    def start(self) -> None:
        self._task = asyncio.create_task(self._run(), name=self.name)

    async def stop(self) -> None:
        if self._task:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task

    async def _run(self) -> None:
        while True:
            self._wakeup.clear()  # before working: a wake-up during the work is not lost
            try:
                delay = await self.work()
                self.failures = 0
            except Exception as exc:
                self.failures += 1
                delay = backoff(self._retry_seconds, self.failures)
                log.error("%s_failed error=%s failures=%d retry_in=%g", self.name, type(exc).__name__, self.failures, delay)
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wakeup.wait(), timeout=max(delay, 0.01))
