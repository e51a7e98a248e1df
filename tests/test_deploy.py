"""The deployment files in deploy/, exercised here as docs/DEPLOY.md tells an agency to use them.

The systemd unit goes through `systemd-analyze verify`. The nginx configuration runs for real in
front of a real `outreach-bot run` in webhook mode, with TLS from a self-signed certificate made
here by openssl, so the shipped file is tested as shipped: only its addresses, port and
certificate paths are replaced, and each of them must be present exactly once. Either test skips
when its tool is missing, unless REQUIRE_NGINX=1 (set by .ci/run) makes that a failure.
"""

from __future__ import annotations

import asyncio
import configparser
import os
import shutil
import signal
import ssl
import subprocess
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest

from bot.web.app import SECRET_HEADER
from bot.web.server import webhook_path
from tests.conftest import user
from tests.fake_telegram import FakeTelegram
from tests.processes import CONSOLE_SCRIPT, PROCESS_TIMEOUT, bot_env, start_run
from tests.webhook import WEBHOOK_SECRET, WEBHOOK_URL, free_port

DEPLOY = Path(__file__).resolve().parent.parent / "deploy"
UNIT = DEPLOY / "outreach-bot.service"
NGINX_CONF = DEPLOY / "nginx-outreach-bot.conf"
SYSTEM_PATH = os.environ.get("PATH", "") + ":/usr/sbin:/sbin:/usr/bin"


def _tool(name: str, required_by: str | None = None) -> str:
    found = shutil.which(name, path=SYSTEM_PATH)
    if found is None:
        if required_by and os.environ.get(required_by) == "1":
            pytest.fail(f"{required_by}=1 but {name} is not installed")
        pytest.skip(f"{name} is not installed")
    return found


# --- systemd -----------------------------------------------------------------------------------

def _unit_service() -> configparser.SectionProxy:
    unit = configparser.ConfigParser(strict=False, interpolation=None)
    unit.optionxform = str  # systemd's keys are case-sensitive
    unit.read(UNIT, encoding="utf-8")
    return unit["Service"]


def test_the_unit_runs_the_bot_and_always_restarts_it() -> None:
    service = _unit_service()
    command = service["ExecStart"].split()
    assert Path(command[0]).name == "outreach-bot" and command[-1] == "run"
    assert command[1:3] == ["--env-file", "/etc/outreach-bot/outreach-bot.env"]
    assert service["Restart"] == "always"
    assert service["ReadWritePaths"] == service["WorkingDirectory"] == "/var/lib/outreach-bot"
    for option in ("NoNewPrivileges", "PrivateTmp", "ProtectHome"):
        assert service[option] == "yes"
    assert service["ProtectSystem"] == "strict"


def test_systemd_analyze_verify_finds_nothing_to_say_about_the_unit(tmp_path: Path) -> None:
    analyze = _tool("systemd-analyze")
    # verify checks that ExecStart is executable: point it at this venv's console script.
    shipped = _unit_service()["ExecStart"].split()[0]
    copy = tmp_path / UNIT.name
    copy.write_text(UNIT.read_text(encoding="utf-8").replace(shipped, str(CONSOLE_SCRIPT)), encoding="utf-8")
    checked = subprocess.run([analyze, "verify", str(copy)], capture_output=True, text=True, timeout=60)
    assert (checked.returncode, checked.stdout + checked.stderr) == (0, "")


# --- nginx -------------------------------------------------------------------------------------

def _adapted(conf: str, replacements: dict[str, str]) -> str:
    for shipped, here in replacements.items():
        assert conf.count(shipped) == 1, f"{NGINX_CONF.name} no longer has exactly one {shipped!r}"
        conf = conf.replace(shipped, here)
    return conf


def _self_signed_certificate(folder: Path) -> tuple[Path, Path]:
    cert, key = folder / "fullchain.pem", folder / "privkey.pem"
    subprocess.run(
        [_tool("openssl"), "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes",
         "-keyout", str(key), "-out", str(cert), "-days", "1", "-subj", "/CN=bot.example.org",
         "-addext", "subjectAltName=DNS:bot.example.org,IP:127.0.0.1"],
        check=True, capture_output=True, timeout=60,
    )  # fmt: skip
    return cert, key


async def _until_listening(process: asyncio.subprocess.Process, ports: list[int], error_log: Path) -> None:
    async def accepting(port: int) -> None:
        while True:
            try:
                _, writer = await asyncio.open_connection("127.0.0.1", port)
            except OSError:
                if process.returncode is not None:
                    pytest.fail(f"nginx exited with {process.returncode}:\n{error_log.read_text()}")
                await asyncio.sleep(0.05)
                continue
            writer.close()
            return

    await asyncio.wait_for(asyncio.gather(*(accepting(port) for port in ports)), PROCESS_TIMEOUT)


class Nginx:
    def __init__(self, public: int, internal: int, error_log: Path, cert: Path) -> None:
        self.public, self.internal, self.error_log = f"https://127.0.0.1:{public}", f"http://127.0.0.1:{internal}", error_log
        self.tls = ssl.create_default_context(cafile=str(cert))

    def client(self) -> httpx.AsyncClient:
        return httpx.AsyncClient(verify=self.tls, trust_env=False, timeout=30)


