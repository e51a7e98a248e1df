"""Configuration from the environment and `.env`, validated into one clear line per problem."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Annotated, Literal, TypeVar
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import AfterValidator, Field, ValidationError, ValidationInfo, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict
from sqlalchemy.engine import URL, make_url
from sqlalchemy.exc import ArgumentError

from bot.categories import CATEGORY_KEYS
from bot.i18n import available_locales

TOKEN_PATTERN = re.compile(r"^\d{5,20}:[A-Za-z0-9_-]{30,}$")
MIN_SECRET_LENGTH = 32
# Telegram's own rule for a webhook's secret_token (1-256 of these), with our minimum length.
WEBHOOK_SECRET_PATTERN = re.compile(r"^[A-Za-z0-9_-]{32,256}$")

# Plain URLs an admin is likely to paste, mapped to the async drivers we ship.
_ASYNC_DRIVERS = {
    "sqlite": "sqlite+aiosqlite",
    "postgres": "postgresql+asyncpg",
    "postgresql": "postgresql+asyncpg",
}
_SUPPORTED_DRIVERS = {"sqlite+aiosqlite", "postgresql+asyncpg"}
_SSL_MODES = ("disable", "allow", "prefer", "require", "verify-ca", "verify-full")  # libpq's


class ConfigError(Exception):
    """Raised with every problem found, each a line an admin can act on."""

    def __init__(self, problems: list[str]) -> None:
        super().__init__("\n".join(problems))
        self.problems = problems


def _more_than_zero(value: float) -> float:
    if value <= 0:
        raise ValueError("must be more than 0")
    return value


MoreThanZero = Annotated[float, AfterValidator(_more_than_zero)]


class _FromEnvironment(BaseSettings):
    model_config = SettingsConfigDict(
        env_file=".env", env_file_encoding="utf-8", env_ignore_empty=True, extra="ignore"
    )


class DatabaseSettings(_FromEnvironment):
    """What `db upgrade`, `status` and `keys` need: no token. SECRET_KEY only to read or write the
    encrypted columns (reports stored before encryption at rest, key rotation)."""

    database_url: str = Field("sqlite+aiosqlite:///./data/outreach.db", repr=False)
    secret_key: str | None = Field(None, repr=False)

    @field_validator("database_url")
    @classmethod
    def _async_database_url(cls, value: str) -> str:
        return async_database_url(value).render_as_string(hide_password=False)

    @property
    def database_description(self) -> str:
        """The database URL without its password, safe to show in messages."""
        return make_url(self.database_url).render_as_string(hide_password=True)


class TranslationSettings(_FromEnvironment):
    """What the `translations` commands need: installing a model must not ask for the bot's token."""

    officer_locale: str = "en"
    translation: bool = True
    translation_dir: Path = Path("./data/translation")
    translation_timeout_seconds: MoreThanZero = 60

    @field_validator("officer_locale")
    @classmethod
    def _shipped_officer_locale(cls, value: str) -> str:
        return _shipped_locale(value)


class AuditSettings(DatabaseSettings):
    """What `audit verify` needs: the database, and SECRET_KEY, from which the chain's key derives."""

    secret_key: str = Field(repr=False)


class RetentionSettings(AuditSettings):
    """What `purge` needs: the database, how long things are kept, and SECRET_KEY, as a purge is
    an audit event."""

    retention_days: int = 90
    link_grace_days: int = 7

    @field_validator("retention_days")
    @classmethod
    def _positive_retention(cls, value: int) -> int:
        if value < 1:
            raise ValueError("must be a whole number of days, 1 or more")
        return value

    @field_validator("link_grace_days")
    @classmethod
    def _grace_not_negative(cls, value: int) -> int:
        if value < 0:
            raise ValueError("must be a whole number of days, 0 or more")
        return value


SettingsKind = TypeVar("SettingsKind", bound=_FromEnvironment)


