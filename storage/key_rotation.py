"""Key generations, and key rotation while the bot runs.

The newest row of `key_generations` is the generation new values are sealed under. Every process
that writes reads it at start and then every REFRESH_EVERY (`refresh_generation`), so another
process (`outreach-bot keys rotate`) can start the next generation without stopping the bot.

Rotation then re-seals, in passes, every value sealed under an older generation. Each batch is
read in one short transaction and written in another, and a value is replaced only if it is still
the one that was read, so the bot keeps reading and writing throughout and never loses an update
to a re-sealed copy. Once every process must have seen the new generation (after `settle`), a pass
that finds nothing older ends the rotation, and the old generations are marked retired.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from sqlalchemy import Column, ColumnElement, Table, func, insert, literal, or_, select, type_coerce, update
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from storage.encryption import FIRST_GENERATION, EncryptedType, encryption_of, sealed_prefix
from storage.models import Base, KeyGeneration

REFRESH_EVERY = timedelta(seconds=30)
# Passes after `settle` that still find older values: a process that never refreshes (an old
# version of the bot, say) would keep writing under the old generation for ever.
STALE_PASSES = 5
BATCH_SIZE = 100


class RotationIncomplete(RuntimeError):
    """Values under an older generation keep appearing after every process should have moved on."""


@dataclass(frozen=True)
class Rotation:
    generation: int
    resealed: int  # values re-sealed under `generation`
    passes: int
    retired: list[int]


@dataclass(frozen=True)
class KeyStatus:
    generation: int
    older_values: int  # values still sealed under an older generation


async def refresh_generation(engine: AsyncEngine) -> int:
    """Seal what `engine` writes from now on under the newest generation; returns it."""
    async with engine.connect() as connection:
        generation = await _newest(connection)
    encryption_of(engine.sync_engine.dialect).generation = generation
    return generation


async def rotate_keys(
    engine: AsyncEngine, *, settle: timedelta = 2 * REFRESH_EVERY, batch_size: int = BATCH_SIZE
) -> Rotation:
    """Start the next generation and re-seal every older value under it (module docstring).
    `settle` must exceed how often the running bots refresh their generation."""
    async with engine.begin() as connection:
        generation = await _newest(connection) + 1
        # Two rotations at once collide here, on the primary key, instead of fighting later.
        await connection.execute(insert(KeyGeneration).values(generation=generation))
    encryption_of(engine.sync_engine.dialect).generation = generation

    clock = asyncio.get_running_loop().time
    settled_at = clock() + settle.total_seconds()
    resealed = passes = stale = 0
    while True:
        started = clock()
        found = await reseal_pass(engine, generation, batch_size)
        resealed, passes = resealed + found, passes + 1
        if started >= settled_at:
            if not found:
                break
            stale += 1
            if stale >= STALE_PASSES:
                raise RotationIncomplete(f"values under older generations keep appearing after {passes} passes")
        elif not found:
            await asyncio.sleep(settled_at - clock())

    async with engine.begin() as connection:
        retired = await connection.scalars(
            update(KeyGeneration)
            .where(KeyGeneration.generation < generation, KeyGeneration.retired_at.is_(None))
            .values(retired_at=datetime.now(UTC))
            .returning(KeyGeneration.generation)
        )
        return Rotation(generation, resealed, passes, sorted(retired))


async def reseal_pass(engine: AsyncEngine, generation: int, batch_size: int = BATCH_SIZE) -> int:
    """Re-seal every value not under `generation`, batch by batch; returns how many were."""
    resealed = 0
    for table, columns in encrypted_columns():
        resealed += await _reseal_table(engine, table, columns, generation, batch_size)
    return resealed


async def key_status(engine: AsyncEngine) -> KeyStatus:
    async with engine.connect() as connection:
        generation = await _newest(connection)
        older = 0
        for table, columns in encrypted_columns():
            for column in columns:
                query = select(func.count()).select_from(table).where(_older(column, generation))
                older += await connection.scalar(query) or 0
    return KeyStatus(generation, older)


def encrypted_columns() -> Iterator[tuple[Table, list[Column]]]:
    """Every table with encrypted columns, found from the schema, so a new one is rotated too."""
    for table in Base.metadata.sorted_tables:
        columns = [column for column in table.columns if isinstance(column.type, EncryptedType)]
        if columns:
            yield table, columns


async def _reseal_table(
    engine: AsyncEngine, table: Table, columns: list[Column], generation: int, batch_size: int
) -> int:
    (key,) = table.primary_key.columns
    encryption = encryption_of(engine.sync_engine.dialect)
    resealed, after = 0, None
    while True:
        query = select(key, *(_raw(column).label(column.key) for column in columns))
        query = query.where(or_(*(_older(column, generation) for column in columns)))
        if after is not None:
            query = query.where(key > after)
        async with engine.connect() as connection:
            rows = (await connection.execute(query.order_by(key).limit(batch_size))).all()
        # Decrypting and encrypting happen between the transactions, not inside one.
        replacements = []
        for row in rows:
            for column in columns:
                stored = row._mapping[column.key]
                if stored is None or _under(column, stored, generation):
                    continue
                purpose, kind = column.type.purpose, column.type
                fresh = kind.stored(encryption.seal(purpose, encryption.open(purpose, kind.sealed(stored))))
                replacements.append((row._mapping[key.key], column, stored, fresh))
        async with engine.begin() as connection:
            for row_key, column, stored, fresh in replacements:
                impl = column.type.impl_instance
                result = await connection.execute(
                    update(table)
                    .where(key == row_key, _raw(column) == literal(stored, impl))
                    .values({column.key: literal(fresh, impl)})
                )
                resealed += result.rowcount
        if len(rows) < batch_size:
            return resealed
        after = rows[-1]._mapping[key.key]


def _raw(column: Column) -> ColumnElement:
    """The column as stored, not decrypted on the way out."""
    return type_coerce(column, column.type.impl_instance)


def _older(column: Column, generation: int) -> ColumnElement[bool]:
    prefix = _prefix(column, generation)
    return func.substr(_raw(column), 1, len(prefix)) != literal(prefix, column.type.impl_instance)


def _under(column: Column, stored: str | bytes, generation: int) -> bool:
    return stored[: len(prefix := _prefix(column, generation))] == prefix


def _prefix(column: Column, generation: int) -> str | bytes:
    """How a value sealed under `generation` begins, as the column stores it."""
    return column.type.stored(sealed_prefix(generation))


async def _newest(connection: AsyncConnection) -> int:
    # A schema made without migrations (some tests) has no row yet: generation 1, as 0005 records.
    return await connection.scalar(select(func.max(KeyGeneration.generation))) or FIRST_GENERATION
