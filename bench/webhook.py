"""Webhook mode against polling: updates/s of `outreach-bot run` taking the same /help burst both ways.

    .venv/bin/python bench/webhook.py [--users 200] [--messages 2000] [--rounds 3] [--database sqlite|postgresql]

Each round runs the full bot twice, on one database made for the run, through bench/throughput.py's harness
(the fake Bot API on loopback, `burst`: M `/help` from U people pushed at once, M ÷ (first push →
last reply)): first polling (`outreach-bot run`), then with a webhook (`outreach-bot run`
with WEBHOOK_URL set), where the fake server POSTs each update to the bot's web app as Telegram
does, up to 40 at once and one chat at a time (tests/fake_telegram.py `post_webhooks_to`). The
report gives each round and the median of webhook ÷ polling, measured in the same run. No
pacing, no translation; every wait is bounded; only loopback is used.
"""

from __future__ import annotations

import argparse
import asyncio
import platform
import shlex
import socket
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.reports import BenchTelegram, bench_env, fresh_database  # noqa: E402
from bench.startup import BOT  # noqa: E402
from bench.throughput import burst, people_from, running  # noqa: E402

WEBHOOK_URL = "https://bot.example.org/telegram"


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


async def measure(args: argparse.Namespace, workdir: Path, database_url: str) -> list[dict[str, float]]:
    rounds = []
    async with BenchTelegram() as tg:
        for number in range(args.rounds):
            rates = {}
            for mode in ("polling", "webhook"):
                port = free_port()
                webhook = {"WEBHOOK_URL": WEBHOOK_URL, "WEBHOOK_SECRET": "w" * 40, "WEB_LISTEN": f"127.0.0.1:{port}"}
                env_file = bench_env(workdir, tg, database_url, STAFF_MESSAGES_PER_MINUTE=0, TRANSLATION="false",
                                     **(webhook if mode == "webhook" else {}))  # fmt: skip
                command = [str(BOT), "--env-file", str(env_file), "run"]
                async with running(tg, command, workdir, "setWebhook" if mode == "webhook" else "getUpdates"):
                    if mode == "webhook":
                        tg.post_webhooks_to(f"http://127.0.0.1:{port}/telegram")
                    people = people_from(10_000_000 * (number + 1) + (5_000_000 if mode == "webhook" else 0), args.users)
                    rates[mode] = await burst(tg, people, args.messages)
                await tg.stop_posting_webhooks()  # the next bot polls
            rounds.append(rates)
    return rounds


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--users", type=int, default=200)
    parser.add_argument("--messages", type=int, default=2000)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--database", choices=("sqlite", "postgresql"), default="sqlite")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="outreach-webhook-") as scratch:
        workdir = Path(scratch)
        with fresh_database(args.database, workdir) as (url, _target):
            result = asyncio.run(measure(args, workdir, url))
    print(f"\n{args.messages} /help from {args.users} people pushed at once, {args.database}, {args.rounds} rounds")
    print(f"  {'round':<6} {'polling/s':>10} {'webhook/s':>10} {'webhook ÷ polling':>18}")
    ratios = []
    for number, rates in enumerate(result, 1):
        ratios.append(rates["webhook"] / rates["polling"])
        print(f"  {number:<6} {rates['polling']:>10.0f} {rates['webhook']:>10.0f} {ratios[-1]:>18.2f}")
    print(f"  median webhook ÷ polling: {statistics.median(ratios):.2f}")
    print(f"command: {shlex.join(['.venv/bin/python', 'bench/webhook.py', *sys.argv[1:]])}")
    print(f"machine: nproc={subprocess.run(['nproc'], capture_output=True, text=True).stdout.strip()}, "
          f"Python {platform.python_version()}; the fake server, the driver and the bot share the machine")
    return 0


if __name__ == "__main__":
    sys.exit(main())