class Settings(RetentionSettings, TranslationSettings):
    """The whole public configuration contract, for `run` and `check-config`; the variable names
    are documented in the README."""

    telegram_bot_token: str = Field(repr=False)
    staff_chat_id: int
    telegram_api_base_url: str = "https://api.telegram.org/bot"
    secret_key: str = Field(repr=False)
    default_locale: str = "en"
    agency_profile: str = ""  # a TOML file (bot/outreach/profile.py); it wins over the settings below
    agency_name: str = ""
    agency_contact: str = ""
    emergency_number: str = "911"
    time_zone: str = "UTC"
    report_categories: str = "suspicious,crime,threat,safety,other"
    urgent_categories: str = "threat"
    officer_ids: str = ""
    draft_timeout_minutes: MoreThanZero = 30
    staff_messages_per_minute: int = 20
    # From this many ordinary cards waiting, they go to the staff chat as digests (bot/delivery/digest.py).
    digest_threshold: int = 20
    # Per person (bot/limits.py); 0 = no limit.
    limit_updates_per_minute: int = 30
    limit_reports_per_hour: int = 5
    limit_dialog_messages_per_hour: int = 30
    limit_wrong_codes_per_hour: int = 10
    delivery_retry_seconds: MoreThanZero = 5
    delivery_max_retry_seconds: MoreThanZero = 300
    officer_names_visible: bool = False
    # Webhook mode and the health and metrics endpoints (bot/web/).
    webhook_url: str = ""
    webhook_secret: str = Field("", repr=False, validate_default=True)
    web_listen: str = "127.0.0.1:8080"
    health_port: int = 0  # polling mode's health and metrics, on WEB_LISTEN's host; 0 = none
    log_format: Literal["text", "json"] = "text"
    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = "INFO"

    @field_validator("log_format", mode="before")
    @classmethod
    def _format_in_any_case(cls, value: object) -> object:
        return value.lower() if isinstance(value, str) else value

    @field_validator("log_level", mode="before")
    @classmethod
    def _level_in_any_case(cls, value: object) -> object:
        return value.upper() if isinstance(value, str) else value

    @field_validator("telegram_bot_token")
    @classmethod
    def _token_shape(cls, value: str) -> str:
        if not TOKEN_PATTERN.match(value):
            raise ValueError("does not look like a token from BotFather (expected 123456789:ABC…)")
        return value

    @field_validator("default_locale")
    @classmethod
    def _shipped_default_locale(cls, value: str) -> str:
        return _shipped_locale(value)

    @field_validator("time_zone")
    @classmethod
    def _known_time_zone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError(f"{value!r} is not a time zone name such as America/Chicago") from None
        return value

    @field_validator("report_categories", "urgent_categories")
    @classmethod
    def _known_categories(cls, value: str) -> str:
        unknown = [key for key in _split(value) if key not in CATEGORY_KEYS]
        if unknown:
            raise ValueError(f"unknown {', '.join(unknown)}; choose from {', '.join(CATEGORY_KEYS)}")
        return value

    @field_validator("officer_ids")
    @classmethod
    def _numeric_ids(cls, value: str) -> str:
        if not all(part.lstrip("-").isdigit() for part in _split(value)):
            raise ValueError("must be Telegram user ids separated by commas, e.g. 11111,22222")
        return value

    @field_validator(
        "staff_messages_per_minute", "digest_threshold", "limit_updates_per_minute", "limit_reports_per_hour", "limit_dialog_messages_per_hour",
        "limit_wrong_codes_per_hour",
    )
    @classmethod
    def _not_negative(cls, value: int) -> int:
        if value < 0:
            raise ValueError("must be 0 (no limit) or more")
        return value

    @field_validator("secret_key")
    @classmethod
    def _long_secret(cls, value: str) -> str:
        if len(value) < MIN_SECRET_LENGTH:
            raise ValueError(
                f"must be at least {MIN_SECRET_LENGTH} characters; `outreach-bot init` makes one"
            )
        return value

    @field_validator("telegram_api_base_url")
    @classmethod
    def _http_base_url(cls, value: str) -> str:
        if not re.match(r"^https?://[^/\s]+", value):
            raise ValueError("must be an http(s) URL such as https://api.telegram.org/bot")
        return value.rstrip("/")

    @field_validator("webhook_url")
    @classmethod
    def _https_webhook(cls, value: str) -> str:
        if value and not re.match(r"^https://[^/\s]+(/\S*)?$", value):
            raise ValueError("must be the public https:// URL Telegram posts updates to, e.g. https://bot.example.org/telegram")
        return value

    @field_validator("webhook_secret")
    @classmethod
    def _webhook_secret(cls, value: str, info: ValidationInfo) -> str:
        if not value and info.data.get("webhook_url"):
            raise ValueError("is required with WEBHOOK_URL; `outreach-bot init` makes one")
        if value and not WEBHOOK_SECRET_PATTERN.match(value):
            raise ValueError("must be 32 to 256 letters, digits, _ or -; `outreach-bot init` makes one")
        return value

    @field_validator("web_listen")
    @classmethod
    def _host_and_port(cls, value: str) -> str:
        host, _, port = value.rpartition(":")
        if not host or not port.isdigit() or not 0 < int(port) < 65536:
            raise ValueError("must be HOST:PORT, e.g. 127.0.0.1:8080")
        return value

    @field_validator("health_port")
    @classmethod
    def _port_or_none(cls, value: int) -> int:
        if not 0 <= value < 65536:
            raise ValueError("must be a port number, or 0 for no health server while polling")
        return value

    @property
    def listen_address(self) -> tuple[str, int]:
        """WEB_LISTEN as (host, port); an IPv6 host may be written in brackets."""
        host, _, port = self.web_listen.rpartition(":")
        return host.strip("[]"), int(port)

    @property
    def telegram_file_base_url(self) -> str:
        """Where files are downloaded: the Bot API serves them under /file/bot<token>/."""
        base = self.telegram_api_base_url
        return base[: -len("/bot")] + "/file/bot" if base.endswith("/bot") else base + "/file/bot"

    @property
    def categories(self) -> tuple[str, ...]:
        return tuple(_split(self.report_categories))

    @property
    def urgent(self) -> frozenset[str]:
        return frozenset(_split(self.urgent_categories))

    @property
    def officers(self) -> frozenset[int]:
        """Officers allowed to act on reports; empty means everyone in the staff chat."""
        return frozenset(int(part) for part in _split(self.officer_ids))

    @property
    def zone(self) -> ZoneInfo:
        return ZoneInfo(self.time_zone)


