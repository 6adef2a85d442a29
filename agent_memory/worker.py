"""Run Docket workers for the server's background tasks."""

from __future__ import annotations

import logging
from datetime import timedelta

from docket import Docket, Worker

from agent_memory.settings import Settings
from agent_memory.tasks import task_collection

log = logging.getLogger(__name__)


async def run_worker(settings: Settings, *, concurrency: int = 10,
                     redelivery_timeout: float | None = None) -> None:
    """Serve background tasks until cancelled. Any number of workers may share a Docket."""
    timeout = redelivery_timeout or max(60.0, settings.llm_task_timeout_minutes * 60 * 2)
    async with Docket(name=settings.docket_name, url=settings.effective_redis_url()) as docket:
        for task in task_collection:
            docket.register(task)
        async with Worker(docket, concurrency=concurrency,
                          redelivery_timeout=timedelta(seconds=timeout)) as worker:
            log.warning("worker %s serving docket %r", worker.name, settings.docket_name)
            await worker.run_forever()
