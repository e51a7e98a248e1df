"""Wires the python-telegram-bot Application: dependencies, handler order, start-up tasks."""

from __future__ import annotations

import logging
import os
import warnings
from datetime import timedelta

from telegram import Bot, BotCommand, BotCommandScope, BotCommandScopeAllPrivateChats, BotCommandScopeChat, Update
from telegram.error import TelegramError
from telegram.ext import Application, ApplicationBuilder, ContextTypes
from telegram.warnings import PTBUserWarning

from bot.audit import record_configuration
from bot.config import Settings
from bot.context import BotContext, BotData, Services, services_of
from bot.crypto import ColumnKeys, Keys
from bot.delivery.loop import DeliveryLoop
from bot.i18n import I18n, active_locale, telegram_language_code
from bot.limits import Limits
from bot.menus import COMMUNITY_COMMANDS, STAFF_COMMANDS, bot_commands
from bot.outreach.profile import AgencyProfile, load_profile
from bot.outreach.texts import ProfileTexts
from bot.retention import PURGE_EVERY, Retention, purge
from bot.staff_chat import StaffChat
from bot.translation.jobs import TranslationJobs
from bot.translation.translator import Translator
from bot.unparseable_updates import SkippingBot
from bot.update_scope import TelegramRequest, UpdateScope
from handlers import (
    chats,
    dialog,
    edits,
    errors,
    fallback,
    forget,
    help,
    language,
    limits,
    mydata,
    partners,
    privacy,
    report,
    resources,
    staff,
    start,
    stats,
    status,
    transparency,
)
from storage.database import create_engine, session_factory, upgrade_to_head
from storage.encryption import bind_cipher
from storage.key_rotation import REFRESH_EVERY, refresh_generation

# Opt in now to durations as timedelta, PTB's next major default; bot.delivery.loop reads them so.
os.environ.setdefault("PTB_TIMEDELTA", "true")

log = logging.getLogger(__name__)

FIRST_PURGE_AFTER = timedelta(minutes=1)  # once the bot has started answering
# The updates some handler acts on, asked for by polling and the webhook alike (Telegram keeps
# the last list given): messages and button presses, edits (answered: edits/), the bot's own
# membership (gatekeeping in chats/ leaves unknown groups) and channel posts (it leaves unknown
# channels, and the staff chat may be one). No handler acts on any other kind.
ALLOWED_UPDATES = [Update.MESSAGE, Update.EDITED_MESSAGE, Update.CALLBACK_QUERY, Update.MY_CHAT_MEMBER, Update.CHANNEL_POST]
CONNECTIONS = 4
POOL_TIMEOUT_SECONDS = 30.0


def build_services(settings: Settings, profile: AgencyProfile | None = None) -> Services:
    """`profile` defaults to AGENCY_PROFILE's (ProfileError when it is wrong); what it says of
    categories and time zone is what the whole bot goes by."""
    profile = profile or load_profile(settings)
    settings = profile.applied_to(settings)
    engine = create_engine(settings.database_url)
    bind_cipher(engine, ColumnKeys(settings.secret_key))
    return Services(
        settings=settings,
        profile=profile,
        profile_texts=ProfileTexts(profile),
        i18n=I18n(settings.default_locale),
        keys=Keys(settings.secret_key),
        engine=engine,
        sessions=session_factory(engine),
        limits=Limits.per(
            settings.limit_updates_per_minute,
            settings.limit_reports_per_hour,
            settings.limit_dialog_messages_per_hour,
            settings.limit_wrong_codes_per_hour,
        ),
        staff_chat=StaffChat(settings.staff_chat_id),
    )


