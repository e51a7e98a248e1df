"""Every shipped catalog is complete, safe to format, and matches the code's strings."""

from __future__ import annotations

import csv
import re
import shutil
from collections import Counter
from collections.abc import Callable
from gettext import c2py
from pathlib import Path

import pytest
from babel import Locale
from babel.messages.pofile import read_po

from bot.catalogs import TEMPLATE, extract
from bot.i18n import LOCALES_DIR, CatalogError, I18n, available_locales, catalog_language_name, known_to_cldr

LOCALES = available_locales()


def load(path: Path):
    with path.open("rb") as po_file:
        return read_po(po_file)


def po_path(locale: str, root: Path = LOCALES_DIR) -> Path:
    return root / locale / "LC_MESSAGES" / "messages.po"


def fields(text: str) -> Counter[str]:
    """`{name}` fields, found independently of the code under test."""
    return Counter(re.findall(r"(?<!\{)\{([A-Za-z_]\w*)\}", text))


def forms(value: str | tuple[str, ...]) -> tuple[str, ...]:
    return value if isinstance(value, tuple) else (value,)


def test_the_languages_of_this_release_ship() -> None:
    assert {"en", "es", "ar"} <= set(LOCALES)


def test_committed_template_equals_a_fresh_extract(tmp_path: Path) -> None:
    fresh_path = tmp_path / "fresh.pot"
    extract(fresh_path)
    committed, fresh = load(TEMPLATE), load(fresh_path)

    def describe(catalog) -> list:  # noqa: ANN001
        return sorted((repr(m.id), tuple(m.auto_comments), tuple(sorted(m.flags))) for m in catalog if m.id)

    assert describe(committed) == describe(fresh)
    assert len(describe(fresh)) > 30


@pytest.mark.parametrize("locale", LOCALES)
def test_catalog_has_every_message_translated_and_nothing_fuzzy(locale: str) -> None:
    template, catalog = load(TEMPLATE), load(po_path(locale))
    assert not catalog.fuzzy
    expected = {m.id for m in template if m.id}
    present = {m.id for m in catalog if m.id}
    assert present == expected, f"missing {expected - present}, obsolete {present - expected}"
    for message in catalog:
        if message.id:
            assert not message.fuzzy, message.id
            assert all(forms(message.string)), f"untranslated: {message.id!r}"


@pytest.mark.parametrize("locale", LOCALES)
def test_placeholders_match_the_msgid(locale: str) -> None:
    for message in load(po_path(locale)):
        if not message.id:
            continue
        expected = fields(forms(message.id)[-1])
        for translated in forms(message.string):
            assert fields(translated) == expected, f"{locale}: {message.id!r} → {translated!r}"


@pytest.mark.parametrize("locale", LOCALES)
def test_babel_checks_are_clean(locale: str) -> None:
    assert [(m.id, errors) for m, errors in load(po_path(locale)).check()] == []


# Counts in this bot are small whole numbers (days, minutes, attachments), so a catalog must pick
# the same plural category as CLDR for every whole number up to 1,000; CLDR's forms for fractions
# and millions (Spanish, French and Portuguese "many") are left out on purpose.
COUNTS = range(1001)


def integer_classes(choose: Callable[[int], object]) -> set[frozenset[int]]:
    """The counts grouped by the form (or category) `choose` picks: the partition it makes."""
    groups: dict[object, set[int]] = {}
    for n in COUNTS:
        groups.setdefault(choose(n), set()).add(n)
    return {frozenset(group) for group in groups.values()}


def plural_rule_problem(locale: str, num_plurals: int, plural_expr: str) -> str | None:
    """Why a gettext rule disagrees with CLDR's integer rule for `locale`, or None."""
    ours, cldr = integer_classes(c2py(plural_expr)), integer_classes(Locale.parse(locale).plural_form)
    if ours != cldr:
        differ = next(n for n in COUNTS if next(g for g in ours if n in g) != next(g for g in cldr if n in g))
        return f"{locale}: {plural_expr} groups {differ} unlike CLDR's {Locale.parse(locale).plural_form(differ)!r}"
    if num_plurals != len(cldr):
        return f"{locale}: nplurals={num_plurals}, but CLDR has {len(cldr)} categories for whole numbers"
    return None


@pytest.mark.parametrize("locale", LOCALES)
def test_plural_forms_follow_cldr_for_whole_numbers(locale: str) -> None:
    catalog = load(po_path(locale))
    if known_to_cldr(locale):
        assert plural_rule_problem(locale, catalog.num_plurals, catalog.plural_expr) is None
    else:  # no CLDR data (Hmong, Karen): the catalog declares its rule and its language's name
        declared = re.search(r'^"Plural-Forms: nplurals=(\d+);', po_path(locale).read_text(encoding="utf-8"), re.M)
        assert declared and int(declared.group(1)) == catalog.num_plurals and catalog_language_name(catalog)
    plurals = [m for m in catalog if m.pluralizable]
    assert plurals, "the catalog should exercise at least one plural message"
    for message in plurals:
        assert len(message.string) == catalog.num_plurals, message.id


