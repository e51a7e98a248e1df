"""End to end: webhook mode, over real HTTP, against the fake Bot API.

The fake plays Telegram: it records setWebhook and then POSTs each update to the bot's web app
with the registered secret, as Telegram does through the agency's reverse proxy.
"""

from __future__ import annotations

import json
import signal
from collections.abc import AsyncIterator, Callable
from pathlib import Path

import pytest

from bot.application import ALLOWED_UPDATES
from bot.cli import main
from bot.config import ConfigError, Settings, load_settings
from bot.web.app import MAX_BODY_BYTES, SECRET_HEADER
from bot.web.server import webhook_path
from tests.conftest import SECRET_KEY, STAFF_CHAT_ID, user
from tests.fake_telegram import FakeTelegram
from tests.processes import CONFIG_VARS, PROCESS_TIMEOUT, bot_env, error_lines, start_run, write_env
from tests.webhook import WEBHOOK_SECRET, WEBHOOK_URL, WebBot, free_port, start_webhook_bot, web_client

MARKER = "marker-5d1c-do-not-log"
STRANGER = user(5550777, "en", first_name="Marker", username="marker_stranger_5d1c")


@pytest.fixture
async def web(tg: FakeTelegram, make_settings: Callable[..., Settings]) -> AsyncIterator[WebBot]:
    async for running in start_webhook_bot(tg, make_settings(webhook_url=WEBHOOK_URL, webhook_secret=WEBHOOK_SECRET)):
        yield running


def raw_update(update_id: int, text: str, person=STRANGER) -> dict:  # noqa: ANN001
    message = {"message_id": 1, "from": person.to_dict(), "chat": person.private_chat(), "date": 1795673731, "text": text}
    return {"update_id": update_id, "message": message}


async def test_the_webhook_is_registered_with_the_secret_and_the_updates_the_bot_handles(web: WebBot, tg: FakeTelegram) -> None:
    [registered] = tg.calls_to("setWebhook")
    assert registered.params["url"] == WEBHOOK_URL
    assert registered.params["secret_token"] == WEBHOOK_SECRET
    assert registered.params["allowed_updates"] == ALLOWED_UPDATES
    assert registered.params["drop_pending_updates"] is False
    assert not tg.calls_to("getUpdates") and not tg.calls_to("deleteWebhook")


async def test_an_update_posted_with_the_secret_is_answered_through_the_bot_api(web: WebBot, tg: FakeTelegram) -> None:
    person = user(5550001, "ar")
    reply = await web.running.say(person, "/start")
    assert reply.params["text"].startswith("أهلًا بك")
    reply = await web.running.say(person, "/help")
    assert reply.params["chat_id"] == person.id
    await tg.wait_until_drained()
    assert tg.webhook_statuses == [200, 200]


@pytest.mark.parametrize("headers", [{}, {SECRET_HEADER: "wrong-secret-0123456789-abcdefghijklmnop"}, {SECRET_HEADER: ""}])
async def test_a_wrong_or_missing_secret_is_refused_and_nothing_is_handled(
    web: WebBot, tg: FakeTelegram, log_records: pytest.LogCaptureFixture, headers: dict
) -> None:
    async with web_client() as client:
        refused = await client.post(web.webhook, json=raw_update(900001, "/start " + MARKER), headers=headers)
        metrics = (await client.get(web.base_url + "/metrics")).text
    assert refused.status_code == 403
    assert 'outreach_webhook_refused_total{reason="secret"} 1.0' in metrics

    # A good update after it is handled; the refused one never reached the bot.
    reply = await web.running.say(user(5550002, "en"), "/start")
    assert reply.params["text"].startswith("Welcome!")
    await web.running.handled()
    assert not [c for c in tg.calls if c.params.get("chat_id") == STRANGER.id]
    refusals = [r.getMessage() for r in log_records.records if r.getMessage().startswith("webhook_refused")]
    assert refusals == [f"webhook_refused reason={'wrong_secret' if headers.get(SECRET_HEADER) else 'no_secret'}"]
    for private in (MARKER, str(STRANGER.id), "marker_stranger_5d1c", WEBHOOK_SECRET):
        assert private not in log_records.text


async def test_an_oversized_body_is_refused_while_it_is_read(web: WebBot, tg: FakeTelegram) -> None:
    too_long = raw_update(900002, "x" * MAX_BODY_BYTES)
    body = json.dumps(too_long).encode()

    async def chunks():  # noqa: ANN202 - no Content-Length: the limit must hold while reading
        for start in range(0, len(body), 64 * 1024):
            yield body[start : start + 64 * 1024]

    async with web_client() as client:
        declared = await client.post(web.webhook, content=body, headers={SECRET_HEADER: WEBHOOK_SECRET})
        streamed = await client.post(web.webhook, content=chunks(), headers={SECRET_HEADER: WEBHOOK_SECRET})
        metrics = (await client.get(web.base_url + "/metrics")).text
    assert declared.status_code == streamed.status_code == 413
    assert "content-length" in declared.request.headers and "content-length" not in streamed.request.headers
    assert 'outreach_webhook_refused_total{reason="too_large"} 2.0' in metrics
    reply = await web.running.say(user(5550003, "en"), "/start")  # and the bot goes on
    assert reply.params["text"].startswith("Welcome!")


