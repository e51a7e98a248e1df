"""Keyed pseudonyms, receipt codes and sealed reporter links.

Everything is derived from SECRET_KEY, so a copy of the database alone says nothing about who
used the bot: pseudonyms cannot be recomputed, receipt codes cannot be guessed offline, and a
reporter's chat cannot be unsealed.

`ColumnKeys` holds the keys of encryption at rest (storage/encryption.py): one Fernet key per
purpose and key generation, each derived with its own HKDF info, so a new generation is a new key
without a new SECRET_KEY, and pseudonyms and receipt codes stay valid across rotations.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from base64 import urlsafe_b64encode
from functools import cached_property

from cryptography.fernet import Fernet
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from storage.encryption import Purpose

# Crockford's base32: no I, L, O or U, so a code read aloud or copied by hand survives.
CROCKFORD = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
_READ_AS = str.maketrans({"I": "1", "L": "1", "O": "0", "U": "V"})
RECEIPT_LENGTH = 16  # 16 symbols × 5 bits = 80 random bits
_NONCE_BYTES = 12


def new_secret_key() -> str:
    """A fresh master secret (256 random bits), URL-safe so it fits in a `.env` line."""
    return secrets.token_urlsafe(32)


def new_receipt_code() -> str:
    """80 random bits as `7KQM-2XRD-9FTB-H4PN`."""
    symbols = "".join(secrets.choice(CROCKFORD) for _ in range(RECEIPT_LENGTH))
    return "-".join(symbols[i : i + 4] for i in range(0, RECEIPT_LENGTH, 4))


def normalise_receipt_code(text: str) -> str | None:
    """What a person typed, as the 16 canonical symbols, or None if it cannot be a code."""
    symbols = "".join(ch for ch in text.upper() if ch.isalnum()).translate(_READ_AS)
    if len(symbols) != RECEIPT_LENGTH or any(ch not in CROCKFORD for ch in symbols):
        return None
    return symbols


class Keys:
    """The keyed functions of SECRET_KEY."""

    def __init__(self, secret_key: str) -> None:
        self._key = secret_key.encode()
        link_key = HKDF(
            algorithm=hashes.SHA256(), length=32, salt=None, info=b"outreach-bot reporter link"
        ).derive(self._key)
        self._links = AESGCM(link_key)

    def pseudonym(self, telegram_user_id: int) -> str:
        """HMAC-SHA256(SECRET_KEY, "user:" + id): recognises a returning person, reveals nobody."""
        return self._hmac(f"user:{telegram_user_id}")

    def receipt_hash(self, code: str) -> str | None:
        """The stored form of a receipt code; None for text that is not a code."""
        symbols = normalise_receipt_code(code)
        return self._hmac(f"receipt:{symbols}") if symbols else None

    def invite_hash(self, code: str) -> str | None:
        """The stored form of a partner invite code (same shape as a receipt code, its own key
        domain); None for text that is not a code."""
        symbols = normalise_receipt_code(code)
        return self._hmac(f"invite:{symbols}") if symbols else None

    def answer_token(self, report_id: int, telegram_user_id: int) -> str:
        """Binds an "Answer" button to one report and one person, so a forged one is refused."""
        return self._hmac(f"answer:{report_id}:{telegram_user_id}")[:16]

    def feedback_token(self, report_id: int, telegram_user_id: int) -> str:
        """Binds the "Did you feel heard?" buttons to one closed report and its reporter."""
        return self._hmac(f"feedback:{report_id}:{telegram_user_id}")[:16]

    def audit_hash(self, content: bytes) -> str:
        """The hash of an audit event (bot.audit). Keyed, so that someone who can write to the
        database but lacks SECRET_KEY cannot give an edited event a hash that verifies."""
        return hmac.new(self._audit_key, content, hashlib.sha256).hexdigest()

    @cached_property
    def _audit_key(self) -> bytes:
        return HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=b"outreach-bot audit").derive(self._key)

    def seal_chat(self, chat_id: int, report_id: int) -> bytes:
        """Encrypt a reporter's chat id, bound to one report so it cannot be moved to another."""
        nonce = secrets.token_bytes(_NONCE_BYTES)
        return nonce + self._links.encrypt(nonce, str(chat_id).encode(), _report_tag(report_id))

    def unseal_chat(self, sealed: bytes, report_id: int) -> int:
        nonce, ciphertext = sealed[:_NONCE_BYTES], sealed[_NONCE_BYTES:]
        return int(self._links.decrypt(nonce, ciphertext, _report_tag(report_id)))

    def _hmac(self, message: str) -> str:
        return hmac.new(self._key, message.encode(), hashlib.sha256).hexdigest()


class ColumnKeys:
    """The keys of encrypted columns, derived on demand: any generation can be opened, so values
    sealed before a rotation stay readable while it runs."""

    def __init__(self, secret_key: str) -> None:
        self._secret = secret_key.encode()
        self._fernets: dict[tuple[Purpose, int], Fernet] = {}

    def encrypt(self, purpose: Purpose, generation: int, plaintext: bytes) -> bytes:
        return self._fernet(purpose, generation).encrypt(plaintext)

    def decrypt(self, purpose: Purpose, generation: int, token: bytes) -> bytes:
        """Raises cryptography.fernet.InvalidToken for a token not made with this key."""
        return self._fernet(purpose, generation).decrypt(token)

    def _fernet(self, purpose: Purpose, generation: int) -> Fernet:
        fernet = self._fernets.get((purpose, generation))
        if fernet is None:
            info = f"outreach-bot {purpose} v{generation}".encode()
            key = HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=info).derive(self._secret)
            fernet = self._fernets[(purpose, generation)] = Fernet(urlsafe_b64encode(key))
        return fernet


def _report_tag(report_id: int) -> bytes:
    return f"report:{report_id}".encode()
