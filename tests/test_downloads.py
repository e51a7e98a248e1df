"""bot.downloads: files are read with a size cap that holds whatever size they declare."""

from __future__ import annotations

import asyncio
import io
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from pathlib import Path

import pytest
from aiohttp import web
from PIL import Image
from telegram import File

from bot.downloads import DownloadFailed, FileDownloader, FileTooLarge
from bot.i18n import FSI, PDI
from tests.conftest import RunningBot, user
from tests.fake_telegram import BOT_DOWNLOAD_LIMIT, FakeTelegram
from tests.reporting import Reporter

LIMIT = 256 * 1024
CHUNK = b"x" * 65536


@asynccontextmanager
async def serving(handler: Callable[[web.Request], Awaitable[web.StreamResponse]]) -> AsyncIterator[str]:
    """A loopback HTTP server answering GET /file with `handler`; yields the file's URL."""
    app = web.Application()
    app.router.add_get("/file", handler)
    runner = web.AppRunner(app, access_log=None, shutdown_timeout=1.0)
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", 0).start()
    try:
        yield f"http://127.0.0.1:{runner.addresses[0][1]}/file"
    finally:
        await runner.cleanup()


@pytest.fixture
async def downloader() -> AsyncIterator[FileDownloader]:
    downloader = FileDownloader()
    yield downloader
    await downloader.close()


def telegram_file(file_path: str | None) -> File:
    return File("file-id", "unique-id", file_path=file_path)


# --- the downloader on its own ---------------------------------------------------------------


async def test_a_file_of_exactly_the_limit_arrives_whole(downloader: FileDownloader) -> None:
    body = bytes(range(256)) * (LIMIT // 256)

    async def whole(request: web.Request) -> web.Response:
        return web.Response(body=body)

    async with serving(whole) as url:
        assert await downloader.download(telegram_file(url), LIMIT) == body


async def test_an_endless_body_is_cut_off_once_past_the_limit(downloader: FileDownloader) -> None:
    """No Content-Length and no end: only counting the bytes that arrive can stop this download."""
    client_left = asyncio.Event()

    async def endless(request: web.Request) -> web.StreamResponse:
        response = web.StreamResponse()
        await response.prepare(request)
        try:
            while True:
                await response.write(CHUNK)
        except ConnectionError:
            client_left.set()
        return response

    async with serving(endless) as url:
        with pytest.raises(FileTooLarge) as refused:
            await asyncio.wait_for(downloader.download(telegram_file(url), LIMIT), 10)
        assert refused.value.limit == LIMIT
        # The downloader hung up instead of reading on: the server's next writes failed.
        await asyncio.wait_for(client_left.wait(), 10)


async def test_a_declared_length_over_the_limit_is_refused_before_the_body(downloader: FileDownloader) -> None:
    release = asyncio.Event()

    async def headers_only(request: web.Request) -> web.StreamResponse:
        response = web.StreamResponse()
        response.content_length = 10 * LIMIT
        await response.prepare(request)  # the headers go out; the body never comes
        await release.wait()
        return response

    async with serving(headers_only) as url:
        try:
            with pytest.raises(FileTooLarge):
                await asyncio.wait_for(downloader.download(telegram_file(url), LIMIT), 10)
        finally:
            release.set()


async def test_an_http_error_is_a_failed_download(downloader: FileDownloader) -> None:
    async def missing(request: web.Request) -> web.Response:
        return web.Response(status=404)

    async with serving(missing) as url:
        with pytest.raises(DownloadFailed):
            await downloader.download(telegram_file(url), LIMIT)


async def test_a_local_file_is_read_with_the_same_limit(downloader: FileDownloader, tmp_path: Path) -> None:
    """A Bot API server in --local mode gives a path on this machine instead of a URL."""
    local = tmp_path / "file_7.jpg"
    local.write_bytes(b"y" * 100)
    assert await downloader.download(telegram_file(str(local)), 100) == b"y" * 100
    with pytest.raises(FileTooLarge):
        await downloader.download(telegram_file(str(local)), 99)
    with pytest.raises(DownloadFailed):
        await downloader.download(telegram_file(str(tmp_path / "gone.jpg")), 100)


async def test_a_file_without_a_path_is_a_failed_download(downloader: FileDownloader) -> None:
    with pytest.raises(DownloadFailed):
        await downloader.download(telegram_file(None), LIMIT)


# --- through the report conversation -----------------------------------------------------


def small_jpeg() -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (16, 16), "blue").save(buffer, "JPEG")
    return buffer.getvalue()


