"""Background work of one process: its Docket, promotion, forgetting and task status.

Built by ``build_services`` (API and worker alike). The API process opens one Docket in its
lifespan and enqueues on it (Docket pools its connections: no connection, thread or event
loop per task); a worker passes the Docket it serves so tasks can enqueue follow-ups.
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

from docket import Docket
from pydantic import TypeAdapter
from redis.asyncio import Redis
from redis.exceptions import RedisError

from agent_memory.errors import FeatureDisabled, NotFound
from agent_memory.llm import ChatModel
from agent_memory.models._types import new_ulid
from agent_memory.models.tasks import (
    ForgetPolicy,
    ForgetResponse,
    Task,
    TaskRecord,
    TaskStatus,
    TaskType,
)
from agent_memory.models.records import MemoryRecord
from agent_memory.principal import LOCAL_ADMIN, Principal
from agent_memory.services.compaction import CompactionService
from agent_memory.services.deletion import POLICY, Deletion
from agent_memory.services.extraction import Extractor
from agent_memory.services.forgetting import ForgetScope, ForgettingService
from agent_memory.services.promotion import PROMOTE_TASK, PromotionService
from agent_memory.settings import Settings
from agent_memory.storage.maintenance import AccessQueue
from agent_memory.storage.mux import Script, mux_of
from agent_memory.storage.promotion import PromotionStore
from agent_memory.storage.task_status import TaskStatusStore
from agent_memory.storage.working_memory import WorkingMemoryStore

if TYPE_CHECKING:
    from agent_memory.models.tasks import ForgetQuery, ForgetRequest

log = logging.getLogger(__name__)

FORGET_TASK = "forget_memories"
COMPACT_TASK = "compact_memories"
CREATE_TASK = "index_memories"
_RECORDS = TypeAdapter(list[MemoryRecord])
ACCESS_TASK = "track_access"
ACCESS_FLUSH_KEY = "access-flush"
ACCESS_FLUSH_DELAY = 1.0  # seconds between a search and the access update it causes
ACCESS_BUFFER_SECONDS = 0.25  # ids a process gathers before one round trip notes them


@dataclass
class Background:
    """Everything background work needs in one process."""

    settings: Settings
    redis: Redis
    docket: Docket | None
    task_status: TaskStatusStore
    promotion: PromotionService
    forgetting: ForgettingService | None
    compaction: CompactionService | None = None
    long_term: Any = None
    _owns_docket: bool = field(default=False, repr=False)
    _create_command: Any = field(default=None, repr=False)  # CREATE_TASK as a batch command
    _accessed: set[str] = field(default_factory=set, repr=False)
    _access_flush: asyncio.Task[None] | None = field(default=None, repr=False)

    @property
    def access_queue(self) -> AccessQueue:
        """Ids searches returned, drained by ``track_access``."""
        return AccessQueue(self.redis)

    async def aclose(self) -> None:
        """Note the access ids still buffered, then close the Docket when this process
        opened it."""
        if self._access_flush is not None:
            self._access_flush.cancel()
            self._access_flush = None
        await self.flush_access()
        if self._owns_docket and self.docket is not None:
            await self.docket.__aexit__(None, None, None)

    # -- task status -------------------------------------------------------------------------

    async def task(self, principal: Principal, task_id: str) -> Task:
        """A task's status; 404 when unknown, expired, or another tenant's."""
        record = await self.task_status.get(task_id)
        if record is None or not principal.allows(record.namespace, record.user_id):
            raise NotFound(f"Task {task_id} not found", details={"task_id": task_id})
        return record.public()

    async def new_task(self, kind: TaskType, namespace: str | None,
                       user_id: str | None) -> TaskRecord:
        """Create a ``pending`` record for work a client asked for."""
        record = TaskRecord(id=new_ulid(), type=kind, namespace=namespace, user_id=user_id)
        await self.task_status.create(record)
        return record

    async def _run_recorded(self, task_id: str, work: Any) -> None:
        """Run ``work()`` under a task record: running, then success (with its result) or
        failed (with the error). A redelivered attempt may move running → running again."""
        await self.task_status.advance(task_id, TaskStatus.running)
        try:
            result = await work()
        except Exception as exc:
            await self.task_status.advance(task_id, TaskStatus.failed,
                                           error=f"{type(exc).__name__}: {exc}")
            raise
        await self.task_status.advance(task_id, TaskStatus.success, result=result)

    # -- compaction on request -----------------------------------------------------------------

    async def compact_in_background(self, principal: Principal, namespace: str | None,
                                    user_id: str | None) -> TaskRecord:
        """Enqueue a compaction of the caller's scope; its status is ``GET /tasks/{id}``."""
        if self.long_term is None or self.docket is None:
            raise FeatureDisabled("Long-term memory is disabled")
        namespace = principal.scope_namespace(namespace)
        user_id = principal.scope_user(user_id)
        self.long_term.check_scope(namespace, user_id)  # the foreground call's 422, up front
        record = await self.new_task(TaskType.compact, namespace, user_id)
        await self.docket.add(COMPACT_TASK, key=f"task:{record.id}")(record.id, namespace,
                                                                     user_id)
        return record

    async def run_compact_task(self, task_id: str, namespace: str | None,
                               user_id: str | None) -> None:
        """The body of the ``compact_memories`` task (scope already bounded by the request)."""

        async def work() -> dict[str, object]:
            remaining, damaged = await self.long_term.compact(LOCAL_ADMIN, namespace, user_id)
            return {"remaining": remaining, "skipped_damaged": damaged}

        await self._run_recorded(task_id, work)

    # -- create answered before indexing ------------------------------------------------------

    @property
    def can_accept_creates(self) -> bool:
        """True when a create may be answered before indexing (a Docket to queue it on)."""
        return self.long_term is not None and self.docket is not None

    async def create_in_background(self, principal: Principal, records: Sequence[Any],
                                   deduplicate: bool) -> TaskRecord:
        """Queue a create (``Prefer: respond-async``): the records, scoped to the caller,
        and a ``pending`` status go to Redis in one round trip (the records as the task's
        arguments, which Docket keeps in Redis until a worker has run it); the task then
        does what the synchronous create does. Bounds are checked here, before the 202."""
        if not self.can_accept_creates:
            raise FeatureDisabled("Long-term memory is disabled")
        scoped = await self.long_term.scoped_for_create(principal, records)
        scopes = {(r.namespace, r.user_id) for r in scoped}
        namespace, user_id = next(iter(scopes)) if len(scopes) == 1 else (None, None)
        record = TaskRecord(id=new_ulid(), type=TaskType.create, namespace=namespace,
                            user_id=user_id)
        # pydantic writes the records' JSON itself (a third of this method's time through
        # model_dump and json.dumps).
        payload = "".join((
            '{"deduplicate": ', json.dumps(deduplicate), ', "set": ',
            json.dumps([sorted(r.model_fields_set) for r in scoped]), ', "records": ',
            _RECORDS.dump_json(scoped).decode(), "}"))
        key, args = f"task:{record.id}", (record.id, payload)
        made = self._create_command(key, args) if self._create_command is not None else None
        if made is None:
            await self.task_status.create(record)
            assert self.docket is not None
            await self.docket.add(CREATE_TASK, key=key)(*args)
            return record
        mux = mux_of(self.redis)
        # Safe to run twice (Mux.batch re-runs on NOSCRIPT): a SET and an add by key.
        replies = await mux.batch([self.task_status.put_command(record), made.command],
                                  [mux.script(made.script)])
        made.scheduled(replies[1])
        return record

    async def run_create_task(self, task_id: str, payload: str) -> None:
        """The body of the ``index_memories`` task: the create, recorded (a redelivered
        run overwrites by id what an interrupted one wrote)."""
        doc = json.loads(payload)
        records = _RECORDS.validate_python(doc["records"])
        for record, fields in zip(records, doc["set"], strict=True):
            # Fields the client left out stay "unset" (create keeps a stored created_at).
            object.__setattr__(record, "__pydantic_fields_set__", set(fields))

        async def work() -> dict[str, object]:
            ids = await self.long_term.create(LOCAL_ADMIN, records, doc["deduplicate"])
            return {"ids": ids}

        await self._run_recorded(task_id, work)

    # -- forgetting ----------------------------------------------------------------------------

    def _forgetting(self) -> ForgettingService:
        if self.forgetting is None or not self.settings.long_term_memory:
            raise FeatureDisabled("Long-term memory is disabled")
        return self.forgetting

    async def forget(self, principal: Principal, body: ForgetRequest,
                     query: ForgetQuery) -> ForgetResponse:
        """``POST /long-term-memory/forget``: run now, or enqueue with ``background=true``."""
        forgetting = self._forgetting()
        scope = ForgetScope(principal.scope_namespace(query.namespace),
                            principal.scope_user(query.user_id), query.session_id)
        if query.background and self.docket is not None:
            if self.long_term is not None:  # the foreground call's 422, before enqueueing
                self.long_term.check_scope(scope.namespace, scope.user_id, scope.session_id)
            record = await self.new_task(TaskType.forget, scope.namespace, scope.user_id)
            payload = {"policy": body.policy.model_dump(mode="json"),
                       "pinned_ids": body.pinned_ids or [],
                       "scope": [scope.namespace, scope.user_id, scope.session_id],
                       "limit": query.limit, "dry_run": query.dry_run,
                       "subject": principal.subject}
            await self.docket.add(FORGET_TASK, key=f"task:{record.id}")(record.id,
                                                                        json.dumps(payload))
            return ForgetResponse(scanned=0, deleted=0, deleted_ids=[], dry_run=query.dry_run,
                                  task_id=record.id)
        return await forgetting.forget(body.policy, scope, pinned_ids=body.pinned_ids or (),
                                       limit=query.limit, dry_run=query.dry_run,
                                       deletion=Deletion(POLICY, reason="forgetting policy",
                                                         principal=principal))

    async def run_forget_task(self, task_id: str, payload: str) -> None:
        """The body of the ``forget_memories`` task: run, and record the outcome."""
        doc = json.loads(payload)

        async def work() -> dict[str, object]:
            namespace, user_id, session_id = doc["scope"]
            result = await self._forgetting().forget(
                ForgetPolicy.model_validate(doc["policy"]),
                ForgetScope(namespace, user_id, session_id),
                pinned_ids=doc["pinned_ids"], limit=doc["limit"], dry_run=doc["dry_run"],
                deletion=Deletion(POLICY, reason="forgetting policy",
                                  principal=Principal(subject=doc.get("subject", "system")),
                                  details={"task_id": task_id}))
            return result.model_dump(mode="json")

        await self._run_recorded(task_id, work)

    def scheduled_policies(self) -> list[tuple[ForgetPolicy, ForgetScope]]:
        """The passes of scheduled forgetting: one per namespace with its own policy, then
        the global policy over everything else."""
        s = self.settings
        passes: list[tuple[ForgetPolicy, ForgetScope]] = []
        overrides = dict(s.forgetting_namespace_policies)
        for namespace, raw in overrides.items():
            passes.append((ForgetPolicy.model_validate(raw), ForgetScope(namespace=namespace)))
        default = ForgetPolicy(max_age_days=s.forgetting_max_age_days,
                               max_inactive_days=s.forgetting_max_inactive_days,
                               budget=s.forgetting_budget_keep_top_n)
        if not default.empty:
            passes.append((default, ForgetScope(exclude_namespaces=frozenset(overrides))))
        return passes

    # -- access tracking -----------------------------------------------------------------------

    async def on_accessed(self, ids: list[str]) -> None:
        """Search hook: buffer the ids read; no Redis round trip on the request path.

        The process gathers ids for ``ACCESS_BUFFER_SECONDS`` and notes them all at once
        (:meth:`flush_access`). Access tracking is best effort: ids buffered in a process
        that dies are not counted, as a failed flush is not.
        """
        if not ids or self.docket is None:
            return
        self._accessed.update(ids)
        if self._access_flush is None:
            self._access_flush = asyncio.get_running_loop().create_task(self._flush_soon())

    async def _flush_soon(self) -> None:
        await asyncio.sleep(ACCESS_BUFFER_SECONDS)
        self._access_flush = None
        await self.flush_access()

    async def flush_access(self) -> None:
        """Note the buffered ids in Redis and schedule one coalesced update.

        Ids gather in a set; one ``track_access`` task per burst drains it (the fixed key
        makes every schedule while one is pending a no-op), and the update itself is
        throttled per memory.
        """
        ids, self._accessed = sorted(self._accessed), set()
        if not ids or self.docket is None:
            return
        # Two attempts, because the first command on a connection Redis dropped (restart)
        # fails once.
        for attempt in (1, 2):
            try:
                # The flush runs ACCESS_FLUSH_DELAY after it is armed and drains every id
                # added until then; the marker lives half as long, so ids added after the
                # drain arm the next flush.
                if await self.access_queue.add(ids, ACCESS_FLUSH_DELAY / 2):
                    when = datetime.now(UTC) + timedelta(seconds=ACCESS_FLUSH_DELAY)
                    await self.docket.add(ACCESS_TASK, when=when, key=ACCESS_FLUSH_KEY)()
                return
            except (RedisError, OSError) as exc:
                if attempt == 2:
                    log.warning("access tracking skipped for %d memories: %s", len(ids), exc)


