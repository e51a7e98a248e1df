"""Translation jobs: reports for officers, dialog messages for whoever reads them next.

A report's card goes to the staff chat at once, untranslated; its translation follows as a reply
to the card when ready, or a visible "not translated: <reason>". So nothing, urgent or not, ever
waits on translation, the card never outgrows a message, and each part is delivered durably.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

from bot.background import WakeableLoop
from bot.context import Services
from bot.reports import queue_dialog_delivery
from bot.translation import TranslationUnavailable, Translator, language_code
from storage.models import MessageAuthor, OutboxKind, OutboxMessage, TranslationStatus

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

    async def work(self) -> float:
        while await self.run_once():
            pass
        return IDLE_SECONDS

    async def stop(self) -> None:
        await super().stop()
        await self._translator.close()

    async def run_once(self) -> bool:
        """Translate what is waiting; True if there may be more. The texts are read in one short
        transaction and each result is recorded in another: none is open while the worker runs."""
        async with self._services.unit_of_work() as uow:
            reports = [ReportJob(r.id, r.body, r.language, r.urgent) for r in await uow.translations.pending_reports(BATCH)]
            messages = [
                MessageJob(m.id, m.report_id, m.author, m.body, m.language, (await uow.reports.get(m.report_id)).language)
                for m in await uow.translations.pending_messages(BATCH)
            ]
        for report in reports:
            await self._translate_report(report)
        for message in messages:
            await self._translate_message(message)
        return len(reports) == BATCH or len(messages) == BATCH

    async def _translate_report(self, job: ReportJob) -> None:
        officers = self._services.settings.officer_locale
        source = await self._detect(job.body, job.language)
        translation, failure = None, None
        if source != language_code(officers):
            try:
                translation = await self._translator.translate(job.body, source, officers)
            except TranslationUnavailable as exc:
                failure = exc.reason
                log.warning("report_not_translated report=%s reason=%s", job.id, exc.reason)
            else:
                log.info("report_translated report=%s pair=%s-%s", job.id, translation.source, translation.target)
        async with self._services.unit_of_work() as uow:
            report = await uow.reports.get(job.id)
            if report is None:  # purged meanwhile
                return
            report.source_language = source
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
                translation = await self._translator.translate(job.body, source, target)
            except TranslationUnavailable as exc:
                failure = exc.reason
        async with self._services.unit_of_work() as uow:
            message, report = await uow.messages.get(job.id), await uow.reports.get(job.report_id)
            if message is None or report is None:  # purged meanwhile
                return
            if failure is not None:
                message.translation_status, message.translation_note = TranslationStatus.FAILED, failure
            elif translation is not None:
                message.translation_status, message.translation = TranslationStatus.DONE, translation.text
                message.translation_pivot = translation.pivot
            else:
                message.translation_status = TranslationStatus.NOT_NEEDED
            await queue_dialog_delivery(uow, report, message)
            await uow.commit()

    async def _detect(self, text: str, chosen: str) -> str:
        try:
            return await self._translator.detect(text, chosen)
        except TranslationUnavailable:
            return language_code(chosen)
