"""Private-security partners: staff invite them, they redeem the invite, staff can revoke them.

`/partner_invite Name of firm` (staff chat, officers only) makes a single-use code; only its keyed
hash is stored, with the organisation and when. `/partner CODE` in a private chat makes the
person a partner of that organisation, stored under their pseudonym with the organisation name and
nothing more. A partner chooses for each report whether to send it as a partner (the card shows
the organisation and officers can write to them: not anonymous by design) or anonymously
(handlers/report.py). `/partner_revoke Name of firm` removes every partner of that organisation
and its unused invites; `/partners` lists the organisations. Invites and revocations are audited.
"""

from __future__ import annotations

import json
import logging
import re
from datetime import UTC, datetime, timedelta

from telegram import Update
from telegram.ext import BaseHandler, CommandHandler, filters

from bot.context import BotContext
from bot.crypto import new_receipt_code
from bot.i18n import FSI, PDI, _, ngettext
from bot.limits import whole_minutes
from bot.menus import main_menu
from bot.reports import clean_input
from bot.retention import INVITE_VALID_DAYS
from bot.telegram_text import TEXT_LIMIT, split_text
from handlers.staff import is_officer, refuse
from storage.models import ORGANISATION_LENGTH

log = logging.getLogger(__name__)

# Characters that reorder or hide text: a name shown to officers and partners must read as typed.
_INVISIBLE = re.compile("[\u202a-\u202e\u2066-\u2069\u200b\u2060\ufeff\u180e]")


def _isolated(organisation: str) -> str:
    """A name inside a sentence, kept in place in right-to-left text and vice versa."""
    return f"{FSI}{organisation}{PDI}"


async def _organisation(update: Update, context: BotContext, usage: str) -> str | None:
    """The organisation named after a staff command, spaces collapsed; None once the officer is
    told what to send instead."""
    name = clean_input(" ".join(_INVISIBLE.sub("", " ".join(context.args or [])).split()))
    if not name:
        await update.effective_message.reply_text(usage)
        return None
    if len(name) > ORGANISATION_LENGTH:
        await update.effective_message.reply_text(
            _("The name of an organisation can have at most {limit} characters.", limit=ORGANISATION_LENGTH)
        )
        return None
    return name


async def _audit(update: Update, context: BotContext, action: str, detail: dict[str, str | int]) -> None:
    officer = update.effective_user
    await context.uow.audit.append(
        action, officer_id=officer.id, officer_name=officer.full_name,
        detail=json.dumps(detail, ensure_ascii=False, separators=(",", ":")),
    )  # fmt: skip


# --- staff ----------------------------------------------------------------------------------------

async def invite(update: Update, context: BotContext) -> None:
    """/partner_invite Name of firm: a single-use invite code, shown once, here."""
    if not is_officer(update, context):
        await refuse(update, "partner_invite")
        return
    usage = _("Send /partner_invite and the name of the organisation, for example: /partner_invite Acme Security")
    if (organisation := await _organisation(update, context, usage)) is None:
        return
    code = new_receipt_code()
    context.uow.partners.add_invite(context.services.keys.invite_hash(code), organisation)
    await _audit(update, context, "partner_invite", {"organisation": organisation})
    await context.uow.commit()
    log.info("partner_invite_created")
    named = _isolated(organisation)
    text = "\n\n".join(
        [
            # NOTE: {organisation} is a private-security firm; {code} looks like 7KQM-2XRD-9FTB-H4PN.
            _("Invite code for {organisation}: {code}", organisation=named, code=code),
            _(
                "Give it privately to one person of this organisation. In a private chat with this bot, they "
                "send: /partner {code}",
                code=code,
            ),
            ngettext(
                "The code works once, within {n} day, and is not shown again. A partner chooses for each report "
                "whether to send it as a partner (the card shows {organisation} and you can write to them) or "
                "anonymously.",
                "The code works once, within {n} days, and is not shown again. A partner chooses for each report "
                "whether to send it as a partner (the card shows {organisation} and you can write to them) or "
                "anonymously.",
                INVITE_VALID_DAYS,
                organisation=named,
            ),
        ]
    )
    await update.effective_message.reply_text(text)


