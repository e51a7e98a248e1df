"""Logging that carries event names, report numbers and exception types, never personal data."""

from __future__ import annotations

import logging
import sys

# Libraries whose log arguments can hold whole updates or request URLs: PTB logs the raw update
# when it cannot parse one, and httpx logs URLs, which contain the bot token.
THIRD_PARTY = ("telegram", "httpx", "httpcore", "apscheduler", "aiosqlite", "asyncpg", "sqlalchemy")


class PrivacyFilter(logging.Filter):
    """Keeps third-party log lines' wording but drops their arguments; redacts secrets anywhere."""

    def __init__(self, *secrets: str) -> None:
        super().__init__()
        self._secrets = [s for s in secrets if s]

    def filter(self, record: logging.LogRecord) -> bool:
        if record.name.split(".", 1)[0] in THIRD_PARTY:
            record.args = None
        message = record.getMessage()
        if any(secret in message for secret in self._secrets):
            for secret in self._secrets:
                message = message.replace(secret, "[redacted]")
            record.msg, record.args = message, None
        return True


def configure_logging(*secrets: str, level: int = logging.INFO) -> None:
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    handler.addFilter(PrivacyFilter(*secrets))
    logging.basicConfig(level=level, handlers=[handler], force=True)
    logging.getLogger("httpx").setLevel(logging.WARNING)
