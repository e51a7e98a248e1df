"""Active/standby, with real `outreach-bot run` processes: on PostgreSQL a standby takes over when
the leader dies, and nothing submitted is lost or delivered twice; on SQLite a second bot refuses
to start."""

from __future__ import annotations

import asyncio
import re
import signal
from collections import Counter
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path

import asyncpg
import httpx
import pytest
from sqlalchemy.engine import make_url

from bot.leadership import APPLICATION_NAME
from storage.database import create_engine, session_factory
from storage.models import OutboxMessage
from tests.conftest import OPERATOR_LOG, SECRET_KEY, STAFF_CHAT_ID, user
from tests.fake_telegram import FakeTelegram
from tests.processes import CONSOLE_SCRIPT, PROCESS_TIMEOUT, error_lines, subprocess_env, write_env
from tests.reporting import Reporter, settled
from tests.webhook import free_port

CARD = re.compile(r"Report #(\d+):")
TAKEOVER_BOUND_SECONDS = 30  # generous: the measured time is printed
on_postgresql = pytest.mark.parametrize("database_url", ["postgresql"], indirect=True)


class RunProcess:
    """`outreach-bot run` in a subprocess; its log lines are read as they come."""

    def __init__(self, process: asyncio.subprocess.Process) -> None:
        self.process = process
        self.lines: list[str] = []
        self._new_line = asyncio.Event()
        self._reader = asyncio.create_task(self._read())

    async def _read(self) -> None:
        assert self.process.stderr is not None
        async for line in self.process.stderr:
            self.lines.append(line.decode("utf-8", "replace").rstrip("\n"))
            OPERATOR_LOG.append(self.lines[-1])  # for the log scan
            self._new_line.set()
        self._new_line.set()

    async def logged(self, text: str, timeout: float = PROCESS_TIMEOUT) -> None:
        """Until a log line contains `text`; fails with the log if the process exits first."""
        async with asyncio.timeout(timeout):
            while not any(text in line for line in self.lines):
                if self._reader.done():
                    pytest.fail(f"the bot exited with {self.process.returncode} before logging {text!r}:\n{self.log}")
                self._new_line.clear()
                await self._new_line.wait()

    async def exit_code(self) -> int:
        code = await asyncio.wait_for(self.process.wait(), PROCESS_TIMEOUT)
        await asyncio.wait_for(self._reader, PROCESS_TIMEOUT)
        return code

    @property
    def log(self) -> str:
        return "\n".join(self.lines)


async def healthz(port: int) -> int:
    async with httpx.AsyncClient() as client:
        return (await client.get(f"http://127.0.0.1:{port}/healthz", timeout=5)).status_code


@pytest.fixture
def health_port() -> int:
    return free_port()


@pytest.fixture
async def start_run(tmp_path: Path, tg: FakeTelegram, database_url: str, health_port: int) -> AsyncIterator[Callable[[], Awaitable[RunProcess]]]:
    """Start another `outreach-bot run` on the test's database and the fake Bot API."""
    env_file = write_env(tmp_path / ".env", {
        "TELEGRAM_BOT_TOKEN": tg.token, "TELEGRAM_API_BASE_URL": tg.base_url, "STAFF_CHAT_ID": str(STAFF_CHAT_ID),
        "SECRET_KEY": SECRET_KEY, "DATABASE_URL": database_url, "TRANSLATION": "false",
        "STAFF_MESSAGES_PER_MINUTE": "0", "DELIVERY_RETRY_SECONDS": "0.05", "DELIVERY_MAX_RETRY_SECONDS": "0.3",
        "LIMIT_UPDATES_PER_MINUTE": "0", "LIMIT_REPORTS_PER_HOUR": "0",
        # One port for all: only the leader listens on it.
        "HEALTH_PORT": str(health_port),
    })  # fmt: skip
    started: list[RunProcess] = []

    async def start() -> RunProcess:
        process = await asyncio.create_subprocess_exec(
            str(CONSOLE_SCRIPT), "--env-file", str(env_file), "run",
            cwd=tmp_path, env=subprocess_env(), stdin=asyncio.subprocess.DEVNULL,
            stdout=asyncio.subprocess.DEVNULL, stderr=asyncio.subprocess.PIPE,
        )  # fmt: skip
        started.append(RunProcess(process))
        return started[-1]

    yield start
    for run in started:
        if run.process.returncode is None:
            run.process.kill()
        await run.exit_code()


def staff_cards(tg: FakeTelegram) -> Counter[int]:
    """How many times the staff chat received each report's card."""
    return Counter(
        int(match.group(1))
        for call in tg.calls_to("sendMessage")
        if not call.failed and call.params["chat_id"] == STAFF_CHAT_ID and (match := CARD.search(call.params["text"]))
    )


