"""The ingestion job task: adjudicate the turns one request brought (see
``services/ingestion_jobs.py``)."""

from __future__ import annotations

import logging
from datetime import timedelta
from typing import TYPE_CHECKING

from docket import ExponentialRetry, Timeout

from agent_memory.tasks._deps import WorkerServices

if TYPE_CHECKING:
    from agent_memory.services.container import Services

log = logging.getLogger(__name__)

INGEST_TASK = "ingest_turns"


async def ingest_turns(
    job_id: str,
    services: Services = WorkerServices(),
    retry: ExponentialRetry = ExponentialRetry(
        attempts=5, minimum_delay=timedelta(seconds=1), maximum_delay=timedelta(seconds=60)),
    timeout: Timeout = Timeout(timedelta(minutes=10)),
) -> None:
    """Run one ingestion job. Model failures are retried with backoff; the decision of each
    exchange is journaled in the job before it is acted on, so a retry or a redelivery
    after a killed worker never asks the model twice about the same exchange."""
    assert services.ingestion_jobs is not None
    final = retry.attempts is not None and retry.attempt >= retry.attempts
    status = await services.ingestion_jobs.run(job_id, final_attempt=final)
    log.info("ingestion job %s: %s", job_id, status)
