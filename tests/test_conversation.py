"""End to end: the real Application, over HTTP, against the fake Bot API server."""

from __future__ import annotations

import re

import pytest
from sqlalchemy import text

from bot.i18n import FSI, PDI, _, active_locale, available_locales, native_name, telegram_language_code
from tests.conftest import STAFF_CHAT_ID, RunningBot, database_bytes, start_bot, user
from tests.fake_telegram import FakeTelegram


def buttons(message: dict) -> dict[str, str]:
    """callback_data → label for an inline keyboard."""
    rows = (message.get("reply_markup") or {}).get("inline_keyboard", [])
    return {button["callback_data"]: button["text"] for row in rows for button in row}


@pytest.mark.parametrize(
    ("language_code", "expected"),
    [
        ("es", ["¡Le damos la bienvenida!", "Springfield Police Department", "anónimos", "llame al"]),
        ("ar", ["أهلًا بك", f"{FSI}Springfield Police Department{PDI}", "دون ذكر الاسم", f"{FSI}911{PDI}"]),
        ("en", ["Welcome!", "Springfield Police Department", "anonymous", "In an emergency call 911."]),
        # No German catalog: de-at → de_AT → de → DEFAULT_LOCALE (en).
        ("de-at", ["Welcome!", "anonymous", "In an emergency call 911."]),
        ("tlh", ["Welcome!", "anonymous"]),
        (None, ["Welcome!", "anonymous"]),
    ],
)
async def test_start_greets_in_the_clients_language(bot: RunningBot, language_code, expected) -> None:
    reply = await bot.say(user(language_code=language_code), "/start")
    text = reply.params["text"]
    for fragment in expected:
        assert fragment in text
    assert set(buttons(reply.result)) == {"menu:report", "menu:status", "menu:privacy", "menu:language", "menu:resources", "menu:help"}


@pytest.mark.parametrize("locale", available_locales())
async def test_start_in_every_language(bot: RunningBot, locale: str) -> None:
    with active_locale(bot.services.i18n.get(locale)):
        welcome = _("Welcome! This is the community safety line of {agency}.", agency="Springfield Police Department")
        emergency = _("In an emergency call {number}.", number="911")
        report_button = _("Report")
    telegram_code = locale.replace("_", "-").lower()  # how Telegram writes it: zh-hans, fa-af
    reply = await bot.say(user(6100000 + len(locale), telegram_code), "/start")
    assert reply.params["text"].startswith(welcome) and reply.params["text"].endswith(emergency)
    assert buttons(reply.result)["menu:report"] == report_button
    if locale != "en":
        assert welcome != "Welcome! This is the community safety line of Springfield Police Department."


async def test_menu_labels_are_translated_but_callback_data_is_not(bot: RunningBot) -> None:
    spanish = buttons((await bot.say(user(1, "es"), "/start")).result)
    arabic = buttons((await bot.say(user(2, "ar"), "/start")).result)
    assert spanish.keys() == arabic.keys()
    assert spanish["menu:privacy"] == "Privacidad"
    assert arabic["menu:privacy"] == "الخصوصية"


async def test_language_picker_round_trip(bot: RunningBot, tg: FakeTelegram) -> None:
    person = user(77, "es")
    picker = await bot.say(person, "/language")
    assert picker.params["text"] == "Elija su idioma:"
    # Every shipped language, each in its own name, one page after another.
    offered, page = {}, picker
    for _page in range(10):
        offered |= {data: label for data, label in buttons(page.result).items() if data.startswith("lang:set:")}
        forward = next((data for data, label in buttons(page.result).items() if label == "▶"), None)
        if forward is None or len(offered) == len(available_locales()):
            break
        after = await bot.press(person, page.result, forward)
        page = await tg.wait_for("editMessageReplyMarkup", after=after)
    assert offered == {f"lang:set:{locale}": name for locale, name in bot.services.i18n.picker_entries()}
    assert offered["lang:set:zh_Hans"] == native_name("zh_Hans") == "简体中文"  # CLDR's own name
    assert offered["lang:set:hmn"] == "Hmoob"  # no CLDR data: the catalog names its language
    assert offered["lang:set:es"] == "Español" and offered["lang:set:ar"] == "العربية"

    after = await bot.press(person, page.result, "lang:set:ar")
    confirmation = await tg.wait_for("editMessageText", after=after)
    assert confirmation.params["text"] == f"تم. لغة المحادثة الآن: {FSI}العربية{PDI}."
    assert "menu:report" in buttons(confirmation.result)

    # The saved choice beats the client's language_code from now on.
    greeting = await bot.say(person, "/start")
    assert greeting.params["text"].startswith("أهلًا بك")

    picker = await bot.say(person, "/language")
    assert picker.params["text"] == "اختر لغتك:"
    after = await bot.press(person, picker.result, "lang:set:es")
    back = await tg.wait_for("editMessageText", after=after)
    assert back.params["text"] == "Listo. Le escribiré en Español."


