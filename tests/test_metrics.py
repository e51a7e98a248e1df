"""End to end: /healthz, /readyz and /metrics, in webhook mode and while polling."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families
from sqlalchemy import update
from sqlalchemy.engine import make_url

from bot.application import ALLOWED_UPDATES
from bot.config import Settings
from storage.models import OutboxMessage, Report, TranslationStatus
from tests.conftest import STAFF_CHAT_ID, install_packages, user
from tests.fake_telegram import FakeTelegram
from tests.processes import PROCESS_TIMEOUT, bot_env, start_run
from tests.reporting import Reporter, card_of, card_recorded, settled
from tests.webhook import WEBHOOK_SECRET, WEBHOOK_URL, WebBot, free_port, start_webhook_bot, web_client


@pytest.fixture
async def web(tg: FakeTelegram, make_settings: Callable[..., Settings]) -> AsyncIterator[WebBot]:
    async for running in start_webhook_bot(tg, make_settings(webhook_url=WEBHOOK_URL, webhook_secret=WEBHOOK_SECRET)):
        yield running


def samples(exposition: str) -> dict[tuple[str, frozenset], float]:
    """Every sample of a Prometheus text exposition, by name and labels; parsing it is the check
    that the format is right."""
    return {
        (sample.name, frozenset(sample.labels.items())): sample.value
        for family in text_string_to_metric_families(exposition)
        for sample in family.samples
    }


async def scrape(base_url: str) -> dict[tuple[str, frozenset], float]:
    async with web_client() as client:
        response = await client.get(base_url + "/metrics")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/plain; version=")
    return samples(response.text)


async def test_health_and_readiness_of_a_running_bot(web: WebBot) -> None:
    async with web_client() as client:
        health, ready = await client.get(web.base_url + "/healthz"), await client.get(web.base_url + "/readyz")
    assert (health.status_code, health.text) == (200, "ok")
    assert ready.status_code == 200
    assert ready.json() == {
        "ready": True, "database": "ok", "outbox": {"waiting": 0, "oldest_seconds": None, "stuck": False},
        "translation": "disabled", "backing_off": {},
    }  # fmt: skip


async def test_the_counters_move_when_a_report_is_filed(web: WebBot, tg: FakeTelegram) -> None:
    before = await scrape(web.base_url)
    assert ("outreach_reports_received_total", frozenset({("category", "crime"), ("language", "es")})) not in before
    assert before[("outreach_outbox_waiting_messages", frozenset())] == 0

    tg.fail_next("sendMessage", status=502, chat_id=STAFF_CHAT_ID)  # one failed delivery, then the card
    await Reporter(tg, user(5550010, "es")).file("Un coche lleva días aparcado aquí.", category="crime")
    await card_of(tg, 1)
    await card_recorded(web.running.services.sessions, 1)

    after = await scrape(web.base_url)
    assert after[("outreach_reports_received_total", frozenset({("category", "crime"), ("language", "es")}))] == 1
    assert after[("outreach_delivery_attempts_total", frozenset({("kind", "card")}))] == 2
    assert after[("outreach_delivery_failures_total", frozenset({("error", "NetworkError")}))] == 1
    # /report, the notice, category, text, Next, Skip, when, Send, no notifications.
    assert after[("outreach_updates_processed_total", frozenset())] >= 8
    assert after[("outreach_updates_unparseable_total", frozenset())] == 0
    assert after[("outreach_translation_seconds_count", frozenset())] == 0  # translation is off here
    assert after[("outreach_outbox_waiting_messages", frozenset())] == 0


async def test_readiness_fails_while_the_outbox_is_stuck(web: WebBot, tg: FakeTelegram) -> None:
    tg.fail_next("sendMessage", status=403, description="Forbidden: bot was kicked", chat_id=STAFF_CHAT_ID, times=1000)
    await Reporter(tg, user(5550011, "en")).file()
    async with web.running.services.sessions() as session:  # as if the staff chat had refused it for 20 minutes
        await session.execute(update(OutboxMessage).values(created_at=datetime.now(UTC) - timedelta(minutes=20)))
        await session.commit()

    async with web_client() as client:
        ready = await client.get(web.base_url + "/readyz")
    assert ready.status_code == 503
    state = ready.json()
    assert state["ready"] is False and state["database"] == "ok"
    assert state["outbox"]["stuck"] is True and state["outbox"]["waiting"] >= 1 and state["outbox"]["oldest_seconds"] >= 1200
    metrics = await scrape(web.base_url)
    assert metrics[("outreach_outbox_oldest_waiting_seconds", frozenset())] >= 1200
    tg.clear_failures()


class Proxy:
    """A TCP relay on loopback between the bot and PostgreSQL, which a test can cut: the server
    then refuses connections, as a database host that went away does."""

    def __init__(self, host: str, port: int) -> None:
        self._upstream, self._writers = (host, port), set()
        self.port = 0

    async def open(self) -> None:
        self._server = await asyncio.start_server(self._relay, "127.0.0.1", self.port)
        self.port = self._server.sockets[0].getsockname()[1]

    async def cut(self) -> None:
        self._server.close()
        for writer in self._writers:
            writer.close()
        await self._server.wait_closed()

    async def _relay(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        up_reader, up_writer = await asyncio.open_connection(*self._upstream)
        self._writers |= {writer, up_writer}

        async def pipe(source: asyncio.StreamReader, sink: asyncio.StreamWriter) -> None:
            try:
                while data := await source.read(65536):
                    sink.write(data)
                    await sink.drain()
            except (ConnectionError, OSError):
                pass
            finally:
                sink.close()

        await asyncio.gather(pipe(reader, up_writer), pipe(up_reader, writer))


async def test_readiness_fails_while_the_database_is_unreachable_and_recovers(
    tg: FakeTelegram, make_settings: Callable[..., Settings], database_url: str
) -> None:
    url = make_url(database_url)
    if url.get_backend_name() != "postgresql":
        pytest.skip("SQLite is a file the bot holds open: it cannot go away the way a database server can")
    proxy = Proxy(url.host or "127.0.0.1", url.port or 5432)
    await proxy.open()
    through_proxy = url.set(host="127.0.0.1", port=proxy.port).render_as_string(hide_password=False)
    settings = make_settings(webhook_url=WEBHOOK_URL, webhook_secret=WEBHOOK_SECRET, database_url=through_proxy)
    async for web in start_webhook_bot(tg, settings):
        async with web_client() as client:
            assert (await client.get(web.base_url + "/readyz")).status_code == 200
            await proxy.cut()
            down = await client.get(web.base_url + "/readyz")
            alive = await client.get(web.base_url + "/healthz")
            metrics = await client.get(web.base_url + "/metrics")  # still answers, from what it counted
            services = web.running.services
            services.delivery_wakeup.set()  # delivery looks at the outbox, fails, and backs off
            backing_off = await until_ready_says(client, web, lambda ready: ready["backing_off"].get("delivery", 0) >= 2)
            await proxy.open()
            services.delivery_wakeup.set()
            up = await until_ready_says(client, web, lambda ready: ready["backing_off"] == {})
        assert down.status_code == 503 and alive.status_code == 200 and metrics.status_code == 200
        assert down.json()["ready"] is False and down.json()["database"] not in ("ok", None)
        assert backing_off["ready"] is False
        assert up["ready"] is True and up["database"] == "ok"


async def until_ready_says(client: httpx.AsyncClient, web: WebBot, check: Callable[[dict], bool]) -> dict:
    """/readyz's answer, once `check` holds for it."""
    async with asyncio.timeout(30):
        while not check(ready := (await client.get(web.base_url + "/readyz")).json()):
            await asyncio.sleep(0.05)
    return ready