def _promotion_schedule(docket: Docket, redis: Redis, settings: Settings) -> Any:
    """``PromotionService``'s schedule: ``docket.replace`` (which moves a pending run later:
    a trailing debounce per session scope) and the caller's ``also`` commands (the pending
    status) in one round trip on the shared connection when Docket's script can ride in a
    batch (``tasks/_schedule.py``), else the replace and then those commands."""
    from agent_memory.tasks._schedule import task_command

    mux = mux_of(redis)
    make = task_command(docket, PROMOTE_TASK, settings.effective_redis_url())

    def as_command(when: datetime, key: str, identity: str
                   ) -> tuple[tuple[Any, ...], Script, Callable[[Any], None]] | None:
        command = make(key, (identity,), when=when, replace=True) if make else None
        if command is None:
            return None
        return command.command, mux.script(command.script), command.scheduled

    async def schedule(name: str, when: datetime, key: str, identity: str,
                       also: Sequence[tuple[Any, ...]] = ()) -> None:
        made = as_command(when, key, identity) if name == PROMOTE_TASK else None
        if made is None:
            await docket.replace(name, when=when, key=key)(identity)
            if also:
                await mux.batch(list(also))
            return
        command, script, scheduled = made
        # Safe to run twice (Mux.batch re-runs on NOSCRIPT): a replace and plain SETs.
        replies = await mux.batch([command, *also], [script])
        scheduled(replies[0])

    schedule.as_command = as_command if make is not None else None  # type: ignore[attr-defined]
    return schedule


