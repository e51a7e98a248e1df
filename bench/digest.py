"""Surge digests: how long until every one of 1,000 reports is visible to officers, with and without.

    .venv/bin/python bench/digest.py [--reports 1000] [--urgent 50] [--scale 60] [--database sqlite|postgresql]

Telegram lets a bot post about 20 messages a minute in a group. The fake Bot API here enforces
that on the staff chat (a 21st message within a minute gets 429 with retry_after), and the bot
runs as `outreach-bot run` with STAFF_MESSAGES_PER_MINUTE=20. The run is **time-scaled**: both
the server's limit and the bot's pace are multiplied by --scale (60: 20 messages a second), and
every time is reported divided back into unscaled minutes, as it would be at 20 a minute.

Before each run, R reports (U of them urgent) are written to a fresh database with
`bot.reports.submit`, exactly as the Send button writes them, as if they came in while the staff
chat could not be reached; then the bot starts. A report is visible once a staff message shows
its "Report #N:" (its own card, or its entry in a digest); time counts from the bot's first
message to the staff chat, so start-up is left out. Reported for DIGEST_THRESHOLD=0 (one
card each) and the default 20: minutes until the last urgent report and the last report are
visible, staff messages sent, 429s, and whether every report was shown exactly once (the exit
status is 1 otherwise). Every wait is bounded; only loopback is used.
"""

from __future__ import annotations

import argparse
import asyncio
import platform
import re
import sys
import tempfile
import time
from collections import Counter, deque
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.reports import BenchTelegram, bench_env, fresh_database  # noqa: E402
from bench.startup import BOT  # noqa: E402
from bench.throughput import running  # noqa: E402
from bot.config import load_settings  # noqa: E402
from bot.crypto import ColumnKeys, Keys  # noqa: E402
from bot.reports import Draft, submit  # noqa: E402
from storage.database import create_engine, session_factory, upgrade_to_head  # noqa: E402
from storage.encryption import bind_cipher  # noqa: E402
from storage.unit_of_work import UnitOfWork  # noqa: E402
from tests.conftest import STAFF_CHAT_ID  # noqa: E402
from tests.fake_telegram import ApiError  # noqa: E402

PER_MINUTE = 20
REPORT = re.compile(r"Report #(\d+):")
RUN_TIMEOUT = 600.0


class RateLimitedTelegram(BenchTelegram):
    """The fake server with Telegram's group limit on the staff chat, and a tally of what officers see."""

    def __init__(self, per_window: int, window: float) -> None:
        super().__init__()
        self.per_window, self.window = per_window, window
        self.sent_at: deque[float] = deque()
        self.first_attempt: float | None = None  # the bot's first message to the staff chat: time zero
        self.too_many = 0
        self.shown: Counter[int] = Counter()  # report number -> staff messages showing it
        self.first_shown: dict[int, float] = {}

    async def _handle_api(self, request):  # noqa: ANN001, ANN202
        if request.match_info["method"].lower().startswith("send"):
            params, _ = await self._read_params(request)
            if params.get("chat_id") == STAFF_CHAT_ID:
                now = time.perf_counter()
                self.first_attempt = self.first_attempt or now
                while self.sent_at and now - self.sent_at[0] >= self.window:
                    self.sent_at.popleft()
                if len(self.sent_at) >= self.per_window:
                    self.too_many += 1
                    return self._error(ApiError(429, "Too Many Requests: retry after 1", 1))
                self.sent_at.append(now)
        return await super()._handle_api(request)

    def _record(self, call) -> None:  # noqa: ANN001
        super()._record(call)
        if call.failed is None and call.method == "sendMessage" and call.params.get("chat_id") == STAFF_CHAT_ID:
            for number in map(int, REPORT.findall(call.params["text"])):
                self.shown[number] += 1
                self.first_shown.setdefault(number, call.at)


