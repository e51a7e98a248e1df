"""Helpers for tests that run `outreach-bot` as a real process, as an admin would."""

from __future__ import annotations

import asyncio
import os
import sys
from collections.abc import Awaitable
from pathlib import Path
from typing import TypeVar

import pytest

from bot.config import Settings
from tests.conftest import OPERATOR_LOG, SECRET_KEY, STAFF_CHAT_ID
from tests.fake_telegram import FakeTelegram

T = TypeVar("T")

#: Every variable the configuration reads; the real environment must not leak into a test.
CONFIG_VARS = tuple(name.upper() for name in Settings.model_fields)
#: Process start-up imports a lot; generous, bounded waits.
PROCESS_TIMEOUT = 60.0
CONSOLE_SCRIPT = Path(sys.executable).parent / "outreach-bot"


def write_env(path: Path, values: dict[str, str]) -> Path:
    path.write_text("".join(f"{name}={value}\n" for name, value in values.items()), encoding="utf-8")
    return path


def subprocess_env() -> dict[str, str]:
    """The test's environment without any bot configuration; loopback never goes via a proxy."""
    env = {k: v for k, v in os.environ.items() if k.upper() not in CONFIG_VARS}
    env["NO_PROXY"] = env["no_proxy"] = "127.0.0.1,localhost"
    return env


def error_lines(stderr: str) -> list[str]:
    return [line for line in stderr.splitlines() if line.startswith("error: ")]


async def _read(stream: asyncio.StreamReader) -> bytes:
    """All of a bot's output stream, each line also kept for the log scan (tests/conftest.py)."""
    lines = []
    async for line in stream:
        lines.append(line)
        OPERATOR_LOG.append(line.decode("utf-8", "replace").rstrip("\n"))
    return b"".join(lines)


class BotProcess:
    """`outreach-bot run` in a subprocess, its stderr collected as it comes."""

    def __init__(self, process: asyncio.subprocess.Process) -> None:
        self.process = process
        assert process.stdout is not None and process.stderr is not None
        self._stdout = asyncio.create_task(_read(process.stdout))
        self._stderr = asyncio.create_task(_read(process.stderr))

    async def until(self, awaitable: Awaitable[T], what: str) -> T:
        """Await `awaitable`, failing at once (with the bot's stderr) if the bot exits first."""
        waiting = asyncio.ensure_future(awaitable)
        exited = asyncio.ensure_future(self.process.wait())
        try:
            await asyncio.wait({waiting, exited}, return_when=asyncio.FIRST_COMPLETED)
        finally:
            exited.cancel()
        if not waiting.done():
            waiting.cancel()
            output = await self.output()
            pytest.fail(f"the bot exited with {self.process.returncode} before {what}\n{output}")
        return waiting.result()

    async def exit_code(self, timeout: float = PROCESS_TIMEOUT) -> int:
        return await asyncio.wait_for(self.process.wait(), timeout)

    async def output(self) -> str:
        """Everything the bot wrote, once it has exited."""
        stdout, stderr = await asyncio.wait_for(asyncio.gather(self._stdout, self._stderr), PROCESS_TIMEOUT)
        return (stdout + stderr).decode("utf-8", "replace")

    async def stderr(self) -> str:
        return (await asyncio.wait_for(self._stderr, PROCESS_TIMEOUT)).decode("utf-8", "replace")


def bot_env(tmp_path: Path, tg: FakeTelegram, **settings: str) -> Path:
    """A .env in tmp_path for a bot on a fresh SQLite file and the fake Bot API, translation off."""
    return write_env(tmp_path / ".env", {
        "TELEGRAM_BOT_TOKEN": tg.token, "TELEGRAM_API_BASE_URL": tg.base_url, "STAFF_CHAT_ID": str(STAFF_CHAT_ID),
        "SECRET_KEY": SECRET_KEY, "DATABASE_URL": f"sqlite:///{tmp_path / 'outreach.db'}", "TRANSLATION": "false",
        **settings,
    })  # fmt: skip


async def start_run(env_file: Path) -> BotProcess:
    """`outreach-bot --env-file ENV_FILE run`, in the env file's folder."""
    process = await asyncio.create_subprocess_exec(
        str(CONSOLE_SCRIPT), "--env-file", str(env_file), "run", cwd=env_file.parent, env=subprocess_env(),
        stdin=asyncio.subprocess.DEVNULL, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
    )  # fmt: skip
    return BotProcess(process)
