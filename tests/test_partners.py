"""Private-security partners end to end over the fake Bot API: staff invite, a person redeems,
files as a partner (not anonymous: the card names the organisation, officers can write to them)
or anonymously, staff revoke; wrong, used and unknown codes; in English and Arabic."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

from sqlalchemy import update

from bot.i18n import FSI, PDI, _, active_locale, ngettext
from bot.menus import main_menu
from bot.retention import INVITE_VALID_DAYS, Retention, purge
from storage.models import AuditEvent, Partner, PartnerInvite, Report, ReporterLink
from tests.conftest import STAFF_CHAT_ID, RunningBot, database_bytes, start_bot, user
from tests.fake_telegram import Call, FakeTelegram, FakeUser
from tests.reporting import CODE, OFFICER, Reporter, buttons, card_of, card_recorded, rows, staff_chat

FIRM = "Acme Security"
CHOICE = {"report:as:partner", "report:as:anonymous", "report:cancel"}


def shown(running: RunningBot, locale: str):  # noqa: ANN201
    """The catalog of `locale`, as the bot shows it, for computing expected texts."""
    return active_locale(running.services.i18n.get(locale))


def isolated(name: str) -> str:
    return f"{FSI}{name}{PDI}"


async def staff_says(running: RunningBot, text: str, officer: FakeUser = OFFICER) -> str:
    return (await running.say(officer, text, chat=staff_chat(running.tg))).params["text"]


async def invite(running: RunningBot, organisation: str = FIRM) -> str:
    """An officer makes an invite; returns its code as the staff chat showed it."""
    return CODE.search(await staff_says(running, f"/partner_invite {organisation}")).group()


async def start_report(reporter: Reporter) -> Call:
    """/report, past the privacy notice: the first question after it."""
    return await reporter.start()


async def file_rest(reporter: Reporter, reply: Call, text: str) -> tuple[Call, Call]:
    """From the category question to Send: returns the review and the receipt."""
    reply = await reporter.press(reply, "report:cat:crime")
    reply = await reporter.press(await reporter.say(text), "report:next")
    reply = await reporter.press(reply, "report:skip")
    review = await reporter.press(reply, "report:when:today")
    return review, await reporter.press(review, "report:send")


def choice_text(organisation: str) -> str:
    named = isolated(organisation)
    return "\n\n".join(
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


def welcome_text(organisation: str) -> str:
    named = isolated(organisation)
    return "\n\n".join(
        [
            _("Welcome: you are now a partner of {organisation}.", organisation=named),
            _(
                "When you send a report with /report, you choose each time how to send it: as a partner, so "
                "officers see {organisation} and can write to you here, or anonymously, like anyone else.",
                organisation=named,
            ),
        ]
    )


def partner_line(organisation: str) -> str:
    return "🤝 " + _("Partner report from {organisation}: not anonymous, officers can write to the reporter.",
                     organisation=isolated(organisation))  # fmt: skip


async def officer_writes_to_reporter(tg: FakeTelegram, card: dict, number: int, text: str) -> None:
    """The card's Message reporter button, then a reply to the prompt it posts."""
    after = tg.mark()
    tg.press_button(OFFICER, card, f"staff:msg:{number}", chat=staff_chat(tg))
    prompt = await tg.wait_for(
        "sendMessage", lambda c: c.params["chat_id"] == STAFF_CHAT_ID and "Reply to this message" in c.params["text"], after=after
    )
    tg.send_message(OFFICER, chat=staff_chat(tg), text=text, reply_to_message=prompt.result)


# --- the whole life of a partnership --------------------------------------------------------------

