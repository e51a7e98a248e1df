"""The built wheel, installed from the lock into a fresh venv, works as a new user would use it.

`.ci/run` builds the wheel, installs it with requirements.lock into a throwaway venv, and names
that venv in TEST_WHEEL_VENV; without it these tests skip (CI fails if they did not run). Every
command runs in an empty folder, so nothing can come from the source checkout.
"""

from __future__ import annotations

import asyncio
import os
import subprocess
from pathlib import Path

import pytest

from bot.i18n import I18n, _, active_locale
from tests.fake_telegram import FakeTelegram, FakeUser
from tests.processes import PROCESS_TIMEOUT, BotProcess, error_lines, subprocess_env

WHEEL_VENV = Path(os.environ.get("TEST_WHEEL_VENV", "/nonexistent"))
STAFF_CHAT_ID = -1001234567890

pytestmark = pytest.mark.skipif(
    "TEST_WHEEL_VENV" not in os.environ, reason="TEST_WHEEL_VENV is not set; .ci/run builds and installs the wheel"
)


def outreach_bot(folder: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(WHEEL_VENV / "bin" / "outreach-bot"), *args],
        cwd=folder, env=subprocess_env(), capture_output=True, text=True, timeout=PROCESS_TIMEOUT,
    )  # fmt: skip


@pytest.fixture
def new_user(tmp_path: Path, tg: FakeTelegram) -> Path:
    """An empty folder where `outreach-bot init` wrote the .env, pointed at the fake Bot API."""
    done = outreach_bot(tmp_path, "init", "--token", tg.token, "--staff-chat-id", str(STAFF_CHAT_ID))
    assert done.returncode == 0, done.stderr
    with (tmp_path / ".env").open("a", encoding="utf-8") as env_file:
        env_file.write(f"TELEGRAM_API_BASE_URL={tg.base_url}\n")
    return tmp_path


def test_the_code_runs_from_the_installed_wheel(tmp_path: Path) -> None:
    done = subprocess.run(
        [str(WHEEL_VENV / "bin" / "python"), "-c",
         "import bot, handlers, storage, locales; print(*(m.__file__ for m in (bot, handlers, storage, locales)))"],
        cwd=tmp_path, env=subprocess_env(), capture_output=True, text=True, timeout=PROCESS_TIMEOUT,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    site_packages = next((WHEEL_VENV / "lib").glob("python3.*/site-packages"))
    assert [Path(path).parent.parent for path in done.stdout.split()] == [site_packages] * 4


def test_help_and_version(tmp_path: Path) -> None:
    helped = outreach_bot(tmp_path, "--help")
    assert helped.returncode == 0 and helped.stdout.startswith("usage: outreach-bot")
    versioned = outreach_bot(tmp_path, "--version")
    assert versioned.returncode == 0 and versioned.stdout.strip() == "0.1.0"


async def test_a_new_user_checks_the_config_and_migrates(new_user: Path, tg: FakeTelegram) -> None:
    # check-config asks the fake Bot API about the staff chat, so it must not block this loop.
    checked = await asyncio.to_thread(outreach_bot, new_user, "check-config")
    assert (checked.returncode, checked.stdout.strip(), checked.stderr) == (0, "The configuration is valid.", "")
    assert [call.params["chat_id"] for call in tg.calls_to("getChat")] == [STAFF_CHAT_ID]

    upgraded = outreach_bot(new_user, "db", "upgrade")
    assert upgraded.returncode == 0 and "is up to date" in upgraded.stdout, upgraded.stderr
    assert (new_user / "data" / "outreach.db").is_file()
    status = outreach_bot(new_user, "status")
    assert status.returncode == 0 and "Nothing is waiting" in status.stdout, status.stderr
    listed = outreach_bot(new_user, "translations", "list")
    assert listed.returncode == 0 and "No translation packages in" in listed.stdout, listed.stderr


def test_catalogs_update_says_it_needs_a_source_checkout(tmp_path: Path) -> None:
    done = outreach_bot(tmp_path, "catalogs", "update")
    assert done.returncode == 2
    [line] = done.stderr.splitlines()
    assert line == error_lines(done.stderr)[0] and "works in a source checkout" in line


async def test_the_installed_bot_answers_start_in_spanish_and_arabic(new_user: Path, tg: FakeTelegram) -> None:
    process = await asyncio.create_subprocess_exec(
        str(WHEEL_VENV / "bin" / "outreach-bot"), "run",
        cwd=new_user, env=subprocess_env(), stdin=asyncio.subprocess.DEVNULL,
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
    )  # fmt: skip
    bot = BotProcess(process)
    try:
        await bot.until(tg.wait_for_request("getUpdates", timeout=PROCESS_TIMEOUT), "polling started")
        i18n = I18n("en")
        for number, language in enumerate(("es", "ar")):
            person = FakeUser(id=500_000 + number, first_name="Tester", language_code=language)
            tg.send_text(person, "/start")
            reply = await bot.until(tg.wait_for_reply(person.id, timeout=PROCESS_TIMEOUT), f"/start in {language}")
            with active_locale(i18n.get(language)):
                expected = _("You do not have to give your name. Reports can be anonymous.")
            assert expected != "You do not have to give your name. Reports can be anonymous."
            assert expected in reply.params["text"]
    finally:
        process.terminate()
        assert await bot.exit_code() == 0
    assert "Traceback" not in await bot.output()
