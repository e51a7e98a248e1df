"""`outreach-bot`: help, init, check-config, db upgrade and run, as an admin would use them.

Most commands run in-process through `bot.cli.main`; the console script itself is exercised as a
real subprocess where the point is the process (exit code, signals, what reaches stderr).
"""

from __future__ import annotations

import asyncio
import signal
import sqlite3
import stat
import subprocess
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from bot.cli import main
from tests.fake_telegram import FakeTelegram, FakeUser
from tests.processes import (
    CONFIG_VARS,
    CONSOLE_SCRIPT,
    PROCESS_TIMEOUT,
    BotProcess,
    error_lines,
    subprocess_env,
    write_env,
)
from tests.reporting import Reporter, card_of

STAFF_CHAT_ID = -1001234567890
VALID_TOKEN = "123456789:AAH" + "x" * 32
SECRET_KEY = "k" * 40
#: The console script of the environment running the tests (.venv/bin/outreach-bot).


@pytest.fixture(autouse=True)
def _no_config_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in CONFIG_VARS:
        monkeypatch.delenv(name, raising=False)


def sqlite_url(tmp_path: Path) -> str:
    return f"sqlite+aiosqlite:///{tmp_path / 'data' / 'outreach.db'}"


def valid_config(tmp_path: Path) -> dict[str, str]:
    return {
        "TELEGRAM_BOT_TOKEN": VALID_TOKEN,
        "STAFF_CHAT_ID": str(STAFF_CHAT_ID),
        "SECRET_KEY": SECRET_KEY,
        "DATABASE_URL": sqlite_url(tmp_path),
    }


def tables(database: Path) -> set[str]:
    with sqlite3.connect(database) as connection:
        rows = connection.execute("SELECT name FROM sqlite_master WHERE type = 'table'").fetchall()
    return {name for (name,) in rows}


# --- --help ------------------------------------------------------------------------------------

