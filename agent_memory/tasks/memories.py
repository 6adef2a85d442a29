"""Tasks of the memories door: enrichment after add, and the scheduled lifecycle passes
(tier moves, expiry purge, cold-row summaries). Each is idempotent: a redelivered run finds
the work done and changes nothing."""

from __future__ import annotations

import logging
from datetime import timedelta
from typing import TYPE_CHECKING

from docket import Perpetual, Retry, Timeout

from agent_memory.tasks._deps import WorkerServices

if TYPE_CHECKING:
    from agent_memory.services.container import Services

log = logging.getLogger(__name__)

ENRICH_TASK = "enrich_memory"


async def enrich_memory(
    memory_id: str,
    services: Services = WorkerServices(),
    retry: Retry = Retry(attempts=3, delay=timedelta(seconds=2)),
    timeout: Timeout = Timeout(timedelta(minutes=5)),
) -> None:
    """Fill in the enrichment fields of one new (or re-texted) row."""
    if services.memories is not None:
        await services.memories.enrich(memory_id)


async def scheduled_memory_tiers(
    services: Services = WorkerServices(),
    perpetual: Perpetual = Perpetual(every=timedelta(minutes=1), automatic=True),
    timeout: Timeout = Timeout(timedelta(minutes=30)),
) -> None:
    """Move rows between hot, warm and cold by idle time (``MEMORIES_TIER_EVERY_MINUTES``)."""
    if services.lifecycle is None:
        return
    perpetual.after(timedelta(minutes=services.settings.memories_tier_every_minutes))
    result = await services.lifecycle.move_tiers()
    if result.changed:
        log.info("tiers: %d rows moved", result.changed)


async def scheduled_memory_purge(
    services: Services = WorkerServices(),
    perpetual: Perpetual = Perpetual(every=timedelta(minutes=1), automatic=True),
    timeout: Timeout = Timeout(timedelta(minutes=30)),
) -> None:
    """Delete expired memories for good (``MEMORIES_PURGE_EVERY_MINUTES``); they were
    already invisible to every read from the instant they expired."""
    if services.lifecycle is None:
        return
    perpetual.after(timedelta(minutes=services.settings.memories_purge_every_minutes))
    result = await services.lifecycle.purge_expired()
    if result.changed:
        log.info("expiry: %d memories purged", result.changed)


async def scheduled_memory_summaries(
    services: Services = WorkerServices(),
    perpetual: Perpetual = Perpetual(every=timedelta(minutes=1), automatic=True),
    timeout: Timeout = Timeout(timedelta(minutes=30)),
) -> None:
    """Roll related cold rows up into summary rows (``MEMORIES_SUMMARIZE_EVERY_MINUTES``)."""
    if services.summarizer is None:
        return
    perpetual.after(timedelta(minutes=services.settings.memories_summarize_every_minutes))
    result = await services.summarizer.run()
    if result.changed:
        log.info("summaries: %d summary rows written", result.changed)
