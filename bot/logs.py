"""Logging that carries event names, report numbers and exception types, never personal data."""

from __future__ import annotations

import json
import logging
import re
import sys
from datetime import UTC, datetime

# Libraries whose log arguments and exception messages can hold whole updates, what a person
# wrote, or the bot token: PTB logs the raw update when it cannot parse one, its InvalidToken
# quotes the token, and httpx logs request URLs, which contain it. uvicorn, in webhook mode,
# logs what it could not serve with the request it came with.
THIRD_PARTY = ("telegram", "httpx", "httpcore", "apscheduler", "aiosqlite", "asyncpg", "sqlalchemy", "uvicorn")
TEXT_FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"
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


class JsonFormatter(logging.Formatter):
    """One JSON object per line, for log collectors: the event name and its key=value fields as
    their own keys, e.g. {"event": "delivered", "kind": "card", "report": "12", ...}. It formats
    what the PrivacyFilter left, so it holds nothing the text format would not."""

    def format(self, record: logging.LogRecord) -> str:
        message = record.getMessage()
        entry: dict[str, object] = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
        }
        event, _, fields = message.partition(" ")
        if _EVENT.fullmatch(event):
            entry["event"] = event
            entry.update((key, value) for key, value in _FIELD.findall(fields) if key not in entry)
        entry["message"] = message
        if record.exc_info and not record.exc_text:
            record.exc_text = self.formatException(record.exc_info)
        if record.exc_text:
            entry["exception"] = record.exc_text
        return json.dumps(entry, ensure_ascii=False)


_EVENT = re.compile(r"[a-z][a-z0-9_]*")  # delivered, report_status_changed, ...
_FIELD = re.compile(r"\b([a-z_]+)=(\S+)")


def configure_logging(*secrets: str, level: str = "INFO", json_lines: bool = False) -> None:
    handler = logging.StreamHandler(sys.stderr)
    text = logging.Formatter(TEXT_FORMAT)
    handler.setFormatter(JsonFormatter() if json_lines else text)
    handler.addFilter(PrivacyFilter(*secrets))
    logging.basicConfig(level=level, handlers=[handler], force=True)
    logging.getLogger("httpx").setLevel(logging.WARNING)
