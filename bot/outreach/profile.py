"""The agency profile: who the agency is, how to reach it and its oversight, what it promises about
immigration status, its report categories, resources and officer time zone, in one TOML file
(AGENCY_PROFILE) an admin edits. `outreach-bot init` writes an example; `check-config` reports
each problem as "file: field: what is wrong".

Free text is a string in the profile's `language`, or a table with a text per locale. Without
a profile, or for what it leaves out, the settings (AGENCY_NAME, EMERGENCY_NUMBER, ...) apply.
"""

from __future__ import annotations

import difflib
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date, datetime, time
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from bot.categories import CATEGORY_KEYS
from bot.config import Settings
from bot.i18n import available_locales

EXAMPLE = Path(__file__).with_name("agency.example.toml")
MAX_TEXT = 1000  # characters in one free-text entry: each must fit a Telegram message with the rest


class ProfileError(Exception):
    """Every problem found, each a line an admin can act on."""

    def __init__(self, problems: list[str]) -> None:
        super().__init__("\n".join(problems))
        self.problems = problems


@dataclass(frozen=True)
class Localized:
    """One text, written per locale by the agency. `translatable` texts may be shown machine-
    translated where a locale is missing; names, addresses and contacts never are."""

    texts: Mapping[str, str]
    default: str  # the locale of the text shown where no other fits
    translatable: bool = True

    def __bool__(self) -> bool:
        return bool(self.texts)

    def written_in(self, locale: str) -> str | None:
        """The agency's own text for `locale` (or its language, "es" for "es_MX"), if any."""
        for candidate in (locale, locale.split("_")[0]):
            if candidate in self.texts:
                return self.texts[candidate]
        return None

    @property
    def original(self) -> str:
        return self.texts.get(self.default) or next(iter(self.texts.values()), "")


@dataclass(frozen=True)
class Liaison:
    name: str
    languages: tuple[str, ...]  # locales they speak
    contact: str


@dataclass(frozen=True)
class Meeting:
    title: Localized
    starts: datetime  # aware
    place: Localized


@dataclass(frozen=True)
class Link:
    title: Localized
    url: str


@dataclass(frozen=True)
class Oversight:
    name: Localized
    contact: str


@dataclass(frozen=True)
class AgencyProfile:
    language: str
    name: Localized
    emergency_number: str
    non_emergency_number: str = ""
    privacy_contact: Localized = field(default_factory=lambda: Localized({}, "en", translatable=False))
    oversight: Oversight | None = None
    immigration_statement: Localized | None = None  # None: the bot's own, translated, statement
    categories: tuple[str, ...] = CATEGORY_KEYS
    urgent_categories: frozenset[str] = frozenset()
    time_zone: str = "UTC"
    liaisons: tuple[Liaison, ...] = ()
    meetings: tuple[Meeting, ...] = ()
    links: tuple[Link, ...] = ()

    @property
    def zone(self) -> ZoneInfo:
        return ZoneInfo(self.time_zone)

    def localized(self) -> list[Localized]:
        """Every free text, for machine translation at start-up."""
        texts = [self.name, self.privacy_contact, *(t for t in [self.immigration_statement] if t)]
        if self.oversight:
            texts.append(self.oversight.name)
        texts += [m.title for m in self.meetings] + [m.place for m in self.meetings] + [k.title for k in self.links]
        return [text for text in texts if text]

    def applied_to(self, settings: Settings) -> Settings:
        """The settings the rest of the bot reads (categories, time zone, ...), as the profile says."""
        return settings.model_copy(update={
            "report_categories": ",".join(self.categories),
            "urgent_categories": ",".join(sorted(self.urgent_categories)),
            "time_zone": self.time_zone,
            "emergency_number": self.emergency_number,
        })  # fmt: skip


def profile_from_settings(settings: Settings) -> AgencyProfile:
    """What the settings alone say, for a bot without AGENCY_PROFILE."""
    language = settings.default_locale
    plain = {language: settings.agency_name} if settings.agency_name else {}
    contact = {language: settings.agency_contact} if settings.agency_contact else {}
    return AgencyProfile(
        language=language,
        name=Localized(plain, language, translatable=False),
        emergency_number=settings.emergency_number,
        privacy_contact=Localized(contact, language, translatable=False),
        categories=settings.categories,
        urgent_categories=settings.urgent,
        time_zone=settings.time_zone,
    )


