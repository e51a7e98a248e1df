"""Encrypted columns: what a report says is unreadable in the database and in its backups.

A column typed `EncryptedText`, `EncryptedFloat` or `EncryptedBytes` holds a sealed value,
`g<generation>:<token>`: the token is the value encrypted with the key of one purpose and one key
generation, and the prefix names the generation, so values sealed under any generation can be
opened while new ones are sealed under the current one (storage/key_rotation.py moves them on).

The keys are not here: the engine carries them (`bind_cipher`), so storage holds no secret and no
global, and an engine nobody bound refuses to read or write an encrypted column.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Any, Protocol

from sqlalchemy import LargeBinary, Text, TypeDecorator
from sqlalchemy.engine import Dialect
from sqlalchemy.ext.asyncio import AsyncEngine

_DIALECT_ATTRIBUTE = "outreach_column_encryption"
FIRST_GENERATION = 1


class Purpose(StrEnum):
    """One key per purpose, so a value cannot be opened as something it is not."""

    CONTENT = "content"
    REPORTER_LINK = "reporter link"


class Cipher(Protocol):
    """Keys by purpose and generation (bot/crypto.py derives them from SECRET_KEY)."""

    def encrypt(self, purpose: Purpose, generation: int, plaintext: bytes) -> bytes: ...

    def decrypt(self, purpose: Purpose, generation: int, token: bytes) -> bytes: ...


class EncryptionUnavailable(RuntimeError):
    """An encrypted column was used on an engine without keys."""


class UnreadableValue(ValueError):
    """A stored value that is not a sealed value."""


class ColumnEncryption:
    """The cipher of one engine, and the generation it seals new values under."""

    def __init__(self, cipher: Cipher) -> None:
        self.cipher = cipher
        # The first generation until storage.key_rotation.refresh_generation reads the newest.
        self.generation = FIRST_GENERATION

    def seal(self, purpose: Purpose, plaintext: bytes, generation: int | None = None) -> bytes:
        generation = generation or self.generation
        return sealed_prefix(generation) + self.cipher.encrypt(purpose, generation, plaintext)

    def open(self, purpose: Purpose, sealed: bytes) -> bytes:
        return self.cipher.decrypt(purpose, generation_of(sealed), sealed.partition(b":")[2])


def generation_of(sealed: bytes) -> int:
    prefix, colon, _token = sealed.partition(b":")
    if not (colon and prefix[:1] == b"g" and prefix[1:].isdigit()):
        raise UnreadableValue("not a sealed value")
    return int(prefix[1:])


def sealed_prefix(generation: int) -> bytes:
    """How every value sealed under `generation` begins."""
    return b"g%d:" % generation


def bind_cipher(engine: AsyncEngine, cipher: Cipher) -> ColumnEncryption:
    """Give `engine`'s encrypted columns their keys; every engine the bot uses needs this."""
    encryption = ColumnEncryption(cipher)
    setattr(engine.sync_engine.dialect, _DIALECT_ATTRIBUTE, encryption)
    return encryption


def encryption_of(dialect: Dialect) -> ColumnEncryption:
    encryption = getattr(dialect, _DIALECT_ATTRIBUTE, None)
    if encryption is None:
        raise EncryptionUnavailable("this engine has no cipher: call storage.encryption.bind_cipher")
    return encryption


class EncryptedType(TypeDecorator[Any]):
    """Seals on the way in, opens on the way out; None stays None, so nullability still shows.
    (Each subclass says `cache_ok` itself: SQLAlchemy does not inherit it.)"""

    def __init__(self, purpose: Purpose = Purpose.CONTENT) -> None:
        super().__init__()
        self.purpose = purpose

    def process_bind_param(self, value: Any, dialect: Dialect) -> Any:
        if value is None:
            return None
        return self.stored(encryption_of(dialect).seal(self.purpose, self.plaintext(value)))

    def process_result_value(self, value: Any, dialect: Dialect) -> Any:
        if value is None:
            return None
        return self.from_plaintext(encryption_of(dialect).open(self.purpose, self.sealed(value)))

    # How a value becomes bytes to encrypt, and how the sealed bytes fit the column, and back.
    def plaintext(self, value: Any) -> bytes:
        raise NotImplementedError

    def from_plaintext(self, plaintext: bytes) -> Any:
        raise NotImplementedError

    def stored(self, sealed: bytes) -> Any:
        return sealed.decode("ascii")

    def sealed(self, stored: Any) -> bytes:
        return stored.encode("ascii")


class EncryptedText(EncryptedType):
    impl = Text
    cache_ok = True

    def plaintext(self, value: str) -> bytes:
        return value.encode()

    def from_plaintext(self, plaintext: bytes) -> str:
        return plaintext.decode()


class EncryptedFloat(EncryptedType):
    """A coordinate: exact through `repr`, stored as sealed text."""

    impl = Text
    cache_ok = True

    def plaintext(self, value: float) -> bytes:
        return repr(float(value)).encode()

    def from_plaintext(self, plaintext: bytes) -> float:
        return float(plaintext)


class EncryptedBytes(EncryptedType):
    impl = LargeBinary
    cache_ok = True

    def plaintext(self, value: bytes) -> bytes:
        return bytes(value)

    def from_plaintext(self, plaintext: bytes) -> bytes:
        return plaintext

    def stored(self, sealed: bytes) -> bytes:
        return sealed

    def sealed(self, stored: bytes) -> bytes:
        return bytes(stored)
