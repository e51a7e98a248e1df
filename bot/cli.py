"""`outreach-bot`: set up, check and run the bot. Problems are one line each, never a traceback."""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
from datetime import datetime
from importlib.metadata import version
from pathlib import Path

from sqlalchemy.exc import SQLAlchemyError
from telegram.error import BadRequest, ChatMigrated, Forbidden, InvalidToken, NetworkError, TelegramError

from bot.config import ConfigError, Settings, load_settings
from bot.crypto import new_secret_key
from bot.i18n import CatalogError, I18n
from bot.logs import configure_logging

EXIT_CONFIG = 2
EXIT_UNAVAILABLE = 1

ENV_TEMPLATE = """\
# outreach-bot configuration. Every variable is explained in the README.
# Keep this file private: SECRET_KEY protects the pseudonyms of everyone who uses the bot.
TELEGRAM_BOT_TOKEN={token}
STAFF_CHAT_ID={staff_chat_id}
SECRET_KEY={secret_key}
# DATABASE_URL=sqlite+aiosqlite:///./data/outreach.db
# AGENCY_NAME=Springfield Police Department
# AGENCY_CONTACT=community liaison office, 555-0100
# EMERGENCY_NUMBER=911
# DEFAULT_LOCALE=en
# OFFICER_LOCALE=en
# RETENTION_DAYS=90
"""


class Failure(Exception):
    """A problem the admin can fix, and the exit code that says which kind."""

    def __init__(self, lines: list[str], exit_code: int) -> None:
        super().__init__("\n".join(lines))
        self.lines, self.exit_code = lines, exit_code


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    try:
        return args.command(args) or 0
    except Failure as failure:
        for line in failure.lines:
            print(f"error: {line}", file=sys.stderr)
        return failure.exit_code
    except KeyboardInterrupt:
        return 130


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="outreach-bot",
        description="An anonymous, multilingual Telegram bot for community-police partnership.",
    )
    parser.add_argument("--version", action="version", version=version("outreach-bot"))
    parser.add_argument(
        "--env-file", type=Path, default=Path(".env"), help="configuration file (default: ./.env)"
    )
    commands = parser.add_subparsers(title="commands", required=True, metavar="COMMAND")

    init = commands.add_parser("init", help="write a .env with a fresh SECRET_KEY")
    init.add_argument("--token", default="", help="the bot token from BotFather")
    init.add_argument("--staff-chat-id", default="", help="id of the staff supergroup or channel")
    init.set_defaults(command=init_command)

    check = commands.add_parser("check-config", help="validate the configuration and say what is wrong")
    check.add_argument("--offline", action="store_true", help="do not contact Telegram")
    check.set_defaults(command=check_config_command)

    database = commands.add_parser("db", help="database maintenance")
    database_commands = database.add_subparsers(title="commands", required=True, metavar="COMMAND")
    upgrade = database_commands.add_parser("upgrade", help="apply migrations up to the newest")
    upgrade.set_defaults(command=db_upgrade_command)

    catalogs = commands.add_parser("catalogs", help="translation catalogs (for translators)")
    catalog_commands = catalogs.add_subparsers(title="commands", required=True, metavar="COMMAND")
    update = catalog_commands.add_parser(
        "update", help="extract locales/messages.pot from the code and merge it into every catalog"
    )
    update.set_defaults(command=catalogs_update_command)

    status = commands.add_parser("status", help="what waits for delivery, and whether Telegram refuses it")
    status.set_defaults(command=status_command)

    run = commands.add_parser("run", help="start the bot (long polling); Ctrl-C stops it")
    run.set_defaults(command=run_command)
    return parser