@pytest.fixture
async def nginx_in_front_of(tmp_path: Path) -> AsyncIterator[tuple[Nginx, int]]:
    """nginx with the shipped server blocks, as the current user, on free loopback ports. Its
    upstream's first server is a closed port (a standby); the second is the bot's WEB_LISTEN."""
    nginx = _tool("nginx", required_by="REQUIRE_NGINX")
    prefix = tmp_path / "nginx"
    prefix.mkdir()
    cert, key = _self_signed_certificate(prefix)
    public, internal, standby, leader = free_port(), free_port(), free_port(), free_port()
    server_blocks = _adapted(NGINX_CONF.read_text(encoding="utf-8"), {
        "listen 443 ssl;": f"listen 127.0.0.1:{public} ssl;",
        "/etc/ssl/outreach-bot/fullchain.pem": str(cert),
        "/etc/ssl/outreach-bot/privkey.pem": str(key),
        "server 10.0.0.11:8080;": f"server 127.0.0.1:{standby};",
        "server 10.0.0.12:8080;": f"server 127.0.0.1:{leader};",
        "listen 10.0.0.10:9180;": f"listen 127.0.0.1:{internal};",
        "allow 10.0.0.0/24;": "allow 127.0.0.1;",
    })  # fmt: skip
    (prefix / "outreach-bot.conf").write_text(server_blocks, encoding="utf-8")
    temp_paths = "\n".join(f"    {kind}_temp_path {prefix / kind};" for kind in ("client_body", "proxy", "fastcgi", "uwsgi", "scgi"))
    error_log = prefix / "error.log"
    # As root, nginx's workers would otherwise run as nobody, who cannot enter pytest's tmp folders.
    (prefix / "nginx.conf").write_text(f"""{"user root;" if os.geteuid() == 0 else ""}
worker_processes 1;
pid {prefix / "nginx.pid"};
events {{}}
http {{
    access_log {prefix / "access.log"};
{temp_paths}
    include {prefix / "outreach-bot.conf"};
}}
""", encoding="utf-8")  # fmt: skip
    process = await asyncio.create_subprocess_exec(
        nginx, "-p", str(prefix), "-c", str(prefix / "nginx.conf"), "-e", str(error_log), "-g", "daemon off;",
        stdin=asyncio.subprocess.DEVNULL, stdout=asyncio.subprocess.DEVNULL, stderr=asyncio.subprocess.DEVNULL,
    )  # fmt: skip
    try:
        await _until_listening(process, [public, internal], error_log)
        yield Nginx(public, internal, error_log, cert), leader
    finally:
        if process.returncode is None:
            process.send_signal(signal.SIGQUIT)  # graceful shutdown
        await asyncio.wait_for(process.wait(), PROCESS_TIMEOUT)


def _command(update_id: int, person, command: str) -> dict:  # noqa: ANN001
    entity = {"type": "bot_command", "offset": 0, "length": len(command)}
    message = {"message_id": update_id, "from": person.to_dict(), "chat": person.private_chat(), "date": 1795673731,
               "text": command, "entities": [entity]}  # fmt: skip
    return {"update_id": update_id, "message": message}


async def test_nginx_passes_only_the_webhook_to_the_leading_bot_and_keeps_metrics_internal(
    tmp_path: Path, tg: FakeTelegram, nginx_in_front_of: tuple[Nginx, int]
) -> None:
    nginx, leader = nginx_in_front_of
    path = webhook_path(WEBHOOK_URL)
    assert f"location = {path} {{" in NGINX_CONF.read_text(encoding="utf-8")
    bot = await start_run(bot_env(tmp_path, tg, WEBHOOK_URL=WEBHOOK_URL, WEBHOOK_SECRET=WEBHOOK_SECRET, WEB_LISTEN=f"127.0.0.1:{leader}"))
    try:
        await bot.until(tg.wait_for("setWebhook", timeout=PROCESS_TIMEOUT), "the webhook was registered")
        person = user(5550030, "en")
        async with nginx.client() as client:
            webhook = nginx.public + path
            # As Telegram posts an update: over TLS, with the secret.
            answered = await client.post(webhook, json=_command(700001, person, "/start"), headers={SECRET_HEADER: WEBHOOK_SECRET})
            assert answered.status_code == 200
            welcomed = tg.wait_for("sendMessage", lambda c: c.params.get("chat_id") == person.id
                                   and c.params["text"].startswith("Welcome!"), timeout=PROCESS_TIMEOUT)  # fmt: skip
            await bot.until(welcomed, "answering /start through nginx")
            no_secret = await client.post(webhook, json=_command(700002, person, "/help"))
            too_large = await client.post(webhook, content=b"x" * (2 * 1024 * 1024), headers={SECRET_HEADER: WEBHOOK_SECRET})
            get_webhook = await client.get(webhook)
            public = {endpoint: (await client.get(nginx.public + endpoint)).status_code for endpoint in ("/metrics", "/readyz", "/healthz")}
            internal_metrics = await client.get(nginx.internal + "/metrics")
            internal_ready = await client.get(nginx.internal + "/readyz")
    finally:
        bot.process.send_signal(signal.SIGTERM)
    assert await bot.exit_code() == 0
    assert no_secret.status_code == 403  # the bot's refusal, passed on
    assert too_large.status_code == 413 and "nginx" in too_large.text  # nginx's, before the bot reads a byte
    assert get_webhook.status_code == 403  # only POST reaches the webhook
    assert public == {"/metrics": 404, "/readyz": 404, "/healthz": 404}
    assert internal_ready.status_code == 200
    assert internal_metrics.status_code == 200
    assert 'outreach_webhook_refused_total{reason="secret"} 1.0' in internal_metrics.text
    assert 'reason="too_large"' not in internal_metrics.text
    # Some request went to the closed "standby" first and was passed on to the bot (proxy_next_upstream).
    assert "Connection refused) while connecting to upstream" in nginx.error_log.read_text()
