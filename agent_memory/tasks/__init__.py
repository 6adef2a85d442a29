"""Docket tasks: all background work of the server (promotion, forgetting, compaction, ...).

``task_collection`` is what workers register (``agent-memory worker``); the API schedules
tasks by name on the Docket that :func:`open_docket` opens.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from agent_memory.clock import Clock
from agent_memory.observability.metrics import observed_task
from agent_memory.settings import Settings
from agent_memory.tasks._deps import MemoryDocket, WorkerServices
from agent_memory.tasks.maintenance import (
    compact_memories,
    forget_memories,
    index_memories,
    scheduled_compaction,
    scheduled_forgetting,
    track_access,
)
from agent_memory.tasks.forgetting import erase_user, purge_trash
from agent_memory.tasks.memories import (
    enrich_memory,
    scheduled_memory_purge,
    scheduled_memory_summaries,
    scheduled_memory_tiers,
)
from agent_memory.tasks.ingestion import ingest_turns
from agent_memory.tasks.promotion import promote_session
from agent_memory.tasks.summary_views import refresh_summary_view, scheduled_summary_views

# Each run is counted in agent_memory_task_runs_total / _task_duration_seconds.
task_collection: list[Callable[..., Any]] = [observed_task(task) for task in (
    promote_session,
    forget_memories,
    compact_memories,
    index_memories,
    scheduled_forgetting,
    scheduled_compaction,
    track_access,
    refresh_summary_view,
    scheduled_summary_views,
    erase_user,
    purge_trash,
    enrich_memory,
    scheduled_memory_tiers,
    scheduled_memory_purge,
    scheduled_memory_summaries,
    ingest_turns,
)]


async def open_docket(settings: Settings, clock: Clock | None = None) -> MemoryDocket:
    """Open the server's Docket with every task registered (close with ``__aexit__``)."""
    docket = MemoryDocket(settings, task_collection, clock)
    await docket.__aenter__()
    return docket


__all__ = ["MemoryDocket", "WorkerServices", "open_docket", "task_collection"]
