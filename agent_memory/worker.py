"""Run Docket workers for the server's background tasks."""

from __future__ import annotations

import logging
from datetime import timedelta

from docket import Worker

from agent_memory.settings import Settings
from agent_memory.tasks import MemoryDocket, task_collection

log = logging.getLogger(__name__)


def default_redelivery_timeout(settings: Settings) -> float:
    """Seconds before a silent task goes to another worker: twice the model-task timeout,
    at least a minute (a live worker renews its lease four times per period)."""
    return max(60.0, settings.llm_task_timeout_minutes * 60 * 2)


async def run_worker(settings: Settings, *, concurrency: int = 10,
                     redelivery_timeout: float | None = None) -> None:
    """Serve background tasks until cancelled. Any number of workers may share a Docket.

    Tasks build the worker's services once, from these settings, on first use.
    """
    timeout = redelivery_timeout or default_redelivery_timeout(settings)
    async with MemoryDocket(settings, task_collection) as docket:
        async with Worker(docket, concurrency=concurrency,
                          redelivery_timeout=timedelta(seconds=timeout)) as worker:
            log.warning("worker %s serving docket %r", worker.name, settings.docket_name)
            await worker.run_forever()
