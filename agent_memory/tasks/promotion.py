"""The debounced promotion task: one run per session scope after its writes settle."""

from __future__ import annotations

import logging
from datetime import timedelta
from typing import TYPE_CHECKING

from docket import ConcurrencyLimit, ExponentialRetry, Timeout

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
    concurrency: ConcurrencyLimit = ConcurrencyLimit("identity", 1),
) -> None:
    """Promote one session (``identity`` from ``session_identity``) to long-term memory.

    Model failures are retried with backoff; each attempt finishes what earlier ones left
    (see ``services/promotion.py``), and only one run per session is active at a time.
    """
    namespace, user_id, session_id = parse_session_identity(identity)
    background = services.background
    assert background is not None
    result = await background.promotion.promote(namespace, user_id, session_id)
    log.info("promoted %s: %d memories, %d messages, %d extracted with %d model calls",
             identity, len(result.memories_promoted), len(result.messages_indexed),
             len(result.memories_extracted), result.model_calls)
