"""Catalog maintenance for translators: extract the template and merge it into every catalog.

`outreach-bot catalogs update` is the one command to run after changing a user-facing string.
The tests run the same extraction and fail if the committed template is stale. It needs the
source checkout: an installed wheel carries the catalogs, not the extraction mapping.
"""

from __future__ import annotations

from io import BytesIO
from pathlib import Path

from babel.messages.catalog import Catalog
from babel.messages.frontend import CommandLineInterface
from babel.messages.pofile import read_po, write_po

from bot.i18n import DOMAIN, LOCALES_DIR, available_locales

PROJECT_ROOT = LOCALES_DIR.parent
MAPPING = PROJECT_ROOT / "babel.cfg"
TEMPLATE = LOCALES_DIR / f"{DOMAIN}.pot"


def in_source_checkout() -> bool:
    return MAPPING.is_file()


def extract(output: Path = TEMPLATE) -> None:
    _pybabel(
        "extract", "--mapping-file", str(MAPPING), "--add-comments", "NOTE:",
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
        write_catalog(path, catalog)


def write_catalog(path: Path, catalog: Catalog) -> None:
    """Write a catalog as the project keeps them. Its own Plural-Forms header is kept as read,
    also for languages CLDR does not know (Hmong, Karen)."""
    out = BytesIO()
    write_po(out, catalog, no_location=True, sort_output=True, width=100)
    path.write_bytes(out.getvalue())


def _pybabel(*args: str) -> None:
    CommandLineInterface().run(["pybabel", "--quiet", *args])
