"""Tasks of accountable forgetting: erase a person, purge the trash after the grace."""

from __future__ import annotations

import logging
from datetime import timedelta
from typing import TYPE_CHECKING

from docket import Perpetual, Retry, Timeout

from agent_memory.tasks._deps import WorkerServices

if TYPE_CHECKING:
    from agent_memory.services.container import Services

log = logging.getLogger(__name__)


async def erase_user(
    task_id: str,
    namespace: str | None,
    user_id: str,
    subject: str,
    reason: str | None,
    services: Services = WorkerServices(),
    retry: Retry = Retry(attempts=3, delay=timedelta(seconds=2)),
    timeout: Timeout = Timeout(timedelta(minutes=30)),
) -> None:
    """Erase one person from every registered store (idempotent: a retry erases again)."""
    result = await services.erase.run(task_id, namespace, user_id, subject, reason)
    log.warning("erase task %s done: aof %s", task_id, result["aof"])


async def purge_trash(
    services: Services = WorkerServices(),
    perpetual: Perpetual = Perpetual(every=timedelta(minutes=1), automatic=True),
    timeout: Timeout = Timeout(timedelta(minutes=30)),
) -> None:
    """Remove for good the memories soft-deleted more than ``SOFT_DELETE_GRACE_DAYS`` ago.

    The period comes from ``TRASH_PURGE_EVERY_MINUTES`` at run time.
    """
    perpetual.after(timedelta(minutes=services.settings.trash_purge_every_minutes))
    purged = await services.trash.purge()
    if purged:
        log.warning("trash purge: %d memories removed for good", purged)
