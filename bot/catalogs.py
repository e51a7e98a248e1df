"""Catalog maintenance for translators: extract the template and merge it into every catalog.

`outreach-bot catalogs update` is the one command to run after changing a user-facing string.
The tests run the same extraction and fail if the committed template is stale.
"""

from __future__ import annotations

from pathlib import Path

from babel.messages.frontend import CommandLineInterface

from bot.i18n import DOMAIN, LOCALES_DIR

PROJECT_ROOT = LOCALES_DIR.parent
TEMPLATE = LOCALES_DIR / f"{DOMAIN}.pot"


def extract(output: Path = TEMPLATE) -> None:
    _pybabel(
        "extract", "--mapping-file", str(PROJECT_ROOT / "babel.cfg"), "--add-comments", "NOTE:",
        "--no-location", "--sort-output", "--project", "outreach-bot", "--output-file", str(output),
        str(PROJECT_ROOT),
    )


def update() -> None:
    """Refresh the template, then merge it into every catalog without fuzzy guesses."""
    extract()
    _pybabel(
        "update", "--input-file", str(TEMPLATE), "--output-dir", str(LOCALES_DIR),
        "--domain", DOMAIN, "--no-location", "--no-fuzzy-matching", "--ignore-obsolete",
    )


def _pybabel(*args: str) -> None:
    CommandLineInterface().run(["pybabel", "--quiet", *args])
