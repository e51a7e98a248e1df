"""`outreach-bot`: set up, check and run the bot. Problems are one line each, never a traceback."""

from __future__ import annotations

import argparse
import asyncio
import gc
import json
import os
import secrets
import ssl
import sys
import tempfile
from datetime import timedelta
from http.client import HTTPException
from importlib.metadata import version
from pathlib import Path
from time import perf_counter
from typing import TYPE_CHECKING, TypeVar

from sqlalchemy.exc import SQLAlchemyError
from telegram.error import BadRequest, ChatMigrated, Forbidden, InvalidToken, NetworkError, TelegramError

from bot.config import (
    AuditSettings,
    ConfigError,
    DatabaseSettings,
    RetentionSettings,
    Settings,
    SettingsKind,
    TranslationSettings,
    load_settings,
)
from bot.crypto import Keys, new_secret_key
from bot.i18n import CatalogError, I18n, available_locales
from bot.logs import configure_logging
from bot.outreach.profile import EXAMPLE as EXAMPLE_PROFILE
from bot.outreach.profile import AgencyProfile, ProfileError, load_profile
from bot.translation import packages
from bot.translation.translator import TranslationUnavailable, Translator, language_code

if TYPE_CHECKING:
    import socket
    from collections.abc import Awaitable, Callable

    from sqlalchemy.ext.asyncio import AsyncEngine

    from bot.retention import Purged
    from storage.key_rotation import Rotation
    from storage.repositories import OutboxHealth
    from storage.unit_of_work import UnitOfWork

T = TypeVar("T")

EXIT_CONFIG = 2
EXIT_UNAVAILABLE = 1

# Overridden by the ARGOS_PACKAGE_INDEX environment variable (a mirror, or a file:// copy).
ARGOS_PACKAGE_INDEX = "https://raw.githubusercontent.com/argosopentech/argospm-index/main/index.json"
CHECK_SENTENCE = "Someone is selling drugs near the school every evening. Please send a patrol."