async def write_reports(env_file: Path, reports: int, urgent: int) -> None:
    """R reports as the Send button writes them, the first U urgent (category "threat")."""
    settings = load_settings(env_file)
    engine = create_engine(settings.database_url)
    await upgrade_to_head(engine)
    keys = Keys(settings.secret_key)
    bind_cipher(engine, ColumnKeys(settings.secret_key))
    sessions = session_factory(engine)
    for number in range(reports):
        category = "threat" if number < urgent else "crime"
        draft = Draft(category=category, text=f"Report {number}: someone was trying car doors on Elm Street last night.")
        async with UnitOfWork(sessions) as uow:
            await submit(uow, draft, sender=f"{number:064x}", language="en", urgent=category == "threat", keys=keys, translate=False)
            await uow.commit()
    await engine.dispose()


def one_run(args: argparse.Namespace, threshold: int) -> dict[str, float]:
    """One bot on a fresh database (made outside the event loop: bench.reports.fresh_database runs its own)."""
    with tempfile.TemporaryDirectory(prefix="digest-bench-") as directory, fresh_database(args.database, Path(directory)) as (url, _):
        workdir = Path(directory)
        (workdir / "data").mkdir(exist_ok=True)
        return asyncio.run(measure(args, threshold, workdir, url))


async def measure(args: argparse.Namespace, threshold: int, workdir: Path, url: str) -> dict[str, float]:
    window = 60.0 / args.scale
    async with RateLimitedTelegram(PER_MINUTE, window) as tg:
        env_file = bench_env(workdir, tg, url, STAFF_MESSAGES_PER_MINUTE=PER_MINUTE * args.scale,
                             DIGEST_THRESHOLD=threshold, TRANSLATION="false")  # fmt: skip
        await write_reports(env_file, args.reports, args.urgent)
        async with running(tg, [str(BOT), "--env-file", str(env_file), "run"], workdir):
            deadline = time.monotonic() + RUN_TIMEOUT
            while len(tg.shown) < args.reports and time.monotonic() < deadline:
                await asyncio.sleep(0.05)
            await asyncio.sleep(2 * window)  # anything shown twice would show now
        staff = sum(1 for c in tg.calls if c.failed is None and c.params.get("chat_id") == STAFF_CHAT_ID)
        started = tg.first_attempt or time.perf_counter()
        urgent = [tg.first_shown.get(n, float("inf")) for n in range(1, args.urgent + 1)]
        return {
            "all": (max(tg.first_shown.values(), default=float("inf")) - started) / window,
            "urgent": (max(urgent, default=started) - started) / window,
            "messages": staff,
            "429": tg.too_many,
            "exact": tg.shown == Counter(range(1, args.reports + 1)),
        }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--reports", type=int, default=1000)
    parser.add_argument("--urgent", type=int, default=50)
    parser.add_argument("--scale", type=int, default=60)
    parser.add_argument("--database", choices=("sqlite", "postgresql"), default="sqlite")
    args = parser.parse_args()
    print(f"# {platform.python_version()}, {args.reports} reports ({args.urgent} urgent), {args.database}, "
          f"staff chat limited to {PER_MINUTE}/min, time scaled ×{args.scale}; minutes are unscaled")  # fmt: skip
    results = {name: one_run(args, threshold) for name, threshold in (("one card each", 0), ("digests", 20))}
    print("| delivery | last urgent visible, min | all visible, min | staff messages | 429s | each shown once |")
    print("|---|---|---|---|---|---|")
    for name, r in results.items():
        print(f"| {name} | {r['urgent']:.1f} | {r['all']:.1f} | {r['messages']} | {r['429']} | {r['exact']} |")
    ratio = results["one card each"]["all"] / results["digests"]["all"]
    print(f"all visible: digests {ratio:.1f}× sooner, in the same run")
    return 0 if all(r["exact"] for r in results.values()) else 1


if __name__ == "__main__":
    sys.exit(main())
