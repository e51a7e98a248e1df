"""The agency profile's free text in the reader's language: the agency's own words where it wrote
them, else an offline machine translation labelled as one, else the words in the profile's language.

Machine translations are made once, in the background at start-up, and kept in memory: the
profile is small, and a restart after editing it translates it again.
"""

from __future__ import annotations

import asyncio
import logging

from bot.i18n import _
from bot.outreach.profile import AgencyProfile, Localized
from bot.translation.translator import TranslationUnavailable, Translator, language_code

log = logging.getLogger(__name__)


def emergency_lines(profile: AgencyProfile) -> str:
    lines = [
        # NOTE: {number} is the local emergency phone number, e.g. 911 or 112.
        _("In an emergency call {number}.", number=profile.emergency_number),
    ]
    if profile.non_emergency_number:
        # NOTE: {number} is the police's phone number for what is not an emergency.
        lines.append(_("When it is not an emergency, you can call {number}.", number=profile.non_emergency_number))
    return " ".join(lines)


class ProfileTexts:
    def __init__(self, profile: AgencyProfile) -> None:
        self._profile = profile
        self._machine: dict[tuple[str, str], str] = {}  # (original, language) → translation
        self.translated = asyncio.Event()  # set once translate_missing has been through the profile

    def show(self, text: Localized, locale: str) -> str:
        """What a reader in `locale` sees of `text`, in the active locale's words for the label."""
        if (own := text.written_in(locale)) is not None:
            return own
        if text.translatable and (machine := self._machine.get((text.original, language_code(locale)))):
            # NOTE: {text} is a machine translation of what the police wrote, e.g. a meeting's title.
            return _("{text} (machine translation)", text=machine)
        return text.original

    async def translate_missing(self, translator: Translator, locales: list[str]) -> None:
        """Translate every translatable text into each language it lacks, where a model exists."""
        languages = sorted({language_code(locale) for locale in locales})
        done = 0
        for text in self._profile.localized():
            if not text.translatable:
                continue
            source = language_code(text.default)
            for language in languages:
                if language == source or text.written_in(language) is not None:
                    continue
                try:
                    translation = await translator.translate(text.original, source, language, check=False)
                except TranslationUnavailable:
                    continue
                self._machine[(text.original, language)] = translation.text
                done += 1
        self.translated.set()
        log.info("profile_translated texts=%d", done)
