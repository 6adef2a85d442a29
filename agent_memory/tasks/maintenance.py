"""Maintenance tasks: requested and scheduled forgetting, compaction, access tracking."""

from __future__ import annotations

import logging
from datetime import timedelta
from typing import TYPE_CHECKING

from docket import ExponentialRetry, Perpetual, Retry, Timeout

from agent_memory.tasks._deps import WorkerServices

if TYPE_CHECKING:
    from agent_memory.services.background import Background
    from agent_memory.services.container import Services

log = logging.getLogger(__name__)

ACCESS_DRAIN_BATCH = 500


def _background(services: Services) -> Background:
    background = services.background
    if background is None:  # pragma: no cover - build_services always wires it
        raise RuntimeError("background work is not wired")
    return background


async def forget_memories(
    task_id: str,
    payload: str,
    services: Services = WorkerServices(),
    retry: Retry = Retry(attempts=3, delay=timedelta(seconds=2)),
    timeout: Timeout = Timeout(timedelta(minutes=30)),
) -> None:
    """A forgetting pass a client asked for with ``background=true`` (status recorded)."""
    await _background(services).run_forget_task(task_id, payload)


async def compact_memories(
    task_id: str,
    namespace: str | None,
    user_id: str | None,
    services: Services = WorkerServices(),
    retry: Retry = Retry(attempts=3, delay=timedelta(seconds=2)),
    timeout: Timeout = Timeout(timedelta(minutes=30)),
) -> None:
    """A compaction a client asked for with ``background=true`` (status recorded)."""
    await _background(services).run_compact_task(task_id, namespace, user_id)


async def index_memories(
    task_id: str,
    payload: str,
    services: Services = WorkerServices(),
    retry: ExponentialRetry = ExponentialRetry(attempts=12, minimum_delay=timedelta(seconds=1),
                                               maximum_delay=timedelta(seconds=64)),
    timeout: Timeout = Timeout(timedelta(minutes=10)),
) -> None:
    """A create answered 202 (``Prefer: respond-async``): embed, deduplicate, write.

    Retried for about ten minutes (an embedding endpoint or Redis away for a while); a run
    that gives up leaves the task ``failed`` with the error, and the memories unwritten.
    """
    await _background(services).run_create_task(task_id, payload)


async def scheduled_forgetting(
    services: Services = WorkerServices(),
    perpetual: Perpetual = Perpetual(every=timedelta(minutes=1), automatic=True),
    timeout: Timeout = Timeout(timedelta(minutes=30)),
) -> None:
    """Periodic forgetting from ``FORGETTING_*`` settings; a no-op unless enabled.

    The period comes from ``FORGETTING_EVERY_MINUTES`` at run time (not at import, as in
    AMS), so tests and deployments configure it through settings alone.
    """
    background = _background(services)
    settings = background.settings
    perpetual.after(timedelta(minutes=settings.forgetting_every_minutes))
    if not settings.forgetting_enabled or background.forgetting is None:
        return
    for policy, scope in background.scheduled_policies():
        result = await background.forgetting.forget(policy, scope, dry_run=False)
        log.warning("scheduled forgetting (namespace=%s): scanned %d, deleted %d",
                    scope.namespace, result.scanned, result.deleted)


async def track_access(
    services: Services = WorkerServices(),
    retry: Retry = Retry(attempts=3, delay=timedelta(seconds=1)),
) -> None:
    """Drain the ids searches returned and update ``last_accessed``/``access_count``.

    Each memory is updated at most once per ``LAST_ACCESSED_INTERVAL_SECONDS`` (the store
    checks the stored time), so a burst of searches costs one pass.
    """
    background = _background(services)
    long_term = background.long_term
    if long_term is None:
        return
    interval = background.settings.last_accessed_interval_seconds
    queue = background.access_queue
    while ids := await queue.take(ACCESS_DRAIN_BATCH):
        await long_term.update_last_accessed(ids, min_interval_seconds=interval)


async def scheduled_compaction(
    services: Services = WorkerServices(),
    perpetual: Perpetual = Perpetual(every=timedelta(minutes=1), automatic=True),
    timeout: Timeout = Timeout(timedelta(minutes=30)),
) -> None:
    """Periodic compaction (``COMPACTION_EVERY_MINUTES``) of what changed since the last run:
    hash duplicates always, semantic ones with ``COMPACT_SEMANTIC_DUPLICATES``."""
    background = _background(services)
    perpetual.after(timedelta(minutes=background.settings.compaction_every_minutes))
    if background.compaction is None or not background.settings.long_term_memory:
        return
    result = await background.compaction.run()
    if result.hash_duplicates or result.semantic_duplicates:
        log.warning("compaction: %d changed, %d hash and %d semantic duplicates removed",
                    result.changed, len(result.hash_duplicates), len(result.semantic_duplicates))
