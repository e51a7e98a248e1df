"""Catalog maintenance for translators: extract the template and merge it into every catalog.

`outreach-bot catalogs update` is the one command to run after changing a user-facing string.
The tests run the same extraction and fail if the committed template is stale.
"""

from __future__ import annotations

from pathlib import Path

from babel.messages.frontend import CommandLineInterface
from babel.messages.pofile import read_po, write_po

from bot.i18n import DOMAIN, LOCALES_DIR, available_locales

PROJECT_ROOT = LOCALES_DIR.parent
TEMPLATE = LOCALES_DIR / f"{DOMAIN}.pot"


def extract(output: Path = TEMPLATE) -> None:
    _pybabel(
        "extract", "--mapping-file", str(PROJECT_ROOT / "babel.cfg"), "--add-comments", "NOTE:",
        "--no-location", "--sort-output", "--project", "outreach-bot", "--output-file", str(output),
        str(PROJECT_ROOT),
    )


def update() -> None:
    """Refresh the template, then merge it into every catalog: new messages arrive empty (never a
    fuzzy guess), messages gone from the code are dropped."""
    extract()
    with TEMPLATE.open("rb") as template_file:
        template = read_po(template_file)
    for locale in available_locales():
        path = LOCALES_DIR / locale / "LC_MESSAGES" / f"{DOMAIN}.po"
        with path.open("rb") as po_file:
            catalog = read_po(po_file)
        catalog.update(template, no_fuzzy_matching=True)
        catalog.obsolete.clear()
        with path.open("wb") as po_file:
            write_po(po_file, catalog, no_location=True, sort_output=True, width=100)


def _pybabel(*args: str) -> None:
    CommandLineInterface().run(["pybabel", "--quiet", *args])
