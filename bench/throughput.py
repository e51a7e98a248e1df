"""Throughput and latency of `outreach-bot run` against a bare python-telegram-bot echo bot.

    .venv/bin/python bench/throughput.py [--users 200] [--messages 2000] [--rounds 3]
                                         [--database sqlite|postgresql] [--profile FILE]

Both bots run in one run, one after the other, as subprocesses polling the same fake Bot API
(bench/reports.py's BenchTelegram) on loopback: the echo bot is bench/echo_bot.py (one
MessageHandler that replies, PTB's defaults); the full bot is `outreach-bot run` with a fresh
database, no pacing and no translation. For each:
  * throughput: M `/help` messages from U people pushed at once; M ÷ (first push → last reply);
  * latency: M messages again, pushed evenly at half the rate the echo bot sustained; for each,
    the time from the push to its reply arriving at the fake server; p50 and p99.
Both bots share two cores with the fake server and the driver, so one run is noisy: each of
--rounds rounds runs the echo bot, then the full bot, and the report gives each round and the
medians, with the ratio full ÷ echo. With --profile, the full bot runs under cProfile (which
slows it) and the top functions by own time are printed. Every wait is bounded; a stuck bot is
killed; only loopback is used.
"""

from __future__ import annotations

import argparse
import asyncio
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
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.reports import BenchTelegram, bench_env, fresh_database  # noqa: E402
from bench.startup import BOT, child_env  # noqa: E402
from tests.fake_telegram import FakeUser  # noqa: E402

PYTHON = ROOT / ".venv" / "bin" / "python"
READY_TIMEOUT, PHASE_TIMEOUT, STOP_TIMEOUT = 60.0, 300.0, 30.0


class Bot:
    """A bot process polling the fake server; stopped with SIGTERM, killed if it hangs."""

    def __init__(self, process: asyncio.subprocess.Process, log: Path) -> None:
        self.process, self.log = process, log

    @classmethod
    async def start(cls, tg: BenchTelegram, command: list[str], workdir: Path) -> Bot:
        log = workdir / f"{uuid.uuid4().hex[:6]}.log"
        with log.open("wb") as out:
            process = await asyncio.create_subprocess_exec(
                *command, cwd=workdir, env=child_env(), stdin=subprocess.DEVNULL, stdout=out, stderr=out
            )
        polls = len(tg.calls_to("getUpdates"))
        deadline = time.monotonic() + READY_TIMEOUT
        while len(tg.calls_to("getUpdates")) <= polls and process.returncode is None:
            if time.monotonic() > deadline:
                process.kill()
                raise SystemExit(f"{command[0]} was not polling within {READY_TIMEOUT}s; see {log}")
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


def replies_after(tg: BenchTelegram, chat: int, mark: int) -> list[float]:
    indexes = tg.replies.get(chat, [])
    return [tg.calls[i].at for i in indexes[bisect_left(indexes, mark):]]  # type: ignore[attr-defined]


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
    return [1000 * (answer - push) for chat, sent in pushes.items() for push, answer in zip(sent, answers[chat], strict=False)]


def percentile(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(p / 100 * len(ordered)))]


async def measure(tg: BenchTelegram, command: list[str], workdir: Path, first_id: int, args: argparse.Namespace,
                  rate: float | None) -> tuple[float, list[float]]:  # fmt: skip
    bot = await Bot.start(tg, command, workdir)
    try:
        people = [FakeUser(id=first_id + n, first_name=f"P{n}", language_code=("es", "ar", "en")[n % 3])
                  for n in range(args.users)]  # fmt: skip
        throughput = await burst(tg, people, args.messages)
        latencies = await paced(tg, people, args.messages, (rate or throughput) * 0.5)
    finally:
        await bot.stop()
    return throughput, latencies


async def run(args: argparse.Namespace, workdir: Path, database_url: str) -> list[dict]:
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
            echo_rate, echo_latency = await measure(tg, echo, workdir, people, args, None)
            full_rate, full_latency = await measure(tg, full, workdir, people + 5_000_000, args, echo_rate)
            rounds.append({"echo": (echo_rate, echo_latency), "full": (full_rate, full_latency)})
    return rounds


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--users", type=int, default=200)
    parser.add_argument("--messages", type=int, default=2000)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--database", choices=("sqlite", "postgresql"), default="sqlite")
    parser.add_argument("--profile", type=Path, help="run the full bot under cProfile, writing this file")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="outreach-throughput-") as scratch:
        workdir = Path(scratch)
        with fresh_database(args.database, workdir) as (url, _):
            result = asyncio.run(run(args, workdir, url))
    print(f"\n{args.messages} /help from {args.users} people, {args.database}, {args.rounds} rounds; "
          f"latency measured at half the echo bot's rate in the same round")  # fmt: skip
    print(f"  {'round':<6} {'bot':<5} {'updates/s':>10} {'p50 ms':>8} {'p99 ms':>8}")
    ratios, p99s = [], []
    for number, measured in enumerate(result, 1):
        for name in ("echo", "full"):
            rate, latency = measured[name]
            print(f"  {number:<6} {name:<5} {rate:>10.0f} {percentile(latency, 50):>8.1f} {percentile(latency, 99):>8.1f}")
        ratios.append(measured["full"][0] / measured["echo"][0])
        p99s.append(percentile(measured["full"][1], 99))
    print(f"  full ÷ echo throughput per round: {', '.join(f'{r:.2f}' for r in ratios)}; "
          f"median {statistics.median(ratios):.2f}")
    print(f"  full bot p99 latency, median of rounds: {statistics.median(p99s):.1f} ms")
    if args.profile:
        print(f"\nfull bot, top functions by own time ({args.profile}):")
        pstats.Stats(str(args.profile)).sort_stats("tottime").print_stats(15)
    print(f"command: {shlex.join(['.venv/bin/python', 'bench/throughput.py', *sys.argv[1:]])}")
    print(f"machine: nproc={subprocess.run(['nproc'], capture_output=True, text=True).stdout.strip()}, "
          f"Python {platform.python_version()}; the fake server, the driver and the bot share the machine")
    return 0


if __name__ == "__main__":
    sys.exit(main())
