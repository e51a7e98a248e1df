"""Keyed pseudonyms: a returning person is recognised without their Telegram id being stored."""

from __future__ import annotations

import hashlib
import hmac
import secrets


def new_secret_key() -> str:
    """A fresh master secret (256 random bits), URL-safe so it fits in a `.env` line."""
    return secrets.token_urlsafe(32)


class Pseudonymizer:
    """HMAC-SHA256(SECRET_KEY, "user:" + telegram_user_id), hex-encoded.

    Without the secret the pseudonym cannot be reversed or recomputed from a known id, so a leaked
    database does not say who used the bot.
    """

    def __init__(self, secret_key: str) -> None:
        self._key = secret_key.encode()

    def user(self, telegram_user_id: int) -> str:
        message = f"user:{telegram_user_id}".encode()
        return hmac.new(self._key, message, hashlib.sha256).hexdigest()
