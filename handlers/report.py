"""/report: an anonymous report, step by step, reviewed before it is sent.

category → what happened (text, photos, videos, files, voice; a caption counts as text) → where
(optional) → when (optional) → review → send. The draft lives in memory, keyed by pseudonym; only
Send writes it, in one transaction with its staff deliveries, and only after that commit is the
person told.

**Partners** (handlers/partners.py) first choose whether to send as a partner (officers see their
organisation and can write to them: not anonymous) or anonymously like anyone else; nobody else
sees that step.

**Another command pauses the report.** While a report is being written, any other command
(/start, /status, /forget, /help, /privacy, /language, or one the bot does not know), a main-menu
button or an Answer button pauses it: that command is answered as usual, the person is told the
report is paused, and the report takes none of their messages until they press Continue (or any
of the report's buttons) or send /report, which asks the step they left again. So a code pasted
after /status reaches /status. /cancel or Cancel deletes a paused report; an untouched one is
deleted after DRAFT_TIMEOUT_MINUTES like any draft. Once the report is saved, the conversation
only waits for buttons and takes no messages, so there is nothing to pause.

**Receipt codes.** Only a code's hash is stored. Until Telegram has taken the message showing
the code, the draft keeps it: Send (or Cancel, or /report) then shows the same number and code
again, and never files the report twice. A text shaped like a receipt code is not added to a
report: codes belong with /status, and officers must never see one.
"""

from __future__ import annotations

import logging
import re
from contextlib import suppress
from enum import IntEnum, auto

from telegram import InlineKeyboardButton, InlineKeyboardMarkup, Message, Update
from telegram.constants import ParseMode
from telegram.error import TelegramError
from telegram.ext import (
    BaseHandler,
    CallbackQueryHandler,
    CommandHandler,
    ConversationHandler,
    MessageHandler,
    TypeHandler,
    filters,
)

from bot import preferences
from bot.blocks import SenderBlocked, refusal
from bot.cards import CardFields, render, separate_text
from bot.categories import CATEGORIES
from bot.cleaning import CLEANABLE_TYPES, MetadataError
from bot.context import BotContext
from bot.downloads import DownloadFailed, FileTooLarge
from bot.i18n import FSI, N_, PDI, _, current_locale, ngettext
from bot.limits import whole_minutes
from bot.menus import main_menu
from bot.reports import (
    MAX_ATTACHMENTS,
    MAX_FILE_BYTES,
    MAX_TEXT,
    Draft,
    DraftAttachment,
    clean_input,
    coarsen,
    link_reporter,
    submit,
    text_is_separate,
)
from bot.update_scope import ChatConversation
from handlers.fallback import contact as refuse_contact
from handlers.fallback import stale_button
from handlers.privacy import privacy_text

log = logging.getLogger(__name__)

MAX_PLACE = 500
MAX_TIME = 200
_PRIVATE = filters.ChatType.PRIVATE & filters.UpdateType.MESSAGE
_TEXT = _PRIVATE & filters.TEXT & ~filters.COMMAND
# What pauses a report (module docstring): commands other than its own, and buttons that start
# something else.
_OTHER_COMMAND = _PRIVATE & filters.COMMAND & ~filters.Regex(r"^/(report|cancel)\b")
_OTHER_BUTTON = r"^(menu:(?!report$)|ans:)"
# A receipt code as bot.crypto prints it (7KQM-2XRD-9FTB-H4PN), anywhere in a text.
# RFC 6838: at most 127 characters each side, from a restricted set.
_MIME_TYPE = re.compile(r"[A-Za-z0-9][\w!#$&^.+-]{0,62}/[A-Za-z0-9][\w!#$&^.+-]{0,62}")
_CODE_SHAPE = re.compile(r"\b[0-9A-Za-z]{4}(?:-[0-9A-Za-z]{4}){3}\b")

# What each step expects, said after "I cannot use this here."
HINT_NOTICE = N_("Please press Continue to start your report.")
HINT_CATEGORY = N_("Please choose what your report is about with the buttons.")
HINT_DESCRIBE = N_("Please write what happened, or send photos, videos or files.")
HINT_PLACE = N_("Please write the place, share a location, or press Skip.")
HINT_WHEN = N_("Please choose a time with the buttons, write it, or press Skip.")
HINT_BUTTONS = N_("Please use the buttons above.")


