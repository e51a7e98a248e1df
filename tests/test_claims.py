"""Several workers on one PostgreSQL database never take the same outbox message or translation
job: each claims its next row with FOR UPDATE SKIP LOCKED and holds it with `claimed_until`."""

from __future__ import annotations

import asyncio
import re
from collections import Counter
from collections.abc import Callable
from datetime import UTC, datetime

import pytest
from sqlalchemy import select
from telegram import Bot

from bot.application import build_services
from bot.config import Settings
from bot.context import Services
from bot.delivery.loop import CLAIM as DELIVERY_CLAIM
from bot.delivery.loop import DeliveryLoop
from bot.translation.jobs import TranslationJobs
from bot.translation.translator import Translation
from storage.database import upgrade_to_head
from storage.models import OutboxKind, OutboxMessage, Report, TranslationStatus
from tests.conftest import STAFF_CHAT_ID
from tests.fake_telegram import FakeTelegram
from tests.reporting import rows, settled

REPORTS = 40
CARD = re.compile(r"Report #\d+:")
on_postgresql = pytest.mark.parametrize("database_url", ["postgresql"], indirect=True)


async def file_reports(services: Services, count: int, language: str = "en") -> None:
    """Reports as the report conversation stores them: each with its card owed to the staff chat."""
    async with services.unit_of_work() as uow:
        for number in range(count):
            report = await uow.reports.add(Report(
                category="crime", urgent=False, language=language, body=f"Incident {number}", status="new",
                location_exact=False, receipt_hash=f"{number:064d}", received_at=datetime.now(UTC),
            ))  # fmt: skip
            uow.outbox.add(OutboxMessage(kind=OutboxKind.CARD, report_id=report.id, priority=1, payload={}))
        await uow.commit()


@on_postgresql
async def test_two_delivery_loops_on_one_postgresql_database_send_each_card_once(
    tg: FakeTelegram, make_settings: Callable[..., Settings]
) -> None:
    first, second = build_services(make_settings()), build_services(make_settings())
    await upgrade_to_head(first.engine)
    bots = [Bot(tg.token, base_url=tg.base_url) for _ in range(2)]
    loops = [DeliveryLoop(bot, services) for bot, services in zip(bots, (first, second), strict=True)]
    try:
        for bot, loop in zip(bots, loops, strict=True):
            await bot.initialize()
            loop.start()
        await file_reports(first, REPORTS)  # wakes the first loop; the second finds them at once too
        second.delivery_wakeup.set()
        await settled(first.sessions, OutboxMessage, lambda found: len(found) == REPORTS and all(m.done_at for m in found), 30)
    finally:
        for bot, loop, services in zip(bots, loops, (first, second), strict=True):
            await loop.stop()
            await bot.shutdown()
            await services.engine.dispose()

    # 40 at once is a surge: most arrive in digests (bot/delivery/digest.py), each report in one of them.
    cards = Counter(
        number
        for call in tg.calls_to("sendMessage")
        if not call.failed and call.params["chat_id"] == STAFF_CHAT_ID
        for number in CARD.findall(call.params["text"])
    )
    assert len(cards) == REPORTS and set(cards.values()) == {1}, cards


class CountingTranslator:
    """A translation engine that says what it was asked to translate, slowly enough for two
    workers to want the same job at the same time."""

    worker_pid = None

    def __init__(self, asked: Counter[str]) -> None:
        self._asked = asked

    async def detect(self, text: str, hint: str) -> str:
        return hint

    async def translate(self, text: str, source: str, target: str) -> Translation:
        self._asked[text] += 1
        await asyncio.sleep(0.02)
        return Translation(f"[{target}] {text}", source, target, pivot=False, agreement=None)

    async def close(self) -> None:
        pass


@on_postgresql
async def test_two_translation_workers_on_one_postgresql_database_translate_each_report_once(
    make_settings: Callable[..., Settings],
) -> None:
    settings = make_settings(translation=True)
    first, second = build_services(settings), build_services(settings)
    await upgrade_to_head(first.engine)
    asked: Counter[str] = Counter()
    await file_reports(first, REPORTS, language="es")
    workers = [TranslationJobs(services, CountingTranslator(asked)) for services in (first, second)]  # type: ignore[arg-type]
    try:
        await asyncio.gather(*(worker.work() for worker in workers))
        translated = await rows(first.sessions, Report)
    finally:
        for services in (first, second):
            await services.engine.dispose()

    assert len(asked) == REPORTS and set(asked.values()) == {1}, asked
    assert {report.translation_status for report in translated} == {TranslationStatus.DONE}
    assert all(report.claimed_until is None for report in translated)


@on_postgresql
async def test_a_claim_on_postgresql_keeps_a_message_from_other_loops_until_released(
    make_settings: Callable[..., Settings],
) -> None:
    services = build_services(make_settings())
    await upgrade_to_head(services.engine)
    try:
        await file_reports(services, 1)
        async with services.unit_of_work() as uow:
            claimed = await uow.outbox.claim(datetime.now(UTC), DELIVERY_CLAIM)
            await uow.commit()
        async with services.unit_of_work() as uow:
            assert claimed is not None
            assert await uow.outbox.claim(datetime.now(UTC), DELIVERY_CLAIM) is None
            # The next leader releases what a dead one held.
            await uow.claims.release_all()
            await uow.commit()
        async with services.unit_of_work() as uow:
            again = await uow.outbox.claim(datetime.now(UTC), DELIVERY_CLAIM)
            assert again is not None and again.id == claimed.id
        async with services.sessions() as session:
            assert list(await session.scalars(select(OutboxMessage.claimed_until))) == [None]
    finally:
        await services.engine.dispose()

