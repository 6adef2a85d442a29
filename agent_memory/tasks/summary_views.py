"""Summary-view tasks: a full run a client asked for, and the refresh of continuous views."""

from __future__ import annotations

from datetime import timedelta
from typing import TYPE_CHECKING

from docket import Perpetual, Retry, Timeout

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
    if services.summary_views is None:  # pragma: no cover - build_services always wires it
        raise RuntimeError("summary views are not wired")
    await services.summary_views.run_task(task_id, view_id)


async def scheduled_summary_views(
    services: Services = WorkerServices(),
    perpetual: Perpetual = Perpetual(every=timedelta(minutes=60)),
    timeout: Timeout = Timeout(timedelta(minutes=30)),
) -> None:
    """Recompute every ``continuous`` view each ``SUMMARY_VIEW_REFRESH_EVERY_MINUTES``.

    Not seeded by every worker: creating a continuous view schedules it (one key, so once),
    and it stops itself when no continuous view is left. AMS's refresh never ran in its
    asyncio mode.
    """
    summary_views = services.summary_views
    settings = services.settings
    perpetual.after(timedelta(minutes=settings.summary_view_refresh_every_minutes))
    if summary_views is None or not settings.long_term_memory:
        perpetual.cancel()
        return
    if await summary_views.refresh_continuous() == 0:
        perpetual.cancel()