class Step(IntEnum):
    NOTICE = auto()
    CATEGORY = auto()
    DESCRIBE = auto()
    VOICE_WARNING = auto()
    PLACE = auto()
    PRECISION = auto()
    WHEN = auto()
    REVIEW = auto()
    EDIT = auto()
    RECEIPT = auto()  # saved, but Telegram did not take the message showing its code
    NOTIFY = auto()
    PAUSED = auto()
    FILE_AS = auto()  # partners only: as a partner or anonymously, before the category


# Steps of a report still being written, which another command pauses.
WRITING = frozenset(Step) - {Step.RECEIPT, Step.NOTIFY, Step.PAUSED}


def _buttons(*rows: list[tuple[str, str]]) -> InlineKeyboardMarkup:
    return InlineKeyboardMarkup([[InlineKeyboardButton(label, callback_data=data) for label, data in row] for row in rows])


def _cancel_row() -> list[tuple[str, str]]:
    return [(_("Cancel"), "report:cancel")]


def _draft(update: Update, context: BotContext) -> Draft:
    pseudonym = context.pseudonym(update.effective_user)
    return context.services.drafts.get(pseudonym) or context.services.drafts.start(pseudonym)


async def _say(update: Update, text: str, markup: InlineKeyboardMarkup | None = None, *, html: bool = False) -> Message:
    if update.callback_query:
        await update.callback_query.answer()
    parse_mode = ParseMode.HTML if html else None
    return await update.effective_chat.send_message(text, reply_markup=markup, parse_mode=parse_mode)


# --- entry and the privacy notice ---------------------------------------------------------

async def begin(update: Update, context: BotContext) -> Step:
    """Back to a paused report, or its unseen receipt; else a fresh draft, the first time with the
    privacy notice."""
    pseudonym = context.pseudonym(update.effective_user)
    draft = context.services.drafts.get(pseudonym)
    if draft and (draft.paused_at is not None or draft.receipt_code):
        return await resume(update, context)
    if wait := context.services.limits.reports.wait(pseudonym):
        return await refuse_for_now(update, context, wait)
    context.services.drafts.start(pseudonym)
    if await context.uow.preferences.notice_accepted(pseudonym):
        return await ask_how_to_file(update, context)
    return await show_notice(update, context)


async def refuse_for_now(update: Update, context: BotContext, wait: float) -> int:
    """Past LIMIT_REPORTS_PER_HOUR: when the next report can be sent, and who to call meanwhile."""
    log.info("reports_limited")
    text = "\n\n".join(
        [
            ngettext(
                "You have sent several reports in a short time. You can send another in {n} minute.",
                "You have sent several reports in a short time. You can send another in {n} minutes.",
                whole_minutes(wait),
            ),
            _("If someone is in danger right now, call {number}.", number=context.settings.emergency_number),
        ]
    )
    await _say(update, text, main_menu())
    return ConversationHandler.END


async def show_notice(update: Update, context: BotContext) -> Step:
    text = "\n\n".join(
        [
            _("Before you start: you do not have to give your name, and we never ask about immigration status."),
            _("Officers will see what you write and send, but not your name, phone number or Telegram account."),
            _("If someone is in danger right now, call {number}.", number=context.settings.emergency_number),
        ]
    )
    await _say(update, text, _buttons([(_("Continue"), "report:notice:ok"), (_("Read more"), "report:notice:more")], _cancel_row()))
    return Step.NOTICE


async def read_more(update: Update, context: BotContext) -> None:
    await _say(update, privacy_text(context))


async def accept_notice(update: Update, context: BotContext) -> Step:
    await preferences.accept_notice(context.uow, context.pseudonym(update.effective_user))
    return await ask_how_to_file(update, context)


# --- partners: as a partner or anonymously ---------------------------------------------------

