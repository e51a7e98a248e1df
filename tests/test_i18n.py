"""Locale negotiation, formatting in the active locale, pseudonyms and log hygiene."""

from __future__ import annotations

import hashlib
import hmac
import logging
import re
import shutil
import sys
from pathlib import Path

import pytest

from bot.crypto import Keys, new_receipt_code, new_secret_key, normalise_receipt_code
from bot.i18n import FSI, LOCALES_DIR, PDI, I18n, _, active_locale, candidates, native_name, ngettext
from bot.logs import PrivacyFilter


@pytest.fixture(scope="module")
def i18n() -> I18n:
    return I18n("en")


def three_languages(tmp_path: Path, *extra: str) -> Path:
    """A locales folder with en, es and ar, plus copies of en under `extra` codes: tests of
    negotiation must not depend on which other languages happen to ship."""
    root = tmp_path / "locales"
    for locale in ("en", "es", "ar"):
        shutil.copytree(LOCALES_DIR / locale, root / locale)
    for locale in extra:
        (root / locale / "LC_MESSAGES").mkdir(parents=True)
        shutil.copy(LOCALES_DIR / "en" / "LC_MESSAGES" / "messages.po", root / locale / "LC_MESSAGES")
    return root


@pytest.mark.parametrize(
    ("code", "expected"),
    [
        ("pt-br", ["pt_BR", "pt"]),
        ("zh-hans", ["zh_Hans", "zh"]),
        ("zh-Hant-TW", ["zh_Hant_TW", "zh_Hant", "zh_TW", "zh"]),
        ("es-419", ["es_419", "es"]),
        ("EN", ["en"]),
        ("", []),
        ("12", []),
    ],
)
def test_candidates_go_from_specific_to_general(code: str, expected: list[str]) -> None:
    assert candidates(code) == expected


@pytest.mark.parametrize(
    ("code", "locale"),
    [("es", "es"), ("es-MX", "es"), ("ar-SA", "ar"), ("en-GB", "en"),
     ("pt-br", "en"), ("tlh", "en"), ("", "en"), (None, "en"), ("../../etc", "en")],
)
def test_negotiation_falls_back_to_the_default(tmp_path: Path, code: str | None, locale: str) -> None:
    assert I18n("en", three_languages(tmp_path)).negotiate(code) == locale


def test_negotiation_reaches_scripts_and_regions(tmp_path: Path) -> None:
    i18n = I18n("es", three_languages(tmp_path, "pt", "zh_Hans"))
    assert [i18n.negotiate(c) for c in ("pt-br", "zh-hans", "zh-Hans-CN", "zh-hant", "fr")] == [
        "pt", "zh_Hans", "zh_Hans", "es", "es"]


def test_right_to_left_values_are_isolated(i18n: I18n) -> None:
    with active_locale(i18n.get("ar")):
        arabic = _("In an emergency call {number}.", number="911")
    with active_locale(i18n.get("es")):
        spanish = _("In an emergency call {number}.", number="911")
    assert arabic == f"في حالة الطوارئ، اتصل بالرقم {FSI}911{PDI}."
    assert spanish == "En una emergencia, llame al 911."


def test_counts_are_formatted_for_the_locale(i18n: I18n) -> None:
    singular, plural = "Reports are deleted after {n} day.", "Reports are deleted after {n} days."
    with active_locale(i18n.get("es")):
        assert ngettext(singular, plural, 1) == "Los reportes se borran después de 1 día."
        assert ngettext(singular, plural, 12345) == "Los reportes se borran después de 12.345 días."
    with active_locale(i18n.get("en")):
        assert ngettext(singular, plural, 12345) == "Reports are deleted after 12,345 days."
    with active_locale(i18n.get("ar")):
        assert ngettext(singular, plural, 5).endswith(f"{FSI}5{PDI} أيام.")
        assert ngettext(singular, plural, 90).endswith(f"{FSI}90{PDI} يومًا.")


def test_outside_an_update_the_source_language_is_used() -> None:
    assert _("Choose your language:") == "Choose your language:"


def test_native_names(i18n: I18n) -> None:
    entries = dict(i18n.picker_entries())
    assert {entries["en"], entries["es"], entries["ar"]} == {"English", "Español", "العربية"}
    assert native_name("fa_AF") == "دری" and native_name("zh_Hans") == "简体中文"  # CLDR's own names
    assert native_name("hmn") == "hmn"  # no CLDR data: shown as its code, never a crash


def test_pseudonym_is_the_keyed_hmac_of_the_user_id() -> None:
    key = new_secret_key()
    expected = hmac.new(key.encode(), b"user:5550001", hashlib.sha256).hexdigest()
    assert Keys(key).pseudonym(5550001) == expected
    assert Keys(key).pseudonym(5550002) != expected
    assert Keys(new_secret_key()).pseudonym(5550001) != expected
    assert len(key) >= 32


