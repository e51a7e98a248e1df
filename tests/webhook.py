"""The bot in webhook mode, in the test's event loop, with the fake Bot API POSTing updates to it."""

from __future__ import annotations

import socket
from collections.abc import AsyncIterator
from dataclasses import dataclass

import httpx

from bot.application import build_application, build_services
from bot.config import Settings
from bot.web.server import listen, webhook_path, webhook_running
from tests.conftest import RunningBot
from tests.fake_telegram import FakeTelegram

WEBHOOK_URL = "https://bot.example.org/telegram/updates"
WEBHOOK_SECRET = "webhook-secret-0123456789-abcdefghijklmnop"


@dataclass
class WebBot:
    running: RunningBot
    base_url: str  # where the web app listens, e.g. http://127.0.0.1:41234

    @property
    def webhook(self) -> str:
        return self.base_url + webhook_path(WEBHOOK_URL)


def free_port() -> int:
    """A loopback port free right now, for a bot process to listen on."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def web_client() -> httpx.AsyncClient:
    return httpx.AsyncClient(trust_env=False, timeout=10)  # loopback, never a proxy


async def start_webhook_bot(tg: FakeTelegram, settings: Settings) -> AsyncIterator[WebBot]:
    """What `outreach-bot run --webhook` does, minus signal handling, on a free loopback port."""
    services = build_services(settings)
    application = build_application(services, webhook=True)
    listening = listen("127.0.0.1", 0)
    base_url = f"http://127.0.0.1:{listening.getsockname()[1]}"
    async with webhook_running(application, listening):
        tg.post_webhooks_to(base_url + webhook_path(settings.webhook_url))
        yield WebBot(RunningBot(tg, services, application), base_url)
