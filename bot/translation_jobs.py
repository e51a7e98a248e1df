"""Translation jobs: reports for officers, dialog messages for whoever reads them next.

A report's card goes to the staff chat at once, untranslated; its translation follows as a reply
to the card when ready, or a visible "not translated: <reason>". So nothing, urgent or not, ever
waits on translation, the card never outgrows a message, and each part is delivered durably.
"""

from __future__ import annotations

import logging

from bot.background import WakeableLoop
from bot.context import Services
from bot.reports import queue_dialog_delivery
from bot.translation import TranslationUnavailable, Translator, language_code
from storage.models import (
    MessageAuthor,
    OutboxKind,
    OutboxMessage,
    Report,
    ReportMessage,
    TranslationStatus,
)
from storage.unit_of_work import UnitOfWork

log = logging.getLogger(__name__)

BATCH = 5
IDLE_SECONDS = 60.0


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
        """Translate what is waiting; True if there may be more."""
        async with UnitOfWork(self._services.sessions) as uow:
            reports = await uow.translations.pending_reports(BATCH)
            messages = await uow.translations.pending_messages(BATCH)
            for report in reports:
                await self._translate_report(uow, report)
                await uow.commit()
            for message in messages:
                await self._translate_message(uow, message)
                await uow.commit()
        if reports or messages:
            self._services.delivery_wakeup.set()
        return len(reports) == BATCH or len(messages) == BATCH

    async def _translate_report(self, uow: UnitOfWork, report: Report) -> None:
        officers = self._services.settings.officer_locale
        report.source_language = await self._detect(report.body, report.language)
        if report.source_language == language_code(officers):
            report.translation_status = TranslationStatus.NOT_NEEDED
            return
        try:
            translation = await self._translator.translate(report.body, report.source_language, officers)
        except TranslationUnavailable as exc:
            report.translation_status, report.translation_note = TranslationStatus.FAILED, exc.reason
            log.warning("report_not_translated report=%s reason=%s", report.id, exc.reason)
        else:
            report.translation_status, report.translation = TranslationStatus.DONE, translation.text
            report.translation_pivot, report.translation_agreement = translation.pivot, translation.agreement
            log.info("report_translated report=%s pair=%s-%s", report.id, translation.source, translation.target)
        uow.outbox.add(
            OutboxMessage(kind=OutboxKind.TRANSLATION, report_id=report.id, priority=0 if report.urgent else 1, payload={})
        )

    async def _translate_message(self, uow: UnitOfWork, message: ReportMessage) -> None:
        report = await uow.reports.get(message.report_id)
        officers = self._services.settings.officer_locale
        if message.author == MessageAuthor.OFFICER:
            source, target = message.language, report.language
        else:
            source, target = await self._detect(message.body, message.language), officers
        if language_code(source) == language_code(target):
            message.translation_status = TranslationStatus.NOT_NEEDED
        else:
            try:
                translation = await self._translator.translate(message.body, source, target)
            except TranslationUnavailable as exc:
                message.translation_status, message.translation_note = TranslationStatus.FAILED, exc.reason
            else:
                message.translation_status, message.translation = TranslationStatus.DONE, translation.text
                message.translation_pivot = translation.pivot
        await queue_dialog_delivery(uow, report, message)

    async def _detect(self, text: str, chosen: str) -> str:
        try:
            return await self._translator.detect(text, chosen)
        except TranslationUnavailable:
            return language_code(chosen)