async def test_language_picker_from_the_menu_and_a_forged_language(bot: RunningBot, tg: FakeTelegram) -> None:
    person = user(78, "ar")
    menu = (await bot.say(person, "/start")).result
    after = await bot.press(person, menu, "menu:language")
    picker = await tg.wait_for_reply(person.id, after=after)
    assert picker.params["text"] == "اختر لغتك:"

    after = await bot.press(person, picker.result, "lang:set:xx")
    refusal = await tg.wait_for("answerCallbackQuery", after=after)
    assert refusal.params["text"] == "هذه اللغة غير متاحة."
    in_spanish = user(79, "es")
    their_picker = await bot.say(in_spanish, "/language")
    after = await bot.press(in_spanish, their_picker.result, "lang:set:de")
    assert (await tg.wait_for("answerCallbackQuery", after=after)).params["text"] == "Este idioma no está disponible."
    assert (await bot.say(person, "/start")).params["text"].startswith("أهلًا بك")


@pytest.mark.parametrize("days", [30, 365])
async def test_privacy_text_follows_retention_days(tg: FakeTelegram, make_settings, days: int) -> None:
    async for running in start_bot(tg, make_settings(retention_days=days)):
        english = (await running.say(user(1, "en"), "/privacy")).params["text"]
        spanish = (await running.say(user(2, "es"), "/privacy")).params["text"]
        arabic = (await running.say(user(3, "ar"), "/privacy")).params["text"]
    assert f"Reports are deleted after {days} days." in english
    assert f"Los reportes se borran después de {days} días." in spanish
    assert f"بعد {FSI}{days}{PDI}" in arabic
    for fragment in ("immigration status", "Telegram itself knows", "Springfield Police Department"):
        assert fragment in english
    assert "situación migratoria" in spanish
    assert "وضع الهجرة" in arabic


async def test_privacy_from_the_menu_button(bot: RunningBot, tg: FakeTelegram) -> None:
    person = user(5, "es")
    menu = (await bot.say(person, "/start")).result
    after = await bot.press(person, menu, "menu:privacy")
    reply = await tg.wait_for_reply(person.id, after=after)
    assert reply.params["text"].startswith("Cómo protegemos su privacidad")


@pytest.mark.parametrize(
    ("language_code", "heading", "line"),
    [
        ("es", "Esto es lo que puedo hacer:", "/privacy — Cómo se protege su privacidad"),
        ("ar", "إليك ما يمكنني فعله:", "/language — تغيير اللغة"),
    ],
)
async def test_help_lists_commands_in_the_persons_language(bot: RunningBot, language_code, heading, line) -> None:
    text = (await bot.say(user(language_code=language_code), "/help")).params["text"]
    assert text.startswith(heading)
    assert line in text
    assert text.count("\n/") == 9  # nine commands, one per line


@pytest.mark.parametrize(
    ("fields", "expected_es", "expected_ar"),
    [
        ({"sticker": {"file_id": "s1", "file_unique_id": "u1", "type": "regular", "width": 512,
                      "height": 512, "is_animated": False, "is_video": False}},
         "no puedo usar este tipo de mensaje", "لا يمكنني استخدام هذا النوع"),
        ({"poll": {"id": "p1", "question": "?", "options": [{"text": "a", "voter_count": 0, "persistent_id": "o1"}],
                   "total_voter_count": 0, "is_closed": False, "is_anonymous": True,
                   "type": "regular", "allows_multiple_answers": False,
                   "allows_revoting": False, "members_only": False}},
         "no puedo usar este tipo de mensaje", "لا يمكنني استخدام هذا النوع"),
        ({"dice": {"emoji": "🎲", "value": 3}}, "no puedo usar este tipo de mensaje", "لا يمكنني"),
        ({"location": {"latitude": 40.7, "longitude": -74.0}}, "No guardé esta ubicación", "لم أحفظ هذا الموقع"),
        ({"photo": [{"file_id": "f1", "file_unique_id": "fu1", "width": 90, "height": 90}]},
         "No guardé este archivo", "لم أحتفظ بهذا الملف"),
        ({"text": "hola " * 2000}, "Para enviar un reporte", "لإرسال بلاغ"),
        ({"text": "/nonsense"}, "no conozco ese comando", "لا أعرف هذا الأمر"),
    ],
)
async def test_unsupported_input_gets_a_kind_reply(bot: RunningBot, tg: FakeTelegram, fields, expected_es, expected_ar) -> None:
    for language_code, expected in (("es", expected_es), ("ar", expected_ar)):
        person = user(900 if language_code == "es" else 901, language_code)
        after = tg.mark()
        if "text" in fields:
            tg.send_text(person, fields["text"])
        else:
            tg.send_message(person, **fields)
        reply = await tg.wait_for_reply(person.id, after=after)
        assert expected in reply.params["text"]