# --- polling mode ------------------------------------------------------------------------------

async def test_polling_serves_the_same_endpoints_on_health_port(tmp_path: Path, tg: FakeTelegram) -> None:
    port = free_port()
    bot = await start_run(bot_env(tmp_path, tg, HEALTH_PORT=str(port)))
    try:
        await bot.until(tg.wait_for_request("getUpdates", timeout=PROCESS_TIMEOUT), "polling started")
        person = user(5550012, "en")
        tg.send_text(person, "/start")
        await bot.until(tg.wait_for_reply(person.id, timeout=PROCESS_TIMEOUT), "answering /start")
        base = f"http://127.0.0.1:{port}"
        async with web_client() as client:
            health, ready = await client.get(base + "/healthz"), await client.get(base + "/readyz")
            webhook = await client.post(base + "/telegram", json={})
        metrics = await scrape(base)
    finally:
        bot.process.terminate()
    assert await bot.exit_code() == 0
    assert health.status_code == 200 and ready.status_code == 200 and ready.json()["database"] == "ok"
    assert webhook.status_code == 404  # no webhook while polling
    assert metrics[("outreach_updates_processed_total", frozenset())] >= 1
    assert all(call.params.get("allowed_updates") == ALLOWED_UPDATES for call in tg.calls_to("getUpdates"))
    assert "Traceback" not in await bot.stderr()


async def test_translation_is_counted_and_timed_and_the_worker_shown(
    tg: FakeTelegram, make_settings: Callable[..., Settings], tmp_path: Path, packages: dict[str, Path]
) -> None:
    directory = tmp_path / "translation"
    install_packages(directory, packages["es_en"])
    settings = make_settings(webhook_url=WEBHOOK_URL, webhook_secret=WEBHOOK_SECRET, translation=True, translation_dir=directory)
    async for web in start_webhook_bot(tg, settings):
        async with web_client() as client:
            before = (await client.get(web.base_url + "/readyz")).json()
            await Reporter(tg, user(5550013, "es")).file("Hola. Esto es una prueba.")
            await settled(web.running.services.sessions, Report, lambda found: found[0].translation_status == TranslationStatus.DONE)
            after = (await client.get(web.base_url + "/readyz")).json()
        metrics = await scrape(web.base_url)
    assert (before["translation"], after["translation"]) == ("idle", "running")  # started on first use
    assert metrics[("outreach_translation_jobs_total", frozenset({("job", "report"), ("outcome", "translated")}))] == 1
    assert metrics[("outreach_translation_seconds_count", frozenset())] == 1
    assert metrics[("outreach_translation_seconds_sum", frozenset())] > 0
