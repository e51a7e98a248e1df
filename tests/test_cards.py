"""Cards and messages for the staff chat: pure functions, read in the officers' language."""

from __future__ import annotations

import html
import re

import pytest

from bot.cards import MESSAGE_PART, dialog_messages, translation_messages
from bot.i18n import FSI, PDI, I18n, active_locale
from bot.telegram_text import TEXT_LIMIT as TELEGRAM_LIMIT
from bot.telegram_text import split_text
from storage.models import Report, ReportMessage


def visible(text: str) -> str:
    """What Telegram counts: the text after HTML parsing."""
    return html.unescape(re.sub(r"<[^>]+>", "", text))


@pytest.mark.parametrize(
    ("text", "limit", "expected"),
    [
        ("One. Two. Three.", 100, ["One. Two. Three."]),
        ("First paragraph here.\n\nSecond one.", 30, ["First paragraph here.", "Second one."]),
        ("Sentence one is here. Sentence two is here.", 30, ["Sentence one is here.", "Sentence two is here."]),
        ("words " * 10, 20, ["words words words", "words words words", "words words words", "words"]),
        ("x" * 25, 10, ["x" * 10, "x" * 10, "x" * 5]),
    ],
)
def test_split_text_cuts_at_the_best_boundary(text: str, limit: int, expected: list[str]) -> None:
    assert split_text(text, limit) == expected


def test_a_long_translation_is_split_into_messages_that_fit() -> None:
    sentences = "".join(f"Sentence number {n} says <something> & more. " for n in range(400))
    report = Report(id=7, translation=sentences, source_language="so", translation_pivot=True, translation_agreement=0.1)
    with active_locale(I18n("en").get("en")):
        messages = translation_messages(report, "en")
    assert len(messages) > 3
    assert messages[0].startswith("<b>Machine translation of report #7 (so → en, offline): (through English")
    assert all(len(visible(m)) <= TELEGRAM_LIMIT for m in messages)
    assert "differs a lot from the original" in messages[-1]
    joined = " ".join(visible(m).split("\n", 1)[1] if i == 0 else visible(m) for i, m in enumerate(messages))
    assert joined.count("says <something> & more.") == 400  # nothing lost, nothing doubled


def test_a_dialog_message_with_its_original_fits_in_one_message_when_it_can() -> None:
    message = ReportMessage(body="Hola", language="es", translation="Hello", translation_note=None)
    with active_locale(I18n("en").get("en")):
        [single] = dialog_messages("Heading", message, with_original=True)
        long = ReportMessage(body="a " * 3000, language="es", translation="b " * 3000, translation_note=None)
        parts = dialog_messages("Heading", long, with_original=True)
    assert single == f"<b>Heading</b>\n{FSI}Hello{PDI}\n<i>(machine translation, made on this server)</i>\n\n<b>Original (es):</b>\n{FSI}Hola{PDI}"
    assert len(parts) >= 2 and all(len(visible(p)) <= TELEGRAM_LIMIT for p in parts)
    assert MESSAGE_PART < TELEGRAM_LIMIT