async def test_a_contact_is_refused_and_its_number_kept_nowhere(bot: RunningBot, tg: FakeTelegram, log_records, database_url) -> None:
    phone = "+15557654321"
    person = user(4242424242, "es", first_name="Zuleima", username="zuleima_q")
    after = tg.mark()
    tg.send_message(person, contact={"phone_number": phone, "first_name": "Ana", "user_id": 999111})
    reply = await tg.wait_for_reply(person.id, after=after)
    assert "no acepto contactos" in reply.params["text"]
    await bot.say(person, "/start")  # the next update ran, so the contact's update is finished
    in_arabic = user(4242424243, "ar")
    after = tg.mark()
    tg.send_message(in_arabic, contact={"phone_number": phone, "first_name": "Ana"})
    assert "لا أقبل جهات الاتصال" in (await tg.wait_for_reply(in_arabic.id, after=after)).params["text"]

    stored = await database_bytes(database_url)
    for secret in ("7654321", "4242424242", "Zuleima", "zuleima_q", "999111"):
        assert secret not in log_records.text
        assert secret.encode() not in stored


async def test_a_saved_language_is_keyed_by_pseudonym_only(bot: RunningBot, tg: FakeTelegram, log_records, database_url) -> None:
    person = user(7319046521, "es", first_name="Farida", last_name="Nasser", username="farida_n")
    picker = await bot.say(person, "/language")
    after = await bot.press(person, picker.result, "lang:set:ar")
    await tg.wait_for("editMessageText", after=after)

    stored = await database_bytes(database_url)
    assert bot.services.keys.pseudonym(person.id).encode() in stored
    assert b"ar" in stored
    for secret in ("7319046521", "Farida", "Nasser", "farida_n"):
        assert secret not in log_records.text
        assert secret.encode() not in stored


async def test_bidi_and_control_characters_are_not_echoed(bot: RunningBot) -> None:
    tricky = "\u202e\u2066gnp.exe\u200f\u0000"
    reply = await bot.say(user(31, "ar"), tricky)
    assert "gnp.exe" not in reply.params["text"]
    assert reply.params["text"].startswith("لإرسال بلاغ")


@pytest.mark.parametrize(
    ("language_code", "expected"),
    [("es", "Este botón ya no funciona. Por favor, envíe /start."),
     ("ar", f"هذا الزر لم يعد يعمل. يُرجى إرسال {FSI}/start{PDI}.")],
)
async def test_a_forged_button_gets_a_gentle_answer(bot: RunningBot, tg: FakeTelegram, language_code, expected) -> None:
    person = user(12, language_code)
    menu = (await bot.say(person, "/start")).result
    after = await bot.press(person, menu, "report:cat:crime")  # a step of no conversation in progress
    answer = await tg.wait_for("answerCallbackQuery", after=after)
    assert answer.params["text"] == expected
    assert answer.params["show_alert"] is True


@pytest.mark.parametrize(
    ("language_code", "expected"),
    [("es", "Este bot solo funciona en chats privados. Por favor, escríbale directamente. ¡Adiós!"),
     ("ar", "يعمل هذا البوت في المحادثات الخاصة فقط. يُرجى مراسلته مباشرة. مع السلامة!")],
)
async def test_a_group_is_told_once_then_left(bot: RunningBot, tg: FakeTelegram, language_code, expected) -> None:
    group = tg.group_chat(-100777, "Neighbourhood")
    person = user(15, language_code)
    after = tg.mark()
    tg.add_to_group(group, by=person)
    notice = await tg.wait_for("sendMessage", lambda c: c.params["chat_id"] == group["id"], after=after)
    assert notice.params["text"] == expected
    await tg.wait_for("leaveChat", lambda c: c.params["chat_id"] == group["id"], after=after)

    # A message that was already queued from the group gets no second notice.
    tg.send_text(person, "/start", chat=group)
    await tg.wait_until_drained()
    to_group = [c for c in tg.calls_to("sendMessage") if c.params["chat_id"] == group["id"]]
    assert len(to_group) == 1