async def ask_how_to_file(update: Update, context: BotContext) -> Step:
    """A partner (handlers/partners.py) chooses, for each report, whether officers see their
    organisation and can write to them; anyone else goes straight to the category."""
    organisation = await context.uow.partners.organisation_of(context.pseudonym(update.effective_user))
    if organisation is None:
        return await ask_category(update, context)
    named = f"{FSI}{organisation}{PDI}"
    text = "\n\n".join(
        [
            _("You are a partner of {organisation}. For each report, you choose how to send it.", organisation=named),
            _(
                "As a partner: officers see that the report comes from {organisation}, and they can write to "
                "you here about it. It is not anonymous.",
                organisation=named,
            ),
            _("Anonymously: like anyone else's report. Officers do not see your organisation, your name or your Telegram account."),
        ]
    )
    await _say(update, text, _buttons([(_("Send as a partner"), "report:as:partner")], [(_("Send anonymously"), "report:as:anonymous")], _cancel_row()))
    return Step.FILE_AS


async def choose_how_to_file(update: Update, context: BotContext) -> Step:
    draft = _draft(update, context)
    draft.partner_organisation = None
    if update.callback_query.data == "report:as:partner":  # None if staff revoked them meanwhile
        draft.partner_organisation = await context.uow.partners.organisation_of(context.pseudonym(update.effective_user))
    log.info("report_filing_chosen as=%s", "partner" if draft.partner_organisation else "anonymous")
    return await ask_category(update, context)


# --- category ---------------------------------------------------------------------------------

async def ask_category(update: Update, context: BotContext) -> Step:
    rows = [[(_(CATEGORIES[key]), f"report:cat:{key}")] for key in context.settings.categories]
    await _say(update, _("What is your report about?"), _buttons(*rows, _cancel_row()))
    return Step.CATEGORY


async def choose_category(update: Update, context: BotContext) -> Step:
    key = update.callback_query.data.removeprefix("report:cat:")
    if key not in context.settings.categories:
        await stale_button(update, context)
        return Step.CATEGORY
    _draft(update, context).category = key
    return await _next_or_review(update, context, ask_describe)


# --- what happened ------------------------------------------------------------------------------

async def ask_describe(update: Update, context: BotContext) -> Step:
    await _say(
        update,
        _("Please describe what happened, in any language. You can also send photos, videos or files (up to {count}).", count=MAX_ATTACHMENTS),
        _buttons([(_("Next"), "report:next")], _cancel_row()),
    )
    return Step.DESCRIBE


async def add_text(update: Update, context: BotContext) -> Step:
    draft = _draft(update, context)
    if not (text := clean_input(update.effective_message.text)):
        return await ask_describe(update, context)
    if await _fits(update, draft, text):
        draft.text = _joined(draft.text, text)
        await _added(update, _("Saved."))
    return Step.DESCRIBE