async def file_reports(tg: FakeTelegram, first_id: int, count: int) -> list[str]:
    """`count` people file a report each, at the same time; their receipt codes."""
    reporters = [Reporter(tg, user(first_id + n)) for n in range(count)]
    filed = await asyncio.gather(*(reporter.file(f"Incident seen by person {n}") for n, reporter in enumerate(reporters)))
    return [code for code, _ in filed]


@on_postgresql
async def test_a_standby_takes_over_from_a_killed_leader_on_postgresql_and_nothing_is_lost_or_sent_twice(
    tg: FakeTelegram, start_run, database_url: str, health_port: int
) -> None:
    loop = asyncio.get_running_loop()
    leader = await start_run()
    await leader.logged("leader: this bot acts on the database now")
    await leader.logged(" ready")
    standby = await start_run()
    await standby.logged("standby: waiting for the leader")
    assert await healthz(health_port) == 200  # the leader's

    codes = await file_reports(tg, 7100000, 4)
    engine = create_engine(database_url)
    try:
        sessions = session_factory(engine)
        await settled(sessions, OutboxMessage, lambda rows: len(rows) == 4 and all(row.done_at for row in rows))
        # Mid-traffic: the staff chat fails (5xx), so cards pile up in the outbox and are being
        # retried when the leader dies. A failed send never reached the staff chat, so a retry by
        # the standby is not a duplicate. (A send that succeeded just before a kill, not yet
        # recorded, would be sent again: delivery is at least once across a crash.)
        tg.fail_next("sendMessage", status=500, times=100_000, chat_id=STAFF_CHAT_ID)
        codes += await file_reports(tg, 7200000, 4)
        await tg.wait_for(
            "sendMessage", lambda call: call.failed == 500 and call.params["chat_id"] == STAFF_CHAT_ID, timeout=10
        )

        killed_at = loop.time()
        leader.process.send_signal(signal.SIGKILL)
        # People keep writing while nobody answers; their updates wait at Telegram.
        waiting = [user(7300000 + n) for n in range(4)]
        for person in waiting:
            tg.send_text(person, "/start")
        tg.clear_failures()

        assert await leader.exit_code() == -signal.SIGKILL
        await standby.logged("leader: this bot acts on the database now", TAKEOVER_BOUND_SECONDS)
        took_lock = loop.time() - killed_at
        first_answer = await tg.wait_for_reply(waiting[0].id, timeout=TAKEOVER_BOUND_SECONDS)
        answered = loop.time() - killed_at
        print(f"\ntakeover: lock taken {took_lock:.2f} s after SIGKILL, first answer {answered:.2f} s after")
        assert answered < TAKEOVER_BOUND_SECONDS
        assert "Welcome" in first_answer.params["text"]
        for person in waiting[1:]:
            await tg.wait_for_reply(person.id, timeout=TAKEOVER_BOUND_SECONDS)
        assert await healthz(health_port) == 200  # the new leader listens on the same port now

        codes += await file_reports(tg, 7400000, 4)
        await settled(sessions, OutboxMessage, lambda rows: len(rows) == 12 and all(row.done_at for row in rows), 30)
    finally:
        await engine.dispose()

    assert len(set(codes)) == 12  # every sender got their receipt
    cards = staff_cards(tg)
    assert sorted(cards) == list(range(1, 13)) and set(cards.values()) == {1}, cards
    said = [line.split(": ", 1)[-1] for line in standby.lines if "bot.leadership" in line]
    assert said == ["standby: waiting for the leader", "leader: this bot acts on the database now"], said
    standby.process.send_signal(signal.SIGTERM)
    assert await standby.exit_code() == 0, standby.log
    assert "Traceback" not in standby.log


@on_postgresql
async def test_a_leader_that_loses_its_postgresql_lock_connection_exits_at_once(
    tg: FakeTelegram, start_run, database_url: str
) -> None:
    leader = await start_run()
    await leader.logged(" ready")

    url = make_url(database_url)
    connection = await asyncpg.connect(url.set(drivername="postgresql").render_as_string(hide_password=False))
    try:
        terminated = await connection.fetchval(
            "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity WHERE datname = $1 AND application_name = $2",
            url.database, APPLICATION_NAME,
        )  # fmt: skip
    finally:
        await connection.close()

    assert terminated == 1
    assert await leader.exit_code() == 1
    assert "leadership_lost" in leader.log


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
async def test_a_second_bot_on_one_sqlite_file_refuses_to_start(tg: FakeTelegram, start_run, tmp_path: Path) -> None:
    first = await start_run()
    await first.logged(" ready")

    second = await start_run()

    assert await second.exit_code() == 1
    assert error_lines(second.log) == [
        f"error: DATABASE_URL: another outreach-bot run uses {tmp_path / 'outreach.db'}; SQLite allows one bot "
        "per database file (a standby needs PostgreSQL)"
    ], second.log
    first.process.send_signal(signal.SIGTERM)
    assert await first.exit_code() == 0, first.log