def init_command(args: argparse.Namespace) -> int:
    env_file: Path = args.env_file
    if not env_file.parent.is_dir():
        raise Failure([f"{env_file}: the folder {env_file.parent} does not exist"], EXIT_CONFIG)
    if env_file.exists():
        lines = env_file.read_text(encoding="utf-8").splitlines()
        keys = [line.split("=", 1)[1].strip() for line in lines if line.strip().startswith("SECRET_KEY=")]
        if any(keys):
            print(f"{env_file} already has a SECRET_KEY; it was left unchanged.")
            return 0
        # The file is about to hold the secret, whatever its mode was.
        env_file.chmod(0o600)
        kept = [line for line in lines if not line.strip().startswith("SECRET_KEY=")]
        env_file.write_text("\n".join([*kept, f"SECRET_KEY={new_secret_key()}"]) + "\n", encoding="utf-8")
        print(f"Added a new SECRET_KEY to {env_file}.")
        return 0
    text = ENV_TEMPLATE.format(
        token=args.token, staff_chat_id=args.staff_chat_id, secret_key=new_secret_key()
    )
    # Created private from the first byte, not chmod-ed afterwards.
    fd = os.open(env_file, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as out:
        out.write(text)
    print(f"Wrote {env_file} (readable by you only). Fill in what is empty, then run `outreach-bot check-config`.")
    return 0


def check_config_command(args: argparse.Namespace) -> int:
    settings = _settings(args.env_file)
    _i18n(settings)
    asyncio.run(_check_services(settings, telegram=not args.offline))
    print("The configuration is valid.")
    return 0


def db_upgrade_command(args: argparse.Namespace) -> int:
    settings = _settings(args.env_file)
    asyncio.run(_upgrade(settings))
    print(f"The database at {settings.database_description} is up to date.")
    return 0


def catalogs_update_command(args: argparse.Namespace) -> int:
    from bot.catalogs import update

    update()
    print("Updated locales/messages.pot and every catalog; translate the empty entries.")
    return 0


def status_command(args: argparse.Namespace) -> int:
    """Exit 0 when deliveries flow, 1 when the staff chat refuses the bot (an alert to act on)."""
    settings = _settings(args.env_file)
    count, oldest, last_error = asyncio.run(_pending(settings))
    if not count:
        print("Nothing is waiting: every report has reached the staff chat.")
        return 0
    print(f"Waiting for delivery: {count} message(s), the oldest since {oldest:%Y-%m-%d %H:%M} UTC.")
    if last_error == "Forbidden":
        print("ALERT: Telegram refuses to let the bot post to STAFF_CHAT_ID (Forbidden). Add the bot back to "
              "the staff chat as an admin; everything stays queued and is sent once it can be.")
        return EXIT_UNAVAILABLE
    if last_error:
        print(f"Last delivery error: {last_error}; the bot keeps retrying.")
    return 0


def run_command(args: argparse.Namespace) -> int:
    from bot.application import build_application, build_services

    settings = _settings(args.env_file)
    configure_logging(settings.telegram_bot_token, settings.secret_key)
    _i18n(settings)
    application = build_application(build_services(settings))
    try:
        # SIGINT and SIGTERM stop polling, finish the update in hand and close the database.
        application.run_polling(drop_pending_updates=False)
    except InvalidToken:
        raise Failure(["TELEGRAM_BOT_TOKEN: Telegram rejected this token; copy it again from BotFather"], EXIT_CONFIG) from None
    except NetworkError as exc:
        raise Failure([_unreachable(settings, exc)], EXIT_UNAVAILABLE) from None
    except TelegramError as exc:  # e.g. RetryAfter at start-up
        raise Failure([f"Telegram refused to start the bot ({type(exc).__name__}); try again in a minute"], EXIT_UNAVAILABLE) from None
    except (SQLAlchemyError, OSError) as exc:
        raise _database_failure(settings, exc) from None
    return 0


def _settings(env_file: Path) -> Settings:
    try:
        return load_settings(env_file)
    except ConfigError as exc:
        raise Failure(exc.problems, EXIT_CONFIG) from None


def _i18n(settings: Settings) -> I18n:
    try:
        return I18n(settings.default_locale)
    except CatalogError as exc:
        raise Failure([f"catalog: {exc}"], EXIT_CONFIG) from None


def _unreachable(settings: Settings, exc: BaseException) -> str:
    return f"cannot reach Telegram at {settings.telegram_api_base_url} ({type(exc).__name__})"


def _database_failure(settings: Settings, exc: BaseException) -> Failure:
    return Failure(
        [
            f"DATABASE_URL: cannot open the database at {settings.database_description} "
            f"({type(exc).__name__}); is the server running and the database created?"
        ],
        EXIT_UNAVAILABLE,
    )


async def _upgrade(settings: Settings) -> None:
    from storage.database import create_engine, upgrade_to_head

    engine = create_engine(settings.database_url)
    try:
        await upgrade_to_head(engine)
    except (SQLAlchemyError, OSError) as exc:
        raise _database_failure(settings, exc) from None
    finally:
        await engine.dispose()


async def _pending(settings: Settings) -> tuple[int, datetime | None, str | None]:
    from storage.database import create_engine, session_factory
    from storage.unit_of_work import UnitOfWork

    engine = create_engine(settings.database_url)
    try:
        async with UnitOfWork(session_factory(engine)) as uow:
            return await uow.outbox.pending_summary()
    except (SQLAlchemyError, OSError) as exc:
        raise _database_failure(settings, exc) from None
    finally:
        await engine.dispose()


async def _check_services(settings: Settings, *, telegram: bool) -> None:
    from sqlalchemy import text
    from telegram import Bot

    from storage.database import create_engine

    # Wrong settings exit 2 like any configuration error; a server that is down exits 1.
    wrong: list[str] = []
    unavailable: list[str] = []
    engine = create_engine(settings.database_url)
    try:
        async with engine.connect() as connection:
            await connection.execute(text("SELECT 1"))
    except (SQLAlchemyError, OSError) as exc:
        unavailable.extend(_database_failure(settings, exc).lines)
    finally:
        await engine.dispose()
    if telegram:
        bot = Bot(settings.telegram_bot_token, base_url=settings.telegram_api_base_url)
        try:
            async with bot:
                await bot.get_chat(settings.staff_chat_id)
        except InvalidToken:
            wrong.append("TELEGRAM_BOT_TOKEN: Telegram rejected this token; copy it again from BotFather")
        except ChatMigrated as exc:
            wrong.append(f"STAFF_CHAT_ID: the group became a supergroup; set STAFF_CHAT_ID={exc.new_chat_id}")
        except (BadRequest, Forbidden):
            wrong.append("STAFF_CHAT_ID: the bot cannot see this chat; add the bot to it as an admin")
        except NetworkError as exc:
            unavailable.append(_unreachable(settings, exc))
        except TelegramError as exc:  # e.g. RetryAfter
            unavailable.append(f"Telegram did not answer the check ({type(exc).__name__}); try again in a minute")
    if wrong or unavailable:
        raise Failure(wrong + unavailable, EXIT_CONFIG if wrong else EXIT_UNAVAILABLE)
