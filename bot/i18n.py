"""gettext catalogs, locale negotiation and the locale of the update being handled.

Catalogs are compiled from `locales/<locale>/LC_MESSAGES/messages.po` in memory at start-up, so a
stale or missing `.mo` can never be served, and a catalog that does not compile stops the bot.
The active locale lives in a ContextVar that the update processor sets for exactly one update.
"""

from __future__ import annotations

import re
import string
from collections import Counter
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from gettext import c2py
from importlib.resources import files
from io import BytesIO
from pathlib import Path

from babel import Locale, UnknownLocaleError
from babel.messages.catalog import Catalog
from babel.messages.mofile import write_mo
from babel.messages.pofile import PoFileError, read_po
from babel.numbers import format_decimal
from babel.support import NullTranslations, Translations

# The catalogs are package data of `locales`, found the same way in a checkout and in a wheel.
LOCALES_DIR = Path(str(files("locales")))
DOMAIN = "messages"

# Unicode isolates keep a left-to-right value (a code, a number, a URL) in place inside
# right-to-left text, and stop a right-to-left value from reordering the sentence around it.
FSI, PDI = "\u2068", "\u2069"


class CatalogError(Exception):
    """A shipped catalog cannot be used; the bot must not start with it."""


@dataclass(frozen=True)
class ActiveLocale:
    code: str
    translations: NullTranslations
    right_to_left: bool = False
    formats: str = "en"  # the CLDR locale that formats numbers and dates for this one


# The default is frozen and never mutated: outside an update, the source strings (English).
_active: ContextVar[ActiveLocale] = ContextVar("active_locale", default=ActiveLocale("en", NullTranslations()))  # noqa: B039


def N_(message: str) -> str:
    """Mark a string for extraction; it is translated later, where it is shown."""
    return message


def _(message: str, /, **values: object) -> str:
    """Translate `message` into the active locale and fill its `{named}` placeholders."""
    active = _active.get()
    return _fill(active, active.translations.gettext(message), values)


def ngettext(singular: str, plural: str, n: int, /, **values: object) -> str:
    """Translate a message with a count; `{n}` is the count formatted for the locale."""
    active = _active.get()
    return _fill(active, active.translations.ngettext(singular, plural, n), {"n": n, **values})


def current_locale() -> str:
    return _active.get().code


def formatting_locale() -> str:
    """The locale for babel's number and date formats: the active one, unless CLDR lacks it."""
    return _active.get().formats


@contextmanager
def active_locale(locale: ActiveLocale) -> Iterator[None]:
    """Make `locale` the one `_` uses until the block ends."""
    token = _active.set(locale)
    try:
        yield
    finally:
        _active.reset(token)


def _fill(active: ActiveLocale, text: str, values: Mapping[str, object]) -> str:
    formatted = {
        name: format_decimal(value, locale=active.formats) if isinstance(value, int) else str(value)
        for name, value in values.items()
    }
    if active.right_to_left:
        formatted = {name: f"{FSI}{value}{PDI}" for name, value in formatted.items()}
    text = text.format(**formatted) if values else text
    return _isolate_left_to_right_runs(text) if active.right_to_left else text


# An isolated span (left alone), or a run of left-to-right text written into a right-to-left
# sentence: a /command, the sample receipt code, "Telegram", "1 km".
_SPAN_OR_RUN = re.compile("\u2068[^\u2069]*\u2069|[A-Za-z0-9#/@][A-Za-z0-9#/@._:-]*[A-Za-z0-9]|[A-Za-z0-9]")


def _isolate_left_to_right_runs(text: str) -> str:
    return _SPAN_OR_RUN.sub(lambda m: m.group() if m.group().startswith(FSI) else f"{FSI}{m.group()}{PDI}", text)


def placeholders(text: str) -> Counter[str]:
    """The `{name}` fields of a format string, counted."""
    return Counter(parsed[1] for parsed in string.Formatter().parse(text) if parsed[1] is not None)


def available_locales(locales_dir: Path = LOCALES_DIR) -> tuple[str, ...]:
    """Every locale with a catalog; adding a language is adding its `.po` file."""
    return tuple(sorted(p.parent.parent.name for p in locales_dir.glob(f"*/LC_MESSAGES/{DOMAIN}.po")))


def catalog_problems(catalog: Catalog) -> list[str]:
    """What makes a catalog unsafe to serve: babel's own checks plus `{name}` placeholders."""
    problems = [
        f"{message.id!r}: {error}" for message, errors in catalog.check() for error in errors
    ]
    for message in catalog:
        if not message.id or not message.string:
            continue
        ids = message.id if isinstance(message.id, tuple) else (message.id,)
        strings = message.string if isinstance(message.string, tuple) else (message.string,)
        expected = placeholders(ids[-1])
        problems.extend(
            f"{ids[0]!r}: placeholders {sorted(placeholders(s))} differ from {sorted(expected)}"
            for s in strings
            if s and placeholders(s) != expected
        )
    return problems


