"""Translation jobs: reports for officers, dialog messages for whoever reads them next.

A report's card goes to the staff chat at once, untranslated; its translation follows as a reply
to the card when ready, or a visible "not translated: <reason>". So nothing, urgent or not, ever
waits on translation, the card never outgrows a message, and each part is delivered durably.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from bot.background import WakeableLoop
from bot.context import Services
from bot.reports import queue_dialog_delivery
from bot.translation.translator import Translation, TranslationUnavailable, Translator, language_code
from storage.models import MessageAuthor, OutboxKind, OutboxMessage, Report, ReportMessage, TranslationStatus

log = logging.getLogger(__name__)

BATCH = 5
IDLE_SECONDS = 60.0


@dataclass(frozen=True)
class ReportJob:
    id: int
    body: str
    language: str
    urgent: bool


@dataclass(frozen=True)
class MessageJob:
    id: int
    report_id: int
    author: str
    body: str
    language: str
    report_language: str  # an officer's message is translated into it


class TranslationJobs(WakeableLoop):
    def __init__(self, services: Services, translator: Translator) -> None:
        super().__init__("translation_jobs", services.translation_wakeup, IDLE_SECONDS)
        self._services, self._translator = services, translator
        self._last_failure: str | None = None
        self._profile_translated = False
        # Claimed, not yet recorded: released if the work fails (the database, say), not left until the claim ends.
        self._unfinished: dict[type[Report | ReportMessage], set[int]] = {Report: set(), ReportMessage: set()}

    @property
    def worker_state(self) -> str:
        """For /readyz: the worker runs, has not started (it starts on first use), or failed last time."""
        if self._translator.worker_pid is not None:
            return "running"
        return "failed" if self._last_failure in ("worker_stopped", "worker_not_started") else "idle"

    async def work(self) -> float:
        while await self.run_once():
            pass
        if not self._profile_translated:  # once, after the reports waiting at start
            await self._services.profile_texts.translate_missing(self._translator, list(self._services.i18n.locales))
            self._profile_translated = True
        return IDLE_SECONDS

    async def stop(self) -> None:
        await super().stop()
        await self._translator.close()

    async def run_once(self) -> bool:
        """Translate what is waiting; True if there may be more. The texts are claimed in one short
        transaction and each result is recorded in another: none is open while the worker runs.
        On PostgreSQL another worker passes over what this one claimed, for as long as the batch
        may take: detection and translation each end within the timeout."""
        now, claim = datetime.now(UTC), timedelta(seconds=4 * BATCH * self._services.settings.translation_timeout_seconds)
        await self._release_unfinished()
        async with self._services.unit_of_work() as uow:
            reports = [
                ReportJob(r.id, r.body, r.language, r.urgent) for r in await uow.translations.claim_reports(now, claim, BATCH)
            ]
            messages = [
                MessageJob(m.id, m.report_id, m.author, m.body, m.language, (await uow.reports.get(m.report_id)).language)
                for m in await uow.translations.claim_messages(now, claim, BATCH)
            ]
            await uow.commit()
        self._unfinished[Report].update(report.id for report in reports)
        self._unfinished[ReportMessage].update(message.id for message in messages)
        for report in reports:
            await self._translate_report(report)
            self._unfinished[Report].discard(report.id)
        for message in messages:
            await self._translate_message(message)
            self._unfinished[ReportMessage].discard(message.id)
        return len(reports) == BATCH or len(messages) == BATCH

    async def _release_unfinished(self) -> None:
        if any(self._unfinished.values()):
            async with self._services.unit_of_work() as uow:
                for model, ids in self._unfinished.items():
                    await uow.claims.release(model, list(ids))
                await uow.commit()
            for ids in self._unfinished.values():
                ids.clear()

    async def _translate_report(self, job: ReportJob) -> None:
        officers = self._services.settings.officer_locale
        source = await self._detect(job.body, job.language)
        translation, failure = None, None
        if source != language_code(officers):
            try:
                translation = await self._timed("report", job.id, job.body, source, officers)
            except TranslationUnavailable as exc:
                failure = exc.reason
        async with self._services.unit_of_work() as uow:
            report = await uow.reports.get(job.id)
            if report is None:  # purged meanwhile
                return
            report.source_language, report.claimed_until = source, None
            if failure is not None:
                report.translation_status, report.translation_note = TranslationStatus.FAILED, failure
            elif translation is not None:
                report.translation_status, report.translation = TranslationStatus.DONE, translation.text
                report.translation_pivot, report.translation_agreement = translation.pivot, translation.agreement
            else:  # written in the officers' language
                report.translation_status = TranslationStatus.NOT_NEEDED
            if report.translation_status != TranslationStatus.NOT_NEEDED:  # officers see a translation or why not
                uow.outbox.add(
                    OutboxMessage(kind=OutboxKind.TRANSLATION, report_id=job.id, priority=0 if job.urgent else 1, payload={})
                )
            await uow.commit()

    async def _translate_message(self, job: MessageJob) -> None:
        officers = self._services.settings.officer_locale
        if job.author == MessageAuthor.OFFICER:
            source, target = job.language, job.report_language
        else:
            source, target = await self._detect(job.body, job.language), officers
        translation, failure = None, None
        if language_code(source) != language_code(target):
            try:
                translation = await self._timed("message", job.report_id, job.body, source, target)
            except TranslationUnavailable as exc:
                failure = exc.reason
        async with self._services.unit_of_work() as uow:
            message, report = await uow.messages.get(job.id), await uow.reports.get(job.report_id)
            if message is None or report is None:  # purged meanwhile
                return
            message.claimed_until = None
            if failure is not None:
                message.translation_status, message.translation_note = TranslationStatus.FAILED, failure
            elif translation is not None:
                message.translation_status, message.translation = TranslationStatus.DONE, translation.text
                message.translation_pivot = translation.pivot
            else:
                message.translation_status = TranslationStatus.NOT_NEEDED
            await queue_dialog_delivery(uow, report, message)
            await uow.commit()

    async def _timed(self, job: str, report_id: int, text: str, source: str, target: str) -> Translation:
        """The worker's translation, counted and timed for /metrics and the log."""
        metrics, started = self._services.metrics, time.perf_counter()
        try:
            translation = await self._translator.translate(text, source, target)
        except TranslationUnavailable as exc:
            self._last_failure = exc.reason
            metrics.translation_jobs.labels(job, "failed").inc()
            log.warning("not_translated job=%s report=%s reason=%s", job, report_id, exc.reason)
            raise
        seconds = time.perf_counter() - started
        self._last_failure = None
        metrics.translation_seconds.observe(seconds)
        metrics.translation_jobs.labels(job, "translated").inc()
        log.info("translated job=%s report=%s pair=%s-%s seconds=%.3f", job, report_id, source, target, seconds)
        return translation

    async def _detect(self, text: str, chosen: str) -> str:
        try:
            return await self._translator.detect(text, chosen)
        except TranslationUnavailable:
            return language_code(chosen)
