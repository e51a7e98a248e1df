"""The agency profile end to end: validation as an admin meets it, and what community members
read of it (greeting, privacy, emergency line, /resources, categories) in English and Arabic, with
machine-translated text labelled as such."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from babel.dates import format_date, format_time

from bot.cli import main
from bot.i18n import FSI, PDI, _, active_locale, available_locales
from tests.conftest import RunningBot, install_packages, start_bot, user
from tests.fake_telegram import FakeTelegram
from tests.processes import CONFIG_VARS, error_lines, write_env
from tests.reporting import Reporter, buttons, card_of

ZONE = "Europe/Berlin"
COMING = (datetime.now(UTC) + timedelta(days=20)).astimezone(ZoneInfo(ZONE)).replace(hour=18, minute=30, second=0, microsecond=0)
PAST = COMING - timedelta(days=60)
LOCALE_LIST = ", ".join(sorted(available_locales()))
PROFILE = f'''
language = "en"
name = {{ en = "Springfield Police Department", ar = "شرطة سبرينغفيلد" }}
emergency_number = "112"
non_emergency_number = "555-0100"
time_zone = "{ZONE}"
categories = ["crime", "threat"]
urgent_categories = ["crime"]
privacy_contact = "privacy@springfield.example"
immigration_statement = {{ en = "Springfield police never check papers.", ar = "شرطة سبرينغفيلد لا تفحص الأوراق أبدًا." }}

[oversight]
name = "Springfield Review Board"
contact = "board@springfield.example"

[[liaisons]]
name = "Officer Ana Ruiz"
languages = ["es", "en"]
contact = "+1 555 0102"

[[liaisons]]
name = "Officer Omar Haddad"
languages = ["ar", "en"]
contact = "+1 555 0103"

[[meetings]]
title = {{ en = "Eastside community meeting", ar = "اجتماع الحي الشرقي" }}
starts = {COMING.replace(tzinfo=None).isoformat()}
place = "Eastside Library"

[[meetings]]
title = "A meeting that is over"
starts = {PAST.replace(tzinfo=None).isoformat()}
place = "Town Hall"

[[links]]
title = {{ en = "Help for victims", ar = "مساعدة الضحايا" }}
url = "https://springfield.example/victims"
'''


@pytest.fixture
async def profiled(tg: FakeTelegram, make_settings, tmp_path: Path) -> AsyncIterator[RunningBot]:
    profile = tmp_path / "agency.toml"
    profile.write_text(PROFILE, encoding="utf-8")
    async for running in start_bot(tg, make_settings(agency_profile=str(profile), agency_name="", emergency_number="999")):
        yield running


def in_locale(running: RunningBot, locale: str, message: str, **values: str) -> str:
    with active_locale(running.services.i18n.get(locale)):
        return _(message, **values)


async def test_the_greeting_names_the_agency_and_both_numbers(profiled: RunningBot) -> None:
    english = (await profiled.say(user(7800001, "en"), "/start")).params["text"]
    arabic = (await profiled.say(user(7800002, "ar"), "/start")).params["text"]

    assert "Welcome! This is the community safety line of Springfield Police Department." in english
    assert english.endswith("In an emergency call 112. When it is not an emergency, you can call 555-0100.")
    assert f"{FSI}شرطة سبرينغفيلد{PDI}" in arabic  # the agency's own Arabic name
    assert in_locale(profiled, "ar", "In an emergency call {number}.", number="112") in arabic
    assert in_locale(profiled, "ar", "When it is not an emergency, you can call {number}.", number="555-0100") in arabic
    assert "999" not in english + arabic  # the profile wins over EMERGENCY_NUMBER


async def test_privacy_states_the_agencys_own_words_on_immigration_and_its_oversight(profiled: RunningBot) -> None:
    english = (await profiled.say(user(7800003, "en"), "/privacy")).params["text"]
    arabic = (await profiled.say(user(7800004, "ar"), "/privacy")).params["text"]

    assert "Springfield police never check papers." in english
    assert "Contact privacy@springfield.example." in english
    assert ("The police are overseen by Springfield Review Board. To complain about officers or this service, "
            "contact them: board@springfield.example.") in english  # fmt: skip
    assert "شرطة سبرينغفيلد لا تفحص الأوراق أبدًا." in arabic
    assert in_locale(profiled, "ar", "The police are overseen by {oversight}. To complain about officers or this service, "
                     "contact them: {contact}.", oversight="Springfield Review Board", contact="board@springfield.example") in arabic  # fmt: skip
    assert in_locale(profiled, "ar", "In an emergency call {number}.", number="112") in arabic


async def test_resources_list_who_speaks_your_language_first_and_only_coming_meetings(profiled: RunningBot) -> None:
    english = (await profiled.say(user(7800005, "en"), "/resources")).params["text"]
    arabic = (await profiled.say(user(7800006, "ar"), "/resources")).params["text"]

    assert english.index("Officer Ana Ruiz") < english.index("Officer Omar Haddad")
    assert "• Officer Omar Haddad (العربية, English): +1 555 0103" in english
    assert arabic.index("Officer Omar Haddad") < arabic.index("Officer Ana Ruiz")  # speaks Arabic: first
    zone = ZoneInfo(ZONE)
    when = f"{format_date(COMING, 'full', locale='en')}, {format_time(COMING, 'short', tzinfo=zone, locale='en')}"
    assert f"• Eastside community meeting: {when}, Eastside Library" in english  # "Thursday, May 6, 2027, 6:30 PM"
    assert "اجتماع الحي الشرقي" in arabic and format_date(COMING, "full", locale="ar") in arabic
    assert format_time(COMING, "short", tzinfo=zone, locale="ar") in arabic
    assert "A meeting that is over" not in english + arabic
    assert "• Help for victims: https://springfield.example/victims" in english
    assert "مساعدة الضحايا" in arabic and "https://springfield.example/victims" in arabic
    assert english.endswith("In an emergency call 112. When it is not an emergency, you can call 555-0100.")


async def test_resources_from_the_menu_in_arabic(profiled: RunningBot, tg: FakeTelegram) -> None:
    person = user(7800007, "ar")
    menu = await profiled.say(person, "/start")
    assert buttons(menu.result)["menu:resources"] == in_locale(profiled, "ar", "Resources")
    after = tg.mark()
    tg.press_button(person, menu.result, "menu:resources")
    shown = await tg.wait_for_reply(person.id, after=after)
    assert shown.params["text"].startswith(in_locale(profiled, "ar", "Resources"))
    assert "Officer Omar Haddad" in shown.params["text"]


async def test_without_resources_the_bot_says_so(bot: RunningBot) -> None:
    text = (await bot.say(user(7800008, "en"), "/resources")).params["text"]
    assert "The police have not listed any resources here yet." in text


async def test_the_profiles_categories_and_urgent_ones_are_what_people_choose_from(profiled: RunningBot, tg: FakeTelegram) -> None:
    reporter = Reporter(tg, user(7800009, "en"))
    choices = await reporter.start()
    assert set(buttons(choices.result)) >= {"report:cat:crime", "report:cat:threat"}
    assert not {"report:cat:suspicious", "report:cat:safety", "report:cat:other"} & set(buttons(choices.result))
    await reporter.file("A break-in at the corner shop tonight", category="crime")
    card = await card_of(tg, 1)
    assert "URGENT" in card.params["text"]  # crime is urgent in this profile
    assert f"({ZONE})" in card.params["text"]  # times in the officers' time zone


# --- machine translation of what the agency wrote in English only ---------------------------------

MACHINE_PROFILE = '''
language = "en"
name = "Springfield Police Department"
immigration_statement = "Springfield police never ask where you come from. They do not check papers."
'''


async def test_missing_languages_get_a_labelled_machine_translation_or_the_original(
    tg: FakeTelegram, make_settings, tmp_path: Path, packages
) -> None:
    directory = tmp_path / "translation"
    install_packages(directory, packages["en_es"], packages["es_en"])  # English to Spanish only
    profile = tmp_path / "agency.toml"
    profile.write_text(MACHINE_PROFILE, encoding="utf-8")
    settings = make_settings(agency_profile=str(profile), translation=True, translation_dir=directory)
    async for running in start_bot(tg, settings):
        await asyncio.wait_for(running.services.profile_texts.translated.wait(), 120)
        spanish = (await running.say(user(7800010, "es"), "/privacy")).params["text"]
        french = (await running.say(user(7800011, "fr"), "/privacy")).params["text"]

    statement = "Springfield police never ask where you come from. They do not check papers."
    label = in_locale(running, "es", "{text} (machine translation)", text="\0").split("\0")[1]
    assert label.strip() and label != " (machine translation)"  # the label itself is in Spanish
    [labelled] = [paragraph for paragraph in spanish.split("\n\n") if paragraph.endswith(label)]
    assert statement not in labelled and labelled.removesuffix(label).strip()
    assert "Springfield Police Department" in spanish  # a name is never machine-translated
    assert statement in french  # no English-French model: the original, with no label
    assert in_locale(running, "fr", "{text} (machine translation)", text="\0").split("\0")[1] not in french


# --- validation, as an admin meets it ---------------------------------------------------------

@pytest.fixture
def clean_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in CONFIG_VARS:
        monkeypatch.delenv(name, raising=False)


def check_config(tmp_path: Path, profile_text: str | None) -> int:
    profile = tmp_path / "agency.toml"
    if profile_text is not None:
        profile.write_text(profile_text, encoding="utf-8")
    env_file = write_env(tmp_path / ".env", {
        "TELEGRAM_BOT_TOKEN": "123456:" + "A" * 35, "STAFF_CHAT_ID": "-1001", "SECRET_KEY": "k" * 40,
        "AGENCY_PROFILE": str(profile), "DATABASE_URL": f"sqlite:///{tmp_path / 'outreach.db'}",
    })  # fmt: skip
    return main(["--env-file", str(env_file), "check-config", "--offline"])


BAD_PROFILE = '''
nmae = "Springfield"
emergency_number = "call us"
time_zone = "Mars/Base"
categories = ["crime", "burglary"]
immigration_statement = { en = "", xx = "?" }

[oversight]
name = "Board"

[[meetings]]
title = "Meeting"
starts = "next tuesday"
place = "Library"

[[links]]
title = "Help"
url = "javascript:alert(1)"
'''


@pytest.mark.usefixtures("clean_environment")
def test_check_config_names_the_file_the_field_and_the_problem(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert check_config(tmp_path, BAD_PROFILE) == 2
    out, err = capsys.readouterr()
    assert "Traceback" not in out + err and err.splitlines() == error_lines(err)
    profile = tmp_path / "agency.toml"
    assert [line.removeprefix(f"error: {profile}: ") for line in error_lines(err)] == [
        "nmae: is not a field of the agency profile (did you mean name?)",
        "time_zone: 'Mars/Base' is not a time zone name such as America/Chicago",
        "categories: unknown burglary; choose from suspicious, crime, threat, safety, other",
        "emergency_number: 'call us' has no digits; give the number people dial",
        "oversight.contact: is missing",
        f"immigration_statement.xx: 'xx' is not a language the bot speaks; use one of locales/: {LOCALE_LIST}",
        "immigration_statement.en: is empty",
        "meetings[1].starts: is not a date and time; write a date and time without quotes, e.g. 2027-01-14T18:30:00",
        "links[1].url: 'javascript:alert(1)' is not a web address such as https://example.org/help",
    ]


@pytest.mark.usefixtures("clean_environment")
@pytest.mark.parametrize(
    ("text", "problem"),
    [(None, "cannot be read (No such file or directory)"), ('name = "unclosed', "is not valid TOML: "),
     ("name = 42", "name: must be text in quotes, or a table of texts per language")],
    ids=["missing", "not-toml", "wrong-type"],
)
def test_an_unreadable_profile_is_one_line(tmp_path: Path, capsys: pytest.CaptureFixture[str], text: str | None, problem: str) -> None:
    assert check_config(tmp_path, text) == 2
    [line] = error_lines(capsys.readouterr().err)
    assert line.startswith(f"error: {tmp_path / 'agency.toml'}: {problem}")


@pytest.mark.usefixtures("clean_environment")
def test_init_writes_an_example_profile_that_check_config_accepts(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    env_file = tmp_path / ".env"
    assert main(["--env-file", str(env_file), "init", "--token", "123456:" + "A" * 35, "--staff-chat-id", "-1001"]) == 0
    assert "AGENCY_PROFILE=agency.toml" in env_file.read_text(encoding="utf-8")
    assert "Wrote" in capsys.readouterr().out and (tmp_path / "agency.toml").is_file()
    # AGENCY_PROFILE is relative to where the bot runs: the folder of its .env, as systemd runs it.
    write_env(env_file, {**dict(line.split("=", 1) for line in env_file.read_text().splitlines()
                                if line and not line.startswith("#")),
                         "AGENCY_PROFILE": str(tmp_path / "agency.toml")})  # fmt: skip
    assert main(["--env-file", str(env_file), "check-config", "--offline"]) == 0

