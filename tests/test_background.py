"""Background loops keep going through errors, and back off while the errors last."""

from __future__ import annotations

import asyncio

import pytest

from bot.background import WakeableLoop, backoff


def test_backoff_doubles_from_the_first_retry_up_to_the_cap() -> None:
    assert [backoff(5, failures, 60) for failures in range(1, 7)] == [5, 10, 20, 40, 60, 60]
    assert backoff(500, 1, 60) == 500  # a first retry longer than the cap is kept


class Flaky(WakeableLoop):
    """Fails its first `failing` passes, as a loop does while the database is down."""

    def __init__(self, failing: int) -> None:
        super().__init__("flaky", asyncio.Event(), retry_seconds=0.001)
        self.failing, self.seen = failing, []
        self.recovered = asyncio.Event()

    async def work(self) -> float:
        self.seen.append(self.failures)
        if len(self.seen) <= self.failing:
            raise ConnectionRefusedError
        self.recovered.set()
        return 3600


async def test_a_loop_counts_failures_in_a_row_and_forgets_them_once_it_works(caplog: pytest.LogCaptureFixture) -> None:
    loop = Flaky(failing=3)
    loop.start()
    await asyncio.wait_for(loop.recovered.wait(), timeout=30)
    await loop.stop()
    assert loop.seen == [0, 1, 2, 3] and loop.failures == 0
    assert [r.getMessage() for r in caplog.records] == [
        "flaky_failed error=ConnectionRefusedError failures=1 retry_in=0.001",
        "flaky_failed error=ConnectionRefusedError failures=2 retry_in=0.002",
        "flaky_failed error=ConnectionRefusedError failures=3 retry_in=0.004",
    ]