async def test_the_staff_chat_gets_the_officer_help(bot: RunningBot, tg: FakeTelegram) -> None:
    staff = tg.group_chat(STAFF_CHAT_ID, "Officers")
    reply = await bot.say(user(20, "es"), "/help", chat=staff)
    # OFFICER_LOCALE (en), not the officer's own client language.
    assert reply.params["text"].startswith("Commands for officers:")
    assert "reply to their report's card or press Message reporter" in reply.params["text"]
    assert not tg.calls_to("leaveChat")


async def test_command_menus_are_set_per_scope_and_language(bot: RunningBot, tg: FakeTelegram) -> None:
    calls = tg.calls_to("setMyCommands")
    private = {c.params.get("language_code"): c.params["commands"] for c in calls
               if c.params["scope"]["type"] == "all_private_chats"}
    assert set(private) == {None} | {telegram_language_code(locale) for locale in available_locales()} - {None}
    assert {"command": "privacy", "description": "Cómo se protege su privacidad"} in private["es"]
    assert {"command": "language", "description": "تغيير اللغة"} in private["ar"]
    staff = [c for c in calls if c.params["scope"] == {"type": "chat", "chat_id": STAFF_CHAT_ID}]
    assert [[c["command"] for c in call.params["commands"]] for call in staff] == [["queue", "show", "stats", "partners", "partner_invite", "partner_revoke", "help"]]


async def test_an_unknown_channel_is_left_silently(bot: RunningBot, tg: FakeTelegram) -> None:
    channel = tg.group_chat(-100555, "Some channel", type="channel")
    after = tg.mark()
    tg.push_update({"channel_post": {"message_id": 1, "date": 1795673731, "chat": channel, "text": "hello"}})
    await tg.wait_for("leaveChat", lambda c: c.params["chat_id"] == channel["id"], after=after)
    assert not [c for c in tg.calls_to("sendMessage") if c.params["chat_id"] == channel["id"]]


async def test_turning_to_the_only_page_changes_nothing(bot: RunningBot, tg: FakeTelegram) -> None:
    person = user(88, "ar")
    picker = await bot.say(person, "/language")
    after = await bot.press(person, picker.result, "lang:page:0")
    await tg.wait_for("answerCallbackQuery", after=after)
    await bot.say(person, "/start")
    assert not tg.calls_to("editMessageReplyMarkup")
    assert not [t for t in tg.texts(person.id) if "went wrong" in t or "حدث خطأ" in t]


async def test_a_broken_database_still_gets_kind_answers(bot: RunningBot, tg: FakeTelegram, log_records) -> None:
    async with bot.services.engine.begin() as connection:
        await connection.execute(text("DROP TABLE preferences"))
    person = user(6061626364, "ar", first_name="Yusuf")

    greeting = await bot.say(person, "/start")  # the saved choice is unreadable: the client's language
    assert greeting.params["text"].startswith("أهلًا بك")
    picker = await bot.say(person, "/language")
    after = await bot.press(person, picker.result, "lang:set:es")
    apology = await tg.wait_for_reply(person.id, after=after)
    assert apology.params["text"] == "عذرًا، حدث خطأ من جهتنا. يُرجى المحاولة مرة أخرى بعد قليل."
    in_spanish = user(6061626365, "es")
    their_picker = await bot.say(in_spanish, "/language")
    after = await bot.press(in_spanish, their_picker.result, "lang:set:ar")
    apology = await tg.wait_for_reply(in_spanish.id, after=after)
    assert apology.params["text"] == "Lo siento, algo falló de nuestro lado. Por favor, intente de nuevo en un momento."

    failure = next(r.getMessage() for r in log_records.records if r.getMessage().startswith("handler_failed"))
    # The type only: OperationalError on SQLite, DBAPIError on PostgreSQL.
    assert re.fullmatch(r"handler_failed error=\w*Error handler=handlers\.language\.set_language", failure)
    assert "6061626364" not in log_records.text and "Yusuf" not in log_records.text
