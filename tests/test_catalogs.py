"""Every shipped catalog is complete, safe to format, and matches the code's strings."""

from __future__ import annotations

import re
import shutil
from collections import Counter
from pathlib import Path

import pytest
from babel.messages.plurals import get_plural
from babel.messages.pofile import read_po

from bot.catalogs import TEMPLATE, extract
from bot.i18n import LOCALES_DIR, CatalogError, I18n, available_locales

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


@pytest.mark.parametrize("locale", LOCALES)
def test_plural_forms_follow_the_locale(locale: str) -> None:
    catalog, rule = load(po_path(locale)), get_plural(locale)
    assert (catalog.num_plurals, catalog.plural_expr) == (rule.num_plurals, rule.plural_expr)
    plurals = [m for m in catalog if m.pluralizable]
    assert plurals, "the catalog should exercise at least one plural message"
    for message in plurals:
        assert len(message.string) == rule.num_plurals, message.id


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
    new = po_path("pt", root)
    new.parent.mkdir(parents=True)
    new.write_text(po_path("en", root).read_text().replace("Language: en", "Language: pt"))
    i18n = I18n("en", root)
    assert "pt" in i18n.locales
    assert ("pt", "Português") in i18n.picker_entries()
    assert i18n.negotiate("pt-br") == "pt"