async def add_media(update: Update, context: BotContext) -> Step:
    draft = _draft(update, context)
    message = update.effective_message
    caption = clean_input(message.caption or "")
    if len(draft.attachments) >= MAX_ATTACHMENTS:
        await message.reply_text(_("You can add at most {count} attachments.", count=MAX_ATTACHMENTS))
        return Step.DESCRIBE
    media = message.photo[-1] if message.photo else message.video or message.document or message.voice
    if media.file_size and media.file_size > MAX_FILE_BYTES:
        await message.reply_text(_("This file is larger than {size} MB. Please send a smaller one.", size=MAX_FILE_BYTES // 2**20))
        return Step.DESCRIBE
    # A caption is checked first: a refused one leaves its file out too, so sending both again
    # with a shorter caption adds the file once.
    if caption and not await _fits(update, draft, caption):
        return Step.DESCRIBE
    if message.photo:
        draft.attachments.append(DraftAttachment("photo", media.file_id))
        note = _("Photo attached.")
    elif message.video:
        draft.attachments.append(DraftAttachment("video", media.file_id, mime_type=_mime_type(media)))
        note = _("Video attached. Videos can contain hidden details, such as where they were made.")
    elif message.voice:
        return await add_voice(update, context, DraftAttachment("voice", media.file_id, mime_type=_mime_type(media)), caption)
    else:
        file_name = clean_input(media.file_name or "") or None
        attachment = DraftAttachment("document", media.file_id, file_name=file_name, mime_type=_mime_type(media))
        note = await _clean_document(message, context, attachment)
        if note is None:
            return Step.DESCRIBE
        draft.attachments.append(attachment)
    await _added(update, _save_caption(draft, caption, note))
    return Step.DESCRIBE


def _mime_type(media) -> str | None:  # noqa: ANN001
    """The type the sender's app declared, if it is one: type/subtype, short enough to store."""
    declared = media.mime_type or ""
    return declared if _MIME_TYPE.fullmatch(declared) else None


def _joined(text: str, more: str) -> str:
    return f"{text}\n{more}" if text else more


async def _fits(update: Update, draft: Draft, text: str) -> bool:
    """Whether `text` may be added to what happened; if not, the person is told why."""
    if await _holds_a_code(update, text):
        return False
    combined = _joined(draft.text, text)
    if len(combined) > MAX_TEXT:
        await update.effective_message.reply_text(
            _(
                "This is too long. A report can have at most {limit} characters; with this message it "
                "would have {count}. Nothing was cut: please send a shorter text.",
                limit=MAX_TEXT,
                count=len(combined),
            )
        )
        return False
    return True


async def _holds_a_code(update: Update, text: str) -> bool:
    """A receipt code is never stored in a report; the person is pointed to /status instead.

    A match counts if it mixes letters and digits or is in capitals, as codes are printed, so a
    card number (digits only) or words joined by hyphens are not taken for a code.
    """
    if not any(
        found.isupper() or (any(c.isdigit() for c in found) and any(c.isalpha() for c in found))
        for found in _CODE_SHAPE.findall(text)
    ):
        return False
    log.info("receipt_code_refused")
    await update.effective_message.reply_text(
        _("This looks like a receipt code, so I did not add it to your report. To check a report, send /status and your code.")
    )
    return True


def _save_caption(draft: Draft, caption: str, note: str) -> str:
    """Add a file's caption to what happened, as if it was typed; the note, saying so if it was."""
    if not caption:
        return note
    draft.text = _joined(draft.text, caption)
    return note + "\n" + _("Saved.")


async def _clean_document(message: Message, context: BotContext, attachment: DraftAttachment) -> str | None:
    """Remove metadata from an image sent as a file; None if it cannot be attached (the person is told why)."""
    if attachment.mime_type not in CLEANABLE_TYPES:
        return _("File attached. Hidden details in this file (such as its author) are not removed.")
    try:
        # The declared file_size may be missing or wrong: the download itself enforces the cap.
        data = await context.services.downloads.fetch(context.bot, attachment.file_id, MAX_FILE_BYTES)
        attachment.cleaned_content, attachment.mime_type = await context.services.pictures.clean(data, attachment.mime_type)
    except FileTooLarge as too_large:
        log.info("document_refused reason=too_large")
        refusal = _("This file is larger than {size} MB. Please send a smaller one.", size=too_large.limit // 2**20)
    except (TelegramError, DownloadFailed) as error:
        log.warning("document_download_failed error=%s", type(error).__name__)
        refusal = _("Sorry, something went wrong on our side. Please try again in a moment.")
    except MetadataError:
        refusal = _("I could not open this picture. Please send it as a photo instead.")
    else:
        log.info("image_metadata_removed")
        return _("Picture attached. We removed its hidden details, such as the place where it was taken.")
    await message.reply_text(refusal)
    return None


async def add_voice(update: Update, context: BotContext, voice: DraftAttachment, caption: str) -> Step:
    draft = _draft(update, context)
    if draft.voice_warned:
        draft.attachments.append(voice)
        await _added(update, _save_caption(draft, caption, _("Voice message attached.")))
        return Step.DESCRIBE
    draft.pending_voice, draft.pending_caption = voice, caption
    return await ask_voice(update, context)


async def ask_voice(update: Update, context: BotContext) -> Step:
    await _say(
        update,
        _("A voice can identify the person speaking. Do you still want to send this voice message?"),
        _buttons([(_("Yes, send my voice"), "report:voice:yes"), (_("No, do not send it"), "report:voice:no")]),
    )
    return Step.VOICE_WARNING


async def decide_voice(update: Update, context: BotContext) -> Step:
    draft = _draft(update, context)
    draft.voice_warned = True
    if update.callback_query.data == "report:voice:yes" and draft.pending_voice:
        draft.attachments.append(draft.pending_voice)
        note = _("Voice message attached.")
    else:
        note = _("The voice message was not added.")
    # Its caption is kept either way: words do not identify the speaker as a voice does.
    note = _save_caption(draft, draft.pending_caption, note)
    draft.pending_voice, draft.pending_caption = None, ""
    await update.callback_query.answer()
    await _added(update, note)
    return Step.DESCRIBE


async def _added(update: Update, note: str) -> None:
    await update.effective_chat.send_message(
        note + "\n" + _("Send more, or press Next."), reply_markup=_buttons([(_("Next"), "report:next")], _cancel_row())
    )


async def finish_describe(update: Update, context: BotContext) -> Step:
    if not _draft(update, context).text:
        await update.callback_query.answer(_("Please first write what happened."), show_alert=True)
        return Step.DESCRIBE
    return await _next_or_review(update, context, ask_place)


# --- where and when (both optional) ---------------------------------------------------------

async def ask_place(update: Update, context: BotContext) -> Step:
    await _say(
        update,
        _("Where did it happen? Write a place or an address, or share a location with the 📎 button. You can also skip this."),
        _buttons([(_("Skip"), "report:skip")], _cancel_row()),
    )
    return Step.PLACE


async def place_text(update: Update, context: BotContext) -> Step:
    if not (text := clean_input(update.effective_message.text)):
        return await ask_place(update, context)
    if await _holds_a_code(update, text):
        return Step.PLACE
    if len(text) > MAX_PLACE:
        await update.effective_message.reply_text(_("Please describe the place in at most {limit} characters.", limit=MAX_PLACE))
        return Step.PLACE
    _draft(update, context).place = text
    return await _next_or_review(update, context, ask_when)


async def place_location(update: Update, context: BotContext) -> Step:
    draft = _draft(update, context)
    location = update.effective_message.location
    draft.latitude, draft.longitude = location.latitude, location.longitude
    return await ask_precision(update, context)


async def ask_precision(update: Update, context: BotContext) -> Step:
    await _say(
        update,
        _("To protect you, we send officers only the area (about 1 km), not the exact point. Do you want to send the exact point instead?"),
        _buttons([(_("Send the area (recommended)"), "report:loc:area")], [(_("Send the exact point"), "report:loc:exact")]),
    )
    return Step.PRECISION


async def choose_precision(update: Update, context: BotContext) -> Step:
    draft = _draft(update, context)
    draft.location_exact = update.callback_query.data == "report:loc:exact"
    if not draft.location_exact:
        draft.latitude, draft.longitude = coarsen(draft.latitude, draft.longitude)
    return await _next_or_review(update, context, ask_when)


async def skip_place(update: Update, context: BotContext) -> Step:
    return await _next_or_review(update, context, ask_when)


async def ask_when(update: Update, context: BotContext) -> Step:
    await _say(
        update,
        _("When did it happen? Choose below or write it. You can also skip this."),
        _buttons(
            [(_("Happening now"), "report:when:now"), (_("Earlier today"), "report:when:today")],
            [(_("Before today"), "report:when:earlier"), (_("Skip"), "report:skip")],
            _cancel_row(),
        ),
    )
    return Step.WHEN


async def when_chosen(update: Update, context: BotContext) -> Step:
    _draft(update, context).occurred = update.callback_query.data.removeprefix("report:when:")
    return await review(update, context)


async def when_text(update: Update, context: BotContext) -> Step:
    if not (text := clean_input(update.effective_message.text)):
        return await ask_when(update, context)
    if await _holds_a_code(update, text):
        return Step.WHEN
    if len(text) > MAX_TIME:
        await update.effective_message.reply_text(_("Please describe the time in at most {limit} characters.", limit=MAX_TIME))
        return Step.WHEN
    _draft(update, context).occurred = text
    return await review(update, context)


# --- review, edit, send ---------------------------------------------------------------------

async def review(update: Update, context: BotContext) -> Step:
    """Show exactly what officers will receive, with Send, Edit and Cancel."""
    draft = _draft(update, context)
    draft.editing = False
    preview = render(CardFields.of_draft(draft), context.settings.zone)
    text = _("Please check your report. Officers will receive this:") + "\n\n" + preview
    choices = _buttons([(_("Send"), "report:send")], [(_("Edit a part"), "report:edit")], _cancel_row())
    if text_is_separate(draft.text, draft.place, draft.occurred):  # as officers will get it: the card, then the text
        await _say(update, text, html=True)
        *parts, last = separate_text(draft.text)
        for part in parts:
            await update.effective_chat.send_message(part, parse_mode=ParseMode.HTML)
        await update.effective_chat.send_message(last, reply_markup=choices, parse_mode=ParseMode.HTML)
    else:
        await _say(update, text, choices, html=True)
    return Step.REVIEW


async def choose_edit(update: Update, context: BotContext) -> Step:
    await _say(
        update,
        _("What do you want to change?"),
        _buttons(
            [(_("Category"), "report:edit:category"), (_("What happened"), "report:edit:describe")],
            [(_("Place"), "report:edit:place"), (_("Time"), "report:edit:when")],
        ),
    )
    return Step.EDIT


async def edit_part(update: Update, context: BotContext) -> Step:
    draft = _draft(update, context)
    draft.editing = True
    part = update.callback_query.data.removeprefix("report:edit:")
    if part == "place":
        draft.place = draft.latitude = draft.longitude = None
    if part == "describe":
        draft.text = ""
    ask = {"category": ask_category, "describe": ask_describe, "place": ask_place, "when": ask_when}[part]
    return await ask(update, context)


async def _next_or_review(update: Update, context: BotContext, ask_next) -> Step:  # noqa: ANN001
    return await (review if _draft(update, context).editing else ask_next)(update, context)


async def send(update: Update, context: BotContext) -> Step:
    """Commit the report, and only then say it was received."""
    draft = _draft(update, context)
    try:
        report, code = await submit(
            context.uow, draft, sender=context.pseudonym(update.effective_user), language=current_locale(),
            urgent=draft.category in context.settings.urgent, keys=context.services.keys,
            translate=context.settings.translation, chat_id=update.effective_chat.id,
        )  # fmt: skip
    except SenderBlocked:
        # Officers blocked this sender: the person is not told by whom or why.
        log.info("report_refused reason=sender_blocked")
        context.services.drafts.discard(context.pseudonym(update.effective_user))
        await _say(update, refusal(context.settings.emergency_number), main_menu())
        return ConversationHandler.END
    # The content is in the database now; memory keeps which report awaits the notify choice,
    # and its code until the person has seen it.
    submitted = context.services.drafts.submitted(context.pseudonym(update.effective_user), report.id, code)
    submitted.partner_organisation = report.partner_organisation
    context.services.limits.reports.record(context.pseudonym(update.effective_user))
    log.info("report_submitted report=%s", report.id)
    context.services.metrics.reports.labels(report.category, report.language).inc()
    return await show_receipt(update, context)


async def show_receipt(update: Update, context: BotContext) -> Step:
    """The report's number and code, then the notify-me choice (a report filed as a partner has
    its reporter link already, so it ends here). Should Telegram not take them, the code stays in
    the draft, and the next Send shows the same again."""
    draft = _draft(update, context)
    if draft.partner_organisation:  # filed as a partner: officers can write to them anyway
        named = f"{FSI}{draft.partner_organisation}{PDI}"
        text = _receipt(draft) + "\n\n" + _(
            "You sent this report as a partner of {organisation}. Officers can write to you here about it, "
            "and you will be told here when they respond.",
            organisation=named,
        )
        markup = main_menu()
    else:
        text = _receipt(draft)
        markup = _buttons([(_("Notify me here when officers respond"), "report:notify:yes")], [(_("I will check myself"), "report:notify:no")])
    try:
        await _say(update, text, markup)
    except TelegramError as error:
        log.warning("receipt_not_shown report=%s error=%s", draft.submitted_report_id, type(error).__name__)
        with suppress(TelegramError):  # Telegram may well fail this one too
            await update.effective_chat.send_message(_("Sorry, something went wrong on our side. Please try again in a moment."))
        return Step.RECEIPT
    draft.receipt_code = None  # from now on, only the reporter has it
    if draft.partner_organisation:
        context.services.drafts.discard(context.pseudonym(update.effective_user))
        return ConversationHandler.END
    return Step.NOTIFY


def _receipt(draft: Draft) -> str:
    return "\n\n".join(
        [
            _("Thank you. Your report #{number} was received.", number=str(draft.submitted_report_id)),
            _("Your receipt code: {code}", code=draft.receipt_code),
            _(
                "Keep this code private. To see what officers did, send /status {code} at any time.",
                code=draft.receipt_code,
            ),
        ]
    )


async def choose_notify(update: Update, context: BotContext) -> int:
    pseudonym = context.pseudonym(update.effective_user)
    draft = context.services.drafts.get(pseudonym)
    if update.callback_query.data == "report:notify:yes" and draft and draft.submitted_report_id:
        sealed = context.services.keys.seal_chat(update.effective_chat.id, draft.submitted_report_id)
        await link_reporter(context.uow, draft.submitted_report_id, sealed)
        text = _("We will write to you here when officers respond. You can stop this at any time with /forget and your code.")
    else:
        text = _("We will not write to you. Send /status and your code to check your report.")
    context.services.drafts.discard(pseudonym)
    await _say(update, text, main_menu())
    return ConversationHandler.END


# --- pausing and leaving ----------------------------------------------------------------------

class ReportConversation(ChatConversation):
    """The report's steps; `pause` hands the person's messages to whatever they turned to."""

    async def pause(self, update: Update, context: BotContext) -> None:
        """Another command or button has been answered: a report being written waits."""
        # PTB moves a conversation only through its own handlers; these are ConversationHandler's
        # helpers for that, so a PTB upgrade must keep tests/test_report_conversation_defects.py green.
        key = self._get_key(update)
        step = self._conversations.get(key)
        if step not in WRITING:
            return
        self._update_state(Step.PAUSED, key)
        _draft(update, context).paused_at = step
        log.info("report_paused")
        await update.effective_chat.send_message(
            _("Your report is paused. To go back to it, press Continue or send /report."),
            reply_markup=_buttons([(_("Continue"), "report:resume")], _cancel_row()),
        )


async def resume(update: Update, context: BotContext) -> Step:
    """Back to where the person left the report: that step's question, asked again."""
    draft = _draft(update, context)
    step = Step.RECEIPT if draft.receipt_code else draft.paused_at
    if step is None:  # /forget deleted the paused draft: start afresh
        return await begin(update, context)
    draft.paused_at = None
    return await ASK_AGAIN[step](update, context)


async def cancel(update: Update, context: BotContext) -> int:
    pseudonym = context.pseudonym(update.effective_user)
    draft = context.services.drafts.get(pseudonym)
    context.services.drafts.discard(pseudonym)
    if draft and draft.submitted_report_id:  # already sent: cancelling only skips notifications
        text = _("We will not write to you. Send /status and your code to check your report.")
    else:
        text = _("The report was cancelled. Nothing was sent.")
    await _say(update, text, main_menu())
    return ConversationHandler.END


async def expire(update: Update, context: BotContext) -> None:
    """A draft untouched for too long is deleted, and the person is told."""
    pseudonym = context.pseudonym(update.effective_user)
    draft = context.services.drafts.get(pseudonym)
    context.services.drafts.discard(pseudonym)
    if draft and draft.receipt_code:  # saved, but the person never saw its code: one more try
        await update.effective_chat.send_message(_receipt(draft), reply_markup=main_menu())
    elif draft and not draft.submitted_report_id:
        minutes = max(1, round(context.settings.draft_timeout_minutes))
        await update.effective_chat.send_message(
            ngettext(
                "Your unfinished report was deleted after {n} minute without activity. Nothing was sent.",
                "Your unfinished report was deleted after {n} minutes without activity. Nothing was sent.",
                minutes,
            ),
            reply_markup=main_menu(),
        )


def _explain(hint: str):  # noqa: ANN202
    """Anything a step cannot use gets a short explanation of what it expects."""

    async def explain(update: Update, context: BotContext) -> None:
        if update.effective_message.contact:
            await refuse_contact(update, context)
            return
        await update.effective_message.reply_text(_("I cannot use this here.") + " " + _(hint))

    return explain


# Where a paused report picks up again.
ASK_AGAIN = {
    Step.NOTICE: show_notice, Step.CATEGORY: ask_category, Step.DESCRIBE: ask_describe, Step.VOICE_WARNING: ask_voice,
    Step.PLACE: ask_place, Step.PRECISION: ask_precision, Step.WHEN: ask_when, Step.REVIEW: review, Step.EDIT: choose_edit,
    Step.RECEIPT: show_receipt, Step.FILE_AS: ask_how_to_file,
}


def handlers(draft_timeout_minutes: float) -> tuple[list[BaseHandler], list[BaseHandler]]:
    """The conversation, and what pauses it: the pause belongs in a later group than the
    conversation, so that it runs once the other command has been answered."""
    button = lambda callback, pattern: CallbackQueryHandler(callback, pattern=f"^report:{pattern}$")  # noqa: E731
    media = _PRIVATE & (filters.PHOTO | filters.VIDEO | filters.Document.ALL | filters.VOICE)
    other = _PRIVATE & ~filters.COMMAND
    conversation = ReportConversation(
        entry_points=[
            CommandHandler("report", begin, filters=filters.ChatType.PRIVATE),
            CallbackQueryHandler(begin, pattern=r"^menu:report$"),
        ],
        states={
            Step.NOTICE: [button(accept_notice, "notice:ok"), button(read_more, "notice:more"), MessageHandler(other, _explain(HINT_NOTICE))],
            Step.FILE_AS: [button(choose_how_to_file, "as:(partner|anonymous)"), MessageHandler(other, _explain(HINT_BUTTONS))],
            Step.CATEGORY: [button(choose_category, r"cat:\w+"), MessageHandler(other, _explain(HINT_CATEGORY))],
            Step.DESCRIBE: [
                MessageHandler(_TEXT, add_text),
                MessageHandler(media, add_media),
                button(finish_describe, "next"),
                MessageHandler(other, _explain(HINT_DESCRIBE)),
            ],
            Step.VOICE_WARNING: [button(decide_voice, "voice:(yes|no)"), MessageHandler(other, _explain(HINT_BUTTONS))],
            Step.PLACE: [
                MessageHandler(_TEXT, place_text),
                MessageHandler(_PRIVATE & filters.LOCATION, place_location),
                button(skip_place, "skip"),
                MessageHandler(other, _explain(HINT_PLACE)),
            ],
            Step.PRECISION: [button(choose_precision, "loc:(area|exact)"), MessageHandler(other, _explain(HINT_BUTTONS))],
            Step.WHEN: [
                button(when_chosen, "when:(now|today|earlier)"),
                button(review, "skip"),
                MessageHandler(_TEXT, when_text),
                MessageHandler(other, _explain(HINT_WHEN)),
            ],
            Step.REVIEW: [button(send, "send"), button(choose_edit, "edit"), MessageHandler(other, _explain(HINT_BUTTONS))],
            Step.EDIT: [button(edit_part, "edit:(category|describe|place|when)"), MessageHandler(other, _explain(HINT_BUTTONS))],
            # Saved: the review's buttons and /cancel can only show the receipt.
            Step.RECEIPT: [button(show_receipt, "(send|edit|cancel)"), CommandHandler("cancel", show_receipt)],
            Step.NOTIFY: [button(choose_notify, "notify:(yes|no)")],
            Step.PAUSED: [CallbackQueryHandler(resume, pattern=r"^report:(?!cancel$)")],
            ConversationHandler.TIMEOUT: [TypeHandler(Update, expire)],
        },
        fallbacks=[CommandHandler("cancel", cancel), button(cancel, "cancel")],
        allow_reentry=True,
        conversation_timeout=draft_timeout_minutes * 60,
        name="report",
    )
    pause = [MessageHandler(_OTHER_COMMAND, conversation.pause), CallbackQueryHandler(conversation.pause, pattern=_OTHER_BUTTON)]
    return [conversation], pause
