"""Shared fixtures: a fake Bot API on loopback, a database per test, and the real bot running.

PostgreSQL tests run when TEST_POSTGRES_URL names a server (CI sets it); they skip with a reason
otherwise. With REQUIRE_POSTGRES=1 a missing server fails the run instead of skipping.
"""

from __future__ import annotations

import asyncio
import copy
import io
import ipaddress
import logging
import os
import re
import sys
import uuid
import zipfile
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from sqlalchemy.engine import make_url
from telegram.ext import Application

from bot.application import build_application, build_services, on_startup, on_stop
from bot.config import Settings
from bot.context import Services
from bot.logs import TEXT_FORMAT, PrivacyFilter
from tests.fake_telegram import Call, FakeTelegram, FakeUser

STAFF_CHAT_ID = -1001234567890
SECRET_KEY = "test-secret-key-0123456789abcdefghijklmnopqrstuvwxyz"


def _refuse_internet(event: str, args: tuple) -> None:
    """Offline means offline: any connection or name lookup beyond loopback fails the test."""
    if event == "socket.getaddrinfo":
        host = args[0]
    elif event == "socket.connect" and isinstance(args[1], tuple):
        host = args[1][0]
    else:
        return
    if isinstance(host, bytes):
        host = host.decode()
    if host is None:
        return
    try:
        loopback = ipaddress.ip_address(host).is_loopback
    except ValueError:
        loopback = host == "localhost"
    if not loopback:
        raise RuntimeError(f"tests must not reach the network (tried {host})")


sys.addaudithook(_refuse_internet)


# --- databases -------------------------------------------------------------------------------

def _postgres_admin_url() -> str | None:
    url = os.environ.get("TEST_POSTGRES_URL")
    if not url and os.environ.get("REQUIRE_POSTGRES") == "1":
        pytest.fail("REQUIRE_POSTGRES=1 but TEST_POSTGRES_URL is not set")
    return url


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
async def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[str]:
    """An empty database of each kind, private to one test."""
    if request.param == "sqlite":
        yield f"sqlite+aiosqlite:///{tmp_path / 'outreach.db'}"
        return
    admin_url = _postgres_admin_url()
    if not admin_url:
        pytest.skip("TEST_POSTGRES_URL is not set; PostgreSQL tests skipped")
    import asyncpg

    admin = make_url(admin_url).set(drivername="postgresql")
    name = f"outreach_test_{uuid.uuid4().hex[:12]}"
    connection = await asyncpg.connect(admin.render_as_string(hide_password=False))
    try:
        await connection.execute(f'CREATE DATABASE "{name}"')
        yield admin.set(drivername="postgresql+asyncpg", database=name).render_as_string(hide_password=False)
        await connection.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    finally:
        await connection.close()


async def database_bytes(database_url: str) -> bytes:
    """Everything the database holds, as raw bytes: the SQLite files, or a pg_dump."""
    url = make_url(database_url)
    if url.get_backend_name() == "sqlite":
        database = Path(url.database)
        return b"".join(p.read_bytes() for p in sorted(database.parent.glob(database.name + "*")))
    dump = await asyncio.create_subprocess_exec(
        "pg_dump", "--no-owner", url.set(drivername="postgresql").render_as_string(hide_password=False),
        stdout=asyncio.subprocess.PIPE,
    )
    output, _ = await dump.communicate()
    assert dump.returncode == 0, "pg_dump failed"
    return output


# --- offline translation packages --------------------------------------------------------

