"""Burst benchmark: many anonymous reports at once through `outreach-bot run` and the fake Bot API.

    .venv/bin/python bench/reports.py [--reports 1000] [--users 200] [--database sqlite|postgresql]

Why: a report must reach the officers exactly once, also when many people report at the same
moment. One run starts the real bot as a subprocess (fresh temp dir and SQLite file, or a fresh
PostgreSQL database; STAFF_MESSAGES_PER_MINUTE=0 as the fake server does not rate-limit), and U
simulated users file R reports (the steps of `tests.reporting.Reporter.file`, see `conversation`),
each user's in sequence, all users at once as asyncio tasks. It reports
  * throughput: rows in `reports` / (first /report sent → last "received" answer arrived);
  * p50/p99 latency from pushing the `report:send` press to the "received" message arriving at the
    fake server (driver side, perf_counter);
  * the outbox drain: when the last card reached the staff chat, from the end of the burst and
    from the first Send, and the Bot API calls made (staff chat, all; per report);
  * nothing lost or duplicated: reports 1..N each have exactly one successful staff card, N
    distinct receipt codes, no outbox row with done_at NULL; otherwise the exit status is 1.
Every wait is bounded; a stuck bot is killed; only loopback is used.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import itertools
import platform
import re
import resource
import shlex
import signal
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from bisect import bisect_left
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import asyncpg

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.startup import BOT, child_env  # noqa: E402
from tests.conftest import STAFF_CHAT_ID  # noqa: E402
from tests.fake_telegram import Call, FakeTelegram, FakeUser  # noqa: E402
from tests.reporting import CODE, Reporter, buttons  # noqa: E402

POSTGRES = "postgresql://postgres@127.0.0.1:5432"
READY_TIMEOUT, STEP_TIMEOUT, BURST_TIMEOUT, DRAIN_TIMEOUT, STOP_TIMEOUT = 60.0, 120.0, 900.0, 120.0, 30.0
CARD = re.compile(r"Report #(\d+):")


class BenchTelegram(FakeTelegram):
    """The fake server plus an arrival time on every call, an index of replies per chat (so that
    hundreds of waiting users do not each rescan every call) and a tally of staff cards."""

    def __init__(self) -> None:
        super().__init__()
        self.replies: dict[int, list[int]] = {}  # chat id -> indexes into self.calls
        self.waiting: dict[int, asyncio.Event] = {}
        self.cards: Counter[int] = Counter()  # report number -> successful staff cards
        self.last_new_card_at = 0.0

    def _record(self, call: Call) -> None:
        call.at = time.perf_counter()  # type: ignore[attr-defined]
        index = len(self.calls)
        super()._record(call)
        chat = call.params.get("chat_id")
        if call.failed is None and call.method in ("sendMessage", "editMessageText") and isinstance(chat, int):
            self.replies.setdefault(chat, []).append(index)
            if event := self.waiting.pop(chat, None):
                event.set()
            if chat == STAFF_CHAT_ID and call.method == "sendMessage" and (card := CARD.search(call.params["text"])):
                if int(card[1]) not in self.cards:
                    self.last_new_card_at = call.at  # type: ignore[attr-defined]
                self.cards[int(card[1])] += 1

    async def wait_for_reply(self, chat_id: int, *, timeout: float = 10.0, after: int | None = None) -> Call:
        """Same contract as the base class for an explicit `after` (Reporter always passes one)."""
        assert after is not None
        deadline = time.monotonic() + max(timeout, STEP_TIMEOUT)
        while True:
            replies = self.replies.get(chat_id, [])
            if (position := bisect_left(replies, after)) < len(replies):
                return self.calls[replies[position]]
            if (remaining := deadline - time.monotonic()) <= 0:
                raise AssertionError(f"no reply to chat {chat_id} within {STEP_TIMEOUT}s")
            event = self.waiting.setdefault(chat_id, asyncio.Event())
            try:
                await asyncio.wait_for(event.wait(), remaining)
            except TimeoutError:
                pass


class Spent(Exception):
    """The run's updates are all sent: a person stops where their conversation stands."""


@dataclass
class Walk:
    """What the people of one run share: how many updates may still be sent (None: no limit), every
    step as (push, the bot's first reply), the Send steps among them, receipt codes and failures."""

    left: int | None = None
    steps: list[tuple[float, Call]] = field(default_factory=list)
    sends: list[tuple[float, Call]] = field(default_factory=list)
    codes: list[str] = field(default_factory=list)
    failures: list[str] = field(default_factory=list)

    def spend(self) -> None:
        if self.left is not None:
            if self.left <= 0:
                raise Spent
            self.left -= 1