async def revoke(update: Update, context: BotContext) -> None:
    """/partner_revoke Name of firm: every partner of it, and its unused invites, go."""
    if not is_officer(update, context):
        await refuse(update, "partner_revoke")
        return
    usage = _("Send /partner_revoke and the name of the organisation, for example: /partner_revoke Acme Security")
    if (organisation := await _organisation(update, context, usage)) is None:
        return
    partners, invites = await context.uow.partners.revoke(organisation)
    named = _isolated(organisation)
    if not partners and not invites:
        await update.effective_message.reply_text(
            _("{organisation} has no partners and no unused invites. Send /partners to see the organisations.", organisation=named)
        )
        return
    await _audit(update, context, "partner_revoke", {"organisation": organisation, "partners": partners, "invites": invites})
    await context.uow.commit()
    log.info("partners_revoked partners=%s invites=%s", partners, invites)
    text = "\n".join(
        [
            _("Partnership with {organisation} ended.", organisation=named),
            ngettext(
                "{n} partner was removed: their next reports are anonymous, like anyone's.",
                "{n} partners were removed: their next reports are anonymous, like anyone's.",
                partners,
            ),
            ngettext("{n} unused invite was deleted.", "{n} unused invites were deleted.", invites),
        ]
    )
    await update.effective_message.reply_text(text)


async def organisations(update: Update, context: BotContext) -> None:
    """/partners: each organisation with how many partners and unused invites it has."""
    if not is_officer(update, context):
        await refuse(update, "partners")
        return
    found = await context.uow.partners.organisations()
    await context.uow.release()
    if not found:
        await update.effective_message.reply_text(
            _("There are no partner organisations. Send /partner_invite and the name of a firm to invite one.")
        )
        return
    lines = [_("Partner organisations:")]
    for organisation in found:
        # NOTE: {partners} is e.g. "2 partners", {invites} e.g. "1 unused invite".
        lines.append(
            _(
                "{organisation}: {partners} · {invites}",
                organisation=_isolated(organisation.name),
                partners=ngettext("{n} partner", "{n} partners", organisation.partners),
                invites=ngettext("{n} unused invite", "{n} unused invites", organisation.unused_invites),
            )
        )
    for part in split_text("\n".join(lines), TEXT_LIMIT):
        await update.effective_chat.send_message(part)


# --- the invited person ---------------------------------------------------------------------------

async def redeem(update: Update, context: BotContext) -> None:
    """/partner CODE in a private chat: the person becomes a partner of the invite's organisation."""
    if not context.args:
        await update.effective_message.reply_text(
            _("To become a partner, send /partner and the invite code you were given, for example: /partner 7KQM-2XRD-9FTB-H4PN")
        )
        return
    pseudonym = context.pseudonym(update.effective_user)
    limit = context.services.limits.wrong_codes
    if wait := limit.wait(pseudonym):
        log.info("partner_codes_limited")
        await update.effective_message.reply_text(
            ngettext(
                "Too many wrong codes. Please wait {n} minute and try again.",
                "Too many wrong codes. Please wait {n} minutes and try again.",
                whole_minutes(wait),
            )
        )
        return
    code_hash = context.services.keys.invite_hash(" ".join(context.args))
    made_since = datetime.now(UTC) - timedelta(days=INVITE_VALID_DAYS)
    organisation, redeemed = await context.uow.partners.redeem(code_hash, made_since) if code_hash else (None, False)
    if organisation is None:
        limit.record(pseudonym)
        log.info("partner_code_not_found")
        text = _(
            "This invite code is not valid, or it has expired. Please check it, or ask the police contact who "
            "gave it to you for a new one."
        )
        await update.effective_message.reply_text(text)
        return
    if not redeemed:
        log.info("partner_code_used")
        text = _("This invite code has been used already: each code works once. Please ask the police contact who gave it to you for a new one.")
        await update.effective_message.reply_text(text)
        return
    await context.uow.partners.set_partner(pseudonym, organisation)
    await context.uow.commit()
    log.info("partner_invite_redeemed")
    named = _isolated(organisation)
    text = "\n\n".join(
        [
            _("Welcome: you are now a partner of {organisation}.", organisation=named),
            _(
                "When you send a report with /report, you choose each time how to send it: as a partner, so "
                "officers see {organisation} and can write to you here, or anonymously, like anyone else.",
                organisation=named,
            ),
        ]
    )
    await update.effective_message.reply_text(text, reply_markup=main_menu())


def handlers() -> list[BaseHandler]:
    # Staff commands have no chat filter on purpose, as in handlers/staff.py: from anywhere else
    # they are refused and logged. /partner belongs in a private chat only.
    return [
        CommandHandler("partner_invite", invite),
        CommandHandler("partner_revoke", revoke),
        CommandHandler("partners", organisations),
        CommandHandler("partner", redeem, filters=filters.ChatType.PRIVATE),
    ]