async def open_background(settings: Settings, redis: Redis, llm: ChatModel | None,
                          wm_store: WorkingMemoryStore, long_term: Any = None,
                          docket: Docket | None = None, clock: Any = None) -> Background:
    """Wire background work; opens a Docket when none is given and ``USE_DOCKET`` is on
    (carrying ``clock``, so its workers share the process's notion of now)."""
    owns = False
    if docket is None and settings.use_docket:
        from agent_memory.tasks import open_docket

        docket = await open_docket(settings, clock)
        owns = True
    schedule = None
    if docket is not None:
        schedule = _promotion_schedule(docket, redis, settings)

    extractor = (Extractor(llm, settings.generation_model, settings.max_text_chars)
                 if llm is not None else None)
    task_status = TaskStatusStore(redis)
    promotion = PromotionService(settings, wm_store, PromotionStore(redis), long_term, extractor,
                                 schedule, task_status)
    promotion.schedule_command = getattr(schedule, "as_command", None)
    forgetting = compaction = None
    if long_term is not None:
        forgetting = ForgettingService(long_term)
        compaction = CompactionService(long_term, redis, settings)
    background = Background(settings=settings, redis=redis, docket=docket,
                            task_status=task_status, promotion=promotion,
                            forgetting=forgetting, compaction=compaction, long_term=long_term,
                            _owns_docket=owns)
    if long_term is not None:
        long_term.on_accessed = background.on_accessed
        if docket is not None:
            from agent_memory.tasks._schedule import task_command

            background._create_command = task_command(docket, CREATE_TASK,
                                                      settings.effective_redis_url())
    return background
