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


# Docket's defaults (250 ms) cap a worker at concurrency / 0.25 s tasks per second: with
# concurrency 10 that is 40 promotions/s however cheap they are (measured: a no-op task ran
# at 35/s; at 25 ms, 320/s). Reads block on the stream, so a short interval costs no busy
# polling when idle.
CHECK_INTERVAL = timedelta(milliseconds=25)
SCHEDULING_RESOLUTION = timedelta(milliseconds=50)


async def run_worker(settings: Settings, *, concurrency: int = 10,
                     redelivery_timeout: float | None = None) -> None:
    """Serve background tasks until cancelled. Any number of workers may share a Docket.

    Tasks build the worker's services once, from these settings, on first use.
    """
    timeout = redelivery_timeout or default_redelivery_timeout(settings)
    async with MemoryDocket(settings, task_collection) as docket:
        async with Worker(docket, concurrency=concurrency,
                          redelivery_timeout=timedelta(seconds=timeout),
                          minimum_check_interval=CHECK_INTERVAL,
                          scheduling_resolution=SCHEDULING_RESOLUTION) as worker:
            log.warning("worker %s serving docket %r", worker.name, settings.docket_name)
            await worker.run_forever()
