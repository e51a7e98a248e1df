"""Logging that carries event names, report numbers and exception types, never personal data."""

from __future__ import annotations

import logging
import re
import sys

# Libraries whose log arguments and exception messages can hold whole updates, what a person
# wrote, or the bot token: PTB logs the raw update when it cannot parse one, its InvalidToken
# quotes the token, and httpx logs request URLs, which contain it.
THIRD_PARTY = ("telegram", "httpx", "httpcore", "apscheduler", "aiosqlite", "asyncpg", "sqlalchemy")
_PLACEHOLDER = re.compile(r"%(\([^)]*\))?[-#0 +]*\d*(\.\d+)?[sdrifgxXeE]")


class PrivacyFilter(logging.Filter):
    """Library lines keep their wording and exception type only; secrets are redacted anywhere."""

    def __init__(self, *secrets: str) -> None:
        super().__init__()
        self._secrets = [s for s in secrets if s]

    def filter(self, record: logging.LogRecord) -> bool:
        if record.name.split(".", 1)[0] in THIRD_PARTY:
            _keep_wording_only(record)
        message = record.getMessage()
        if any(secret in message for secret in self._secrets):
            record.msg, record.args = self._redact(message), None
        if record.exc_info:
            record.exc_text = self._redact(logging.Formatter().formatException(record.exc_info))
        return True

    def _redact(self, text: str) -> str:
        for secret in self._secrets:
            text = text.replace(secret, "[redacted]")
        return text


def _keep_wording_only(record: logging.LogRecord) -> None:
    wording = record.msg if isinstance(record.msg, str) else type(record.msg).__name__
    if record.args:
        wording = _PLACEHOLDER.sub("…", wording)
    if record.exc_info and record.exc_info[1] is not None:
        wording = f"{wording} ({type(record.exc_info[1]).__name__})"
    record.msg, record.args = wording, None
    record.exc_info, record.exc_text = None, None


def configure_logging(*secrets: str, level: int = logging.INFO) -> None:
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    handler.addFilter(PrivacyFilter(*secrets))
    logging.basicConfig(level=level, handlers=[handler], force=True)
    logging.getLogger("httpx").setLevel(logging.WARNING)