def _shipped_locale(value: str) -> str:
    shipped = available_locales()
    if value not in shipped:
        raise ValueError(f"{value!r} has no catalog in locales/; available: {', '.join(shipped)}")
    return value


def _split(value: str) -> list[str]:
    return [part.strip() for part in value.split(",") if part.strip()]


def async_database_url(raw: str) -> URL:
    """Parse a database URL and pick the async driver, accepting the plain forms admins paste."""
    try:
        url = make_url(raw)
    except ArgumentError:
        raise ValueError("is not a database URL (e.g. sqlite+aiosqlite:///./data/outreach.db)") from None
    url = url.set(drivername=_ASYNC_DRIVERS.get(url.drivername, url.drivername))
    if url.drivername not in _SUPPORTED_DRIVERS:
        raise ValueError(
            f"uses {url.drivername!r}; use sqlite+aiosqlite:///… or postgresql+asyncpg://…"
        )
    if (mode := url.query.get("sslmode")) is not None and mode not in _SSL_MODES:
        raise ValueError(f"sslmode={mode} is not one of {', '.join(_SSL_MODES)}")
    for file in ("sslrootcert", "sslcert", "sslkey"):
        if (path := url.query.get(file)) is not None and not Path(path).expanduser().is_file():
            raise ValueError(f"{file}={path} is not a file the bot can read")
    return url


def load_settings(env_file: Path | str | None = ".env", kind: type[SettingsKind] = Settings) -> SettingsKind:  # type: ignore[assignment]
    """Read and validate the settings of `kind` (all of them by default), raising ConfigError
    with every problem at once."""
    try:
        return kind(_env_file=env_file)  # type: ignore[call-arg]
    except ValidationError as exc:
        raise ConfigError([_describe(error, kind) for error in exc.errors()]) from None


def _describe(error: dict, kind: type[BaseSettings]) -> str:
    variable = str(error["loc"][0]).upper() if error["loc"] else "configuration"
    if error["type"] == "missing":
        hint = ""
        if variable == "SECRET_KEY":
            # A new key suits a new installation; stored data needs the key it was written with.
            hint = (" (run `outreach-bot init`)" if kind is Settings
                    else " (give the bot's own, e.g. --env-file with the bot's .env)")  # fmt: skip
        return f"{variable}: is not set{hint}"
    if error["type"] in {"int_parsing", "int_type"}:
        example = " such as -1001234567890" if variable == "STAFF_CHAT_ID" else ""
        return f"{variable}: must be a whole number{example}"
    message = str(error["msg"]).removeprefix("Value error, ")
    return f"{variable}: {message}"
