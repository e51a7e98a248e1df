"""Configuration validation below the command line: one clear problem per bad setting."""

from __future__ import annotations

from pathlib import Path

import pytest

from bot.config import ConfigError, load_settings

VALID = {
    "TELEGRAM_BOT_TOKEN": "123456789:AAHfakeTokenForTests0123456789abcdef",
    "STAFF_CHAT_ID": "-1001234567890",
    "SECRET_KEY": "x" * 40,
}
NAMES = ("TELEGRAM_BOT_TOKEN", "STAFF_CHAT_ID", "TELEGRAM_API_BASE_URL", "DATABASE_URL", "SECRET_KEY",
         "DEFAULT_LOCALE", "OFFICER_LOCALE", "AGENCY_NAME", "AGENCY_CONTACT", "EMERGENCY_NUMBER",
         "RETENTION_DAYS")


@pytest.fixture
def env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path):
    for name in NAMES:
        monkeypatch.delenv(name, raising=False)

    def load(**values: str):
        for name, value in {**VALID, **values}.items():
            monkeypatch.setenv(name, value)
        return load_settings(tmp_path / "absent.env")

    return load


def test_defaults(env) -> None:
    settings = env()
    assert settings.retention_days == 90
    assert settings.emergency_number == "911"
    assert settings.database_url == "sqlite+aiosqlite:///./data/outreach.db"
    assert settings.telegram_api_base_url == "https://api.telegram.org/bot"
    assert settings.telegram_file_base_url == "https://api.telegram.org/file/bot"
    limits = (settings.limit_updates_per_minute, settings.limit_reports_per_hour, settings.limit_dialog_messages_per_hour)
    assert (*limits, settings.limit_wrong_codes_per_hour) == (30, 5, 30, 10)


def test_a_self_hosted_bot_api_serves_files_beside_it(env) -> None:
    settings = env(TELEGRAM_API_BASE_URL="http://127.0.0.1:8081/bot/")
    assert settings.telegram_api_base_url == "http://127.0.0.1:8081/bot"
    assert settings.telegram_file_base_url == "http://127.0.0.1:8081/file/bot"


@pytest.mark.parametrize(
    ("given", "used"),
    [
        ("postgresql://bot:pw@db:5432/outreach", "postgresql+asyncpg://bot:pw@db:5432/outreach"),
        ("postgres://bot@db/outreach", "postgresql+asyncpg://bot@db/outreach"),
        ("sqlite:///./x.db", "sqlite+aiosqlite:///./x.db"),
    ],
)
def test_plain_database_urls_get_their_async_driver(env, given: str, used: str) -> None:
    settings = env(DATABASE_URL=given)
    assert settings.database_url == used
    assert "pw" not in settings.database_description


@pytest.mark.parametrize(
    ("variable", "value", "problem"),
    [
        ("TELEGRAM_BOT_TOKEN", "12345", "TELEGRAM_BOT_TOKEN: does not look like a token"),
        ("STAFF_CHAT_ID", "@officers", "STAFF_CHAT_ID: must be a whole number"),
        ("RETENTION_DAYS", "-5", "RETENTION_DAYS: must be a whole number of days, 1 or more"),
        ("DEFAULT_LOCALE", "xx", "DEFAULT_LOCALE: 'xx' has no catalog"),
        ("OFFICER_LOCALE", "klingon", "OFFICER_LOCALE: 'klingon' has no catalog"),
        ("DATABASE_URL", "not a url", "DATABASE_URL: is not a database URL"),
        ("DATABASE_URL", "mysql://db/x", "DATABASE_URL: uses 'mysql'"),
        ("SECRET_KEY", "short", "SECRET_KEY: must be at least 32 characters"),
        ("TELEGRAM_API_BASE_URL", "ftp://x", "TELEGRAM_API_BASE_URL: must be an http(s) URL"),
        ("LIMIT_UPDATES_PER_MINUTE", "-1", "LIMIT_UPDATES_PER_MINUTE: must be 0 (no limit) or more"),
        ("LIMIT_REPORTS_PER_HOUR", "many", "LIMIT_REPORTS_PER_HOUR: must be a whole number"),
    ],
)
def test_each_problem_is_one_clear_line(env, variable: str, value: str, problem: str) -> None:
    with pytest.raises(ConfigError) as raised:
        env(**{variable: value})
    assert len(raised.value.problems) == 1
    assert raised.value.problems[0].startswith(problem)


def test_every_problem_is_reported_at_once(env, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SECRET_KEY", "")
    with pytest.raises(ConfigError) as raised:
        env(SECRET_KEY="", STAFF_CHAT_ID="abc", RETENTION_DAYS="0")
    assert sorted(raised.value.problems) == [
        "RETENTION_DAYS: must be a whole number of days, 1 or more",
        "SECRET_KEY: is not set (run `outreach-bot init`)",
        "STAFF_CHAT_ID: must be a whole number such as -1001234567890",
    ]


def test_the_env_file_is_read(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    for name in NAMES:
        monkeypatch.delenv(name, raising=False)
    env_file = tmp_path / ".env"
    env_file.write_text("".join(f"{k}={v}\n" for k, v in VALID.items()) + "RETENTION_DAYS=14\n")
    assert load_settings(env_file).retention_days == 14
