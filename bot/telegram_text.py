"""Telegram's length limits, measured the way Telegram measures them, and splitting to fit them.

Telegram counts UTF-16 code units of the text after its entities are parsed: an emoji outside the
Basic Multilingual Plane counts 2, an HTML tag 0 and `&lt;` 1. Text is split as plain text, before
it is escaped and formatted, so that no cut falls inside a tag or an escaped character.
"""

from __future__ import annotations

TEXT_LIMIT = 4096
CAPTION_LIMIT = 1024

_SEPARATORS = ("\n\n", ". ", "\n", " ")


def utf16_len(text: str) -> int:
    # surrogatepass: a lone surrogate (from a broken client) still counts as the one unit it is.
    return len(text.encode("utf-16-le", "surrogatepass")) // 2


def split_text(text: str, limit: int) -> list[str]:
    """Pieces of at most `limit` UTF-16 code units, cut at a paragraph, a sentence, a line or a
    space, whichever comes last in the second half of the piece; mid-word only if there is none.
    Nothing is dropped but the blank space at the cuts."""
    parts = []
    while utf16_len(text) > limit:
        window = _prefix_within(text, limit)
        cuts = (window.rfind(separator) + len(separator) for separator in _SEPARATORS)
        cut = next((at for at in cuts if at > len(window) // 2), len(window))
        parts.append(text[:cut].rstrip())
        text = text[cut:].lstrip()
    return [*parts, text.rstrip()]


def _prefix_within(text: str, limit: int) -> str:
    """The longest start of `text` that fits `limit` units; a character is never cut in half."""
    units = 0
    for index, character in enumerate(text):
        units += 2 if ord(character) > 0xFFFF else 1
        if units > limit:
            return text[: max(index, 1)]
    return text