def document(file_id: str, declared_size: int | None) -> dict:
    sizes = {} if declared_size is None else {"file_size": declared_size}
    return {
        "file_id": file_id,
        "file_unique_id": file_id[-8:],
        "file_name": "IMG_1.jpg",
        "mime_type": "image/jpeg",
    } | sizes


@pytest.mark.parametrize(
    ("language_code", "declared_size", "refusal"),
    [
        ("en", 2000, "This file is larger than 1 MB. Please send a smaller one."),
        ("ar", None, f"حجم هذا الملف أكبر من {FSI}1{PDI} ميغابايت. يُرجى إرسال ملف أصغر."),
    ],
    ids=["declared-small", "declared-nothing"],
)
async def test_a_file_larger_than_it_declares_is_refused_and_the_report_goes_on(
    bot: RunningBot, tg: FakeTelegram, monkeypatch: pytest.MonkeyPatch, language_code, declared_size, refusal
) -> None:
    monkeypatch.setattr("handlers.report.MAX_FILE_BYTES", 2**20)  # a cap of 1 MB keeps the test small
    tg.add_file("doc-huge", b"\xff" * (2**20 + 1), "documents/huge.jpg")
    tg.add_file("doc-small", small_jpeg(), "documents/small.jpg")
    reporter = Reporter(tg, user(7300001, language_code))
    await reporter.press(await reporter.start(), "report:cat:other")
    draft = bot.services.drafts.get(bot.services.keys.pseudonym(reporter.person.id))

    after = tg.mark()
    tg.send_message(reporter.person, document=document("doc-huge", declared_size))
    assert (await tg.wait_for_reply(reporter.person.id, after=after)).params["text"] == refusal
    assert draft.attachments == []

    # Still describing: the next picture is taken and cleaned as usual.
    after = tg.mark()
    tg.send_message(reporter.person, document=document("doc-small", 600))
    await tg.wait_for_reply(reporter.person.id, after=after)
    [attached] = draft.attachments
    assert attached.file_id == "doc-small" and attached.cleaned_content


async def test_a_file_telegram_will_not_serve_gets_the_size_answer(bot: RunningBot, tg: FakeTelegram) -> None:
    """Telegram refuses getFile for a file over 20 MB ("file is too big") even when the
    message declared no size; the person hears about the size, not about a fault."""
    tg.add_file("doc-21mb", bytes(BOT_DOWNLOAD_LIMIT + 1), "documents/big.jpg")
    reporter = Reporter(tg, user(7300003, "en"))
    await reporter.press(await reporter.start(), "report:cat:other")

    after = tg.mark()
    tg.send_message(reporter.person, document=document("doc-21mb", None))
    reply = await tg.wait_for_reply(reporter.person.id, after=after)
    assert reply.params["text"] == "This file is larger than 20 MB. Please send a smaller one."
    assert bot.services.drafts.get(bot.services.keys.pseudonym(reporter.person.id)).attachments == []


@pytest.mark.parametrize(
    ("language_code", "apology"),
    [
        ("en", "Sorry, something went wrong on our side. Please try again in a moment."),
        ("ar", "عذرًا، حدث خطأ من جهتنا. يُرجى المحاولة مرة أخرى بعد قليل."),
    ],
)
async def test_a_failed_download_gets_a_kind_answer(
    bot: RunningBot, tg: FakeTelegram, log_records: pytest.LogCaptureFixture, language_code, apology
) -> None:
    tg.add_file("doc-photo", small_jpeg(), "documents/photo.jpg")
    reporter = Reporter(tg, user(7300002, language_code))
    await reporter.press(await reporter.start(), "report:cat:other")
    tg.fail_next("getFile", status=502)

    after = tg.mark()
    tg.send_message(reporter.person, document=document("doc-photo", 600))
    assert (await tg.wait_for_reply(reporter.person.id, after=after)).params["text"] == apology
    assert bot.services.drafts.get(bot.services.keys.pseudonym(reporter.person.id)).attachments == []
    assert "document_download_failed error=NetworkError" in log_records.text
    assert "handler_failed" not in log_records.text