@pytest.mark.parametrize(
    ("locale", "num_plurals", "plural_expr"),
    [
        ("es", 2, "(n != 0)"),  # 0 and 1 swapped
        ("fr", 2, "(n != 1)"),  # French says "0 jour", not "0 jours"
        ("ru", 2, "(n != 1)"),  # Russian has three forms for whole numbers
        ("es", 3, "(n == 1 ? 0 : n != 0 && n % 1000000 == 0 ? 1 : 2)"),  # a form no count up to 1,000 reaches
        ("zh_Hans", 2, "(n != 1)"),  # Chinese has one form
    ],
)
def test_a_wrong_plural_rule_is_caught(locale: str, num_plurals: int, plural_expr: str) -> None:
    assert plural_rule_problem(locale, num_plurals, plural_expr)


@pytest.fixture(scope="module")
def shipped() -> I18n:
    return I18n("en")


@pytest.mark.parametrize("locale", LOCALES)
def test_the_bot_counts_by_the_catalogs_own_rule_not_by_babels(locale: str, shipped: I18n) -> None:
    """What a reader sees depends on the committed catalog alone, whatever rule a babel upgrade brings."""
    catalog = load(po_path(locale))
    declared, served = c2py(catalog.plural_expr), shipped.get(locale).translations
    assert [served.plural(n) for n in [*COUNTS, 1_000_000]] == [declared(n) for n in [*COUNTS, 1_000_000]]
    message = next(m for m in catalog if m.pluralizable)
    for n in (0, 1, 2, 5, 21, 1_000_000):
        assert served.ngettext(*message.id, n) == message.string[declared(n)]


def _copy_locales(tmp_path: Path) -> Path:
    root = tmp_path / "locales"
    shutil.copytree(LOCALES_DIR, root, ignore=shutil.ignore_patterns("*.mo"))
    return root


def test_a_catalog_with_a_broken_placeholder_stops_the_start(tmp_path: Path) -> None:
    root = _copy_locales(tmp_path)
    path = po_path("es", root)
    path.write_text(path.read_text().replace("llame al {number}", "llame al {numero}"))
    with pytest.raises(CatalogError, match="placeholders"):
        I18n("en", root)


def test_a_malformed_catalog_stops_the_start(tmp_path: Path) -> None:
    root = _copy_locales(tmp_path)
    po_path("ar", root).write_text('msgid "Help"\nthis is not a catalog line\n')
    with pytest.raises(CatalogError, match="cannot be read"):
        I18n("en", root)


def test_adding_a_catalog_adds_a_language(tmp_path: Path) -> None:
    root = _copy_locales(tmp_path)
    new = po_path("de", root)  # a language the project does not ship
    new.parent.mkdir(parents=True)
    new.write_text(po_path("en", root).read_text().replace("Language: en", "Language: de"))
    i18n = I18n("en", root)
    assert "de" in i18n.locales
    assert ("de", "Deutsch") in i18n.picker_entries()
    assert i18n.negotiate("de-at") == "de"


# --- review status, scripts, glossary -------------------------------------------------------

README = LOCALES_DIR.parent / "README.md"
GLOSSARY = LOCALES_DIR / "glossary.csv"
TERMS = ("report", "anonymous", "officer", "police", "privacy", "emergency", "receipt code", "status",
         "attachment", "location", "cancel")  # fmt: skip
# Buttons whose label is the glossary term itself, so the term must appear in them.
TERM_BUTTONS = {"cancel": "Cancel", "privacy": "Privacy"}