def conversation(text: str, *, first: bool) -> list[tuple[str, str]]:
    """One whole report as `Reporter.file` sends it with its defaults: ("say", text), or ("press",
    data) of a button under the bot's last message. Fixed rather than read from the bot's answers,
    so that a bot that only echoes gets the same updates; a person's first /report shows the notice."""
    notice = [("press", "report:notice:ok")] if first else []
    presses = ("report:next", "report:skip", "report:when:today", "report:send", "report:notify:no")
    return [
        ("say", "/report"),
        *notice,
        ("press", "report:cat:crime"),
        ("say", text),
        *(("press", data) for data in presses),
    ]


async def file_report(reporter: Reporter, walk: Walk, text: str, *, first: bool, checked: bool) -> None:
    """One whole report, each step pushed once the bot's reply to the previous one arrived. With
    `checked` (the real bot), every button pressed must be under that reply and Send must answer
    with a receipt code."""
    reply: Call | None = None
    for kind, value in conversation(text, first=first):
        if checked and kind == "press" and value not in buttons(reply.result):
            raise AssertionError(f"no {value} button under {reply.params['text'][:80]!r}")
        walk.spend()
        pushed = time.perf_counter()
        reply = await (reporter.say(value) if kind == "say" else reporter.press(reply, value))
        walk.steps.append((pushed, reply))
        if value == "report:send":
            walk.sends.append((pushed, reply))
            if checked:
                if not (code := CODE.search(reply.params["text"])):
                    raise AssertionError(f"no receipt code in {reply.params['text'][:80]!r}")
                walk.codes.append(code.group())


async def walk_reports(
    tg: BenchTelegram, person: FakeUser, walk: Walk, reports: int | None, *, checked: bool = True
) -> None:
    """`person`, who never reported before, files `reports` reports in sequence (None: until the
    walk's updates are spent); a failure is noted in the walk and ends this person's run."""
    reporter = Reporter(tg, person)
    for k in itertools.count(1) if reports is None else range(1, reports + 1):
        text = f"Report {k} of {person.first_name}: a car has been parked here for days."
        try:
            await file_report(reporter, walk, text, first=k == 1, checked=checked)
        except Spent:
            return
        except Exception as exc:  # noqa: BLE001 - a timeout or a wrong answer: say which, keep going
            walk.failures.append(f"{person.first_name}, report {k}: {str(exc).splitlines()[0]}")
            return


async def cards_arrived(tg: BenchTelegram, count: int) -> bool:
    """Whether the staff chat has cards of `count` distinct reports, waiting up to DRAIN_TIMEOUT."""
    deadline = time.monotonic() + DRAIN_TIMEOUT
    while len(tg.cards) < count and time.monotonic() < deadline:
        await asyncio.sleep(0.05)
    return len(tg.cards) >= count


def bench_env(workdir: Path, tg: FakeTelegram, database_url: str, **settings: object) -> Path:
    """The bot's .env for a benchmark: the fake server, a throwaway secret, the database, `settings`.
    The per-person rate limits are off: a benchmark person sends far more than a real one."""
    values = {"TELEGRAM_BOT_TOKEN": tg.token, "TELEGRAM_API_BASE_URL": tg.base_url, "STAFF_CHAT_ID": STAFF_CHAT_ID,
              "SECRET_KEY": "b" * 40, "DATABASE_URL": database_url, "LIMIT_UPDATES_PER_MINUTE": 0,
              "LIMIT_REPORTS_PER_HOUR": 0, "LIMIT_DIALOG_MESSAGES_PER_HOUR": 0, "LIMIT_WRONG_CODES_PER_HOUR": 0,
              **settings}  # fmt: skip
    env_file = workdir / ".env"
    env_file.write_text("".join(f"{name}={value}\n" for name, value in values.items()), encoding="utf-8")
    return env_file


@contextlib.contextmanager
def fresh_database(kind: str, workdir: Path) -> Iterator[tuple[str, str]]:
    """(URL, target) of an empty database: a SQLite file in `workdir`, or a new PostgreSQL
    database, dropped afterwards. `target` is what `database_facts` reads."""
    if kind == "sqlite":
        target = str(workdir / "data" / "outreach.db")
        yield f"sqlite+aiosqlite:///{target}", target
        return
    target = f"outreach_bench_{uuid.uuid4().hex[:12]}"
    asyncio.run(postgres("postgres", f'CREATE DATABASE "{target}"'))
    try:
        yield f"{POSTGRES}/{target}", target
    finally:
        asyncio.run(postgres("postgres", f'DROP DATABASE IF EXISTS "{target}" WITH (FORCE)'))


