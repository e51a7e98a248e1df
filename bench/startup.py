"""Start-up benchmark of `outreach-bot run` against the fake Bot API on 127.0.0.1.

    .venv/bin/python bench/startup.py [--runs N]

For each run: a fresh directory with a .env and an empty SQLite database, then
`/usr/bin/time -v -o TIMEFILE .venv/bin/outreach-bot --env-file DIR/.env run`. It measures
  * ready: wall time from launching the process until the fake server *receives* the first
    getUpdates (polling has started; the database was migrated before that);
  * idle RSS: `ps -o rss= -p PID` of the bot's python process (the child of /usr/bin/time),
    sampled after it answered one /start and then sat idle for a moment;
  * max RSS: "Maximum resident set size" from /usr/bin/time -v, after SIGTERM to the bot.
Everything is bounded (a timeout per wait; a stuck bot is killed), and only loopback is used.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import re
import shlex
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tests.fake_telegram import FakeTelegram, FakeUser  # noqa: E402

TIME = Path("/usr/bin/time")
BOT = ROOT / ".venv" / "bin" / "outreach-bot"
CONFIG_VARS = (
    "TELEGRAM_BOT_TOKEN", "STAFF_CHAT_ID", "TELEGRAM_API_BASE_URL", "DATABASE_URL", "SECRET_KEY",
    "DEFAULT_LOCALE", "OFFICER_LOCALE", "AGENCY_NAME", "AGENCY_CONTACT", "EMERGENCY_NUMBER",
    "RETENTION_DAYS",
)  # fmt: skip
TIMEOUT = 60.0  # per wait
IDLE_SETTLE = 1.0  # seconds the bot sits idle before its RSS is read


@dataclass
class Run:
    ready_s: float
    idle_rss_mib: float
    max_rss_mib: float
    exit_status: int


class BenchError(Exception):
    pass


def child_env() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k.upper() not in CONFIG_VARS}
    env["NO_PROXY"] = env["no_proxy"] = "127.0.0.1,localhost"
    return env


def ps_rss_kib(pid: int) -> int:
    out = subprocess.run(["ps", "-o", "rss=", "-p", str(pid)], capture_output=True, text=True, check=True)
    return int(out.stdout.strip())


def child_pid(parent: int) -> int:
    """The bot's python process: the only child of /usr/bin/time."""
    out = subprocess.run(["ps", "--ppid", str(parent), "-o", "pid="], capture_output=True, text=True)
    pids = [int(p) for p in out.stdout.split()]
    if len(pids) != 1:
        raise BenchError(f"expected one child of /usr/bin/time (pid {parent}), found {pids}")
    return pids[0]


def command(env_file: Path, time_file: Path) -> list[str]:
    return [str(TIME), "-v", "-o", str(time_file), str(BOT), "--env-file", str(env_file), "run"]