SCRIPTS = {
    "Arabic": ("ar", "fa", "fa_AF", "ps", "ur", "ckb"),
    "Han": ("zh_Hans", "zh_Hant"),
    "Ethiopic": ("am", "ti"),
    "Myanmar": ("my", "kar"),  # S'gaw Karen is written in the Myanmar block
    "Khmer": ("km",),
    "Devanagari": ("hi", "ne"),
    "Bengali": ("bn",),
    "Gurmukhi": ("pa",),
    "Hangul": ("ko",),
    "Cyrillic": ("ru", "uk"),
}
LETTERS = {
    "Arabic": "\u0600-\u06ff\u0750-\u077f\u08a0-\u08ff\ufb50-\ufdff\ufe70-\ufeff",
    "Han": "\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff",
    "Ethiopic": "\u1200-\u139f\u2d80-\u2ddf\uab00-\uab2f",
    "Myanmar": "\u1000-\u109f\ua9e0-\ua9ff\uaa60-\uaa7f",
    "Khmer": "\u1780-\u17ff\u19e0-\u19ff",
    "Devanagari": "\u0900-\u097f\ua8e0-\ua8ff",
    "Bengali": "\u0980-\u09ff",
    "Gurmukhi": "\u0a00-\u0a7f",
    "Hangul": "\u1100-\u11ff\u3130-\u318f\uac00-\ud7af",
    "Cyrillic": "\u0400-\u04ff",
    "Latin": "A-Za-z\u00c0-\u024f\u1e00-\u1eff",
}
# Not words of the language: placeholders, commands, URLs, the sample receipt code, names.
NOT_WORDS = re.compile(r"\{\w+\}|/\w+|https?://\S+|[0-9A-Z]{4}(?:-[0-9A-Z]{4}){3}|\b(?:Telegram|GPS|MB|km|MiniSBD)\b")


def script_of(locale: str) -> str:
    return next((script for script, locales in SCRIPTS.items() if locale in locales), "Latin")


def review_status(locale: str) -> str | None:
    found = re.search(r"^# Review-Status: (\w+)$", load(po_path(locale)).header_comment, re.M)
    return found.group(1) if found else None


@pytest.mark.parametrize("locale", LOCALES)
def test_catalog_header_says_how_it_was_made_and_whether_it_was_reviewed(locale: str) -> None:
    header = load(po_path(locale)).header_comment
    assert re.search(r"^# Produced-By: \S.+$", header, re.M)
    assert review_status(locale) in ({"source"} if locale == "en" else {"draft", "reviewed"})


def test_the_readme_lists_every_language_with_its_review_status() -> None:
    listed = dict(re.findall(r"^\| `(\w+)` \| [^|]+ \| (source|draft|reviewed) \|$", README.read_text(), re.M))
    assert listed == {locale: review_status(locale) for locale in LOCALES}


@pytest.mark.parametrize("locale", [locale for locale in LOCALES if locale != "en"])
def test_translations_are_written_in_the_locales_script(locale: str) -> None:
    """English left behind, or the wrong script, shows up as letters outside the locale's script."""
    script = script_of(locale)
    in_script = re.compile(f"[{LETTERS[script]}]")
    stray = []
    for message in load(po_path(locale)):
        for translated in forms(message.string) if message.id else ():
            letters = [c for c in NOT_WORDS.sub("", translated) if c.isalpha()]
            if len(letters) >= 3 and sum(bool(in_script.match(c)) for c in letters) / len(letters) < 0.8:
                stray.append(translated)
    assert stray == []
    if script == "Latin":  # the script cannot tell English from French: count untouched entries
        catalog = load(po_path(locale))
        untouched = [m.id for m in catalog if m.id and not isinstance(m.id, tuple) and m.string == m.id]
        assert len(untouched) <= 5, untouched


def test_the_glossary_has_every_term_in_every_language() -> None:
    with GLOSSARY.open(encoding="utf-8", newline="") as table:
        rows = list(csv.DictReader(table))
    assert [row["term"] for row in rows] == list(TERMS)
    for locale in LOCALES:
        assert all(row.get(locale, "").strip() for row in rows), f"{locale} is missing from {GLOSSARY.name}"


@pytest.mark.parametrize("locale", LOCALES)
def test_buttons_use_the_glossary_terms(locale: str) -> None:
    with GLOSSARY.open(encoding="utf-8", newline="") as table:
        terms = {row["term"]: row[locale] for row in csv.DictReader(table)}
    catalog = load(po_path(locale))
    for term, button in TERM_BUTTONS.items():
        assert terms[term].casefold() in catalog[button].string.casefold(), (term, catalog[button].string)


def test_every_marked_string_in_the_code_is_in_the_template() -> None:
    """Read the code's syntax tree, not babel's extractor: a string marked for translation but
    hidden from extraction (inside an f-string, or nested in another call) would stay English."""
    import ast

    marked = set()
    for package in ("bot", "handlers"):
        for path in (LOCALES_DIR.parent / package).rglob("*.py"):
            for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
                if isinstance(node, ast.Call) and getattr(node.func, "id", None) in {"_", "N_", "ngettext"}:
                    literals = [a.value for a in node.args if isinstance(a, ast.Constant) and isinstance(a.value, str)]
                    marked.update(literals[:1])
    template_ids = {m.id if isinstance(m.id, str) else m.id[0] for m in load(TEMPLATE) if m.id}
    assert marked and marked - template_ids == set()
