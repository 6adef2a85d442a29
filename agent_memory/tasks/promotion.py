"""The debounced promotion task: one run per session scope after its writes settle."""

from __future__ import annotations

import logging
from datetime import timedelta
from typing import TYPE_CHECKING

from docket import CurrentExecution, Execution, ExponentialRetry, Timeout

from agent_memory.storage.keys import parse_session_identity
from agent_memory.tasks._deps import WorkerServices

if TYPE_CHECKING:
    from agent_memory.services.container import Services

log = logging.getLogger(__name__)


async def promote_session(
    identity: str,
    services: Services = WorkerServices(),
    retry: ExponentialRetry = ExponentialRetry(
        attempts=5, minimum_delay=timedelta(seconds=1), maximum_delay=timedelta(seconds=60)),
    timeout: Timeout = Timeout(timedelta(minutes=10)),
    execution: Execution = CurrentExecution(),
) -> None:
    """Promote one session (``identity`` from ``session_identity``) to long-term memory.

    Model failures are retried with backoff; each attempt finishes what earlier ones left
    (see ``services/promotion.py``), and only one run per session is active at a time: a
    lease of our own rather than Docket's ConcurrencyLimit, whose parked waiters can lose a
    run that ``replace`` (our trailing debounce) re-armed meanwhile.
    """
    namespace, user_id, session_id = parse_session_identity(identity)
    background = services.background
    assert background is not None
    token = f"{execution.key}#{execution.generation}"  # a redelivered attempt keeps it
    result = await background.promotion.run(namespace, user_id, session_id, token)
    if result is None:
        log.info("promotion of %s is running elsewhere; re-armed", identity)
        return
    log.info("promoted %s: %d memories, %d messages, %d extracted with %d model calls",
             identity, len(result.memories_promoted), len(result.messages_indexed),
             len(result.memories_extracted), result.model_calls)