async def postgres(database: str, *statements: str) -> list[list]:
    """Run statements on the local PostgreSQL server, bounded; the rows of each."""
    db = await asyncpg.connect(f"{POSTGRES}/{database}", timeout=10)
    try:
        return [await db.fetch(sql, timeout=60) for sql in statements]
    finally:
        await db.close()


def database_facts(kind: str, target: str) -> tuple[list[int], int]:
    """(report ids, outbox rows with done_at NULL) straight from the database."""
    queries = ("SELECT id FROM reports ORDER BY id", "SELECT count(*) FROM outbox WHERE done_at IS NULL")
    if kind == "sqlite":
        with contextlib.closing(sqlite3.connect(target, timeout=10)) as db:
            ids, pending = (db.execute(sql).fetchall() for sql in queries)
    else:
        ids, pending = asyncio.run(postgres(target, *queries))
    return [row[0] for row in ids], pending[0][0]


def database_bytes(kind: str, target: str) -> int:
    """The database's size: SQLite's pages once the WAL is folded in; PostgreSQL's tables (the
    bot's, in schema public) with their indexes and TOAST."""
    if kind == "sqlite":
        with contextlib.closing(sqlite3.connect(target, timeout=10)) as db:
            db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
            return db.execute("PRAGMA page_count").fetchone()[0] * db.execute("PRAGMA page_size").fetchone()[0]
    sql = "SELECT sum(pg_total_relation_size(oid))::bigint FROM pg_class WHERE relkind = 'r' AND relnamespace = 'public'::regnamespace"
    [[size]] = asyncio.run(postgres(target, sql))
    return size[0]