def build_application(services: Services, *, webhook: bool = False) -> Application:
    """With `webhook`, no Updater: bot.web's app puts the updates Telegram posts on the queue."""
    settings = services.settings
    builder = ApplicationBuilder().updater(None) if webhook else ApplicationBuilder()
    application = (
        builder
        .bot(
            SkippingBot(
                settings.telegram_bot_token,
                base_url=settings.telegram_api_base_url,
                base_file_url=settings.telegram_file_base_url,
                # A few connections, waited for: httpx scans its whole pool for every request, so
                # PTB's default of 256 costs more CPU than it saves once many updates run at once.
                request=TelegramRequest(connection_pool_size=CONNECTIONS, pool_timeout=POOL_TIMEOUT_SECONDS),
            )
        )
        .context_types(ContextTypes(context=BotContext, bot_data=BotData))
        .concurrent_updates(UpdateScope(services))
        .post_init(on_startup)
        .post_stop(on_stop)
        .post_shutdown(on_shutdown)
        .build()
    )
    application.bot_data.services = services
    services.metrics.count_unparseable(lambda: application.bot.unparseable_updates)

    with warnings.catch_warnings():
        # Conversations here mix buttons and messages and are tracked per chat and user, not per
        # message, which is what PTB's warning is about.
        warnings.filterwarnings("ignore", "If 'per_message=False'", PTBUserWarning)
        report_steps, report_pause = report.handlers(settings.draft_timeout_minutes)
        conversations = [
            *report_steps,
            *status.handlers(),
            *forget.handlers(),
            *dialog.handlers(services.staff_chat.filter, settings.draft_timeout_minutes),
        ]
    # Order matters: gatekeeping first (unknown chats, floods, then edits), then features, then
    # the catch-all answers. A group runs one handler per update, hence a group for each gate.
    application.add_handlers(chats.handlers(), group=-3)
    application.add_handlers(limits.handlers(), group=-2)
    application.add_handlers(edits.handlers(), group=-1)
    application.add_handlers(
        [
            *start.handlers(),
            *language.handlers(),
            *privacy.handlers(),
            *resources.handlers(),
            *transparency.handlers(),
            *mydata.handlers(),
            *help.handlers(services.staff_chat.filter),
            *conversations,
            *staff.handlers(),
            *stats.handlers(),
            *partners.handlers(),
            *fallback.handlers(),
        ]
    )
    # Once a feature has answered, another command or menu button pauses an unfinished report, so
    # the person's next message goes to what they turned to (handlers/report.py).
    application.add_handlers(report_pause, group=1)
    application.add_error_handler(errors.on_error)
    return application


async def on_startup(application: Application) -> None:
    services = services_of(application)
    await upgrade_to_head(services.engine)
    async with services.unit_of_work() as uow:
        # Only the leader starts (bot/leadership.py): claims still held were a dead one's.
        await uow.claims.release_all()
        await uow.commit()
    async with services.unit_of_work() as uow:
        await record_configuration(uow, services.settings)
    await refresh_generation(services.engine)
    await set_command_menus(application)
    application.bot_data.delivery = DeliveryLoop(application.bot, services)
    application.bot_data.delivery.start()
    if services.settings.translation:
        translator = Translator(services.settings.translation_dir, list(services.i18n.locales), services.settings.translation_timeout_seconds)
        application.bot_data.translation_jobs = TranslationJobs(services, translator)
        application.bot_data.translation_jobs.start()
    application.job_queue.run_repeating(purge_expired, interval=PURGE_EVERY, first=FIRST_PURGE_AFTER, name="retention")
    application.job_queue.run_repeating(follow_key_rotation, interval=REFRESH_EVERY, name="key generation")
    log.info("ready")


async def purge_expired(context: BotContext) -> None:
    """Retention, as /privacy promises (bot.retention)."""
    settings = context.settings
    purged = await purge(context.services.unit_of_work, Retention(settings.retention_days, settings.link_grace_days))
    log.info("purged %s", purged.describe())


async def follow_key_rotation(context: BotContext) -> None:
    """`outreach-bot keys rotate` may have started a new key generation: seal under it from now on."""
    await refresh_generation(context.services.engine)


async def on_stop(application: Application) -> None:
    await application.bot_data.delivery.stop()
    services_of(application).pictures.close()
    await services_of(application).downloads.close()
    if application.bot_data.translation_jobs is not None:
        await application.bot_data.translation_jobs.stop()


async def on_shutdown(application: Application) -> None:
    await services_of(application).engine.dispose()


async def set_command_menus(application: Application) -> None:
    """Private chats get the community commands in each language; the staff chat gets its own."""
    services = services_of(application)
    i18n, settings, bot = services.i18n, services.settings, application.bot
    # Telegram keys command menus by two-letter ISO 639-1 codes only; others get the default.
    menus = [(None, i18n.default_locale)] + [
        (code, locale) for locale in i18n.locales if (code := telegram_language_code(locale))
    ]
    for language_code, locale in menus:
        with active_locale(i18n.get(locale)):
            commands = bot_commands(COMMUNITY_COMMANDS)
        await _set_commands(bot, commands, BotCommandScopeAllPrivateChats(), language_code)
    with active_locale(i18n.get(settings.officer_locale)):
        staff_commands = bot_commands(STAFF_COMMANDS)
    await _set_commands(bot, staff_commands, BotCommandScopeChat(settings.staff_chat_id), None)


async def _set_commands(bot: Bot, commands: list[BotCommand], scope: BotCommandScope, language_code: str | None) -> None:
    try:
        await bot.set_my_commands(commands, scope, language_code)
    except TelegramError as exc:
        # Menus are a convenience: a channel has none, and a missing staff chat or a hiccup at
        # Telegram must not keep the bot from answering people.
        log.warning("commands_not_set scope=%s error=%s", scope.type, type(exc).__name__)