async def test_invite_redeem_file_as_partner_and_anonymously_then_revoke(bot: RunningBot, tg: FakeTelegram, database_url: str) -> None:
    code = await invite(bot)
    [stored] = await rows(bot.services.sessions, PartnerInvite)
    assert (stored.code_hash, stored.organisation, stored.used_at) == (bot.services.keys.invite_hash(code), FIRM, None)
    [event] = [e for e in await rows(bot.services.sessions, AuditEvent) if e.action == "partner_invite"]
    assert (event.officer_id, event.officer_name, json.loads(event.detail)) == (OFFICER.id, "Dana Reyes", {"organisation": FIRM})

    partner = Reporter(tg, user(7700123451, "en", username="guard_kim", first_name="Kim"))
    welcome = await partner.say(f"/partner {code}")
    assert welcome.params["text"] == welcome_text(FIRM)
    assert [(p.organisation) for p in await rows(bot.services.sessions, Partner)] == [FIRM]

    # As a partner: the choice is explained, the review and the card name the organisation, and
    # the receipt says officers can write, without the notify-me question.
    choice = await start_report(partner)
    assert choice.params["text"] == choice_text(FIRM)
    assert set(buttons(choice.result)) == CHOICE
    category = await partner.press(choice, "report:as:partner")
    assert "report:cat:crime" in buttons(category.result)
    review, receipt = await file_rest(partner, category, "A gate at the depot was forced open.")
    assert partner_line(FIRM) in review.params["text"]
    assert "You sent this report as a partner of" in receipt.params["text"]
    assert not any(data.startswith("report:notify:") for data in buttons(receipt.result))
    card = await card_of(tg, 1)
    assert partner_line(FIRM) in card.params["text"]
    assert "staff:msg:1" in buttons(card.result)
    await card_recorded(bot.services.sessions, 1)
    assert [link.report_id for link in await rows(bot.services.sessions, ReporterLink)] == [1]

    after = tg.mark()
    await officer_writes_to_reporter(tg, card.result, 1, "Which gate was it?")
    to_partner = await tg.wait_for_reply(partner.person.id, after=after)
    assert to_partner.params["text"] == f"<b>Officers wrote about your report #1:</b>\n{FSI}Which gate was it?{PDI}"

    # Anonymously: nothing of the organisation anywhere, and no link without the opt-in.
    choice = await start_report(partner)
    review, receipt = await file_rest(partner, await partner.press(choice, "report:as:anonymous"), "Someone sleeps in the car park.")
    assert FIRM not in review.params["text"]
    assert "report:notify:yes" in buttons(receipt.result)
    await partner.press(receipt, "report:notify:no")
    card = await card_of(tg, 2)
    assert FIRM not in card.params["text"] and "Partner report" not in card.params["text"]
    reports = {r.id: r for r in await rows(bot.services.sessions, Report)}
    assert (reports[1].partner_organisation, reports[2].partner_organisation) == (FIRM, None)
    assert [link.report_id for link in await rows(bot.services.sessions, ReporterLink)] == [1]

    # Revoked: the next report is anonymous like anyone's, without the choice.
    revoked = await staff_says(bot, f"/partner_revoke {FIRM}")
    assert revoked.startswith(f"Partnership with {isolated(FIRM)} ended.\n1 partner was removed")
    assert "0 unused invites were deleted." in revoked
    assert await rows(bot.services.sessions, Partner) == []
    [event] = [e for e in await rows(bot.services.sessions, AuditEvent) if e.action == "partner_revoke"]
    assert (event.officer_name, json.loads(event.detail)) == ("Dana Reyes", {"organisation": FIRM, "partners": 1, "invites": 0})
    category = await partner.say("/report")
    assert "report:cat:crime" in buttons(category.result)
    assert not {"report:as:partner", "report:as:anonymous"} & set(buttons(category.result))

    stored = await database_bytes(database_url)
    assert str(partner.person.id).encode() not in stored  # the partner is known by pseudonym only
    assert code.encode() not in stored and code.replace("-", "").encode() not in stored


async def test_a_revoked_partners_draft_is_sent_anonymously(bot: RunningBot, tg: FakeTelegram) -> None:
    partner = Reporter(tg, user(7700123452, "en"))
    await partner.say(f"/partner {await invite(bot)}")
    category = await partner.press(await start_report(partner), "report:as:partner")
    await staff_says(bot, f"/partner_revoke {FIRM}")  # while they write
    _review, receipt = await file_rest(partner, category, "A window was broken.")
    assert "report:notify:yes" in buttons(receipt.result)
    card = await card_of(tg, 1)
    assert "Partner report" not in card.params["text"]
    assert [r.partner_organisation for r in await rows(bot.services.sessions, Report)] == [None]
    assert await rows(bot.services.sessions, ReporterLink) == []


