"""Pictures are cleaned of their metadata in worker processes, never in the bot's.

Decoding and re-encoding a 50-megapixel picture holds Python's GIL for a few hundred
milliseconds at a time in places (measured: a 204 ms stall of the event loop from a thread), so a
thread would still freeze everybody's conversation. A small process pool, started on the first
picture, keeps the bot's event loop free, bounds how many pictures are decoded at once, and keeps
Pillow out of the bot process's memory.
"""

from __future__ import annotations

import asyncio
import multiprocessing
from concurrent.futures import ProcessPoolExecutor

CLEANABLE_TYPES = frozenset({"image/jpeg", "image/png", "image/webp", "image/heic", "image/heif"})
WORKERS = 2  # pictures decoded at once: CPU and memory (a 50 MP picture takes ~0.5 GB to clean)


class MetadataError(Exception):
    """The file claims to be an image but cannot be decoded (or is too large to decode safely)."""


class PictureCleaner:
    def __init__(self, workers: int = WORKERS) -> None:
        self._workers = workers
        self._pool: ProcessPoolExecutor | None = None

    async def clean(self, data: bytes, mime_type: str) -> tuple[bytes, str]:
        """(clean bytes, their mime type); raises MetadataError if the picture cannot be read."""
        if self._pool is None:
            # spawn: a forked copy of a process running an event loop and threads is not safe.
            self._pool = ProcessPoolExecutor(self._workers, mp_context=multiprocessing.get_context("spawn"))
        return await asyncio.get_running_loop().run_in_executor(self._pool, _strip_metadata, data, mime_type)

    def close(self) -> None:
        if self._pool is not None:
            self._pool.shutdown(cancel_futures=True)
            self._pool = None


def _strip_metadata(data: bytes, mime_type: str) -> tuple[bytes, str]:
    from bot.media import strip_metadata  # in the worker process only

    return strip_metadata(data, mime_type)