@pytest.fixture(scope="session")
def packages(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """Tiny but real Argos packages (random weights), built once per test run."""
    from tests.argos_package import build_argos_package

    directory = tmp_path_factory.mktemp("argos")
    built = {f"{a}_{b}": build_argos_package(directory, a, b) for a, b in (("es", "en"), ("en", "es"), ("ar", "en"))}
    built["fr_en_unsafe"] = build_argos_package(directory / "unsafe", "fr", "en", with_minisbd=False)
    return built


def install_packages(translation_dir: Path, *archives: Path) -> None:
    for archive in archives:
        with zipfile.ZipFile(archive) as package:
            package.extractall(translation_dir / "packages")


# --- what an operator's log shows ---------------------------------------------------------

#: This test's log as an operator would read it: the in-process bot's records, and the stderr of
#: every `outreach-bot run` it started (tests/processes.py), line by line.
OPERATOR_LOG: list[str] = []
OWN_PACKAGES = ("bot", "handlers", "storage")


class _AsAnOperatorSeesIt(logging.Handler):
    """Records through the production filter and format, at every level. It filters copies: other
    handlers (caplog) see the records unchanged."""

    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.setFormatter(logging.Formatter(TEXT_FORMAT))
        self._privacy = PrivacyFilter(SECRET_KEY)

    def handle(self, record: logging.LogRecord) -> bool:
        if record.name.split(".", 1)[0] in ("tests", "aiohttp"):  # the fake Bot API, not the bot
            return False
        record = copy.copy(record)
        self._privacy.filter(record)
        OPERATOR_LOG.append(self.format(record))
        return True


def personal_data_in(lines: list[str], personal_data: set[str]) -> list[str]:
    """What of `personal_data` the lines hold; a number counts only as a whole number."""
    log = "\n".join(lines)
    return sorted(
        value for value in personal_data
        if (re.search(rf"(?<!\d){value}(?!\d)", log) if value.isdigit() else value in log)
    )  # fmt: skip


@pytest.fixture(autouse=True)
def no_personal_data_in_the_log() -> Iterator[None]:
    """Every test is a log scan: nothing a person sent the fake Bot API (who they are, what they
    wrote) may appear in what the bot logged, in process or as `outreach-bot run`."""
    FakeTelegram.created.clear()
    OPERATOR_LOG.clear()
    root, handler = logging.getLogger(), _AsAnOperatorSeesIt()
    # The bot's own code at every level; libraries from INFO, as operators run them. Their DEBUG
    # lines, kept to their wording by the filter, would only double the suite's time.
    levels = {name: logging.getLogger(name).level for name in ("", *OWN_PACKAGES)}
    root.addHandler(handler)
    root.setLevel(logging.INFO)
    for package in OWN_PACKAGES:
        logging.getLogger(package).setLevel(logging.DEBUG)
    try:
        yield
    finally:
        root.removeHandler(handler)
        for name, level in levels.items():
            logging.getLogger(name).setLevel(level)
    personal_data = {SECRET_KEY}.union(*(server.personal_data for server in FakeTelegram.created))
    leaked = personal_data_in(OPERATOR_LOG, personal_data)
    where = [line for line in OPERATOR_LOG if any(value in line for value in leaked)][:3]
    assert not leaked, f"the log holds personal data: {leaked}, e.g. in {where}"


# --- the bot over a fake Bot API -----------------------------------------------------------

@pytest.fixture
async def tg() -> AsyncIterator[FakeTelegram]:
    async with FakeTelegram() as server:
        yield server


@pytest.fixture
def make_settings(tg: FakeTelegram, database_url: str) -> Callable[..., Settings]:
    def make(**overrides: object) -> Settings:
        values: dict[str, object] = {
            "telegram_bot_token": tg.token,
            "staff_chat_id": STAFF_CHAT_ID,
            "telegram_api_base_url": tg.base_url,
            "database_url": database_url,
            "secret_key": SECRET_KEY,
            "agency_name": "Springfield Police Department",
            "emergency_number": "911",
            "time_zone": "America/Chicago",
            # Fast, unpaced delivery in tests; pacing and back-off have their own tests.
            "staff_messages_per_minute": 0,
            "delivery_retry_seconds": 0.05,
            "delivery_max_retry_seconds": 0.3,
            # The translation worker (argostranslate) is exercised by its own tests.
            "translation": False,
            # Rate limits would cut long test conversations short; they have their own tests.
            "limit_updates_per_minute": 0,
            "limit_reports_per_hour": 0,
            "limit_dialog_messages_per_hour": 0,
            "limit_wrong_codes_per_hour": 0,
        }
        values.update(overrides)
        return Settings(_env_file=None, **values)  # type: ignore[call-arg]

    return make


@dataclass
class RunningBot:
    tg: FakeTelegram
    services: Services
    application: Application

    async def say(self, user: FakeUser, text: str, *, chat: dict | None = None) -> Call:
        """Send a message as `user` and return the bot's answer."""
        after = self.tg.mark()
        self.tg.send_text(user, text, chat=chat)
        return await self.tg.wait_for_reply((chat or {"id": user.id})["id"], after=after)

    async def handled(self) -> None:
        """Until every update sent so far was fetched and handled."""
        await self.tg.wait_until_drained()
        while self.application.update_processor.busy_lanes:
            await asyncio.sleep(0.01)

    async def press(self, user: FakeUser, message: dict, data: str) -> int:
        """Press a button as `user`; returns the call mark to wait for answers after."""
        after = self.tg.mark()
        self.tg.press_button(user, message, data)
        return after


async def start_bot(tg: FakeTelegram, settings: Settings) -> AsyncIterator[RunningBot]:
    """What `outreach-bot run` does, minus signal handling, inside the test's event loop."""
    services = build_services(settings)
    application = build_application(services)
    await application.initialize()
    await on_startup(application)
    await application.start()
    await application.updater.start_polling(poll_interval=0, timeout=1)
    try:
        yield RunningBot(tg, services, application)
    finally:
        steps = (application.updater.stop, application.stop, lambda: on_stop(application), application.shutdown,
                 services.engine.dispose)  # fmt: skip
        for step in steps:
            await _within(SHUTDOWN_STEP_SECONDS, step)


SHUTDOWN_STEP_SECONDS = 30


async def _within(seconds: float, step: Callable[[], Awaitable[object]]) -> None:
    """A shutdown step that hangs fails the test, naming what every task was waiting for,
    instead of stalling the whole run."""
    try:
        await asyncio.wait_for(step(), seconds)
    except TimeoutError:
        waiting = io.StringIO()
        for task in asyncio.all_tasks():
            task.print_stack(file=waiting)
        raise AssertionError(f"the bot's shutdown hung in {step}; tasks:\n{waiting.getvalue()}") from None


@pytest.fixture
async def bot(tg: FakeTelegram, make_settings: Callable[..., Settings]) -> AsyncIterator[RunningBot]:
    async for running in start_bot(tg, make_settings()):
        yield running


@pytest.fixture
def log_records(caplog: pytest.LogCaptureFixture, tg: FakeTelegram) -> pytest.LogCaptureFixture:
    """Every record at DEBUG and up, through the production filter, for scans of the logs."""
    caplog.set_level(logging.DEBUG)
    caplog.handler.addFilter(PrivacyFilter(tg.token, SECRET_KEY))
    return caplog


def user(user_id: int = 5550001, language_code: str | None = "en", **fields: str) -> FakeUser:
    return FakeUser(id=user_id, language_code=language_code, **fields)

