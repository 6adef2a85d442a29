"""issue-17w: the promotion schedule and its pending status, timed cold, before and after.

Each call is timed alone after touching 64 MB and sleeping 30 ms (caches and branch
predictors cold, as a request after an idle pause finds them); medians of 150 calls per
variant, two passes. "docket" is Docket's general builder (the template refused), "template"
the per-task template; "model" the pending record built with the pydantic model, "split"
the split template. No Redis is contacted.

    .venv/bin/python scripts/experiments/cold_schedule_17w.py
"""

from __future__ import annotations

import asyncio
import statistics
import sys
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import numpy as np
from docket import Docket

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from agent_memory.models._types import utcnow  # noqa: E402
from agent_memory.models.tasks import TaskRecord, TaskStatus, TaskType  # noqa: E402
from agent_memory.storage.task_status import TaskStatusStore  # noqa: E402
from agent_memory.tasks import _schedule  # noqa: E402

_BUFFER = np.ones(8_000_000)


def cold(call: Callable[[int], Any], n: int = 150) -> float:
    """Median µs of ``call(i)`` timed alone after the caches were flushed."""
    took = []
    for i in range(n):
        _BUFFER.sum()
        time.sleep(0.03)
        t0 = time.perf_counter_ns()
        call(i)
        took.append(time.perf_counter_ns() - t0)
    return statistics.median(took) / 1000


async def promote_session(identity: str) -> None:
    return None


async def main() -> None:
    async with Docket(name="cold-17w", url="redis://127.0.0.1:1/0") as docket:
        docket.register(promote_session)
        template = _schedule.task_command(docket, "promote_session", docket.url)
        checked = _schedule.checked_template
        _schedule.checked_template = lambda *args: None  # type: ignore[assignment]
        general = _schedule.task_command(docket, "promote_session", docket.url)
        _schedule.checked_template = checked
        assert template is not None and general is not None

        def when() -> datetime:
            return datetime.now(UTC) + timedelta(seconds=5)

        for _ in range(2):
            for label, make in (("docket", general), ("template", template)):
                print(f"schedule {label:<8} {cold(lambda i: make(f'k{i}', (f'id{i}',), when=when(), replace=True)):6.0f} µs")  # noqa: B023,E501
            print(f"pending  model    {cold(lambda i: TaskStatusStore.put_command(TaskRecord(id=f'promotion-{i}', type=TaskType.promotion, namespace='ns', user_id='u', created_at=utcnow(), status=TaskStatus.pending))):6.0f} µs")  # noqa: E501
            print(f"pending  split    {cold(lambda i: TaskStatusStore.pending_command(f'promotion-{i}', TaskType.promotion, 'ns', 'u', utcnow())):6.0f} µs")  # noqa: E501


if __name__ == "__main__":
    asyncio.run(main())
