"""Offline machine translation, out of the bot's process and event loop.

Handlers and jobs call `Translator`; it feeds the worker process (bot.translation.worker) through
its stdin and reads answers from its stdout. The worker starts on first use, under a lock so
concurrent first calls start one worker. Every job has a timeout; after a timeout or a crash the
worker is killed and the next job starts a fresh one. No report ever waits on translation:
callers get TranslationUnavailable with a reason and go on without it.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import json
import logging
import os
import re
import sys
from dataclasses import dataclass
from pathlib import Path

log = logging.getLogger(__name__)

START_TIMEOUT = 180.0  # importing argostranslate and lingua on a cold, small machine
_LINE_LIMIT = 2**24  # a translated report is far below this


class TranslationUnavailable(Exception):
    """Why a text was not translated: no_model, unsafe_package, timeout, worker_stopped, …"""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


@dataclass(frozen=True)
class Translation:
    text: str
    source: str
    target: str
    pivot: bool  # through English: there is no direct model
    agreement: float | None  # how well the round trip matched the original, 0–1


def language_code(locale: str) -> str:
    """The ISO 639-1 code Argos and lingua use for one of our locales: `zh_Hans` → `zh`."""
    return locale.split("_", 1)[0]


class Translator:
    def __init__(self, directory: Path, languages: list[str], timeout: float) -> None:
        self._directory, self.timeout = directory, timeout
        self._languages = sorted({language_code(locale) for locale in languages})
        self._lock = asyncio.Lock()
        self._process: asyncio.subprocess.Process | None = None
        self._reader: asyncio.Task[None] | None = None
        self._stderr: asyncio.Task[str | None] | None = None
        self._pending: dict[int, asyncio.Future[dict]] = {}
        self._ids = itertools.count(1)

    async def translate(self, text: str, source: str, target: str, *, check: bool = True) -> Translation:
        source, target = language_code(source), language_code(target)
        answer = await self._ask({"op": "translate", "text": text, "source": source, "target": target, "check": check})
        return Translation(answer["text"], source, target, answer["pivot"], answer.get("agreement"))

    async def detect(self, text: str, hint: str) -> str:
        """The language the text is written in, or `hint` (the reporter's choice) when unsure."""
        answer = await self._ask({"op": "detect", "text": text, "hint": language_code(hint)})
        return answer["language"]

    async def pairs(self) -> dict[str, list[list[str]]]:
        return await self._ask({"op": "pairs"})

    @property
    def worker_pid(self) -> int | None:
        """The worker's process id while it runs, for monitoring."""
        running = self._process is not None and self._process.returncode is None
        return self._process.pid if running else None

    async def close(self) -> None:
        async with self._lock:
            await self._stop("closing")

    async def _ask(self, request: dict) -> dict:
        async with self._lock:  # one worker, however many first calls arrive together
            job, future = await self._submit(request)
        try:
            async with asyncio.timeout(self.timeout):
                answer = await future
        except TimeoutError:
            log.warning("translation_timeout op=%s; restarting the worker", request["op"])
            async with self._lock:
                await self._stop("timeout")
            raise TranslationUnavailable("timeout") from None
        finally:
            self._pending.pop(job, None)
        if "error" in answer:
            raise TranslationUnavailable(answer["error"])
        answer.pop("id")
        return answer

    async def _submit(self, request: dict) -> tuple[int, asyncio.Future[dict]]:
        """Hand a job to the worker, starting one if none runs; a worker that died since its
        last answer is noticed here and replaced once."""
        for _attempt in range(2):
            if self._process is None or self._process.returncode is not None:
                await self._start()
            job = next(self._ids)
            future = self._pending[job] = asyncio.get_running_loop().create_future()
            try:
                self._process.stdin.write((json.dumps({"id": job, **request}) + "\n").encode())
                await self._process.stdin.drain()
                return job, future
            except (ConnectionResetError, BrokenPipeError):
                self._pending.pop(job)
                await self._stop("gone")
        raise TranslationUnavailable("worker_stopped")

    async def _start(self) -> None:
        """Start the worker and wait until it has warmed up (loaded its libraries)."""
        self._process = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "bot.translation.worker",
            stdin=asyncio.subprocess.PIPE, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
            env=self._environment(), limit=_LINE_LIMIT,
        )  # fmt: skip
        errors = self._stderr = asyncio.create_task(_error_type(self._process.stderr), name="translation-stderr")
        try:
            async with asyncio.timeout(START_TIMEOUT):
                ready = await self._process.stdout.readline()
        except TimeoutError:
            ready = b""
        if not ready:
            await self._stop("did not start")
            log.error("translation_worker_not_started error=%s", await errors or "none")
            raise TranslationUnavailable("worker_not_started")
        errors.add_done_callback(_log_crash)
        self._reader = asyncio.create_task(self._read(self._process), name="translation-reader")
        log.info("translation_worker_started")

    async def _read(self, process: asyncio.subprocess.Process) -> None:
        while line := await process.stdout.readline():
            answer = json.loads(line)
            future = self._pending.get(answer.get("id"))
            if future and not future.done():
                future.set_result(answer)
        # The worker exited (crashed, killed, out of memory): the next job starts a new one, and
        # every job in flight fails now.
        crashed = process is self._process
        if crashed:
            self._process = None
        for future in self._pending.values():
            if not future.done():
                future.set_exception(TranslationUnavailable("worker_stopped"))
        code = await process.wait()
        if crashed:
            log.warning("translation_worker_stopped code=%s", code)

    async def _stop(self, why: str) -> None:
        process, self._process = self._process, None
        if process is not None and process.returncode is None:
            process.kill()
            await process.wait()
            log.info("translation_worker_stopped why=%s", why)
        for task in (self._reader, self._stderr):
            if task is not None:
                with contextlib.suppress(asyncio.CancelledError):
                    await task
        for future in self._pending.values():
            if not future.done():
                future.set_exception(TranslationUnavailable("worker_stopped"))

    def _environment(self) -> dict[str, str]:
        """argostranslate reads its settings from the environment once, at import."""
        return os.environ | {
            "OUTREACH_LANGUAGES": ",".join(self._languages),
            "ARGOS_PACKAGES_DIR": str(self._directory / "packages"),
            "XDG_DATA_HOME": str(self._directory / "data"),
            "XDG_CONFIG_HOME": str(self._directory / "config"),
            "XDG_CACHE_HOME": str(self._directory / "cache"),
            "ARGOS_DEVICE_TYPE": "cpu",
            # Measured on 2 cores: two translations at once, one thread each, is fastest.
            "ARGOS_INTER_THREADS": os.environ.get("ARGOS_INTER_THREADS", "2"),
            "ARGOS_INTRA_THREADS": os.environ.get("ARGOS_INTRA_THREADS", "1"),
            # Only MiniSBD inside the package splits sentences offline; never Stanza or spaCy.
            "ARGOS_CHUNK_TYPE": "MINISBD",
        }


_EXCEPTION_LINE = re.compile(r"^([A-Za-z_][\w.]*)(?::|$)")


async def _error_type(stderr: asyncio.StreamReader) -> str | None:
    """Read the worker's stderr to its end and return the type of the exception that ended it,
    if any. The lines themselves are never logged: a traceback quotes source lines and exception
    messages, which can hold what a person wrote."""
    error, in_traceback = None, False
    while raw := await stderr.readline():  # to the end, so the worker never blocks on a full pipe
        line = raw.decode(errors="replace").rstrip()
        if line.startswith("Traceback (most recent call last):"):
            in_traceback = True
        elif in_traceback and not line.startswith(" ") and (found := _EXCEPTION_LINE.match(line)):
            error, in_traceback = found.group(1).rsplit(".", 1)[-1], False
    return error


def _log_crash(errors: asyncio.Task[str | None]) -> None:
    if not errors.cancelled() and errors.exception() is None and (error := errors.result()):
        log.error("translation_worker_failed error=%s", error)
