"""Many people press Send within one second while the staff chat is paced as in production.

    .venv/bin/python bench/send_at_once.py [--people 20 200] [--database sqlite|postgresql]

For each count, a fresh `outreach-bot run` (fresh database, STAFF_MESSAGES_PER_MINUTE=20, no
translation) polls the fake Bot API (bench/reports.py's BenchTelegram). That many people each
bring a report to its review, then all press Send within one second. It reports how many
reports were stored, how long each person waited from pressing Send to the "received" message
(p50 and max; the goal is every one within 2 s), how many staff cards had gone out by the last
receipt (the pace allows one every 3 s), and the bot's log lines at ERROR or above (goal: none).
Every wait is bounded; only loopback is used.
"""

from __future__ import annotations

import argparse
import asyncio
import re
import shlex
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.reports import BenchTelegram, bench_env, database_facts, fresh_database  # noqa: E402
from bench.startup import BOT  # noqa: E402
from bench.throughput import Bot  # noqa: E402
from tests.conftest import STAFF_CHAT_ID  # noqa: E402
from tests.fake_telegram import Call, FakeUser  # noqa: E402
from tests.reporting import CODE, Reporter  # noqa: E402

PHASE_TIMEOUT = 300.0


async def up_to_review(reporter: Reporter, n: int) -> Call:
    reply = await reporter.press(await reporter.start(), "report:cat:crime")
    reply = await reporter.press(await reporter.say(f"Incident {n}: a car has been parked here for days."), "report:next")
    return await reporter.press(await reporter.press(reply, "report:skip"), "report:when:today")


async def one_count(people: int, workdir: Path, database_url: str) -> dict:
    async with BenchTelegram() as tg:
        env_file = bench_env(workdir, tg, database_url, STAFF_MESSAGES_PER_MINUTE=20, TRANSLATION="false")
        bot = await Bot.start(tg, [str(BOT), "--env-file", str(env_file), "run"], workdir)
        try:
            reporters = [Reporter(tg, FakeUser(id=6_000_000 + n, first_name=f"S{n}", language_code=("es", "ar", "en")[n % 3]))
                         for n in range(people)]  # fmt: skip
            reviews = await asyncio.wait_for(
                asyncio.gather(*(up_to_review(r, n) for n, r in enumerate(reporters))), PHASE_TIMEOUT
            )
            mark, pressed, start = tg.mark(), {}, time.perf_counter()
            for n, (reporter, review) in enumerate(zip(reporters, reviews, strict=True)):
                # Spread over one second, as people pressing Send "at once" would.
                await asyncio.sleep(max(0.0, start + n / people - time.perf_counter()))
                pressed[reporter.person.id] = time.perf_counter()
                tg.press_button(reporter.person, review.result, "report:send")
            receipts = await asyncio.wait_for(
                asyncio.gather(*(tg.wait_for_reply(r.person.id, after=mark, timeout=PHASE_TIMEOUT) for r in reporters)),
                PHASE_TIMEOUT,
            )
        finally:
            await bot.stop()
        waits = [receipt.at - pressed[r.person.id] for r, receipt in zip(reporters, receipts, strict=True)]  # type: ignore[attr-defined]
        last = max(tg.calls.index(receipt) for receipt in receipts)
        cards = [i for i, c in enumerate(tg.calls[:last]) if c.method == "sendMessage" and c.failed is None
                 and c.params["chat_id"] == STAFF_CHAT_ID and "Report #" in c.params["text"]]  # fmt: skip
        log = bot.log.read_text(encoding="utf-8", errors="replace").splitlines()
        return {
            "codes": len({CODE.search(r.params["text"]).group() for r in receipts if CODE.search(r.params["text"])}),
            "waits": waits, "cards_before_last_receipt": len(cards),
            "errors": [line for line in log if re.search(r" (ERROR|CRITICAL) |Traceback", line)],
        }  # fmt: skip


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--people", type=int, nargs="+", default=[20, 200])
    parser.add_argument("--database", choices=("sqlite", "postgresql"), default="sqlite")
    args = parser.parse_args()
    failed = False
    print(f"\nSend pressed by N people within one second, staff chat paced at 20/min, {args.database}")
    print(f"  {'people':>6} {'stored':>7} {'codes':>6} {'p50 s':>6} {'max s':>6} {'cards by last receipt':>22} {'log errors':>11}")
    for people in args.people:
        with tempfile.TemporaryDirectory(prefix="outreach-send-") as scratch:
            workdir = Path(scratch)
            with fresh_database(args.database, workdir) as (url, target):
                result = asyncio.run(one_count(people, workdir, url))
                stored = len(database_facts(args.database, target)[0])
        waits = result["waits"]
        print(f"  {people:>6} {stored:>7} {result['codes']:>6} {statistics.median(waits):>6.2f} {max(waits):>6.2f} "
              f"{result['cards_before_last_receipt']:>22} {len(result['errors']):>11}")  # fmt: skip
        for line in result["errors"][:5]:
            print(f"    {line[:200]}")
        failed |= stored != people or result["codes"] != people or max(waits) > 2 or bool(result["errors"])
    print(f"goal: every report stored, every receipt within 2 s, no error logged: {'NOT MET' if failed else 'met'}")
    print(f"command: {shlex.join(['.venv/bin/python', 'bench/send_at_once.py', *sys.argv[1:]])}")
    print(f"machine: nproc={subprocess.run(['nproc'], capture_output=True, text=True).stdout.strip()}; "
          "the fake server, the driver and the bot share the machine")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
