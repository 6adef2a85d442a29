"""Summary-view task: a full run a client asked for with ``POST /summary-views/{id}/run``."""

from __future__ import annotations

from datetime import timedelta
from typing import TYPE_CHECKING

from docket import Retry, Timeout

from agent_memory.tasks._deps import WorkerServices

if TYPE_CHECKING:
    from agent_memory.services.container import Services


async def refresh_summary_view(
    task_id: str,
    view_id: str,
    services: Services = WorkerServices(),
    retry: Retry = Retry(attempts=2, delay=timedelta(seconds=5)),
    timeout: Timeout = Timeout(timedelta(minutes=5)),
) -> None:
    """Recompute every partition of a view, recording the task's status.

    Safe to redeliver: each partition result is overwritten whole, and the status only
    moves forward.
    """
    await services.summary_views.run_task(task_id, view_id)
