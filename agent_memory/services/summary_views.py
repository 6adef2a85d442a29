"""Summary views: named, grouped summaries of long-term memory (AMS routes 14-20).

A view selects memories (``filters``, ``time_window_days``) and splits them into partitions by
the distinct values of its ``group_by`` fields; each partition gets one summary, written by
the model when one is configured, else extractively. Views span tenants, so every route
needs an unbounded (admin) caller. A full run is a Docket task with an AMS ``Task`` status.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Iterable
from datetime import timedelta
from typing import TYPE_CHECKING

from agent_memory.errors import ClientError, FeatureDisabled, Forbidden, MemoryServerError, NotFound
from agent_memory.llm import ChatModel
from agent_memory.models._types import new_ulid, utcnow
from agent_memory.models.records import MemoryRecord
from agent_memory.models.summary_views import (
    CreateSummaryViewRequest,
    PartitionsQuery,
    SummaryView,
    SummaryViewPartitionResult,
)
from agent_memory.models.tasks import Task, TaskRecord, TaskStatus, TaskType
from agent_memory.principal import Principal
from agent_memory.settings import Settings
from agent_memory.storage.summary_views import SummaryViewStore
from agent_memory.tokenizer import count_tokens

if TYPE_CHECKING:
    from agent_memory.services.background import Background
    from agent_memory.services.long_term import LongTermService

log = logging.getLogger(__name__)

REFRESH_TASK = "refresh_summary_view"
CONTINUOUS_TASK = "scheduled_summary_views"
CONTINUOUS_KEY = "summary-views:continuous"  # one periodic refresh for all continuous views
INPUT_TOKENS = 6000  # memory text sent to the model per partition, newest first
SUMMARY_TOKENS = 400
DEFAULT_PROMPT = ("Summarize what these long-term memories say, as a few sentences of plain "
                  "prose. Keep facts, names, dates and preferences; do not invent anything.")


def _value(record: MemoryRecord, name: str) -> str | None:
    value = getattr(record, name)
    return value.value if hasattr(value, "value") else value


def matches(view: SummaryView, record: MemoryRecord, group: dict[str, str]) -> bool:
    """True when a record belongs to the view (filters, time window) and to ``group``."""
    for name, wanted in {**view.filters, **group}.items():
        if name == "topics":
            if wanted not in (record.topics or []):
                return False
        elif _value(record, name) != wanted:
            return False
    if view.time_window_days is not None:
        return record.created_at >= utcnow() - timedelta(days=view.time_window_days)
    return True


def extractive(records: list[MemoryRecord]) -> str:
    """A deterministic summary: the count, then memory texts newest first within budget."""
    lines = [f"{len(records)} memories; most recent first:"]
    used = count_tokens(lines[0])
    for record in records:
        line = f"- {record.text.strip()}"
        size = count_tokens(line)
        if used + size > SUMMARY_TOKENS:
            lines.append(f"(… {len(records) - len(lines) + 1} more)")
            break
        lines.append(line)
        used += size
    return "\n".join(lines)


class SummaryViewService:
    """Views, their partitions and full runs.

    Args:
        store: Redis storage of views and results.
        long_term: Source of memories; ``None`` when long-term memory is off.
        llm: Writes summaries; ``None`` gives extractive ones.
        settings: ``FAST_MODEL`` for views that name no model.
        background: Docket and task status for full runs (``None``: runs inline).
    """

    def __init__(self, store: SummaryViewStore, long_term: LongTermService | None,
                 llm: ChatModel | None, settings: Settings,
                 background: Background | None = None) -> None:
        self.store = store
        self.long_term = long_term
        self.llm = llm
        self.settings = settings
        self.background = background

    @staticmethod
    def _admin(principal: Principal) -> None:
        if not principal.unbounded:
            raise Forbidden("summary views span tenants: they need an admin token")

    async def create(self, principal: Principal, body: CreateSummaryViewRequest) -> SummaryView:
        """Store a new view; 400 for a source other than ``long_term`` (as AMS)."""
        self._admin(principal)
        if body.source != "long_term":
            raise ClientError("Only long_term summary views are supported")
        view = SummaryView(**body.model_dump())
        await self.store.save(view)
        if view.continuous and self.background is not None and self.background.docket:
            # Starts the periodic refresh (now, then every period); a no-op while scheduled.
            await self.background.docket.add(CONTINUOUS_TASK, key=CONTINUOUS_KEY)()
        return view

    async def list(self, principal: Principal) -> list[SummaryView]:
        """Every view."""
        self._admin(principal)
        return await self.store.list()

    async def get(self, principal: Principal, view_id: str) -> SummaryView:
        """One view; 404 when unknown."""
        self._admin(principal)
        view = await self.store.get(view_id)
        if view is None:
            raise NotFound(f"Summary view {view_id} not found", details={"view_id": view_id})
        return view

    async def delete(self, principal: Principal, view_id: str) -> None:
        """Delete a view with its partition results (idempotent)."""
        self._admin(principal)
        await self.store.delete(view_id)

    async def partitions(self, principal: Principal, view_id: str,
                         query: PartitionsQuery) -> list[SummaryViewPartitionResult]:
        """Stored results of a view whose group has every value asked for."""
        await self.get(principal, view_id)
        wanted = query.wanted()
        return [r for r in await self.store.partitions(view_id)
                if all(r.group.get(k) == v for k, v in wanted.items())]

    async def run_partition(self, principal: Principal, view_id: str,
                            group: dict[str, str]) -> SummaryViewPartitionResult:
        """Summarize one partition now and store the result."""
        view = await self.get(principal, view_id)
        if set(group) != set(view.group_by):
            raise ClientError(f"group must give exactly the view's group_by fields {view.group_by}",
                              details={"group_by": view.group_by})
        records = [r async for r in self._records(view, group)]
        return await self._summarize(view, group, records)

    async def start_run(self, principal: Principal, view_id: str, task_id: str | None) -> Task:
        """Recompute every partition as a background task; returns its ``pending`` status."""
        view = await self.get(principal, view_id)
        record = TaskRecord(id=task_id or new_ulid(), type=TaskType.summary_view_full_run,
                            view_id=view.id)
        background = self.background
        if background is not None:
            if task_id is not None and await background.task_status.get(task_id) is not None:
                raise ClientError(f"task id {task_id!r} is already in use")
            await background.task_status.create(record)
        if background is None or background.docket is None:
            await self.run_task(record.id, view.id)  # no Docket (USE_DOCKET=false): run now
            stored = await background.task_status.get(record.id) if background else None
            return (stored or record.model_copy(update={"status": TaskStatus.success})).public()
        await background.docket.add(REFRESH_TASK, key=f"task:{record.id}")(record.id, view.id)
        return record.public()

    async def run_task(self, task_id: str, view_id: str) -> None:
        """The body of the ``refresh_summary_view`` task, with its status recorded."""
        status = self.background.task_status if self.background is not None else None
        if status is not None:
            await status.advance(task_id, TaskStatus.running)
        try:
            view = await self.store.get(view_id)
            if view is None:
                raise NotFound(f"Summary view {view_id} not found")
            count = len(await self.run_all(view))
        except Exception as exc:
            if status is not None:
                await status.advance(task_id, TaskStatus.failed,
                                     error=f"{type(exc).__name__}: {exc}")
            raise
        if status is not None:
            await status.advance(task_id, TaskStatus.success, result={"partitions": count})

    async def refresh_continuous(self) -> int:
        """Recompute every ``continuous`` view (the scheduled task); returns how many exist.

        A view that fails is logged and skipped so one bad view cannot starve the others.
        """
        ran = 0
        for view in await self.store.list():
            if not view.continuous:
                continue
            ran += 1
            try:
                await self.run_all(view)
            except MemoryServerError as exc:
                log.warning("summary view %s: scheduled refresh failed: %s", view.id, exc)
        return ran

    async def run_all(self, view: SummaryView) -> list[SummaryViewPartitionResult]:
        """Summarize every partition that has memories, storing each result."""
        groups: dict[tuple[str, ...], list[MemoryRecord]] = {}
        async for record in self._records(view, {}):
            values = tuple(_value(record, name) for name in view.group_by)
            if any(v is None for v in values):
                continue  # a record without a group value belongs to no partition
            groups.setdefault(values, []).append(record)  # type: ignore[arg-type]
        out = []
        for values, records in sorted(groups.items()):
            out.append(await self._summarize(view, dict(zip(view.group_by, values, strict=True)),
                                             records))
        return out

    async def _records(self, view: SummaryView,
                       group: dict[str, str]) -> AsyncIterator[MemoryRecord]:
        """Every memory of the view and the group (an exhaustive scan of the scope)."""
        if self.long_term is None or not self.settings.long_term_memory:
            raise FeatureDisabled("Long-term memory is disabled")
        scope = {**view.filters, **group}
        async for batch in self.long_term.iter_scope(scope.get("namespace"), scope.get("user_id"),
                                                     scope.get("session_id")):
            for record in batch:
                if matches(view, record, group):
                    yield record

    async def _summarize(self, view: SummaryView, group: dict[str, str],
                         records: Iterable[MemoryRecord]) -> SummaryViewPartitionResult:
        chosen = sorted(records, key=lambda r: r.created_at, reverse=True)
        if not chosen:
            result = SummaryViewPartitionResult(view_id=view.id, group=group, memory_count=0,
                                                empty=True, empty_reason="no memories matched")
        else:
            result = SummaryViewPartitionResult(view_id=view.id, group=group,
                                                memory_count=len(chosen),
                                                summary=await self._write(view, chosen))
        await self.store.save_partition(result)
        return result

    async def _write(self, view: SummaryView, records: list[MemoryRecord]) -> str:
        if self.llm is None:
            return extractive(records)
        lines, used = [], 0
        for record in records:
            line = f"- {record.text.strip()}"
            used += count_tokens(line)
            if used > INPUT_TOKENS:
                break
            lines.append(line)
        prompt = f"{view.prompt or DEFAULT_PROMPT}\n\nMemories, newest first:\n" + "\n".join(lines)
        try:
            text = await self.llm.complete([{"role": "user", "content": prompt}],
                                           model=view.model_name or self.settings.fast_model,
                                           max_tokens=SUMMARY_TOKENS)
        except MemoryServerError as exc:  # the model's failure must not lose the run
            log.warning("summary view %s: model failed (%s); extractive summary", view.id, exc)
            return extractive(records)
        return text.strip() or extractive(records)