@pytest.mark.parametrize(
    "command",
    [[], ["init"], ["check-config"], ["db"], ["db", "upgrade"], ["catalogs"], ["catalogs", "update"],
     ["run"], ["status"], ["purge"], ["audit"], ["audit", "verify"], ["audit", "export"], ["keys"],
     ["keys", "rotate"], ["keys", "status"], ["translations"], ["translations", "list"]],  # fmt: skip
    ids=lambda command: "-".join(command) or "outreach-bot",
)
def test_help_exits_0_and_prints_usage(command: list[str], capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exited:
        main([*command, "--help"])
    assert exited.value.code == 0
    out, err = capsys.readouterr()
    assert out.startswith(" ".join(["usage: outreach-bot", *command]))
    assert "options:" in out
    assert err == ""


# --- init --------------------------------------------------------------------------------------

def _secret_keys(text: str) -> list[str]:
    return [line.removeprefix("SECRET_KEY=") for line in text.splitlines() if line.startswith("SECRET_KEY=")]


def test_init_writes_a_private_env_with_a_long_secret_key(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    env_file = tmp_path / ".env"

    assert main(["--env-file", str(env_file), "init"]) == 0

    assert stat.S_IMODE(env_file.stat().st_mode) == 0o600
    keys = _secret_keys(env_file.read_text(encoding="utf-8"))
    assert len(keys) == 1 and len(keys[0]) >= 32
    assert f"Wrote {env_file}" in capsys.readouterr().out


def test_init_fills_in_token_and_staff_chat_id(tmp_path: Path) -> None:
    env_file = tmp_path / ".env"

    assert main(["--env-file", str(env_file), "init", "--token", VALID_TOKEN,
                 "--staff-chat-id", str(STAFF_CHAT_ID)]) == 0  # fmt: skip

    lines = env_file.read_text(encoding="utf-8").splitlines()
    assert f"TELEGRAM_BOT_TOKEN={VALID_TOKEN}" in lines
    assert f"STAFF_CHAT_ID={STAFF_CHAT_ID}" in lines


def test_init_twice_leaves_the_file_unchanged(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    env_file = tmp_path / ".env"
    assert main(["--env-file", str(env_file), "init"]) == 0
    before = env_file.read_bytes()
    capsys.readouterr()

    assert main(["--env-file", str(env_file), "init"]) == 0

    assert env_file.read_bytes() == before
    assert "already has a SECRET_KEY; it was left unchanged" in capsys.readouterr().out


@pytest.mark.parametrize("final_newline", [True, False], ids=["final-newline", "no-final-newline"])
def test_init_adds_a_secret_key_to_an_existing_env(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], final_newline: bool
) -> None:
    env_file = tmp_path / ".env"
    existing = [f"TELEGRAM_BOT_TOKEN={VALID_TOKEN}", "# a comment", f"STAFF_CHAT_ID={STAFF_CHAT_ID}"]
    env_file.write_text("\n".join(existing) + ("\n" if final_newline else ""), encoding="utf-8")

    assert main(["--env-file", str(env_file), "init"]) == 0

    lines = env_file.read_text(encoding="utf-8").splitlines()
    assert lines[:3] == existing
    assert len(lines) == 4
    keys = _secret_keys(env_file.read_text(encoding="utf-8"))
    assert len(keys) == 1 and len(keys[0]) >= 32
    assert "Added a new SECRET_KEY" in capsys.readouterr().out


# --- check-config: one line per problem --------------------------------------------------------

BAD_CONFIGS = {
    "malformed-token": ({"TELEGRAM_BOT_TOKEN": "12345"}, "error: TELEGRAM_BOT_TOKEN: "),
    "non-numeric-staff-chat": ({"STAFF_CHAT_ID": "staff-room"}, "error: STAFF_CHAT_ID: "),
    "negative-retention": ({"RETENTION_DAYS": "-5"}, "error: RETENTION_DAYS: "),
    "unknown-locale": ({"DEFAULT_LOCALE": "xx"}, "error: DEFAULT_LOCALE: 'xx'"),
    "not-a-url": ({"DATABASE_URL": "not a url"}, "error: DATABASE_URL: "),
    "mysql-url": ({"DATABASE_URL": "mysql://x/y"}, "error: DATABASE_URL: "),
    "missing-secret": ({"SECRET_KEY": None}, "error: SECRET_KEY: "),
}


def bad_env(tmp_path: Path, changes: dict[str, str | None]) -> Path:
    values = valid_config(tmp_path)
    for name, value in changes.items():
        if value is None:
            values.pop(name)
        else:
            values[name] = value
    return write_env(tmp_path / ".env", values)


@pytest.mark.parametrize("changes, expected", BAD_CONFIGS.values(), ids=BAD_CONFIGS.keys())
def test_check_config_reports_one_line_per_problem(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], changes: dict[str, str | None], expected: str
) -> None:
    env_file = bad_env(tmp_path, changes)

    assert main(["--env-file", str(env_file), "check-config", "--offline"]) == 2

    out, err = capsys.readouterr()
    assert err.splitlines() == error_lines(err)  # nothing but `error: ` lines
    [line] = error_lines(err)
    assert line.startswith(expected)
    assert "Traceback" not in out + err
    assert "valid" not in out


def test_missing_secret_key_points_to_init(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    env_file = bad_env(tmp_path, {"SECRET_KEY": None})

    assert main(["--env-file", str(env_file), "check-config", "--offline"]) == 2

    [line] = error_lines(capsys.readouterr().err)
    assert line.startswith("error: SECRET_KEY: ") and "`outreach-bot init`" in line


def test_check_config_reports_every_problem_at_once(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    env_file = bad_env(tmp_path, {"TELEGRAM_BOT_TOKEN": "nonsense", "STAFF_CHAT_ID": "abc",
                                  "RETENTION_DAYS": "0"})  # fmt: skip

    assert main(["--env-file", str(env_file), "check-config", "--offline"]) == 2

    out, err = capsys.readouterr()
    lines = error_lines(err)
    assert err.splitlines() == lines
    assert len(lines) == 3
    for variable in ("TELEGRAM_BOT_TOKEN", "STAFF_CHAT_ID", "RETENTION_DAYS"):
        assert sum(line.startswith(f"error: {variable}: ") for line in lines) == 1
    assert "Traceback" not in out + err


def test_console_script_exits_2_without_a_traceback(tmp_path: Path) -> None:
    env_file = bad_env(tmp_path, {"STAFF_CHAT_ID": "staff-room"})

    done = subprocess.run(
        [str(CONSOLE_SCRIPT), "--env-file", str(env_file), "check-config", "--offline"],
        cwd=tmp_path, env=subprocess_env(), capture_output=True, text=True, timeout=PROCESS_TIMEOUT,
    )  # fmt: skip

    assert done.returncode == 2, done.stderr
    assert error_lines(done.stderr) == ["error: STAFF_CHAT_ID: must be a whole number such as -1001234567890"]
    assert "Traceback" not in done.stdout + done.stderr


# --- check-config: a valid configuration -------------------------------------------------------

def test_check_config_offline_accepts_a_valid_configuration(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    env_file = write_env(tmp_path / ".env", valid_config(tmp_path))

    assert main(["--env-file", str(env_file), "check-config", "--offline"]) == 0

    out, err = capsys.readouterr()
    assert out.strip() == "The configuration is valid."
    assert err == ""


def online_env(tmp_path: Path, tg: FakeTelegram) -> Path:
    values = valid_config(tmp_path) | {"TELEGRAM_BOT_TOKEN": tg.token, "TELEGRAM_API_BASE_URL": tg.base_url}
    return write_env(tmp_path / ".env", values)


async def test_check_config_online_asks_telegram_about_the_staff_chat(
    tmp_path: Path, tg: FakeTelegram, capsys: pytest.CaptureFixture[str]
) -> None:
    env_file = online_env(tmp_path, tg)

    # check-config runs its own event loop; the fake server keeps running in this one.
    assert await asyncio.to_thread(main, ["--env-file", str(env_file), "check-config"]) == 0

    out, err = capsys.readouterr()
    assert out.strip() == "The configuration is valid."
    assert err == ""
    assert [call.params["chat_id"] for call in tg.calls_to("getChat")] == [STAFF_CHAT_ID]


@pytest.mark.filterwarnings("ignore::telegram.warnings.PTBDeprecationWarning")  # PTB's own RetryAfter
@pytest.mark.parametrize(
    ("method", "status", "description", "exit_code", "problem"),
    [
        ("getChat", 400, "Bad Request: chat not found", 2, "error: STAFF_CHAT_ID: the bot cannot see"),
        ("getChat", 403, "Forbidden: bot was kicked from the supergroup chat", 2, "error: STAFF_CHAT_ID"),
        ("getMe", 401, "Unauthorized", 2, "error: TELEGRAM_BOT_TOKEN: Telegram rejected"),
        ("getChat", 429, None, 1, "error: Telegram did not answer the check (RetryAfter)"),
    ],
)
async def test_check_config_online_reports_what_telegram_refused(
    tmp_path: Path, tg: FakeTelegram, capsys: pytest.CaptureFixture[str],
    method: str, status: int, description: str | None, exit_code: int, problem: str,
) -> None:
    env_file = online_env(tmp_path, tg)
    tg.fail_next(method, status=status, description=description)

    assert await asyncio.to_thread(main, ["--env-file", str(env_file), "check-config"]) == exit_code

    out, err = capsys.readouterr()
    [line] = error_lines(err)
    assert line.startswith(problem)
    assert "Traceback" not in out + err
    assert tg.token not in out + err
    assert "valid" not in out


# --- db upgrade --------------------------------------------------------------------------------

def test_db_upgrade_creates_and_migrates_sqlite(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    env_file = write_env(tmp_path / ".env", valid_config(tmp_path))
    database = tmp_path / "data" / "outreach.db"

    assert main(["--env-file", str(env_file), "db", "upgrade"]) == 0
    assert "is up to date" in capsys.readouterr().out
    assert database.is_file()
    assert {"preferences", "alembic_version"} <= tables(database)

    # Again: nothing left to do, and still fine.
    assert main(["--env-file", str(env_file), "db", "upgrade"]) == 0
    out, err = capsys.readouterr()
    assert "is up to date" in out and err == ""
    with sqlite3.connect(database) as connection:
        assert len(connection.execute("SELECT version_num FROM alembic_version").fetchall()) == 1


@pytest.mark.parametrize(
    "url",
    ["postgresql+asyncpg://postgres@127.0.0.1:1/none", "postgresql+asyncpg://u:s3cretpw@127.0.0.1:1/none"],
    ids=["no-password", "password"],
)
def test_db_upgrade_without_a_server_says_so_in_one_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], url: str
) -> None:
    env_file = write_env(tmp_path / ".env", valid_config(tmp_path) | {"DATABASE_URL": url})

    assert main(["--env-file", str(env_file), "db", "upgrade"]) == 1

    out, err = capsys.readouterr()
    assert err.splitlines() == error_lines(err)
    [line] = error_lines(err)
    assert line.startswith("error: DATABASE_URL: cannot open the database ")
    assert "127.0.0.1:1/none" in line
    assert "s3cretpw" not in out + err
    assert "Traceback" not in out + err


# --- each command asks only for what it uses --------------------------------------------------

def test_db_upgrade_and_status_need_only_the_database(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    env_file = write_env(tmp_path / ".env", {"DATABASE_URL": sqlite_url(tmp_path)})

    assert main(["--env-file", str(env_file), "db", "upgrade"]) == 0
    assert main(["--env-file", str(env_file), "status"]) == 0

    out, err = capsys.readouterr()
    assert "is up to date" in out and "Nothing is waiting" in out
    assert err == ""


@pytest.mark.parametrize("command", [["check-config", "--offline"], ["run"]], ids=["check-config", "run"])
def test_commands_that_talk_to_telegram_still_ask_for_everything(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], command: list[str]
) -> None:
    env_file = write_env(tmp_path / ".env", {"DATABASE_URL": sqlite_url(tmp_path)})

    assert main(["--env-file", str(env_file), *command]) == 2

    lines = error_lines(capsys.readouterr().err)
    assert {line.split(":")[1].strip() for line in lines} == {"TELEGRAM_BOT_TOKEN", "STAFF_CHAT_ID", "SECRET_KEY"}


def test_catalogs_update_outside_a_source_checkout_says_so_in_one_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    import bot.catalogs

    # What an installed wheel looks like: the catalogs are there, the extraction mapping is not.
    monkeypatch.setattr(bot.catalogs, "MAPPING", tmp_path / "babel.cfg")

    assert main(["catalogs", "update"]) == 2

    out, err = capsys.readouterr()
    [line] = err.splitlines()
    assert line.startswith("error: catalogs update works in a source checkout")
    assert out == ""


# --- never a traceback -------------------------------------------------------------------------

@pytest.mark.parametrize(
    "command", [["db", "upgrade"], ["status"], ["check-config", "--offline"], ["run"]], ids=lambda c: "-".join(c)
)
def test_a_sqlite_folder_that_cannot_be_created_is_one_line(tmp_path: Path, command: list[str]) -> None:
    in_the_way = tmp_path / "databases"
    in_the_way.write_text("a file where the database folder should be\n")
    values = valid_config(tmp_path) | {"DATABASE_URL": f"sqlite:///{in_the_way / 'db' / 'outreach.db'}"}
    env_file = write_env(tmp_path / ".env", values)

    done = subprocess.run(
        [str(CONSOLE_SCRIPT), "--env-file", str(env_file), *command],
        cwd=tmp_path, env=subprocess_env(), capture_output=True, text=True, timeout=PROCESS_TIMEOUT,
    )  # fmt: skip

    assert done.returncode == 1, done.stderr
    [line] = done.stderr.splitlines()
    assert line.startswith(f"error: DATABASE_URL: cannot open the database at sqlite+aiosqlite:///{in_the_way}/db/")
    assert "can the bot create and write that file and its folder?" in line


def test_check_config_refuses_a_translation_dir_behind_a_file(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / "models").write_text("")
    values = valid_config(tmp_path) | {"TRANSLATION_DIR": str(tmp_path / "models" / "argos")}
    env_file = write_env(tmp_path / ".env", values)

    assert main(["--env-file", str(env_file), "check-config", "--offline"]) == 2

    [line] = error_lines(capsys.readouterr().err)
    assert line == f"error: TRANSLATION_DIR: {tmp_path / 'models'} is a file, so {tmp_path / 'models' / 'argos'} cannot be a folder"

    # Without translation, the folder is not used and not checked.
    write_env(env_file, values | {"TRANSLATION": "false"})
    assert main(["--env-file", str(env_file), "check-config", "--offline"]) == 0


def test_check_config_names_a_broken_translation_package(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    broken = tmp_path / "translation" / "packages" / "translate-xx_en"
    broken.mkdir(parents=True)  # a folder without metadata.json makes argostranslate load nothing
    values = valid_config(tmp_path) | {"TRANSLATION_DIR": str(tmp_path / "translation")}
    env_file = write_env(tmp_path / ".env", values)

    assert main(["--env-file", str(env_file), "check-config", "--offline"]) == 2

    [line] = error_lines(capsys.readouterr().err)
    assert line.startswith(f"error: TRANSLATION_DIR: {broken} is broken, remove it")


# --- run, as a real process --------------------------------------------------------------------

@pytest.fixture
async def start_run(tmp_path: Path, tg: FakeTelegram) -> AsyncIterator:
    """Start `outreach-bot run` against the fake server; the process is killed if still running."""
    processes: list[asyncio.subprocess.Process] = []

    async def start(**overrides: str) -> BotProcess:
        values = valid_config(tmp_path) | {"TELEGRAM_BOT_TOKEN": tg.token, "TELEGRAM_API_BASE_URL": tg.base_url}
        values |= overrides
        env_file = write_env(tmp_path / ".env", values)
        process = await asyncio.create_subprocess_exec(
            str(CONSOLE_SCRIPT), "--env-file", str(env_file), "run",
            cwd=tmp_path, env=subprocess_env(), stdin=asyncio.subprocess.DEVNULL,
            stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
        )  # fmt: skip
        processes.append(process)
        return BotProcess(process)

    yield start
    for process in processes:
        if process.returncode is None:
            process.kill()
            await process.wait()


async def test_run_migrates_answers_and_stops_on_sigterm(
    tmp_path: Path, tg: FakeTelegram, start_run
) -> None:
    person = FakeUser(id=730019283746, first_name="Quillonia", username="quillonia_zx42", language_code="es")
    bot: BotProcess = await start_run()

    await bot.until(tg.wait_for_request("getUpdates", timeout=PROCESS_TIMEOUT), "polling started")
    assert "preferences" in tables(tmp_path / "data" / "outreach.db")

    tg.send_text(person, "/start")
    reply = await bot.until(tg.wait_for_reply(person.id, timeout=PROCESS_TIMEOUT), "answering /start")
    assert "¡Le damos la bienvenida!" in reply.params["text"]

    bot.process.send_signal(signal.SIGTERM)
    assert await bot.exit_code() == 0
    stderr = await bot.stderr()
    assert " ready" in stderr  # the log does reach stderr, so what it lacks below is meaningful
    assert "Traceback" not in stderr
    for private in (tg.token, tg.token.split(":", 1)[1], SECRET_KEY, str(person.id), person.first_name,
                    person.username):  # fmt: skip
        assert private not in stderr


async def test_run_stops_cleanly_on_sigint(tg: FakeTelegram, start_run) -> None:
    bot: BotProcess = await start_run()
    await bot.until(tg.wait_for_request("getUpdates", timeout=PROCESS_TIMEOUT), "polling started")

    bot.process.send_signal(signal.SIGINT)

    assert await bot.exit_code() == 0
    stderr = await bot.stderr()
    assert "Traceback" not in stderr and "KeyboardInterrupt" not in stderr


async def test_run_with_a_rejected_token_exits_2(tg: FakeTelegram, start_run) -> None:
    tg.fail_next("getMe", status=401, description="Unauthorized")
    bot: BotProcess = await start_run()

    assert await bot.exit_code() == 2
    stderr = await bot.stderr()
    assert stderr.splitlines()[-1] == (
        "error: TELEGRAM_BOT_TOKEN: Telegram rejected this token; copy it again from BotFather"
    ), stderr
    assert tg.calls_to("getUpdates") == []


async def test_run_without_telegram_exits_1(start_run) -> None:
    bot: BotProcess = await start_run(TELEGRAM_API_BASE_URL="http://127.0.0.1:1/bot")

    assert await bot.exit_code() == 1
    stderr = await bot.stderr()
    assert stderr.splitlines()[-1] == "error: cannot reach Telegram at http://127.0.0.1:1/bot (NetworkError)", stderr


async def test_run_of_an_older_release_on_a_newer_schema_exits_2_in_one_line(tmp_path: Path, start_run) -> None:
    env_file = write_env(tmp_path / ".env", valid_config(tmp_path))
    assert await asyncio.to_thread(main, ["--env-file", str(env_file), "db", "upgrade"]) == 0
    with sqlite3.connect(tmp_path / "data" / "outreach.db") as connection:  # as a later release leaves it
        connection.execute("UPDATE alembic_version SET version_num = '0042_from_the_future'")
    bot: BotProcess = await start_run()

    assert await bot.exit_code() == 2
    stderr = await bot.stderr()
    assert "Traceback" not in stderr
    assert stderr.splitlines()[-1].startswith("error: DATABASE_URL: the database at "), stderr
    assert "was upgraded by a newer release of outreach-bot (schema 0042_from_the_future)" in stderr


@pytest.mark.parametrize("problem", ["rejected-token", "telegram-unreachable"])
async def test_run_failing_at_start_prints_no_traceback_and_no_token(
    tg: FakeTelegram, start_run, problem: str
) -> None:
    if problem == "rejected-token":
        tg.fail_next("getMe", status=401, description="Unauthorized")
        bot: BotProcess = await start_run()
    else:
        bot = await start_run(TELEGRAM_API_BASE_URL="http://127.0.0.1:1/bot")

    assert await bot.exit_code() in (1, 2)
    stderr = await bot.stderr()
    assert "Traceback" not in stderr
    assert tg.token.split(":", 1)[1] not in stderr


# --- set-up mistakes an admin can make ------------------------------------------------------

def test_init_fills_an_empty_secret_key(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    env_file = bad_env(tmp_path, {"SECRET_KEY": ""})
    assert main(["--env-file", str(env_file), "check-config", "--offline"]) == 2
    assert "`outreach-bot init`" in capsys.readouterr().err

    assert main(["--env-file", str(env_file), "init"]) == 0

    # Following the advice must help: otherwise check-config and init send the admin in a circle.
    assert main(["--env-file", str(env_file), "check-config", "--offline"]) == 0


def test_init_keeps_the_secret_key_private_in_an_existing_file(tmp_path: Path) -> None:
    env_file = tmp_path / ".env"
    env_file.write_text(f"TELEGRAM_BOT_TOKEN={VALID_TOKEN}\n", encoding="utf-8")
    env_file.chmod(0o644)

    assert main(["--env-file", str(env_file), "init"]) == 0

    assert _secret_keys(env_file.read_text(encoding="utf-8"))
    assert stat.S_IMODE(env_file.stat().st_mode) & 0o077 == 0


def test_init_into_a_missing_directory_is_one_error_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    env_file = tmp_path / "no-such-dir" / ".env"

    assert main(["--env-file", str(env_file), "init"]) != 0

    [line] = error_lines(capsys.readouterr().err)
    assert str(env_file) in line


def test_check_config_reports_a_bad_locale_together_with_other_problems(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    env_file = bad_env(tmp_path, {"STAFF_CHAT_ID": "abc", "DEFAULT_LOCALE": "xx"})

    assert main(["--env-file", str(env_file), "check-config", "--offline"]) == 2

    lines = error_lines(capsys.readouterr().err)
    assert [line.split(":", 2)[1].strip() for line in lines] == ["STAFF_CHAT_ID", "DEFAULT_LOCALE"]




async def test_a_new_process_delivers_what_a_stopped_one_left_queued(tg: FakeTelegram, start_run) -> None:
    fast = {"DELIVERY_RETRY_SECONDS": "0.05", "DELIVERY_MAX_RETRY_SECONDS": "0.3", "STAFF_MESSAGES_PER_MINUTE": "0"}
    tg.fail_next("sendMessage", status=403, times=10_000, chat_id=STAFF_CHAT_ID)  # the bot was removed
    first: BotProcess = await start_run(**fast)
    await first.until(tg.wait_for_request("getUpdates", timeout=PROCESS_TIMEOUT), "polling started")
    await first.until(Reporter(tg, FakeUser(id=7500001, language_code="en")).file("Queued text"), "filing")
    await first.until(tg.wait_for("sendMessage", lambda c: c.failed == 403, timeout=PROCESS_TIMEOUT), "a refusal")
    first.process.send_signal(signal.SIGTERM)
    assert await first.exit_code() == 0

    tg.clear_failures()  # the bot is back in the staff chat
    second: BotProcess = await start_run(**fast)
    card = await second.until(card_of(tg, 1), "the queued card")
    assert "Queued text" in card.params["text"]
    await second.until(tg.wait_until_drained(), "idle")
    delivered = [c for c in tg.calls_to("sendMessage") if c.params["chat_id"] == STAFF_CHAT_ID and not c.failed]
    assert len(delivered) == 1
    second.process.send_signal(signal.SIGTERM)
    assert await second.exit_code() == 0
