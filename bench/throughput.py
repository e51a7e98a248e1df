"""Throughput and latency of `outreach-bot run` against a bare python-telegram-bot echo bot.

    .venv/bin/python bench/throughput.py [--workload help|report] [--users 200] [--messages 2000]
                                         [--rounds 3] [--database sqlite|postgresql] [--profile FILE]

Both bots run in one run, one after the other, as subprocesses polling the same fake Bot API
(bench/reports.py's BenchTelegram) on loopback: the echo bot is bench/echo_bot.py (one reply per
update, PTB's defaults); the full bot is `outreach-bot run` with a fresh database, no pacing and
no translation. For each, with --workload help (the default):
  * throughput: M `/help` messages from U people pushed at once; M ÷ (first push → last reply);
  * latency: M messages again, pushed evenly at half the rate the echo bot sustained; for each,
    the time from the push to its reply arriving at the fake server; p50 and p99.
With --workload report, each of the U people walks whole report conversations (bench/reports.py's
`conversation`: /report, the notice the first time, category, text, Next, Skip, when, Send, no
notifications) until M updates were sent in all; a person's next step is pushed once the reply to
the last one arrived, all people at once. The echo bot gets the same updates (presses as callback
queries with the same data) and also answers each with one message.
  * throughput: M ÷ (first push → last reply);
  * latency: per step, push → first reply, in that same run. There is no paced run: in a closed
    loop the bot's own replies set the rate, so U updates are always outstanding and the mean
    latency is about U ÷ updates/s (Little's law): a measure of queueing at full load, not
    comparable to the help workload's latency at half the echo rate.
  * the full bot's database: reports stored (each conversation that reached Send must be stored
    once, with one staff card, and no outbox row left pending: bench/reports.py's checks; else
    PROBLEM lines and exit status 1), and bytes per report: the growth of the database over the
    round (from after the bot's migrations to after it stopped; bench/reports.py's
    `database_bytes`) ÷ reports stored. Everything a report writes counts: its row, its outbox
    row, indexes, and with M ≈ 10 U (one report per person) one person's preferences row each.
    Files grow by whole pages (SQLite 4 KiB; PostgreSQL 8 KiB, and an empty table has none), so
    the figure is good to about a page per table and index ÷ reports; more --messages narrow it.
Both bots share two cores with the fake server and the driver, so one run is noisy: each of
--rounds rounds runs the echo bot, then the full bot, and the report gives each round and the
medians, with the ratio full ÷ echo. With --profile, the full bot runs under cProfile (which
slows it) and the top functions by own time are printed. Every wait is bounded; a stuck bot is
killed; only loopback is used.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import gc
import platform
import pstats
import shlex
import signal
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from bisect import bisect_left
from collections import Counter
from collections.abc import AsyncIterator
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.reports import (  # noqa: E402
    BenchTelegram,
    Walk,
    bench_env,
    cards_arrived,
    database_bytes,
    database_facts,
    fresh_database,
    problems_of,
    walk_reports,
)
from bench.startup import BOT, child_env  # noqa: E402
from tests.fake_telegram import FakeUser  # noqa: E402

PYTHON = ROOT / ".venv" / "bin" / "python"
READY_TIMEOUT, PHASE_TIMEOUT, STOP_TIMEOUT = 60.0, 300.0, 30.0


class Bot:
    """A bot process talking to the fake server; stopped with SIGTERM, killed if it hangs."""

    def __init__(self, process: asyncio.subprocess.Process, log: Path) -> None:
        self.process, self.log = process, log

    @classmethod
    async def start(cls, tg: BenchTelegram, command: list[str], workdir: Path, ready: str = "getUpdates") -> Bot:
        """Started once it calls `ready`: getUpdates when polling, setWebhook with a webhook."""
        log = workdir / f"{uuid.uuid4().hex[:6]}.log"
        with log.open("wb") as out:
            process = await asyncio.create_subprocess_exec(
                *command, cwd=workdir, env=child_env(), stdin=subprocess.DEVNULL, stdout=out, stderr=out
            )
        polls = len(tg.calls_to(ready))
        deadline = time.monotonic() + READY_TIMEOUT
        while len(tg.calls_to(ready)) <= polls and process.returncode is None:
            if time.monotonic() > deadline:
                process.kill()
                raise SystemExit(f"{command[0]} did not call {ready} within {READY_TIMEOUT}s; see {log}")
            await asyncio.sleep(0.05)
        if process.returncode is not None:
            raise SystemExit(f"{command[0]} exited with {process.returncode}; see {log}")
        return cls(process, log)

    async def stop(self) -> None:
        self.process.send_signal(signal.SIGTERM)
        try:
            await asyncio.wait_for(self.process.wait(), STOP_TIMEOUT)
        except TimeoutError:
            self.process.kill()
            await self.process.wait()


@contextlib.asynccontextmanager
async def running(tg: BenchTelegram, command: list[str], workdir: Path, ready: str = "getUpdates") -> AsyncIterator[Bot]:
    bot = await Bot.start(tg, command, workdir, ready)
    # The fake server keeps every call it answered; a full garbage collection walking them would
    # pause it (and so inflate both bots' latency). What exists now is left out of such passes.
    gc.collect()
    gc.freeze()
    try:
        yield bot
    finally:
        await bot.stop()


def replies_after(tg: BenchTelegram, chat: int, mark: int) -> list[float]:
    indexes = tg.replies.get(chat, [])
    return [tg.calls[i].at for i in indexes[bisect_left(indexes, mark) :]]  # type: ignore[attr-defined]


async def all_answered(tg: BenchTelegram, pushes: dict[int, list[float]], mark: int) -> dict[int, list[float]]:
    deadline = time.monotonic() + PHASE_TIMEOUT
    while True:
        answers = {chat: replies_after(tg, chat, mark) for chat in pushes}
        if all(len(answers[chat]) >= len(sent) for chat, sent in pushes.items()):
            return answers
        if time.monotonic() > deadline:
            missing = sum(len(sent) - len(answers[chat]) for chat, sent in pushes.items())
            raise SystemExit(f"{missing} messages were not answered within {PHASE_TIMEOUT}s")
        await asyncio.sleep(0.02)


async def burst(tg: BenchTelegram, people: list[FakeUser], messages: int) -> float:
    """Updates per second for `messages` /help pushed at once."""
    mark, pushes = tg.mark(), {person.id: [] for person in people}
    started = time.perf_counter()
    for n in range(messages):
        person = people[n % len(people)]
        pushes[person.id].append(time.perf_counter())
        tg.send_text(person, "/help")
    answers = await all_answered(tg, pushes, mark)
    return messages / (max(at for times in answers.values() for at in times) - started)


async def paced(tg: BenchTelegram, people: list[FakeUser], messages: int, rate: float) -> list[float]:
    """Milliseconds from push to reply, for `messages` pushed evenly at `rate` per second."""
    mark, pushes = tg.mark(), {person.id: [] for person in people}
    started = time.perf_counter()
    for n in range(messages):
        if (delay := started + n / rate - time.perf_counter()) > 0:
            await asyncio.sleep(delay)
        person = people[n % len(people)]
        pushes[person.id].append(time.perf_counter())
        tg.send_text(person, "/help")
    answers = await all_answered(tg, pushes, mark)
    # One chat's replies come in the order of its messages (both bots keep a chat's order).
    return [
        1000 * (answer - push)
        for chat, sent in pushes.items()
        for push, answer in zip(sent, answers[chat], strict=False)
    ]


def percentile(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(p / 100 * len(ordered)))]


def people_from(first_id: int, users: int) -> list[FakeUser]:
    return [
        FakeUser(id=first_id + n, first_name=f"P{n}", language_code=("es", "ar", "en")[n % 3]) for n in range(users)
    ]


async def measure(tg: BenchTelegram, command: list[str], workdir: Path, first_id: int, args: argparse.Namespace,
                  rate: float | None) -> tuple[float, list[float]]:  # fmt: skip
    async with running(tg, command, workdir):
        people = people_from(first_id, args.users)
        throughput = await burst(tg, people, args.messages)
        latencies = await paced(tg, people, args.messages, (rate or throughput) * 0.5)
    return throughput, latencies


async def measure_reports(tg: BenchTelegram, command: list[str], workdir: Path, first_id: int, args: argparse.Namespace,
                          database: tuple[str, str] | None) -> tuple[float, list[float], dict]:  # fmt: skip
    """Updates per second and milliseconds per step while U people walk report conversations until
    M updates were sent, and what went wrong; for the full bot (`database`: kind and target), also
    the reports it stored and the bytes the database grew by."""
    walk, checked = Walk(left=args.messages), database is not None
    async with running(tg, command, workdir) as bot:
        if checked:  # the bot has migrated the database by now, so its schema is not counted
            last = max((await asyncio.to_thread(database_facts, *database))[0], default=0)
            size, carded = await asyncio.to_thread(database_bytes, *database), len(tg.cards)
        started = time.perf_counter()
        walkers = [walk_reports(tg, p, walk, None, checked=checked) for p in people_from(first_id, args.users)]
        try:
            await asyncio.wait_for(asyncio.gather(*walkers), PHASE_TIMEOUT)
        except TimeoutError:
            raise SystemExit(f"report conversations did not finish within {PHASE_TIMEOUT}s") from None
        finished = max(reply.at for _, reply in walk.steps)  # type: ignore[attr-defined]
        if checked:  # the staff cards go out in the background: let them before stopping the bot
            await cards_arrived(tg, carded + len(walk.sends))
    rate = len(walk.steps) / (finished - started)
    latencies = [1000 * (reply.at - pushed) for pushed, reply in walk.steps]  # type: ignore[attr-defined]
    if not checked:
        return rate, latencies, {"problems": walk.failures}
    ids, pending = await asyncio.to_thread(database_facts, *database)
    ids = [i for i in ids if i > last]
    cards = Counter({number: count for number, count in tg.cards.items() if number > last})
    r = {"failures": walk.failures, "codes": walk.codes, "sends": walk.sends, "cards": cards, "exit": bot.process.returncode}  # fmt: skip
    problems = problems_of(range(last + 1, last + 1 + len(walk.sends)), r, ids, pending)
    grown = await asyncio.to_thread(database_bytes, *database) - size
    return rate, latencies, {"problems": problems, "reports": len(ids), "bytes": grown}


async def run(args: argparse.Namespace, workdir: Path, database_url: str, target: str) -> list[dict]:
    rounds = []
    async with BenchTelegram() as tg:
        env_file = bench_env(workdir, tg, database_url, STAFF_MESSAGES_PER_MINUTE=0, TRANSLATION="false")
        echo = [str(PYTHON), str(ROOT / "bench" / "echo_bot.py"), tg.token, tg.base_url]
        full = [str(BOT), "--env-file", str(env_file), "run"]
        if args.profile:
            script = (f"import cProfile, sys; sys.argv = {['outreach-bot', *full[1:]]!r}; "
                      f"from bot.cli import main; cProfile.run('main()', {str(args.profile)!r})")  # fmt: skip
            full = [str(PYTHON), "-c", script]
        for number in range(args.rounds):
            people = 10_000_000 * (number + 1)  # new people each round: the full bot meets them anew
            if args.workload == "help":
                echo_rate, echo_latency = await measure(tg, echo, workdir, people, args, None)
                full_rate, full_latency = await measure(tg, full, workdir, people + 5_000_000, args, echo_rate)
                rounds.append({"echo": (echo_rate, echo_latency), "full": (full_rate, full_latency)})
                continue
            *echo_measured, echoed = await measure_reports(tg, echo, workdir, people, args, None)
            *full_measured, stored = await measure_reports(
                tg, full, workdir, people + 5_000_000, args, (args.database, target)
            )
            stored["problems"] = echoed["problems"] + stored["problems"]
            rounds.append({"echo": tuple(echo_measured), "full": tuple(full_measured), **stored})
    return rounds


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--workload", choices=("help", "report"), default="help")
    parser.add_argument("--users", type=int, default=200)
    parser.add_argument("--messages", type=int, default=2000)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--database", choices=("sqlite", "postgresql"), default="sqlite")
    parser.add_argument("--profile", type=Path, help="run the full bot under cProfile, writing this file")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="outreach-throughput-") as scratch:
        workdir = Path(scratch)
        with fresh_database(args.database, workdir) as (url, target):
            result = asyncio.run(run(args, workdir, url, target))
    if args.workload == "help":
        print(f"\n{args.messages} /help from {args.users} people, {args.database}, {args.rounds} rounds; "
              f"latency measured at half the echo bot's rate in the same round")  # fmt: skip
    else:
        print(f"\n{args.messages} updates of whole report conversations from {args.users} people, {args.database}, "
              f"{args.rounds} rounds; each person's next step pushed once the last one was answered; "
              f"latency per step (push → first reply) in that same run, at full load")  # fmt: skip
    print(f"  {'round':<6} {'bot':<5} {'updates/s':>10} {'p50 ms':>8} {'p99 ms':>8}")
    ratios, p99s = [], []
    for number, measured in enumerate(result, 1):
        for name in ("echo", "full"):
            rate, latency = measured[name]
            print(
                f"  {number:<6} {name:<5} {rate:>10.0f} {percentile(latency, 50):>8.1f} {percentile(latency, 99):>8.1f}"
            )
        ratios.append(measured["full"][0] / measured["echo"][0])
        p99s.append(percentile(measured["full"][1], 99))
    print(
        f"  full ÷ echo throughput per round: {', '.join(f'{r:.2f}' for r in ratios)}; "
        f"median {statistics.median(ratios):.2f}"
    )
    print(f"  full bot p99 latency, median of rounds: {statistics.median(p99s):.1f} ms")
    problems = [problem for measured in result for problem in measured.get("problems", [])]
    if args.workload == "report":
        print(f"  full bot's database ({args.database}), growth over each round ÷ reports stored in it:")
        print(f"  {'round':<6} {'reports':>8} {'bytes':>12} {'bytes/report':>13}")
        for number, measured in enumerate(result, 1):
            per_report = f"{measured['bytes'] / measured['reports']:,.0f}" if measured["reports"] else "-"
            print(f"  {number:<6} {measured['reports']:>8} {measured['bytes']:>12,} {per_report:>13}")
        print(
            f"  stored reports, staff cards and outbox checked: {'no problems' if not problems else 'PROBLEMS, see below'}"
        )
    if args.profile:
        print(f"\nfull bot, top functions by own time ({args.profile}):")
        pstats.Stats(str(args.profile)).sort_stats("tottime").print_stats(15)
    print(f"command: {shlex.join(['.venv/bin/python', 'bench/throughput.py', *sys.argv[1:]])}")
    print(
        f"machine: nproc={subprocess.run(['nproc'], capture_output=True, text=True).stdout.strip()}, "
        f"Python {platform.python_version()}; the fake server, the driver and the bot share the machine"
    )
    for problem in problems:
        print(f"PROBLEM: {problem}")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
