"""Files from Telegram, read with a size cap over an HTTP client of their own.

A file's declared size can be missing or wrong, so the cap is enforced on the bytes that arrive:
the download stops as soon as it is passed. Downloads use their own few connections, so slow
20 MB files never hold the ones the bot's replies need (bot.application.CONNECTIONS).
"""

from __future__ import annotations

import asyncio
from pathlib import Path
from urllib.parse import urlsplit

import httpx
from telegram import Bot, File
from telegram.error import BadRequest

CONNECTIONS = 4  # downloads at once; more wait for a free connection (the pool timeout)
# Read is the longest silence between two chunks, not the whole download.
TIMEOUT = httpx.Timeout(30.0, connect=10.0, pool=60.0)


class FileTooLarge(Exception):
    """The file has more bytes than the limit allows."""

    def __init__(self, limit: int) -> None:
        super().__init__(f"more than {limit} bytes")
        self.limit = limit


class DownloadFailed(Exception):
    """The file could not be fetched: network, HTTP status or local read error."""


class FileDownloader:
    def __init__(self, connections: int = CONNECTIONS, timeout: httpx.Timeout = TIMEOUT) -> None:
        self._limits = httpx.Limits(max_connections=connections, max_keepalive_connections=connections)
        self._timeout = timeout
        self._client: httpx.AsyncClient | None = None

    async def fetch(self, bot: Bot, file_id: str, limit: int) -> bytes:
        """The bytes of a file a person sent; raises FileTooLarge, DownloadFailed or TelegramError."""
        try:
            file = await bot.get_file(file_id)
        except BadRequest as error:
            # Telegram serves bots files of up to 20 MB and refuses larger ones with this message.
            if "too big" in error.message.lower():
                raise FileTooLarge(limit) from error
            raise
        return await self.download(file, limit)

    async def download(self, file: File, limit: int) -> bytes:
        """The file's bytes; raises FileTooLarge once more than `limit` bytes arrive, DownloadFailed
        if they cannot be fetched."""
        if not file.file_path:  # Telegram gives no path for a file it cannot serve
            raise DownloadFailed("no file_path")
        try:
            if urlsplit(file.file_path).scheme in ("http", "https"):
                return await self._stream(file.file_path, limit)
            # A Bot API server in --local mode gives a path on this machine instead (see PTB's File).
            return await asyncio.to_thread(_read_local, Path(file.file_path), limit)
        except (httpx.HTTPError, OSError) as error:
            # The class name only: httpx's messages quote the URL, and the URL holds the bot token.
            raise DownloadFailed(type(error).__name__) from error

    async def _stream(self, url: str, limit: int) -> bytes:
        async with self._http().stream("GET", url) as response:
            response.raise_for_status()
            declared = response.headers.get("content-length", "")
            if declared.isascii() and declared.isdigit() and int(declared) > limit:  # refused before any of the body is read
                raise FileTooLarge(limit)
            body = bytearray()
            async for chunk in response.aiter_bytes():
                body += chunk
                if len(body) > limit:  # leaving the block closes the connection, unread
                    raise FileTooLarge(limit)
            return bytes(body)

    def _http(self) -> httpx.AsyncClient:
        if self._client is None:
            self._client = httpx.AsyncClient(limits=self._limits, timeout=self._timeout)
        return self._client

    async def close(self) -> None:
        if self._client is not None:
            await self._client.aclose()
            self._client = None


def _read_local(path: Path, limit: int) -> bytes:
    with path.open("rb") as local:
        data = local.read(limit + 1)  # one byte more tells a file over the limit
    if len(data) > limit:
        raise FileTooLarge(limit)
    return data