async def run_bench(args: argparse.Namespace, workdir: Path, database_url: str) -> dict:
    async with BenchTelegram() as tg:
        env_file = bench_env(workdir, tg, database_url, STAFF_MESSAGES_PER_MINUTE=0)
        log = (workdir / "bot.log").open("wb")
        bot = await asyncio.create_subprocess_exec(
            str(BOT), "--env-file", str(env_file), "run",
            cwd=workdir, env=child_env(), stdin=subprocess.DEVNULL, stdout=log, stderr=log,
        )  # fmt: skip
        try:
            exited = asyncio.ensure_future(bot.wait())
            ready = asyncio.ensure_future(tg.wait_for_request("getUpdates", timeout=READY_TIMEOUT))
            await asyncio.wait({exited, ready}, timeout=READY_TIMEOUT, return_when=asyncio.FIRST_COMPLETED)
            if not ready.done() or ready.exception():
                ready.cancel()
                raise SystemExit(f"the bot was not polling within {READY_TIMEOUT}s; see {workdir / 'bot.log'}")
            users, walk = min(args.users, args.reports), Walk()
            first_call, started = tg.mark(), time.perf_counter()
            tasks = [walk_reports(tg, FakeUser(id=7_000_000 + u, first_name=f"U{u}"), walk,
                                  args.reports // users + (u < args.reports % users)) for u in range(users)]  # fmt: skip
            try:
                await asyncio.wait_for(asyncio.gather(*tasks), BURST_TIMEOUT)
            except TimeoutError:
                walk.failures.append(f"the burst did not finish within {BURST_TIMEOUT}s")
            burst_end = max((answer.at for _, answer in walk.sends), default=time.perf_counter())
            drained, last_call = await cards_arrived(tg, len(walk.codes)), len(tg.calls)
        finally:
            if bot.returncode is None:
                bot.send_signal(signal.SIGTERM)
                try:
                    await asyncio.wait_for(bot.wait(), STOP_TIMEOUT)
                except TimeoutError:
                    bot.kill()
                    await asyncio.wait_for(bot.wait(), STOP_TIMEOUT)
            log.close()
        calls = tg.calls[first_call:last_call]
        return {
            "sends": walk.sends, "codes": walk.codes, "failures": walk.failures, "cards": tg.cards, "drained": drained,
            "started": started, "burst_end": burst_end, "drain_end": tg.last_new_card_at,
            "staff_calls": sum(c.params.get("chat_id") == STAFF_CHAT_ID for c in tg.calls),
            "calls": len(calls), "methods": Counter(c.method for c in calls),
            "exit": bot.returncode,
        }  # fmt: skip


def problems_of(numbers: range, r: dict, ids: list[int], pending: int) -> list[str]:
    """Everything lost or duplicated (or a user who could not finish), one line each; `numbers` are
    the reports expected, `ids` the rows found."""
    n, expected, cards, codes = len(numbers), set(numbers), r["cards"], r["codes"]
    # The first number in "received" is the report's, in every language ("#12", "رقم 12").
    told = Counter(int(re.search(r"\d+", answer.params["text"])[0]) for _, answer in r["sends"])
    problems = list(r["failures"])
    if ids != list(numbers):
        problems.append(
            f"{len(ids)} rows in reports, ids {ids[:3]}…{ids[-3:]}, expected {numbers.start}..{numbers.stop - 1}"
        )
    if len(codes) != n or len(set(codes)) != len(codes):
        problems.append(f"{len(codes)} receipt codes, {len(set(codes))} distinct, expected {n}")
    if twice := [k for k, v in told.items() if v > 1]:
        problems.append(f"report numbers announced to two reporters: {twice[:10]}")
    if missing := sorted(expected - set(cards)):
        problems.append(f"{len(missing)} reports without a staff card: {missing[:10]}")
    if several := sorted(k for k, v in cards.items() if v > 1):
        problems.append(f"{len(several)} reports with several staff cards: {several[:10]}")
    if unknown := sorted(set(cards) - expected):
        problems.append(f"cards for reports that do not exist: {unknown[:10]}")
    if pending:
        problems.append(f"{pending} outbox rows with done_at NULL")
    if r["exit"] != 0:
        problems.append(f"the bot exited with status {r['exit']} after SIGTERM")
    return problems


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--reports", type=int, default=1000)
    parser.add_argument("--users", type=int, default=200)
    parser.add_argument("--database", choices=("sqlite", "postgresql"), default="sqlite")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="outreach-bench-") as tmp:
        workdir = Path(tmp)
        with fresh_database(args.database, workdir) as (url, target):
            r = asyncio.run(run_bench(args, workdir, url))
            ids, pending = database_facts(args.database, target)  # after the bot stopped
        bot_log = (workdir / "bot.log").read_text(encoding="utf-8", errors="replace").splitlines()

    n, problems = args.reports, problems_of(range(1, args.reports + 1), r, ids, pending)
    cpu = lambda who: resource.getrusage(who).ru_utime + resource.getrusage(who).ru_stime  # noqa: E731
    latencies = sorted(answer.at - pressed for pressed, answer in r["sends"])
    cut = (
        statistics.quantiles(latencies, n=100, method="inclusive") if len(latencies) > 1 else (latencies or [0.0]) * 99
    )
    duration = r["burst_end"] - r["started"]
    first_send = min((pressed for pressed, _ in r["sends"]), default=r["started"])
    drain = f"{r['drain_end'] - r['burst_end']:+.2f}" if r["drained"] else f"not within {DRAIN_TIMEOUT:.0f}"
    rows = [
        ("reports persisted (rows in reports)", f"{len(ids)}"),
        ("burst: first /report → last 'received' (s)", f"{duration:.2f}"),
        ("reports persisted per second", f"{len(ids) / duration:.1f}"),
        ("Send → 'received' p50 / p99 (ms)", f"{cut[49] * 1000:.0f} / {cut[98] * 1000:.0f}"),
        ("outbox drained, after the burst end (s)", drain),
        ("outbox drained, after the first Send (s)", f"{r['drain_end'] - first_send:.2f}"),
        ("staff-chat calls (per report)", f"{r['staff_calls']} ({r['staff_calls'] / n:.2f})"),
        ("all Bot API calls, burst + drain (per report)", f"{r['calls']} ({r['calls'] / n:.2f})"),
        ("  of which", ", ".join(f"{count} {name}" for name, count in r["methods"].most_common())),
        ("CPU seconds: bot / driver + fake server", " / ".join(f"{cpu(who):.1f}" for who in (resource.RUSAGE_CHILDREN, resource.RUSAGE_SELF))),
        ("lost or duplicated", "none" if not problems else "YES, see below"),
    ]  # fmt: skip
    print(f"\noutreach-bot run on {args.database}: {n} reports from {min(args.users, n)} users "
          f"(each user's reports in sequence, users concurrent), STAFF_MESSAGES_PER_MINUTE=0")  # fmt: skip
    width = max(len(name) for name, _ in rows)
    print("\n".join(f"  {name:<{width}}  {value}" for name, value in rows))
    print(f"\ncommand: {shlex.join(['.venv/bin/python', 'bench/reports.py', *sys.argv[1:]])}")
    print(f"machine: nproc={subprocess.run(['nproc'], capture_output=True, text=True).stdout.strip()}, "
          f"Python {platform.python_version()}, {platform.platform()}; the fake server, the driver and the bot "
          f"{'(and the PostgreSQL server) ' if args.database == 'postgresql' else ''}share these cores")  # fmt: skip
    trouble = [line for line in bot_log if re.search(r" (WARNING|ERROR|CRITICAL) |Traceback", line)]
    print(
        f"bot log: {len(bot_log)} lines, {len(trouble)} warnings/errors",
        *(f"  {t[:200]}" for t in trouble[:10]),
        sep="\n",
    )
    for problem in problems:
        print(f"PROBLEM: {problem}")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
