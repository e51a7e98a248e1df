"""Background work that runs whenever it is woken, or on a timer, and never stops on an error."""

from __future__ import annotations

import asyncio
import contextlib
import logging

log = logging.getLogger(__name__)


class WakeableLoop:
    """Call `work()` whenever `wakeup` is set, or after the delay `work()` returned; an error
    (the database is down, say) is logged by type and retried after `retry_seconds`."""

    def __init__(self, name: str, wakeup: asyncio.Event, retry_seconds: float) -> None:
        self._name, self._wakeup, self._retry_seconds = name, wakeup, retry_seconds
        self._task: asyncio.Task[None] | None = None

    async def work(self) -> float:
        """Do what is due; return how long to wait before looking again."""
        raise NotImplementedError

    def start(self) -> None:
        self._task = asyncio.create_task(self._run(), name=self._name)

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
            except Exception as exc:
                log.error("%s_failed error=%s", self._name, type(exc).__name__)
                delay = self._retry_seconds
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wakeup.wait(), timeout=max(delay, 0.01))