PROFILE_NAME = "agency.toml"  # beside the .env, where `init` writes it
ENV_TEMPLATE = """\
# outreach-bot configuration. Every variable is explained in the README.
# Keep this file private: SECRET_KEY protects the pseudonyms of everyone who uses the bot.
TELEGRAM_BOT_TOKEN={token}
STAFF_CHAT_ID={staff_chat_id}
SECRET_KEY={secret_key}
# DATABASE_URL=sqlite+aiosqlite:///./data/outreach.db
# Who the agency is, its numbers, oversight, resources and categories: edit agency.toml.
AGENCY_PROFILE={profile}
# DEFAULT_LOCALE=en
# OFFICER_LOCALE=en
# RETENTION_DAYS=90
# Webhook mode: Telegram posts to WEBHOOK_URL, your reverse proxy passes it on to WEB_LISTEN.
# WEBHOOK_URL=https://bot.example.org/telegram
# WEBHOOK_SECRET={webhook_secret}
# WEB_LISTEN=127.0.0.1:8080
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

    keys = commands.add_parser("keys", help="the keys that encrypt reports in the database")
    key_commands = keys.add_subparsers(title="commands", required=True, metavar="COMMAND")
    rotate = key_commands.add_parser(
        "rotate", help="start a new key generation and re-encrypt everything under it; the bot may keep running"
    )
    rotate.add_argument(
        "--settle", type=float, metavar="SECONDS",
        help="time running bots get to move to the new keys (default: twice how often they look; 0 when none runs)",
    )
    rotate.set_defaults(command=keys_rotate_command)
    key_status = key_commands.add_parser("status", help="the key generation, and how many values are under older ones")
    key_status.set_defaults(command=keys_status_command)

    status = commands.add_parser("status", help="what waits for delivery, and whether Telegram refuses it")
    status.set_defaults(command=status_command)

    audit = commands.add_parser("audit", help="the audit log of officers' actions, for an oversight board")
    audit_commands = audit.add_subparsers(title="commands", required=True, metavar="COMMAND")
    verify = audit_commands.add_parser("verify", help="check that no audit event was edited, inserted or deleted")
    verify.set_defaults(command=audit_verify_command)
    export = audit_commands.add_parser("export", help="write the audit log as CSV; it holds no report content")
    export.add_argument("--output", type=Path, metavar="FILE", help="write to FILE (default: standard output)")
    export.set_defaults(command=audit_export_command)

    purge = commands.add_parser(
        "purge", help="delete what is past RETENTION_DAYS and LINK_GRACE_DAYS now (the bot does it daily)"
    )
    purge.add_argument("--dry-run", action="store_true", help="count what would be deleted, and change nothing")
    purge.set_defaults(command=purge_command)

    run = commands.add_parser("run", help="start the bot (long polling, or a webhook); Ctrl-C stops it")
    run.add_argument("--webhook", action="store_true", help="take updates on a webhook at WEBHOOK_URL (also when it is set)")
    run.set_defaults(command=run_command)

    translations = commands.add_parser("translations", help="offline machine translation packages (Argos Translate)")
    translation_commands = translations.add_subparsers(title="commands", required=True, metavar="COMMAND")
    listing = translation_commands.add_parser(
        "list", help="installed language pairs, and which of the bot's languages officers cannot read yet"
    )
    listing.set_defaults(command=translations_list_command)
    install = translation_commands.add_parser(
        "install", help="install a package: FROM TO from the Argos index, or --from-file without internet"
    )
    install.add_argument("source", nargs="?", metavar="FROM", help="language code to translate from, e.g. es")
    install.add_argument("target", nargs="?", metavar="TO", help="language code to translate into, e.g. en")
    install.add_argument("--from-file", type=Path, metavar="PKG.argosmodel", help="install this package file")
    install.set_defaults(command=translations_install_command)
    check_pairs = translation_commands.add_parser(
        "check", help="translate a test sentence with every installed pair and time it"
    )
    check_pairs.set_defaults(command=translations_check_command)
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
    profile = env_file.parent / PROFILE_NAME
    text = ENV_TEMPLATE.format(
        token=args.token, staff_chat_id=args.staff_chat_id, secret_key=new_secret_key(),
        webhook_secret=secrets.token_urlsafe(32), profile=PROFILE_NAME,
    )
    # Created private from the first byte, not chmod-ed afterwards.
    fd = os.open(env_file, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as out:
        out.write(text)
    print(f"Wrote {env_file} (readable by you only). Fill in what is empty, then run `outreach-bot check-config`.")
    if not profile.exists():
        profile.write_text(EXAMPLE_PROFILE.read_text(encoding="utf-8"), encoding="utf-8")
        print(f"Wrote {profile}, an example agency profile: make it describe your agency.")
    return 0


def check_config_command(args: argparse.Namespace) -> int:
    settings = _settings(args.env_file)
    _i18n(settings)
    _profile(settings)
    asyncio.run(_check_services(settings, telegram=not args.offline))
    print("The configuration is valid.")
    return 0


def db_upgrade_command(args: argparse.Namespace) -> int:
    settings = _settings(args.env_file, DatabaseSettings)
    asyncio.run(_upgrade(settings))
    print(f"The database at {settings.database_description} is up to date.")
    return 0


def catalogs_update_command(args: argparse.Namespace) -> int:
    from bot.catalogs import in_source_checkout, update

    if not in_source_checkout():
        raise Failure(["catalogs update works in a source checkout (git clone, then the README's test install); "
                       "this installation has the catalogs but not the code's extraction mapping, babel.cfg"], EXIT_CONFIG)
    update()
    print("Updated locales/messages.pot and every catalog; translate the empty entries.")
    return 0


def status_command(args: argparse.Namespace) -> int:
    """Exit 0 when deliveries flow; 1 with an ALERT for each thing someone must act on: Telegram
    refuses the bot, messages it will never accept, or a staff group that became a supergroup."""
    settings = _settings(args.env_file, DatabaseSettings)
    outbox = asyncio.run(_outbox_health(settings))
    if outbox.waiting:
        print(f"Waiting for delivery: {outbox.waiting} message(s), the oldest since {outbox.oldest:%Y-%m-%d %H:%M} UTC.")
    elif not outbox.dead:
        print("Nothing is waiting: every report has reached the staff chat.")
    alerts = []
    if outbox.last_error == "Forbidden":
        alerts.append("Telegram refuses to let the bot post to STAFF_CHAT_ID (Forbidden). Add the bot back to "
                      "the staff chat as an admin; everything stays queued and is sent once it can be.")
    elif outbox.last_error == "InvalidToken":
        alerts.append("Telegram rejects TELEGRAM_BOT_TOKEN (InvalidToken). Copy it again from BotFather and "
                      "restart the bot; everything stays queued and is sent once it can be.")
    elif outbox.last_error:
        print(f"Last delivery error: {outbox.last_error}; the bot keeps retrying.")
    if outbox.dead:
        reason = f", {outbox.dead_reason}" if outbox.dead_reason else ""
        alerts.append(f"{outbox.dead} message(s) will not be delivered: Telegram refused them for good, the newest "
                      f"with {outbox.dead_error}{reason}. They are kept in the outbox; the bot's log names their reports.")
    if outbox.staff_chat_moved_to is not None:
        alerts.append(f"the staff group became a supergroup: set STAFF_CHAT_ID={outbox.staff_chat_moved_to} and "
                      "restart the bot.")
    for alert in alerts:
        print(f"ALERT: {alert}")
    return EXIT_UNAVAILABLE if alerts else 0


def keys_rotate_command(args: argparse.Namespace) -> int:
    from storage.key_rotation import REFRESH_EVERY

    settings = _key_settings(args.env_file)
    settle = 2 * REFRESH_EVERY if args.settle is None else timedelta(seconds=args.settle)
    print(f"Re-encrypting under a new key generation; running bots get {settle.total_seconds():g} seconds to move to it.")
    rotation = asyncio.run(_rotate_keys(settings, settle))
    retired = ", ".join(map(str, rotation.retired)) or "none"
    print(f"Key generation {rotation.generation} is current: {rotation.resealed} value(s) re-encrypted "
          f"in {rotation.passes} pass(es). Retired generations: {retired}.")
    return 0


def keys_status_command(args: argparse.Namespace) -> int:
    from storage.key_rotation import key_status

    settings = _key_settings(args.env_file)
    status = asyncio.run(_with_engine(settings, key_status))
    print(f"Key generation {status.generation} is current; {status.older_values} value(s) are under older ones.")
    return 0


def audit_verify_command(args: argparse.Namespace) -> int:
    """Exit 0 when the chain holds, with its head hash to note; 1 with an ALERT naming the first
    event where it breaks."""
    from bot.audit import signed_with, verify

    settings = _settings(args.env_file, AuditSettings)
    keys = Keys(settings.secret_key)
    verdict = asyncio.run(_audit_log(settings, lambda uow: verify(uow, keys)))
    if verdict.broken and not verdict.chained and not asyncio.run(_audit_log(settings, lambda uow: signed_with(uow, keys))):
        print("ALERT: no event of the audit log checks out with this SECRET_KEY. Is it the key the bot runs with? "
              "If it is, every event was tampered with.")
        return EXIT_UNAVAILABLE
    if verdict.broken:
        print(f"ALERT: the audit log was tampered with: {verdict.broken.describe()}.")
        return EXIT_UNAVAILABLE
    if verdict.head:
        print(f"The audit log is intact: {verdict.chained} event(s). The newest, #{verdict.head.id} of "
              f"{verdict.head.at:%Y-%m-%d %H:%M:%S} UTC, has the hash {verdict.head.hash}")
        print("Note this hash: a check against it is the only way to see that newest events were removed.")
    else:
        print("The audit log has no events to check yet.")
    if verdict.before_chain:
        print(f"{verdict.before_chain} event(s) from before the chain existed cannot be checked.")
    return 0


def audit_export_command(args: argparse.Namespace) -> int:
    from bot.audit import export_csv

    settings = _settings(args.env_file, DatabaseSettings)
    if args.output is None:
        asyncio.run(_audit_log(settings, lambda uow: export_csv(uow, sys.stdout)))
        return 0
    try:
        with args.output.open("w", newline="", encoding="utf-8") as out:
            count = asyncio.run(_audit_log(settings, lambda uow: export_csv(uow, out)))
    except OSError as exc:
        raise Failure([f"--output: cannot write {args.output} ({exc.strerror or type(exc).__name__})"], EXIT_CONFIG) from None
    print(f"Wrote {count} audit event(s) to {args.output}.")
    return 0


def purge_command(args: argparse.Namespace) -> int:
    from bot.retention import FACTS_KEPT_DAYS, INVITE_VALID_DAYS, Retention, purge
    from storage.database import session_factory
    from storage.unit_of_work import UnitOfWork

    settings = _settings(args.env_file, RetentionSettings)
    retention = Retention(settings.retention_days, settings.link_grace_days)

    async def purge_with(engine: AsyncEngine) -> Purged:
        sessions, keys = session_factory(engine), Keys(settings.secret_key)
        return await purge(lambda: UnitOfWork(sessions, audit_signer=keys.audit_hash), retention, dry_run=args.dry_run)

    purged = asyncio.run(_with_engine(settings, purge_with))
    print("Would delete (nothing was changed):" if args.dry_run else "Deleted:")
    print(f"  {purged.reports} report(s) received more than {retention.report_days} day(s) ago (RETENTION_DAYS), with")
    print(f"    {purged.attachments} attachment(s), {purged.messages} dialog message(s) and {purged.links_of_reports} reporter link(s)")
    print(f"  {purged.links_after_closure} reporter link(s) of reports closed more than {retention.link_grace_days} day(s) ago (LINK_GRACE_DAYS)")
    print(f"  {purged.update_ids} update id(s) older than a day, kept only to answer each update once")
    print(f"  {purged.facts} report fact(s) received more than {FACTS_KEPT_DAYS} days ago, the counts behind /transparency")
    print(f"  {purged.invites} partner invite(s) made more than {INVITE_VALID_DAYS} days ago, used or not")
    return 0


def run_command(args: argparse.Namespace) -> int:
    from bot.application import ALLOWED_UPDATES, build_application, build_services
    from bot.leadership import AlreadyRunning, lead
    from bot.web.server import run_webhook, serve_health_while_polling
    from storage.database import SchemaFromNewerRelease

    settings = _settings(args.env_file)
    webhook = args.webhook or bool(settings.webhook_url)
    if webhook and not settings.webhook_url:
        raise Failure(["WEBHOOK_URL: is not set; --webhook needs the public https URL Telegram posts to"], EXIT_CONFIG)
    configure_logging(settings.telegram_bot_token, settings.secret_key, settings.webhook_secret,
                      level=settings.log_level, json_lines=settings.log_format == "json")  # fmt: skip
    _i18n(settings)
    try:
        application = build_application(build_services(settings, _profile(settings)), webhook=webhook)
        # What start-up built (catalogs, CLDR data, handlers, metadata) lives as long as the
        # process. Frozen, it is left out of the garbage collector's full passes, which would
        # otherwise walk ~170,000 objects (~65 ms) each time, a stall for everybody
        # (bench/README.md). Here, not in on_startup: it is a decision for the whole process.
        gc.freeze()
        lead(settings.database_url)  # a standby waits here, built and ready to take over
        # Only the leader listens: a reverse proxy finds a standby's port closed and tries the
        # next server at once, and two bots on one host may share WEB_LISTEN.
        listening = _listen(settings, webhook)
        # SIGINT and SIGTERM stop polling or the webhook, finish the update in hand and close the database.
        if webhook:
            run_webhook(application, listening)
        else:
            if listening is not None:
                serve_health_while_polling(application, listening)
            application.run_polling(allowed_updates=ALLOWED_UPDATES, drop_pending_updates=False)
    except AlreadyRunning as exc:
        raise Failure([str(exc)], EXIT_UNAVAILABLE) from None
    except InvalidToken:
        raise Failure(["TELEGRAM_BOT_TOKEN: Telegram rejected this token; copy it again from BotFather"], EXIT_CONFIG) from None
    except NetworkError as exc:
        raise Failure([_unreachable(settings, exc)], EXIT_UNAVAILABLE) from None
    except TelegramError as exc:  # e.g. RetryAfter at start-up
        raise Failure([f"Telegram refused to start the bot ({type(exc).__name__}); try again in a minute"], EXIT_UNAVAILABLE) from None
    except (SQLAlchemyError, OSError, SchemaFromNewerRelease) as exc:
        raise _database_failure(settings, exc) from None
    return 0


def _listen(settings: Settings, webhook: bool) -> socket.socket | None:
    from bot.web.server import listen

    host, port = settings.listen_address
    port = port if webhook else settings.health_port
    try:
        return listen(host, port) if port else None
    except OSError as exc:
        variable = "WEB_LISTEN" if webhook else "HEALTH_PORT"
        raise Failure([f"{variable}: cannot listen on {host}:{port} ({exc.strerror or type(exc).__name__})"], EXIT_CONFIG) from None


def translations_list_command(args: argparse.Namespace) -> int:
    settings = _settings(args.env_file, TranslationSettings)
    installed = packages.installed(settings.translation_dir)
    folder = packages.packages_dir(settings.translation_dir)
    print(f"Translation packages in {folder}:" if installed else f"No translation packages in {folder}.")
    for package in installed:
        names = f"{package.from_name} → {package.to_name} {package.version}".strip() if package.from_code else ""
        pair = f"{package.from_code} → {package.to_code}" if package.from_code else "?"
        print("  " + "  ".join(part for part in (pair, names, package.folder.name, package.problem or "") if part))
    officers = language_code(settings.officer_locale)
    pairs = packages.usable_pairs(installed)
    languages = sorted({language_code(locale) for locale in available_locales()} - {officers})
    print(f"Officers read {officers} (OFFICER_LOCALE). For each language of the bot, reports / officers' replies:")
    for code in languages:
        to, back = packages.route(pairs, code, officers), packages.route(pairs, officers, code)
        print(f"  {code} → {officers}: {packages.describe_route(to)};  {officers} → {code}: {packages.describe_route(back)}")
    no_path = [code for code in languages if packages.route(pairs, code, officers) is None]
    no_reply = [code for code in languages if packages.route(pairs, officers, code) is None]
    if no_path:
        print(f"No path to {officers} from: {', '.join(no_path)}. "
              f"Install one, e.g. `outreach-bot translations install {no_path[0]} {officers}`.")
    else:
        print(f"Every language of the bot has a path to {officers}.")
    if no_reply:
        print(f"Officers' replies cannot be translated into: {', '.join(no_reply)}.")
    return 0


def translations_install_command(args: argparse.Namespace) -> int:
    settings = _settings(args.env_file, TranslationSettings)
    if args.from_file and (args.source or args.target):
        raise Failure(["give FROM TO, or --from-file PKG.argosmodel, not both"], EXIT_CONFIG)
    if args.from_file:
        _install_package(args.from_file, settings)
        return 0
    if not (args.source and args.target):
        raise Failure(["give FROM TO (e.g. `es en`), or --from-file PKG.argosmodel"], EXIT_CONFIG)
    wanted = (language_code(args.source), language_code(args.target))
    link = _index_link(os.environ.get("ARGOS_PACKAGE_INDEX", ARGOS_PACKAGE_INDEX), *wanted)
    settings.translation_dir.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=settings.translation_dir, prefix=".download-") as scratch:
        archive = Path(scratch) / (link.rsplit("/", 1)[-1] or "package.argosmodel")
        _download(link, archive)
        _install_package(archive, settings, expect=wanted)
    return 0


def translations_check_command(args: argparse.Namespace) -> int:
    settings = _settings(args.env_file, TranslationSettings)
    installed = packages.installed(settings.translation_dir)
    for package in installed:
        if package.problem:
            print(f"skipped {package.folder.name}: {package.problem}")
    if any(package.broken for package in installed):
        print("No pair was checked: the translation worker cannot load packages until the broken folder is removed.")
        return EXIT_UNAVAILABLE
    pairs = sorted(packages.usable_pairs(installed))
    if not pairs:
        print("No usable translation pair is installed; see `outreach-bot translations list`.")
        return 0
    failed = asyncio.run(_check_pairs(settings, pairs))
    return EXIT_UNAVAILABLE if failed else 0



def _install_package(path: Path, settings: TranslationSettings, expect: tuple[str, str] | None = None) -> None:
    try:
        package, replaced = packages.install_archive(path, settings.translation_dir, expect)
    except packages.PackageError as exc:
        raise Failure([f"not installed: {exc}"], EXIT_CONFIG) from None
    except OSError as exc:
        raise Failure([f"not installed: cannot write to {settings.translation_dir} ({exc.strerror or type(exc).__name__})"], EXIT_UNAVAILABLE) from None
    print(f"Installed {package.from_code} → {package.to_code} ({package.from_name} → {package.to_name}, "
          f"version {package.version or '?'}) in {package.folder}.")
    if replaced:
        # The worker reloads when the set of pairs changes, not when one is replaced in place.
        print(f"Replaced: {', '.join(replaced)}. A running bot keeps a model it already loaded: restart it to use this one.")
    else:
        print("A running bot's translation worker picks it up by itself.")


def _index_link(url: str, source: str, target: str) -> str:
    try:
        index = packages.fetch_index(url)
    except (OSError, ValueError, HTTPException) as exc:
        raise Failure([f"cannot read the Argos package index at {url} ({_reason(exc)}); without internet, "
                       f"copy a .argosmodel here and use `outreach-bot translations install --from-file PKG.argosmodel`"],
                      EXIT_UNAVAILABLE) from None
    entry = packages.find_in_index(index, source, target)
    if entry is None:
        raise Failure([f"the Argos package index at {url} has no package from {source} to {target}"], EXIT_CONFIG)
    return entry["links"][0]


def _download(link: str, destination: Path) -> None:
    def progress(done: int, total: int | None) -> None:
        if total:
            bar = "#" * (30 * done // total)
            print(f"\r{destination.name} [{bar:<30}] {done:,}/{total:,} bytes", end="", file=sys.stderr, flush=True)
        else:
            print(f"\r{destination.name} {done:,} bytes", end="", file=sys.stderr, flush=True)

    try:
        packages.download(link, destination, progress)
    except (OSError, ValueError, HTTPException) as exc:
        print(file=sys.stderr)
        raise Failure([f"cannot download {link} ({_reason(exc)}); without internet, use "
                       f"`outreach-bot translations install --from-file PKG.argosmodel`"], EXIT_UNAVAILABLE) from None
    print(file=sys.stderr)


def _reason(exc: BaseException) -> str:
    reason = getattr(exc, "reason", None)  # URLError wraps the socket error
    return type(reason).__name__ if isinstance(reason, BaseException) else str(reason or type(exc).__name__)


async def _check_pairs(settings: TranslationSettings, pairs: list[tuple[str, str]]) -> int:
    """Translate CHECK_SENTENCE with each pair through the real worker; returns how many failed."""
    translator = Translator(settings.translation_dir, list(available_locales()), settings.translation_timeout_seconds)
    failed = 0
    try:
        started = perf_counter()
        try:
            await translator.pairs()  # start the worker first, so its start-up is not timed as a pair
        except TranslationUnavailable as exc:
            print(f"The translation worker did not start ({exc.reason}); no pair was checked.")
            return len(pairs)
        print(f"Translation worker started in {perf_counter() - started:.1f} s. Test sentence: {CHECK_SENTENCE!r}")
        for source, target in pairs:
            started = perf_counter()
            try:
                result = await translator.translate(CHECK_SENTENCE, source, target, check=False)
            except TranslationUnavailable as exc:
                failed += 1
                print(f"  {source} → {target}  FAILED: {exc.reason}")
                continue
            print(f"  {source} → {target}  {perf_counter() - started:.2f} s  {result.text[:60]!r}")
    finally:
        await translator.close()
    return failed


def _settings(env_file: Path, kind: type[SettingsKind] = Settings) -> SettingsKind:  # type: ignore[assignment]
    """The settings one command uses, each problem a line; no command asks for more than it needs."""
    try:
        return load_settings(env_file, kind)
    except ConfigError as exc:
        raise Failure(exc.problems, EXIT_CONFIG) from None


def _profile(settings: Settings) -> AgencyProfile:
    try:
        return load_profile(settings)
    except ProfileError as exc:
        raise Failure(exc.problems, EXIT_CONFIG) from None


def _i18n(settings: Settings) -> I18n:
    try:
        return I18n(settings.default_locale)
    except CatalogError as exc:
        raise Failure([f"catalog: {exc}"], EXIT_CONFIG) from None


def _translation_dir_problems(settings: TranslationSettings) -> list[str]:
    """The worker keeps its models and data in TRANSLATION_DIR: it must be a folder the bot can
    create and write, and hold no broken package (argostranslate then loads none at all)."""
    if not settings.translation:
        return []
    folder = settings.translation_dir
    nearest = next(path for path in (folder, *folder.absolute().parents) if path.exists())
    if not nearest.is_dir():
        return [f"TRANSLATION_DIR: {nearest} is a file, so {folder} cannot be a folder"]
    if not os.access(nearest, os.W_OK | os.X_OK):
        return [f"TRANSLATION_DIR: {nearest} is not writable by this user, so the translation worker cannot use {folder}"]
    return [f"TRANSLATION_DIR: {package.folder} is {package.problem}" for package in packages.installed(folder) if package.broken]


def _unreachable(settings: Settings, exc: BaseException) -> str:
    return f"cannot reach Telegram at {settings.telegram_api_base_url} ({type(exc).__name__})"


def _database_failure(settings: DatabaseSettings, exc: BaseException) -> Failure:
    from storage.database import SchemaFromNewerRelease

    if isinstance(exc, SchemaFromNewerRelease):
        return Failure([f"DATABASE_URL: the database at {settings.database_description} was upgraded by a newer "
                        f"release of outreach-bot (schema {exc.revision}); run that release or a later one, or "
                        "restore the backup taken before the upgrade (docs/DEPLOY.md)"], EXIT_CONFIG)  # fmt: skip
    if settings.database_url.startswith("sqlite"):
        hint = "can the bot create and write that file and its folder?"
    elif _tls_failed(exc):
        hint = ("TLS to the server failed: does it have ssl = on, and does sslrootcert name the CA that signed its "
                "certificate, for a host name that matches the URL's (verify-full)?")  # fmt: skip
    else:
        hint = "is the server running and the database created?"
    return Failure(
        [f"DATABASE_URL: cannot open the database at {settings.database_description} ({type(exc).__name__}); {hint}"],
        EXIT_UNAVAILABLE,
    )


def _tls_failed(exc: BaseException) -> bool:
    # asyncpg says so only in words: "rejected SSL upgrade", "root certificate file ... does not exist".
    return isinstance(exc, ssl.SSLError) or any(words in str(exc) for words in ("SSL", "certificate"))


def _engine(settings: DatabaseSettings) -> AsyncEngine:
    from bot.crypto import ColumnKeys
    from storage.database import create_engine
    from storage.encryption import bind_cipher

    try:
        engine = create_engine(settings.database_url)
    except OSError as exc:  # a SQLite file's folder that cannot be created
        raise _database_failure(settings, exc) from None
    if settings.secret_key:
        bind_cipher(engine, ColumnKeys(settings.secret_key))
    return engine


def _key_settings(env_file: Path) -> DatabaseSettings:
    settings = _settings(env_file, DatabaseSettings)
    if not settings.secret_key:
        raise Failure(["SECRET_KEY: is not set; the reports are encrypted with keys derived from it"], EXIT_CONFIG)
    return settings


async def _rotate_keys(settings: DatabaseSettings, settle: timedelta) -> Rotation:
    from storage.database import session_factory
    from storage.key_rotation import RotationIncomplete, refresh_generation, rotate_keys
    from storage.unit_of_work import UnitOfWork

    async def rotate(engine: AsyncEngine) -> Rotation:
        await refresh_generation(engine)
        rotation = await rotate_keys(engine, settle=settle)
        keys = Keys(settings.secret_key)
        async with UnitOfWork(session_factory(engine), audit_signer=keys.audit_hash) as uow:
            detail = {"generation": rotation.generation, "resealed": rotation.resealed, "retired": list(rotation.retired)}
            await uow.audit.append("key_rotation", detail=json.dumps(detail, separators=(",", ":")))
            await uow.commit()
        return rotation

    try:
        return await _with_engine(settings, rotate)
    except RotationIncomplete as exc:
        raise Failure([f"{exc}: is a bot of an older version still running? Stop it and rotate again"],
                      EXIT_UNAVAILABLE) from None


async def _with_engine(settings: DatabaseSettings, work: Callable[[AsyncEngine], Awaitable[T]]) -> T:
    from sqlalchemy.exc import IntegrityError

    engine = _engine(settings)
    try:
        return await work(engine)
    except IntegrityError:  # two rotations chose the same next generation
        raise Failure(["another `keys rotate` is running; let it finish"], EXIT_UNAVAILABLE) from None
    except (SQLAlchemyError, OSError) as exc:
        raise _database_failure(settings, exc) from None
    finally:
        await engine.dispose()


async def _upgrade(settings: DatabaseSettings) -> None:
    from storage.database import SchemaFromNewerRelease, upgrade_to_head
    from storage.encryption import EncryptionUnavailable

    engine = _engine(settings)
    try:
        await upgrade_to_head(engine)
    except EncryptionUnavailable:
        raise Failure(["SECRET_KEY: is not set; it is needed to encrypt the reports stored before encryption at rest"],
                      EXIT_CONFIG) from None
    except (SQLAlchemyError, OSError, SchemaFromNewerRelease) as exc:
        raise _database_failure(settings, exc) from None
    finally:
        await engine.dispose()


async def _outbox_health(settings: DatabaseSettings) -> OutboxHealth:
    from storage.database import session_factory
    from storage.unit_of_work import UnitOfWork

    engine = _engine(settings)
    try:
        async with UnitOfWork(session_factory(engine)) as uow:
            return await uow.outbox.health()
    except (SQLAlchemyError, OSError) as exc:
        raise _database_failure(settings, exc) from None
    finally:
        await engine.dispose()


async def _audit_log(settings: DatabaseSettings, read: Callable[[UnitOfWork], Awaitable[T]]) -> T:
    from storage.database import session_factory
    from storage.unit_of_work import UnitOfWork

    engine = _engine(settings)
    try:
        async with UnitOfWork(session_factory(engine)) as uow:
            return await read(uow)
    except (SQLAlchemyError, OSError) as exc:
        raise _database_failure(settings, exc) from None
    finally:
        await engine.dispose()


async def _check_services(settings: Settings, *, telegram: bool) -> None:
    from sqlalchemy import text
    from telegram import Bot

    # Wrong settings exit 2 like any configuration error; a server that is down exits 1.
    wrong: list[str] = _translation_dir_problems(settings)
    unavailable: list[str] = []
    try:
        engine = _engine(settings)
        try:
            async with engine.connect() as connection:
                await connection.execute(text("SELECT 1"))
        finally:
            await engine.dispose()
    except Failure as failure:
        unavailable.extend(failure.lines)
    except (SQLAlchemyError, OSError) as exc:
        unavailable.extend(_database_failure(settings, exc).lines)
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
