"""Serving the web app next to the bot, in both modes.

uvicorn runs inside the bot's event loop through its `startup`/`main_loop`/`shutdown` steps, not
`serve()`: `serve()` takes over SIGINT and SIGTERM, which belong to the bot's own shutdown.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal
import socket
from collections.abc import AsyncIterator
from urllib.parse import urlsplit

import uvicorn
from starlette.applications import Starlette
from telegram.ext import Application

from bot.context import services_of
from bot.web.app import web_app

log = logging.getLogger(__name__)

GRACEFUL_SHUTDOWN_SECONDS = 5


class WebServer:
    def __init__(self, app: Starlette, listening: socket.socket) -> None:
        # No access log: request lines name nobody, but they are noise; our own lines say what matters.
        config = uvicorn.Config(app, log_config=None, access_log=False, lifespan="off",
                                timeout_graceful_shutdown=GRACEFUL_SHUTDOWN_SECONDS)  # fmt: skip
        self._server, self._sockets = uvicorn.Server(config), [listening]
        self._loop: asyncio.Task[None] | None = None

    async def start(self) -> None:
        self._server.config.load()
        self._server.lifespan = self._server.config.lifespan_class(self._server.config)
        await self._server.startup(sockets=self._sockets)
        self._loop = asyncio.create_task(self._server.main_loop(), name="web server")
        host, port = self._sockets[0].getsockname()[:2]
        log.info("web_server_listening address=%s:%s", host, port)

    async def stop(self) -> None:
        if self._loop is None:
            return
        self._server.should_exit = True
        await self._loop
        await self._server.shutdown(sockets=self._sockets)


def listen(host: str, port: int) -> socket.socket:
    """Bound here, not by uvicorn, so a taken port is an OSError the CLI can name."""
    return socket.create_server((host, port), family=socket.AF_INET6 if ":" in host else socket.AF_INET)


def webhook_path(url: str) -> str:
    """The path Telegram posts to, as the reverse proxy passes it on."""
    return urlsplit(url).path or "/"


def serve_health_while_polling(application: Application, listening: socket.socket) -> None:
    """For run_polling, which owns the event loop: start the web server after on_startup and stop
    it before on_stop."""
    server = WebServer(web_app(application), listening)
    started, stopping = application.post_init, application.post_stop

    async def post_init(app: Application) -> None:
        await started(app)
        await server.start()

    async def post_stop(app: Application) -> None:
        await server.stop()
        await stopping(app)

    application.post_init, application.post_stop = post_init, post_stop


@contextlib.asynccontextmanager
async def webhook_running(application: Application, listening: socket.socket) -> AsyncIterator[None]:
    """What run_polling does, with Telegram posting to our web app instead of the Updater polling:
    start-up, the webhook registered, serving; then the same shutdown steps in the same order."""
    from bot.application import ALLOWED_UPDATES

    settings = services_of(application).settings
    server = WebServer(web_app(application, webhook_path=webhook_path(settings.webhook_url)), listening)
    async with contextlib.AsyncExitStack() as undo:  # each step undone, in reverse, once done
        await application.initialize()
        undo.push_async_callback(application.post_shutdown, application)
        undo.push_async_callback(application.shutdown)
        await application.post_init(application)
        undo.push_async_callback(application.post_stop, application)
        # Updates that came while the bot was down are pending at Telegram: they follow now.
        await application.bot.set_webhook(
            settings.webhook_url, secret_token=settings.webhook_secret, allowed_updates=ALLOWED_UPDATES,
            drop_pending_updates=False,
        )  # fmt: skip
        log.info("webhook_registered")
        await application.start()
        undo.push_async_callback(application.stop)
        await server.start()
        undo.push_async_callback(server.stop)
        yield


def run_webhook(application: Application, listening: socket.socket) -> None:
    """`outreach-bot run --webhook` until SIGINT or SIGTERM."""

    async def until_stopped() -> None:
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, stop.set)
        async with webhook_running(application, listening):
            await stop.wait()

    asyncio.run(until_stopped())