def test_receipt_codes_carry_80_random_bits_in_readable_groups() -> None:
    codes = {new_receipt_code() for _ in range(200)}
    assert len(codes) == 200
    for code in codes:
        groups = code.split("-")
        assert [len(g) for g in groups] == [4, 4, 4, 4]
        assert set("".join(groups)) <= set("0123456789ABCDEFGHJKMNPQRSTVWXYZ")
    # 32 symbols, 16 positions: 16 × log2(32) = 80 bits.
    assert len("0123456789ABCDEFGHJKMNPQRSTVWXYZ") ** 16 == 2**80


def test_receipt_codes_survive_how_people_type_them() -> None:
    keys = Keys(new_secret_key())
    code = "7KQM-2XRD-9FTB-H4PN"
    assert normalise_receipt_code(" 7kqm 2xrd-9ftb h4pn ") == "7KQM2XRD9FTBH4PN"
    assert normalise_receipt_code("7KQM-2XRD-9FTB-H4PO") == "7KQM2XRD9FTBH4P0"  # O read as 0
    assert keys.receipt_hash("7kqm2xrd9ftbh4pn") == keys.receipt_hash(code)
    assert keys.receipt_hash("hello") is None and normalise_receipt_code("7KQM-2XRD") is None
    assert Keys(new_secret_key()).receipt_hash(code) != keys.receipt_hash(code)


def test_a_sealed_link_opens_only_for_its_report_and_key() -> None:
    from cryptography.exceptions import InvalidTag

    keys = Keys(new_secret_key())
    sealed = keys.seal_chat(7319046521, report_id=12)
    assert b"7319046521" not in sealed
    assert keys.unseal_chat(sealed, report_id=12) == 7319046521
    assert keys.seal_chat(7319046521, report_id=12) != sealed  # a fresh nonce every time
    with pytest.raises(InvalidTag):
        keys.unseal_chat(sealed, report_id=13)
    with pytest.raises(InvalidTag):
        Keys(new_secret_key()).unseal_chat(sealed, report_id=12)


def test_log_filter_drops_library_arguments_and_redacts_secrets() -> None:
    token = "123456789:AAH-secret-token-value-0123456789abc"
    privacy = PrivacyFilter(token)
    leaky = logging.LogRecord("telegram.ext.ExtBot", logging.CRITICAL, __file__, 1,
                              "Received data was %s", ({"first_name": "Ana", "id": 5550001},), None)
    ours = logging.LogRecord("bot.cli", logging.INFO, __file__, 1, "url=%s", (f"http://x/bot{token}/getMe",), None)
    try:
        raise ValueError(f"The token `{token}` was rejected; Ana wrote: help")
    except ValueError:
        failing = logging.LogRecord("telegram.ext.Updater", logging.ERROR, __file__, 1,
                                    "Error while polling", None, sys.exc_info())
    assert privacy.filter(leaky) and privacy.filter(ours) and privacy.filter(failing)
    assert leaky.getMessage() == "Received data was …"
    assert ours.getMessage() == "url=http://x/bot[redacted]/getMe"
    assert failing.getMessage() == "Error while polling (ValueError)"
    assert failing.exc_info is None and failing.exc_text is None


def test_a_long_picker_is_paginated_in_a_stable_order(tmp_path: Path) -> None:
    from handlers.language import PAGE_SIZE, picker

    root = tmp_path / "locales"
    shutil.copytree(LOCALES_DIR, root)
    extra = ["de", "fr", "it", "nl", "pl", "pt", "ru", "uk", "tr", "vi", "ko", "ja", "hi", "bn", "sw",
             "so", "am", "fa", "ur", "ne", "km", "my", "cnh"]
    for code in extra:
        target = root / code / "LC_MESSAGES"
        if not target.exists():
            target.mkdir(parents=True)
            shutil.copy(root / "en" / "LC_MESSAGES" / "messages.po", target)
    i18n = I18n("en", root)
    count = len(i18n.locales)
    page_count = -(-count // PAGE_SIZE)
    pages = [picker(i18n, n).inline_keyboard for n in range(page_count)]
    shown = [b.callback_data.removeprefix("lang:set:") for page in pages for row in page[:-1] for b in row]
    assert sorted(shown) == sorted(i18n.locales) and len(shown) == len(set(shown)) == count
    assert [len([b for row in page[:-1] for b in row]) for page in pages[:-1]] == [PAGE_SIZE] * (page_count - 1)
    assert [b.callback_data for b in pages[0][-1]] == [f"lang:page:{page_count - 1}", "lang:page:1"]  # wraps
    names = [name for _, name in i18n.picker_entries()]
    assert names == sorted(names, key=str.casefold)
    assert "Deutsch" in names and "Français" in names and "cnh" in names  # no name anywhere: its code, no crash
    assert picker(i18n, 99).inline_keyboard == pages[-1]  # out-of-range pages clamp


def test_heavy_libraries_wait_until_they_are_needed() -> None:
    import subprocess
    import sys

    probe = "import sys, bot.cli, bot.application; print(sorted({'argostranslate', 'torch', 'stanza', 'PIL'} & set(sys.modules)))"
    assert subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True).stdout.strip() == "[]"