def load_profile(settings: Settings, path: Path | None = None) -> AgencyProfile:
    """The profile at `path` (AGENCY_PROFILE by default) over what the settings say; raises
    ProfileError with every problem at once."""
    base = profile_from_settings(settings)
    path = path or (Path(settings.agency_profile) if settings.agency_profile else None)
    if path is None:
        return base
    try:
        raw = tomllib.loads(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise ProfileError([f"{path}: cannot be read ({exc.strerror or type(exc).__name__})"]) from None
    except UnicodeDecodeError:
        raise ProfileError([f"{path}: is not UTF-8 text"]) from None
    except tomllib.TOMLDecodeError as exc:
        raise ProfileError([f"{path}: is not valid TOML: {exc}"]) from None
    return _Reader(path, raw, base).profile()


_FIELDS = ("language", "name", "emergency_number", "non_emergency_number", "privacy_contact", "oversight",
           "immigration_statement", "categories", "urgent_categories", "time_zone", "liaisons", "meetings", "links")  # fmt: skip
_SECTION_FIELDS = {
    "oversight": ("name", "contact"),
    "liaisons": ("name", "languages", "contact"),
    "meetings": ("title", "starts", "place"),
    "links": ("title", "url"),
}


class _Reader:
    """Reads the parsed TOML into an AgencyProfile, collecting problems instead of stopping at one."""

    def __init__(self, path: Path, raw: dict[str, Any], base: AgencyProfile) -> None:
        self._path, self._raw, self._base = path, raw, base
        self._problems: list[str] = []
        self._locales = set(available_locales())
        self._language = base.language

    def profile(self) -> AgencyProfile:
        raw, base = self._raw, self._base
        self._unknown_keys(raw, _FIELDS, "")
        if "language" in raw:
            self._language = self._locale(raw["language"], "language") or base.language
        time_zone = self._time_zone(raw["time_zone"]) if "time_zone" in raw else base.time_zone
        categories = tuple(self._categories(raw["categories"], "categories")) if "categories" in raw else base.categories
        urgent = self._categories(raw["urgent_categories"], "urgent_categories") if "urgent_categories" in raw else None
        urgent = frozenset(urgent if urgent is not None else base.urgent_categories & set(categories))
        for key in sorted(urgent - set(categories)):
            self._problem("urgent_categories", f"{key} is not one of categories")
        profile = AgencyProfile(
            language=self._language,
            name=self._text(raw, "name", translatable=False) if "name" in raw else self._relabel(base.name),
            emergency_number=self._phone(raw, "emergency_number", base.emergency_number, required=True),
            non_emergency_number=self._phone(raw, "non_emergency_number", base.non_emergency_number),
            privacy_contact=(self._text(raw, "privacy_contact", translatable=False) if "privacy_contact" in raw
                             else self._relabel(base.privacy_contact)),  # fmt: skip
            oversight=self._oversight(raw.get("oversight")),
            immigration_statement=self._text(raw, "immigration_statement") if "immigration_statement" in raw else None,
            categories=categories,
            urgent_categories=urgent,
            time_zone=time_zone,
            liaisons=tuple(self._each(raw, "liaisons", self._liaison)),
            meetings=tuple(self._each(raw, "meetings", lambda entry, where: self._meeting(entry, where, time_zone))),
            links=tuple(self._each(raw, "links", self._link)),
        )
        if self._problems:
            raise ProfileError(self._problems)
        return profile

    # --- problems ---------------------------------------------------------------------------

    def _problem(self, where: str, what: str) -> None:
        self._problems.append(f"{self._path}: {where}: {what}")

    def _unknown_keys(self, table: dict[str, Any], known: tuple[str, ...], prefix: str) -> None:
        for key in table:
            if key not in known:
                close = difflib.get_close_matches(key, known, n=1)
                hint = f" (did you mean {close[0]}?)" if close else f"; known: {', '.join(known)}"
                self._problem(f"{prefix}{key}", f"is not a field of the agency profile{hint}")

    # --- values -----------------------------------------------------------------------------

    def _relabel(self, text: Localized) -> Localized:
        """A text from the settings, in the profile's language."""
        return Localized({self._language: text.original}, self._language, text.translatable) if text else text

    def _locale(self, value: object, where: str) -> str | None:
        if isinstance(value, str) and value in self._locales:
            return value
        self._problem(where, f"{value!r} is not a language the bot speaks; use one of locales/: {', '.join(sorted(self._locales))}")
        return None

    def _text(self, table: dict[str, Any], key: str, where: str | None = None, *, translatable: bool = True) -> Localized:
        where, value = where or key, table[key]
        texts: dict[str, str] = {}
        if isinstance(value, str):
            texts[self._language] = value
        elif isinstance(value, dict) and value:
            for locale, text in value.items():
                if self._locale(locale, f"{where}.{locale}") and isinstance(text, str):
                    texts[locale] = text
                elif isinstance(locale, str) and locale in self._locales:
                    self._problem(f"{where}.{locale}", "must be text in quotes")
        else:
            self._problem(where, 'must be text in quotes, or a table of texts per language such as { en = "…", es = "…" }')
        for locale, text in list(texts.items()):
            if not text.strip():
                self._problem(f"{where}.{locale}" if isinstance(value, dict) else where, "is empty")
                del texts[locale]
            elif len(text) > MAX_TEXT:
                self._problem(f"{where}.{locale}" if isinstance(value, dict) else where, f"is longer than {MAX_TEXT} characters")
                del texts[locale]
        default = self._language if self._language in texts else next(iter(texts), self._language)
        return Localized({locale: text.strip() for locale, text in texts.items()}, default, translatable)

    def _phone(self, table: dict[str, Any], key: str, default: str, *, required: bool = False) -> str:
        if key not in table:
            return default
        value = table[key]
        if not isinstance(value, str) or not value.strip():
            self._problem(key, "must be a phone number in quotes, e.g. \"911\"" if required else "must be text in quotes")
            return default
        if not any(character.isdigit() for character in value):
            self._problem(key, f"{value!r} has no digits; give the number people dial")
        return value.strip()

    def _time_zone(self, value: object) -> str:
        try:
            if isinstance(value, str):
                ZoneInfo(value)
                return value
        except (ZoneInfoNotFoundError, ValueError):
            pass
        self._problem("time_zone", f"{value!r} is not a time zone name such as America/Chicago")
        return self._base.time_zone

    def _categories(self, value: object, where: str) -> list[str]:
        if not isinstance(value, list) or not all(isinstance(item, str) for item in value):
            self._problem(where, f'must be a list such as ["crime", "threat"]; known: {", ".join(CATEGORY_KEYS)}')
            return []
        unknown = [item for item in value if item not in CATEGORY_KEYS]
        if unknown:
            self._problem(where, f"unknown {', '.join(unknown)}; choose from {', '.join(CATEGORY_KEYS)}")
        if where == "categories" and not value:
            self._problem(where, "is empty; people need at least one category to report")
        return [item for item in dict.fromkeys(value) if item in CATEGORY_KEYS]

    def _oversight(self, value: object) -> Oversight | None:
        if value is None:
            return None
        if not isinstance(value, dict):
            self._problem("oversight", 'must be a table: [oversight] with name = "…" and contact = "…"')
            return None
        if not self._complete(value, "oversight", "oversight"):
            return None
        contact = value["contact"]
        if not isinstance(contact, str) or not contact.strip():
            self._problem("oversight.contact", "must be text in quotes: a phone number, an address or a web page")
            return None
        return Oversight(self._text(value, "name", "oversight.name", translatable=False), contact.strip())

    def _each(self, raw: dict[str, Any], section: str, read) -> list:  # noqa: ANN001
        entries = raw.get(section, [])
        if not isinstance(entries, list) or not all(isinstance(entry, dict) for entry in entries):
            self._problem(section, f"must be a list of tables: [[{section}]] before each")
            return []
        found = []
        for number, entry in enumerate(entries, 1):
            where = f"{section}[{number}]"
            if self._complete(entry, section, where) and (item := read(entry, where)) is not None:
                found.append(item)
        return found

    def _complete(self, table: dict[str, Any], section: str, where: str) -> bool:
        """Whether a table of `section` has every field; its unknown and missing ones are problems."""
        self._unknown_keys(table, _SECTION_FIELDS[section], f"{where}.")
        missing = [key for key in _SECTION_FIELDS[section] if key not in table]
        for key in missing:
            self._problem(f"{where}.{key}", "is missing")
        return not missing

    def _liaison(self, entry: dict[str, Any], where: str) -> Liaison | None:
        name, contact, languages = entry["name"], entry["contact"], entry["languages"]
        ok = True
        for key, value in (("name", name), ("contact", contact)):
            if not isinstance(value, str) or not value.strip():
                self._problem(f"{where}.{key}", "must be text in quotes")
                ok = False
        if not isinstance(languages, list) or not languages:
            self._problem(f"{where}.languages", 'must be a list of languages such as ["es", "en"]')
            return None
        known = [self._locale(language, f"{where}.languages") for language in languages]
        if not ok or None in known:
            return None
        return Liaison(name.strip(), tuple(known), contact.strip())

    def _meeting(self, entry: dict[str, Any], where: str, time_zone: str) -> Meeting | None:
        starts = entry["starts"]
        if isinstance(starts, datetime):
            if starts.tzinfo is None:  # local time, in the profile's time zone
                starts = starts.replace(tzinfo=ZoneInfo(time_zone))
        else:
            kind = "a date only" if isinstance(starts, date) else "a time only" if isinstance(starts, time) else "not a date and time"
            self._problem(f"{where}.starts", f"is {kind}; write a date and time without quotes, e.g. 2027-01-14T18:30:00")
            return None
        return Meeting(self._text(entry, "title", f"{where}.title"), starts,
                       self._text(entry, "place", f"{where}.place", translatable=False))  # fmt: skip

    def _link(self, entry: dict[str, Any], where: str) -> Link | None:
        url = entry["url"]
        parts = urlsplit(url) if isinstance(url, str) else None
        if parts is None or parts.scheme not in ("https", "http") or not parts.netloc:
            self._problem(f"{where}.url", f"{url!r} is not a web address such as https://example.org/help")
            return None
        return Link(self._text(entry, "title", f"{where}.title"), url)