# --- codes ------------------------------------------------------------------------------------------

async def test_used_unknown_and_missing_codes_get_a_clear_answer(bot: RunningBot, tg: FakeTelegram) -> None:
    code = await invite(bot)
    first, second = user(7700123453, "en"), user(7700123454, "en")
    assert (await bot.say(first, f"/partner {code.lower()}")).params["text"] == welcome_text(FIRM)  # as typed by hand
    used = await bot.say(second, f"/partner {code}")
    assert used.params["text"] == (
        "This invite code has been used already: each code works once. Please ask the police contact who gave it to you for a new one."
    )
    unknown = (
        "This invite code is not valid, or it has expired. Please check it, or ask the police contact who gave it "
        "to you for a new one."
    )
    assert (await bot.say(second, "/partner 7KQM-2XRD-9FTB-H4PN")).params["text"] == unknown
    assert (await bot.say(second, "/partner hello")).params["text"] == unknown
    assert (await bot.say(second, "/partner")).params["text"].startswith("To become a partner, send /partner and the invite code")
    assert [p.organisation for p in await rows(bot.services.sessions, Partner)] == [FIRM]  # the first only


async def test_an_invite_expires_and_the_daily_purge_deletes_it(bot: RunningBot, tg: FakeTelegram) -> None:
    fresh, stale = await invite(bot), await invite(bot, "Beta Guards")
    made = datetime.now(UTC) - timedelta(days=INVITE_VALID_DAYS, minutes=1)
    async with bot.services.sessions() as session, session.begin():
        await session.execute(update(PartnerInvite).where(PartnerInvite.organisation == "Beta Guards").values(created_at=made))
    assert (await bot.say(user(7700123460, "en"), f"/partner {stale}")).params["text"].startswith(
        "This invite code is not valid, or it has expired."
    )
    assert await rows(bot.services.sessions, Partner) == []
    retention = Retention(bot.services.settings.retention_days, bot.services.settings.link_grace_days)
    assert (await purge(bot.services.unit_of_work, retention)).invites == 1
    assert [i.organisation for i in await rows(bot.services.sessions, PartnerInvite)] == [FIRM]
    assert (await bot.say(user(7700123460, "en"), f"/partner {fresh}")).params["text"] == welcome_text(FIRM)


async def test_mydata_shows_a_partnership_and_forget_ends_it(bot: RunningBot, tg: FakeTelegram) -> None:
    firm = "شركة الأمان"
    partner = Reporter(tg, user(7700123461, "ar"))
    await partner.say(f"/partner {await invite(bot, firm)}")
    held = (await partner.say("/mydata")).params["text"]
    with shown(bot, "ar"):
        assert _("You are a partner of {organisation}.", organisation=isolated(firm)) in held.split("\n\n")
    await partner.press(await partner.say("/forget"), "forget:yes")
    assert await rows(bot.services.sessions, Partner) == []
    held = (await partner.say("/mydata")).params["text"]
    assert firm not in held
    category = await partner.say("/report")  # no longer asked how to file
    assert not {"report:as:partner", "report:as:anonymous"} & set(buttons(category.result))


async def test_wrong_codes_are_limited_like_receipt_codes(tg: FakeTelegram, make_settings: Callable) -> None:
    async for running in start_bot(tg, make_settings(limit_wrong_codes_per_hour=2)):
        code = await invite(running)
        guesser = user(7700123455, "en")
        for guess in ("AAAA-AAAA-AAAA-AAAA", "BBBB-BBBB-BBBB-BBBB"):
            assert "not valid" in (await running.say(guesser, f"/partner {guess}")).params["text"]
        limited = await running.say(guesser, f"/partner {code}")
        assert limited.params["text"] == "Too many wrong codes. Please wait 60 minutes and try again."
        assert await rows(running.services.sessions, Partner) == []  # even the right code waits


# --- staff ------------------------------------------------------------------------------------------

async def test_partner_commands_outside_the_staff_chat_are_refused(bot: RunningBot, tg: FakeTelegram) -> None:
    person = user(7700123456, "en")
    for command in (f"/partner_invite {FIRM}", f"/partner_revoke {FIRM}", "/partners"):
        assert (await bot.say(person, command)).params["text"] == "This is only for officers in the staff chat."
    assert await rows(bot.services.sessions, PartnerInvite) == []