async def test_an_unparseable_body_is_skipped_and_the_next_update_handled(
    web: WebBot, tg: FakeTelegram, log_records: pytest.LogCaptureFixture
) -> None:
    wrong_date = raw_update(900003, MARKER)
    wrong_date["message"]["date"] = "yesterday"
    async with web_client() as client:
        secret = {SECRET_HEADER: WEBHOOK_SECRET}
        answers = [
            await client.post(web.webhook, json=wrong_date, headers=secret),
            await client.post(web.webhook, content=b"{not json " + MARKER.encode(), headers=secret),
            await client.post(web.webhook, json=[MARKER], headers=secret),
            await client.post(web.webhook, content=b"[" * 200_000 + b"]" * 200_000, headers=secret),  # too deep
        ]
        assert [a.status_code for a in answers] == [200, 200, 200, 200]  # or Telegram would send them again
        reply = await web.running.say(user(5550004, "en"), "/start")
        assert reply.params["text"].startswith("Welcome!")
        metrics = (await client.get(web.base_url + "/metrics")).text
    assert web.running.application.bot.unparseable_updates == 4
    assert "outreach_updates_unparseable_total 4.0" in metrics
    skipped = [r.getMessage() for r in log_records.records if r.getMessage().startswith("update_unparseable")]
    assert skipped == ["update_unparseable update_id=900003 error=TypeError"] + 3 * ["update_unparseable update_id=None error=TypeError"]
    assert not [c for c in tg.calls if c.params.get("chat_id") == STRANGER.id]
    for private in (MARKER, str(STRANGER.id), "marker_stranger_5d1c"):
        assert private not in log_records.text


# --- configuration -----------------------------------------------------------------------------

def _load(**values: str) -> Settings:
    base = {"TELEGRAM_BOT_TOKEN": "123456789:" + "A" * 35, "STAFF_CHAT_ID": str(STAFF_CHAT_ID), "SECRET_KEY": SECRET_KEY}
    with pytest.MonkeyPatch.context() as env:
        for name, value in (base | values).items():
            env.setenv(name, value)
        return load_settings(None)


@pytest.mark.parametrize(
    ("values", "problem"),
    [
        ({"WEBHOOK_URL": WEBHOOK_URL}, "WEBHOOK_SECRET: is required with WEBHOOK_URL; `outreach-bot init` makes one"),
        ({"WEBHOOK_URL": "http://bot.example.org/telegram", "WEBHOOK_SECRET": WEBHOOK_SECRET},
         "WEBHOOK_URL: must be the public https:// URL Telegram posts updates to, e.g. https://bot.example.org/telegram"),
        ({"WEBHOOK_URL": WEBHOOK_URL, "WEBHOOK_SECRET": "short"},
         "WEBHOOK_SECRET: must be 32 to 256 letters, digits, _ or -; `outreach-bot init` makes one"),
        ({"WEB_LISTEN": "8080"}, "WEB_LISTEN: must be HOST:PORT, e.g. 127.0.0.1:8080"),
        ({"HEALTH_PORT": "70000"}, "HEALTH_PORT: must be a port number, or 0 for no health server while polling"),
    ],
)  # fmt: skip
def test_webhook_settings_are_checked(values: dict[str, str], problem: str) -> None:
    with pytest.raises(ConfigError) as error:
        _load(**values)
    assert error.value.problems == [problem]


def test_webhook_settings_and_their_defaults() -> None:
    assert _load().listen_address == ("127.0.0.1", 8080) and _load().health_port == 0
    settings = _load(WEBHOOK_URL=WEBHOOK_URL, WEBHOOK_SECRET=WEBHOOK_SECRET, WEB_LISTEN="[::1]:8443")
    assert settings.listen_address == ("::1", 8443)
    assert WEBHOOK_SECRET not in repr(settings)


# --- as a real process -------------------------------------------------------------------------

async def test_run_with_a_webhook_url_answers_and_stops_on_sigterm(tmp_path: Path, tg: FakeTelegram) -> None:
    port = free_port()
    bot = await start_run(bot_env(tmp_path, tg, WEBHOOK_URL=WEBHOOK_URL, WEBHOOK_SECRET=WEBHOOK_SECRET, WEB_LISTEN=f"127.0.0.1:{port}"))
    try:
        await bot.until(tg.wait_for("setWebhook", timeout=PROCESS_TIMEOUT), "the webhook was registered")
        tg.post_webhooks_to(f"http://127.0.0.1:{port}{webhook_path(WEBHOOK_URL)}")
        person = user(5550020, "es")
        tg.send_text(person, "/start")
        reply = await bot.until(tg.wait_for_reply(person.id, timeout=PROCESS_TIMEOUT), "answering /start")
    finally:
        bot.process.send_signal(signal.SIGTERM)
    assert "¡Le damos la bienvenida!" in reply.params["text"]
    assert await bot.exit_code() == 0
    stderr = await bot.stderr()
    assert "webhook_registered" in stderr and "Traceback" not in stderr
    assert not tg.calls_to("getUpdates")
    for private in (WEBHOOK_SECRET, SECRET_KEY, tg.token, str(person.id)):
        assert private not in stderr


async def test_run_with_webhook_but_no_url_exits_2(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    env_file = write_env(tmp_path / ".env", {
        "TELEGRAM_BOT_TOKEN": "123456789:" + "A" * 35, "STAFF_CHAT_ID": str(STAFF_CHAT_ID), "SECRET_KEY": SECRET_KEY,
    })  # fmt: skip
    with pytest.MonkeyPatch.context() as env:
        for name in CONFIG_VARS:
            env.delenv(name, raising=False)
        assert main(["--env-file", str(env_file), "run", "--webhook"]) == 2
    assert error_lines(capsys.readouterr().err) == [
        "error: WEBHOOK_URL: is not set; --webhook needs the public https URL Telegram posts to"
    ]