def read_catalog(po_path: Path) -> Catalog:
    """Read one `.po`, refusing it if it is malformed or unsafe to serve."""
    try:
        with po_path.open("rb") as po_file:
            catalog = read_po(po_file, abort_invalid=True)
    except (OSError, PoFileError, ValueError) as exc:
        raise CatalogError(f"{po_path}: cannot be read: {exc}") from None
    if problems := catalog_problems(catalog):
        raise CatalogError(f"{po_path}: {problems[0]}" + (f" (+{len(problems) - 1} more)" if len(problems) > 1 else ""))
    return catalog


def compile_catalog(catalog: Catalog) -> NullTranslations:
    """Compile a catalog in memory; no `.mo` file can go stale."""
    mo = BytesIO()
    write_mo(mo, catalog, use_fuzzy=False)
    mo.seek(0)
    translations = Translations(fp=mo, domain=DOMAIN)
    # The catalog's own plural rule: babel leaves it out of the .mo for languages CLDR lacks.
    translations.plural = c2py(catalog.plural_expr)
    return translations


def known_to_cldr(locale: str) -> bool:
    try:
        Locale.parse(locale)
    except (UnknownLocaleError, ValueError):
        return False
    return True


def catalog_language_name(catalog: Catalog) -> str | None:
    """The name a catalog gives its language, for languages CLDR does not know (Hmong, Karen)."""
    found = re.search(r"^# Language-Name: (.+)$", catalog.header_comment or "", re.M)
    return found.group(1).strip() if found else None


def native_name(locale: str) -> str:
    """A language's name in itself (`Español`, `العربية`), from CLDR where it knows the locale."""
    try:
        parsed = Locale.parse(locale)
        # CLDR names some locales in their own right (fa_AF is Dari, zh_Hans 简体中文).
        name = parsed.languages.get(locale) or parsed.get_display_name(locale) or locale
    except (UnknownLocaleError, ValueError):
        return locale
    return name[:1].upper() + name[1:]


def _is_right_to_left(locale: str) -> bool:
    try:
        return Locale.parse(locale).character_order == "right-to-left"
    except (UnknownLocaleError, ValueError):
        return False


# Telegram's language_code values whose shipped locale the general rule would not find.
ALIASES = {
    "tl": "fil",  # Tagalog: the Filipino catalog
    "prs": "fa_AF",  # Dari
    "zh": "zh_Hans",
    "zh-cn": "zh_Hans",
    "zh-sg": "zh_Hans",
    "zh-tw": "zh_Hant",
    "zh-hk": "zh_Hant",
    "zh-mo": "zh_Hant",
}


def telegram_language_code(locale: str) -> str | None:
    """The two-letter code Telegram keys command menus by, if the locale has one of its own."""
    if len(locale) == 2:
        return locale
    return next((code for code, target in ALIASES.items() if target == locale and len(code) == 2), None)


def candidates(language_code: str) -> list[str]:
    """`pt-br` → pt_BR, pt; `zh-hans-cn` → zh_Hans_CN, zh_Hans, zh_CN, zh. Most specific first."""
    parts = [p for p in language_code.replace("-", "_").split("_") if p]
    if not parts or not parts[0].isalpha():
        return []
    language, script, territory = parts[0].lower(), None, None
    for part in parts[1:]:
        if len(part) == 4 and part.isalpha():
            script = part.title()
        elif len(part) == 2 and part.isalpha() or len(part) == 3 and part.isdigit():
            territory = part.upper()
    ordered = [
        "_".join(p for p in (language, script, territory) if p),
        "_".join(p for p in (language, script) if p),
        "_".join(p for p in (language, territory) if p),
        language,
    ]
    return list(dict.fromkeys(ordered))


class I18n:
    """The shipped catalogs, compiled once at start-up."""

    def __init__(self, default_locale: str, locales_dir: Path = LOCALES_DIR) -> None:
        self.locales = available_locales(locales_dir)
        if default_locale not in self.locales:
            raise CatalogError(f"{default_locale!r} has no catalog in {locales_dir}")
        self.default_locale = default_locale
        self._active, names = {}, {}
        for locale in self.locales:
            catalog = read_catalog(locales_dir / locale / "LC_MESSAGES" / f"{DOMAIN}.po")
            cldr = known_to_cldr(locale)
            self._active[locale] = ActiveLocale(
                locale, compile_catalog(catalog), _is_right_to_left(locale), locale if cldr else default_locale
            )
            names[locale] = native_name(locale) if cldr else catalog_language_name(catalog) or locale
        self._picker_entries = sorted(names.items(), key=lambda entry: entry[1].casefold())

    def negotiate(self, language_code: str | None) -> str:
        """Telegram's language_code, narrowed to a shipped locale, or the default."""
        code = (language_code or "").replace("_", "-").lower()
        if code in ALIASES and ALIASES[code] in self._active:
            return ALIASES[code]
        for candidate in candidates(code):
            if candidate in self._active:
                return candidate
        return self.default_locale

    def get(self, locale: str) -> ActiveLocale:
        return self._active.get(locale) or self._active[self.default_locale]

    def picker_entries(self) -> list[tuple[str, str]]:
        """(locale, native name) for every shipped language, in a stable order a reader can scan."""
        return list(self._picker_entries)