async def one_run(number: int, workdir: Path) -> tuple[Run, list[str]]:
    async with FakeTelegram() as tg:
        env_file, time_file = workdir / ".env", workdir / "time.txt"
        env_file.write_text(
            f"TELEGRAM_BOT_TOKEN={tg.token}\nTELEGRAM_API_BASE_URL={tg.base_url}\n"
            f"STAFF_CHAT_ID=-1001234567890\nSECRET_KEY={'b' * 40}\n"
            f"DATABASE_URL=sqlite+aiosqlite:///{workdir / 'data' / 'outreach.db'}\n",
            encoding="utf-8",
        )
        env_file.chmod(0o600)
        argv = command(env_file, time_file)
        log = (workdir / "bot.log").open("wb")
        started = time.perf_counter()
        process = await asyncio.create_subprocess_exec(
            *argv, cwd=workdir, env=child_env(), stdin=subprocess.DEVNULL, stdout=log, stderr=log
        )
        bot_pid = None
        try:
            exited = asyncio.ensure_future(process.wait())
            ready = asyncio.ensure_future(tg.wait_for_request("getUpdates", timeout=TIMEOUT))
            await asyncio.wait({exited, ready}, timeout=TIMEOUT, return_when=asyncio.FIRST_COMPLETED)
            if not ready.done() or ready.exception():
                ready.cancel()
                raise BenchError(f"run {number}: not polling within {TIMEOUT}s (see {workdir / 'bot.log'})")
            ready_s = time.perf_counter() - started
            bot_pid = child_pid(process.pid)

            person = FakeUser(id=5550000 + number, language_code="es")
            tg.send_text(person, "/start")
            await tg.wait_for_reply(person.id, timeout=TIMEOUT)
            await asyncio.sleep(IDLE_SETTLE)
            idle_kib = ps_rss_kib(bot_pid)

            # SIGTERM to the bot itself: /usr/bin/time only waits for it and then reports.
            os.kill(bot_pid, signal.SIGTERM)
            await asyncio.wait_for(asyncio.shield(exited), TIMEOUT)
        finally:
            if process.returncode is None:
                for pid in (bot_pid, process.pid):
                    if pid is not None:
                        try:
                            os.kill(pid, signal.SIGKILL)
                        except ProcessLookupError:
                            pass
                await asyncio.wait_for(process.wait(), TIMEOUT)
            log.close()
        report = time_file.read_text(encoding="utf-8")
        max_kib = int(re.search(r"Maximum resident set size \(kbytes\): (\d+)", report).group(1))
        status = int(re.search(r"Exit status: (\d+)", report).group(1))
        return Run(ready_s, idle_kib / 1024, max_kib / 1024, status), argv


def table(runs: list[Run]) -> str:
    rows = [f"{'run':>5} {'ready (s)':>10} {'idle RSS (MiB)':>15} {'max RSS (MiB)':>14} {'exit':>5}"]
    for i, run in enumerate(runs, start=1):
        rows.append(f"{i:>5} {run.ready_s:>10.2f} {run.idle_rss_mib:>15.1f} {run.max_rss_mib:>14.1f} {run.exit_status:>5}")
    for name, pick in (("median", statistics.median), ("max", max)):
        rows.append(
            f"{name:>5} {pick(r.ready_s for r in runs):>10.2f} {pick(r.idle_rss_mib for r in runs):>15.1f} "
            f"{pick(r.max_rss_mib for r in runs):>14.1f}"
        )
    return "\n".join(rows)


async def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()
    if not TIME.exists():
        print(f"{TIME} is missing; it is GNU time, e.g. `apt-get install -y time`. Nothing measured.")
        return 2
    if not BOT.exists():
        print(f"{BOT} is missing; create the virtualenv and `pip install -e .[dev]` first.")
        return 2

    runs, argv = [], []
    with tempfile.TemporaryDirectory(prefix="outreach-bench-") as tmp:
        for number in range(1, args.runs + 1):
            workdir = Path(tmp) / f"run{number}"
            workdir.mkdir()
            try:
                run, argv = await one_run(number, workdir)
            except BenchError as exc:
                print(f"error: {exc}")
                print((workdir / "bot.log").read_text(encoding="utf-8", errors="replace")[-2000:])
                return 1
            runs.append(run)
            print(f"run {number}: ready in {run.ready_s:.2f}s", flush=True)

    print()
    print(f"outreach-bot run, {len(runs)} runs, fresh SQLite database each (migrated at start), fake Bot API on 127.0.0.1")
    print(table(runs))
    print()
    print("commands (TMP is a fresh directory per run; the fake server's port changes per run):")
    shown = [re.sub(r"/tmp/outreach-bench-[^/]+/run\d+", "TMP", part) for part in argv]
    print("  " + shlex.join(shown))
    print("  ps --ppid <pid of /usr/bin/time> -o pid=      # the bot's python process")
    print("  ps -o rss= -p <bot pid>                       # idle RSS, after one /start answered")
    print("  kill -TERM <bot pid>                          # then 'Maximum resident set size' from TMP/time.txt")
    return 0 if all(run.exit_status == 0 for run in runs) else 1


if __name__ == "__main__":
    sys.exit(asyncio.run(main()))