async def test_only_listed_officers_may_invite(tg: FakeTelegram, make_settings: Callable) -> None:
    async for running in start_bot(tg, make_settings(officer_ids="111")):
        assert await staff_says(running, f"/partner_invite {FIRM}") == "This is only for officers in the staff chat."
        assert await rows(running.services.sessions, PartnerInvite) == []


async def test_partners_lists_organisations_and_invites_need_a_name(bot: RunningBot, tg: FakeTelegram) -> None:
    assert await staff_says(bot, "/partners") == (
        "There are no partner organisations. Send /partner_invite and the name of a firm to invite one."
    )
    assert (await staff_says(bot, "/partner_invite")).startswith("Send /partner_invite and the name of the organisation")
    assert (await staff_says(bot, "/partner_invite " + "x" * 201)) == "The name of an organisation can have at most 200 characters."
    code = await invite(bot)
    await invite(bot)
    await invite(bot, "Beta \u202e  Guards")  # spaces collapsed, text-reordering characters dropped
    await bot.say(user(7700123457, "en"), f"/partner {code}")
    assert (await staff_says(bot, "/partners")).splitlines() == [
        "Partner organisations:",
        f"{isolated(FIRM)}: 1 partner · 1 unused invite",
        f"{isolated('Beta Guards')}: 0 partners · 1 unused invite",
    ]
    assert (await staff_says(bot, "/partner_revoke Nobody")).startswith(f"{isolated('Nobody')} has no partners")
    await staff_says(bot, "/partner_revoke Beta Guards")
    assert (await staff_says(bot, "/partners")).splitlines()[1:] == [f"{isolated(FIRM)}: 1 partner · 1 unused invite"]


# --- in Arabic (right to left) ------------------------------------------------------------------------

async def test_a_partner_in_arabic_chooses_and_is_told_in_arabic(bot: RunningBot, tg: FakeTelegram) -> None:
    firm = "شركة الأمان"
    code = await invite(bot, firm)
    partner = Reporter(tg, user(7700123458, "ar"))
    welcome = await partner.say(f"/partner {code}")
    choice = await start_report(partner)
    with shown(bot, "ar"):
        assert welcome.params["text"] == welcome_text(firm)
        assert welcome.result["reply_markup"] == main_menu().to_dict()
        assert choice.params["text"] == choice_text(firm)
        labels = {_("Send as a partner"), _("Send anonymously"), _("Cancel")}
    assert set(buttons(choice.result).values()) == labels
    review, receipt = await file_rest(partner, await partner.press(choice, "report:as:partner"), "باب المستودع مكسور")
    with shown(bot, "ar"):
        assert partner_line(firm) in review.params["text"]
        assert receipt.params["text"].endswith(
            _(
                "You sent this report as a partner of {organisation}. Officers can write to you here about it, "
                "and you will be told here when they respond.",
                organisation=isolated(firm),
            )
        )
    card = await card_of(tg, 1)  # officers read OFFICER_LOCALE (en)
    assert partner_line(firm) in card.params["text"]


async def test_staff_partner_commands_in_arabic(tg: FakeTelegram, make_settings: Callable) -> None:
    async for running in start_bot(tg, make_settings(officer_locale="ar")):
        text = await staff_says(running, f"/partner_invite {FIRM}")
        code = CODE.search(text).group()
        await running.say(user(7700123459, "en"), f"/partner {code}")
        listed = await staff_says(running, "/partners")
        revoked = await staff_says(running, f"/partner_revoke {FIRM}")
        with shown(running, "ar"):
            assert text.startswith(_("Invite code for {organisation}: {code}", organisation=isolated(FIRM), code=code))
            assert listed.splitlines()[1] == _(
                "{organisation}: {partners} · {invites}", organisation=isolated(FIRM),
                partners=ngettext("{n} partner", "{n} partners", 1), invites=ngettext("{n} unused invite", "{n} unused invites", 0),
            )  # fmt: skip
            assert revoked.splitlines()[0] == _("Partnership with {organisation} ended.", organisation=isolated(FIRM))