def _right_to_left_locales() -> list[str]:
    from bot.i18n import _is_right_to_left, available_locales

    return [locale for locale in available_locales() if _is_right_to_left(locale)]


@pytest.mark.parametrize("locale", _right_to_left_locales())
def test_every_placeholder_is_isolated_in_right_to_left_text(i18n: I18n, locale: str) -> None:
    """Codes, numbers, names and URLs keep their place and order inside right-to-left sentences."""
    from babel.messages.pofile import read_po

    from bot.i18n import placeholders

    with (LOCALES_DIR / "messages.pot").open("rb") as template, active_locale(i18n.get(locale)):
        for message in read_po(template):
            if not message.id:
                continue
            singular, plural = message.id if isinstance(message.id, tuple) else (message.id, None)
            values = {name: f"X{name}7" for name in placeholders(plural or singular) if name != "n"}
            text = ngettext(singular, plural, 3, **values) if plural else _(singular, **values)
            for value in [*values.values(), *(["3"] if plural else [])]:
                assert f"{FSI}{value}{PDI}" in text, (singular, text)


@pytest.mark.parametrize(
    ("code", "locale"),
    [("tl", "fil"), ("fil", "fil"), ("zh-hans", "zh_Hans"), ("zh-cn", "zh_Hans"), ("zh", "zh_Hans"),
     ("zh-hant", "zh_Hant"), ("zh-tw", "zh_Hant"), ("zh-hk", "zh_Hant"), ("prs", "fa_AF"), ("fa-af", "fa_AF"),
     ("fa", "fa"), ("pt-br", "pt"), ("pt-pt", "pt"), ("ckb", "ckb"), ("ZH-HANT", "zh_Hant")],
)  # fmt: skip
def test_telegram_language_codes_land_on_the_right_catalog(tmp_path: Path, code: str, locale: str) -> None:
    root = three_languages(tmp_path, "fil", "zh_Hans", "zh_Hant", "fa", "fa_AF", "pt", "ckb")
    assert I18n("en", root).negotiate(code) == locale


def test_command_menus_reach_telegram_by_two_letter_codes() -> None:
    from bot.i18n import telegram_language_code

    assert [telegram_language_code(x) for x in ("es", "fil", "zh_Hans", "zh_Hant", "fa_AF", "ckb")] == [
        "es", "tl", "zh", None, None, None]


@pytest.mark.parametrize("locale", _right_to_left_locales())
def test_left_to_right_words_in_right_to_left_catalogs_are_isolated(i18n: I18n, locale: str) -> None:
    """/commands, the sample receipt code and Latin words keep their order in right-to-left text."""

    from babel.messages.pofile import read_po

    from bot.i18n import placeholders

    with (LOCALES_DIR / "messages.pot").open("rb") as template, active_locale(i18n.get(locale)):
        for message in read_po(template):
            if not message.id:
                continue
            singular, plural = message.id if isinstance(message.id, tuple) else (message.id, None)
            values = {name: "V" for name in placeholders(plural or singular) if name != "n"}
            text = ngettext(singular, plural, 3, **values) if plural else _(singular, **values)
            outside = re.sub("\u2068[^\u2069]*\u2069", "", text)
            assert not re.search("[A-Za-z0-9]", outside), (singular, text)
    with active_locale(i18n.get("ar")):
        assert f"{FSI}/start{PDI}" in _("This button no longer works. Please send /start.")


def test_a_language_without_cldr_data_brings_its_own_name_and_plural_rule(tmp_path: Path) -> None:
    """Hmong has no CLDR data: the catalog names the language and declares its plural rule, and
    numbers and dates fall back to the default locale's formats instead of failing."""
    from babel.messages.catalog import Catalog
    from babel.messages.pofile import read_po

    from bot.catalogs import write_catalog

    root = three_languages(tmp_path)
    with (root / "en" / "LC_MESSAGES" / "messages.po").open("rb") as english:
        source = read_po(english)
    hmong = Catalog(locale="hmn", header_comment="# Review-Status: draft\n# Language-Name: Hmoob\n#")
    hmong._num_plurals, hmong._plural_expr = 1, "0"  # what a Hmong translator declares
    for message in source:
        if message.id:
            text = message.string[:1] if isinstance(message.id, tuple) else message.string
            hmong.add(message.id, text, flags=message.flags)
    hmong["Reports are deleted after {n} day."].string = ("Tshem tawm tom qab {n} hnub.",)
    (root / "hmn" / "LC_MESSAGES").mkdir(parents=True)
    write_catalog(root / "hmn" / "LC_MESSAGES" / "messages.po", hmong)  # keeps the declared rule

    i18n = I18n("en", root)
    assert ("hmn", "Hmoob") in i18n.picker_entries()
    with active_locale(i18n.get("hmn")):
        assert ngettext("Reports are deleted after {n} day.", "Reports are deleted after {n} days.", 1234) == "Tshem tawm tom qab 1,234 hnub."
        from bot.i18n import formatting_locale

        assert formatting_locale() == "en"
