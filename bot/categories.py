"""Report categories: language-neutral keys in callback data and the database, labels in catalogs."""

from __future__ import annotations

from bot.i18n import N_

CATEGORIES = {
    "suspicious": N_("Suspicious activity"),
    "crime": N_("Crime"),
    "threat": N_("Threat or hate incident"),
    "safety": N_("Safety concern (traffic, property)"),
    "other": N_("Something else"),
}
CATEGORY_KEYS = tuple(CATEGORIES)
