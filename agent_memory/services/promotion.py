"""Promotion: what a session holds that should become long-term memory, moved there.

After each working-memory write a debounced Docket task (keyed by namespace, user and
session) runs :meth:`PromotionService.promote`:

1. structured ``memories`` without ``persisted_at`` are indexed as they are (never
   re-extracted), then flagged persisted;
2. with ``INDEX_ALL_MESSAGES_IN_LONG_TERM_MEMORY`` (or when extraction is on but no model is
   configured) unpersisted messages are indexed as ``message`` memories, then flagged;
3. with extraction on and a model configured, unextracted messages go through the session's
   strategy in batches (one model call each), then are flagged extracted.

Redelivery safety: every record id is deterministic (the client's id for structured
memories; a hash of scope and message id for messages; batch and position for extracted
memories), model answers are journaled until their batch is done, and flags are set only
through ``WorkingMemoryStore.mark`` (never a snapshot write-back), after the index write.
A worker killed anywhere leaves work that the redelivered task finishes without duplicates.

Summarization may fold messages away before they were promoted; the working-memory service
parks them first (:meth:`park_folded`) and the next run promotes them from there.
"""

from __future__ import annotations

import hashlib
import logging
import time
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any, Protocol

from redis.exceptions import RedisError

from agent_memory.errors import MemoryServerError
from agent_memory.models._types import utcnow
from agent_memory.models.records import MemoryRecord, MemoryTypeEnum, WorkingMemoryRecord
from agent_memory.models.tasks import TaskRecord, TaskStatus, TaskType
from agent_memory.models.working_memory import MemoryMessage, MemoryStrategyConfig
from agent_memory.services.extraction import Extractor, Scope, batch_id, batches
from agent_memory.settings import Settings
from agent_memory.storage.keys import promotion_key, session_identity
from agent_memory.storage.promotion import PromotionStore
from agent_memory.storage.task_status import TaskStatusStore
from agent_memory.storage.mux import Script
from agent_memory.storage.working_memory import Riders, StoredSession, WorkingMemoryStore

log = logging.getLogger(__name__)

PROMOTE_TASK = "promote_session"
"""Name of the Docket task that calls :meth:`PromotionService.promote`."""


class LongTermIndex(Protocol):
    """What promotion needs from long-term memory."""

    async def index_records(self, records: list[MemoryRecord],
                            deduplicate: bool = True) -> list[str]: ...


ScheduleCommand = Callable[[datetime, str, str], "tuple[tuple[Any, ...], Script, Callable[[Any], None]] | None"]
"""``(when, key, identity)``: the promotion task's Docket replace as one raw command, its
script and what to do with its reply (``None``: not possible, e.g. a stricken task)."""

Schedule = Callable[..., Awaitable[None]]
"""``(task name, when, key, identity, also=())``: puts (or moves) a keyed task on the
docket, and sends the raw commands ``also`` in the same round trip (or right after)."""


@dataclass
class PromotionResult:
    """What one promotion run did."""

    memories_promoted: list[str] = field(default_factory=list)
    messages_indexed: list[str] = field(default_factory=list)
    memories_extracted: list[str] = field(default_factory=list)
    model_calls: int = 0
    version: int | None = None  # the session version this run read


def promotion_task_id(namespace: str | None, user_id: str | None, session_id: str) -> str:
    """The task id under which a session's latest promotion reports its status."""
    identity = session_identity(namespace, user_id, session_id)
    return "promotion-" + hashlib.sha256(identity.encode()).hexdigest()[:24]


def message_memory_id(scope: Scope, message_id: str) -> str:
    """The long-term id of a promoted message: stable, and distinct across tenants even when
    two clients reuse a message id."""
    digest = hashlib.sha256(f"{scope.label()}\x1f{message_id}".encode()).hexdigest()[:32]
    return f"msg-{digest}"


class PromotionService:
    """Schedules and runs promotion.

    Args:
        settings: Switches (extraction, index-all-messages, debounce).
        wm_store: Sessions (read, and flags set through ``mark``).
        store: Folded-message archive and extraction journal.
        long_term: Where records are indexed; ``None`` until long-term memory is wired.
        extractor: The model-backed extractor; ``None`` without a configured model.
        schedule: Puts the debounced task on the docket; ``None`` runs nothing (no Docket).
        task_status: Where the latest run of each session reports its status.
    """

    def __init__(self, settings: Settings, wm_store: WorkingMemoryStore, store: PromotionStore,
                 long_term: LongTermIndex | None, extractor: Extractor | None,
                 schedule: Schedule | None, task_status: TaskStatusStore | None = None) -> None:
        self.task_status = task_status
        self.provenance: Any = None  # ProvenanceLog, set by build_services (issue 16)
        self.settings = settings
        self.wm_store = wm_store
        self.store = store
        self.long_term = long_term
        self.extractor = extractor
        self._schedule = schedule
        # Set by open_background when Docket's replace can ride in a batch of ours.
        self.schedule_command: ScheduleCommand | None = None
        # Sessions this process scheduled less than half a debounce ago (monotonic expiry):
        # a replace of any other session carries the schedule in its own round trip.
        self._scheduled_here: dict[str, float] = {}

    # -- scheduling (request path) ------------------------------------------------------------

    @property
    def _extracting(self) -> bool:
        return self.settings.enable_discrete_memory_extraction and self.extractor is not None

    @property
    def _indexing_messages(self) -> bool:
        # Without a model, messages still reach long-term memory, as plain `message` records.
        return self.settings.index_all_messages_in_long_term_memory or (
            self.settings.enable_discrete_memory_extraction and self.extractor is None)

    def _needs_work(self, msg: MemoryMessage) -> bool:
        return ((self._extracting and msg.discrete_memory_extracted == "f")
                or (self._indexing_messages and msg.persisted_at is None))

    def gives_work(self, messages: list[MemoryMessage]) -> bool:
        """Whether storing ``messages`` gives promotion anything to do (to extract or to
        index), as the settings stand."""
        if self._schedule is None or self.long_term is None:
            return False
        return any(self._needs_work(m) for m in messages)

    def arm_seconds(self, messages: list[MemoryMessage],
                    memories: Sequence[WorkingMemoryRecord] = ()) -> float | None:
        """``WorkingMemoryService.arm_seconds``: how long the promotion marker a write of
        ``messages`` (and structured ``memories``, for a replace) should set in its own
        round trip, or ``None`` when they give promotion nothing to do (the write then goes
        through :meth:`after_write`)."""
        delay = self.settings.extraction_debounce_seconds
        if self._schedule is None or self.long_term is None or delay <= 0:
            return None
        if any(r.persisted_at is None for r in memories):
            return delay / 2
        return delay / 2 if any(self._needs_work(m) for m in messages) else None

    def riders(self, namespace: str | None, user_id: str | None,
               session_id: str) -> Riders | None:
        """``WorkingMemoryService.riders``: the promotion schedule (Docket replace and the
        pending status) to send in a replace's own round trip, for a write that gives
        promotion work (:meth:`arm_seconds`), unless this process scheduled the session
        less than half a debounce ago (the replace's marker then decides, as for any
        write). A schedule another process made meanwhile is moved later: the trailing
        debounce it already is."""
        delay = self.settings.extraction_debounce_seconds
        if self.schedule_command is None or self.long_term is None or delay <= 0:
            return None
        identity = session_identity(namespace, user_id, session_id)
        now = time.monotonic()
        if self._scheduled_here.get(identity, 0.0) > now:
            return None
        when = datetime.now(UTC) + timedelta(seconds=delay)
        made = self.schedule_command(when, promotion_key(namespace, user_id, session_id),
                                     identity)
        if made is None:
            return None
        command, script, scheduled = made
        if len(self._scheduled_here) >= 50_000:  # bounded: forgetting only costs a batch
            self._scheduled_here.clear()
        self._scheduled_here[identity] = now + delay / 2

        def done(replies: list[Any]) -> None:
            if isinstance(replies[0], Exception):
                self._scheduled_here.pop(identity, None)
                log.warning("could not schedule promotion of %s (the next write will): %s",
                            session_id, replies[0])
                return
            scheduled(replies[0])
            for reply in replies[1:]:
                if isinstance(reply, Exception):
                    log.warning("could not record promotion status of %s: %s", session_id,
                                reply)

        pending = self._pending_commands(namespace, user_id, session_id)
        return Riders([command, *pending], [script], done)

    def has_work(self, session: StoredSession) -> bool:
        """True when a session holds something promotion would move (or may: when only
        its newest messages were read, older ones are not known to be done)."""
        if any(r.persisted_at is None for r in session.memories):
            return True
        if any(self._needs_work(stored.message) for stored in session.messages):
            return True
        return not session.complete and (self._extracting or self._indexing_messages)

    async def after_write(self, session: StoredSession, armed: bool | None = None) -> None:
        """``WorkingMemoryService.after_write``: (re)arm the session's debounced task.

        Each write pushes the run ``EXTRACTION_DEBOUNCE_SECONDS`` later (trailing debounce);
        the key covers namespace, user and session, so tenants sharing a session id never
        delay or absorb each other's promotion.

        Args:
            armed: Whether the write itself set the marker (an append, see
                :meth:`arm_seconds`); ``None`` when it did not try.
        """
        if armed is False:
            return  # a run armed within half a debounce will read this write
        if self._schedule is None or self.long_term is None:
            return
        if armed is None and not self.has_work(session):
            return
        # A run armed less than half a debounce ago starts after this write and will read it:
        # one SET NX instead of a Docket reschedule and two status writes per write. Writes
        # in the second half of the window re-arm, so the debounce still trails the burst.
        delay = self.settings.extraction_debounce_seconds
        if delay > 0 and armed is None:
            try:
                if not await self.store.arm(session.namespace, session.user_id,
                                            session.session_id, delay / 2):
                    return
            except (RedisError, OSError):
                pass  # fall through and schedule: a lost marker costs a reschedule, not work
        # The write is already durable: a scheduling hiccup must not turn it into an error.
        # The first command on a pooled connection that Redis dropped (restart, failover)
        # fails once; a second attempt uses a fresh connection.
        # The pending status rides with the schedule (one round trip).
        pending = self._pending_commands(session.namespace, session.user_id, session.session_id)
        for attempt in (1, 2):
            try:
                await self.schedule(session.namespace, session.user_id, session.session_id,
                                    also=pending)
                break
            except (RedisError, OSError) as exc:
                if attempt == 2:
                    log.warning("could not schedule promotion of %s (the next write will): %s",
                                session.session_id, exc)
                    return

    def _pending_commands(self, namespace: str | None, user_id: str | None,
                          session_id: str) -> list[tuple[Any, ...]]:
        """The command that records a fresh ``pending`` status of the session's promotion."""
        if self.task_status is None:
            return []
        return [self.task_status.pending_command(
            promotion_task_id(namespace, user_id, session_id), TaskType.promotion, namespace,
            user_id, utcnow())]

    async def _report(self, namespace: str | None, user_id: str | None, session_id: str,
                      status: TaskStatus, error: str | None = None) -> None:
        """Record the session's latest promotion status (best effort, never fails work)."""
        if self.task_status is None:
            return
        task_id = promotion_task_id(namespace, user_id, session_id)
        now = utcnow()
        try:
            # A pending run starts a fresh record: only later states update the stored one.
            record = None if status is TaskStatus.pending else await self.task_status.get(task_id)
            if record is None:
                record = TaskRecord(id=task_id, type=TaskType.promotion, namespace=namespace,
                                    user_id=user_id, created_at=now)
            stamps = {TaskStatus.running: {"started_at": now, "completed_at": None,
                                           "error_message": None},
                      TaskStatus.success: {"completed_at": now},
                      TaskStatus.failed: {"completed_at": now, "error_message": error}}
            await self.task_status.put(record.model_copy(
                update={"status": status, **stamps.get(status, {})}))
        except (RedisError, OSError, MemoryServerError) as exc:
            log.warning("could not record promotion status of %s: %s", session_id, exc)

    async def schedule(self, namespace: str | None, user_id: str | None, session_id: str,
                       delay: float | None = None,
                       also: Sequence[tuple[Any, ...]] = ()) -> None:
        """Arm the debounced promotion of one session (``delay`` defaults to the debounce);
        ``also``: raw commands sent in the same round trip."""
        if self._schedule is None:
            return
        if delay is None:
            delay = self.settings.extraction_debounce_seconds
        when = datetime.now(UTC) + timedelta(seconds=delay)
        await self._schedule(PROMOTE_TASK, when, promotion_key(namespace, user_id, session_id),
                             session_identity(namespace, user_id, session_id), also)

    async def park_folded(self, namespace: str | None, user_id: str | None, session_id: str,
                          messages: list[MemoryMessage]) -> None:
        """``WorkingMemoryService.before_fold``: before a summary replaces ``messages``, keep
        those promotion has not handled yet; the next run promotes them from the archive."""
        if self.long_term is None:
            return
        keep = [m for m in messages
                if (self._extracting and m.discrete_memory_extracted == "f")
                or (self._indexing_messages and m.persisted_at is None)]
        await self.store.park_folded(namespace, user_id, session_id, keep)

    # -- the task body --------------------------------------------------------------------------

    async def run(self, namespace: str | None, user_id: str | None, session_id: str,
                  token: str) -> PromotionResult | None:
        """One task attempt: promote under the session's lease, or re-arm when another run
        holds it (``None``). ``token`` names the attempt; a redelivery reuses it.

        Two runs of one session never overlap (they would ask the model about the same
        messages twice). A write that lands while a run is going re-arms the task; if the
        run ends having missed it, the run re-arms it again, so no write is left behind.
        """
        async with self.store.session_lease(namespace, user_id, session_id, token) as held:
            if not held:
                await self.schedule(namespace, user_id, session_id,
                                    delay=max(self.settings.extraction_debounce_seconds, 1.0))
                return None
            await self._report(namespace, user_id, session_id, TaskStatus.running)
            try:
                result = await self.promote(namespace, user_id, session_id)
            except Exception as exc:
                await self._report(namespace, user_id, session_id, TaskStatus.failed,
                                   f"{type(exc).__name__}: {exc}")
                raise
            await self._report(namespace, user_id, session_id, TaskStatus.success)
        session = await self.wm_store.get(namespace, user_id, session_id)
        if session is not None and session.version != result.version:
            await self.after_write(session)
        return result

    async def promote(self, namespace: str | None, user_id: str | None,
                      session_id: str) -> PromotionResult:
        """Move one session's pending memories and messages to long-term memory.

        Raises:
            ServiceUnavailable, UpstreamError: a model call failed (the task retries; the
                work done so far is kept and not redone).
        """
        result = PromotionResult()
        if self.long_term is None:
            return result
        session = await self.wm_store.get(namespace, user_id, session_id)
        folded = await self.store.folded(namespace, user_id, session_id)
        if session is None and not folded:
            return result
        result.version = session.version if session is not None else None
        scope = Scope(namespace, user_id, session_id)
        strategy = session.strategy if session is not None else MemoryStrategyConfig()
        if session is not None:
            result.memories_promoted = await self._promote_memories(session, strategy)
        live = [m.message for m in session.messages] if session is not None else []
        live_ids = {m.id for m in live}
        pending = [m for m in folded if m.id not in live_ids] + live
        if self._indexing_messages:
            result.messages_indexed = await self._index_messages(scope, pending, live_ids)
        if self._extracting:
            await self._extract(scope, strategy, pending, live_ids, result)
        await self.store.drop_folded(namespace, user_id, session_id, [m.id for m in folded])
        return result

    async def _provenance(self, records: list[MemoryRecord], final: list[str],
                          session_id: str, how: str, batch: str | None = None,
                          strategy: MemoryStrategyConfig | None = None) -> None:
        """Record where promoted, indexed or extracted memories came from (issue 16)."""
        if self.provenance is None:
            return
        fields: dict[str, object] = {"door": "working_memory", "how": how,
                                     "task_id": promotion_task_id(records[0].namespace,
                                                                  records[0].user_id,
                                                                  session_id)}
        if batch is not None and strategy is not None and self.extractor is not None:
            from agent_memory.services.extraction_prompts import render
            from agent_memory.services.provenance import prompt_version

            template = render(strategy.strategy, strategy.config,
                              {"messages": "", "current_datetime": "", "namespace": "",
                               "user_id": "", "session_id": ""})
            fields.update(model=self.extractor.model, batch=batch,
                          prompt_version=prompt_version(template))
        await self.provenance.record_created(records, final, candidates=batch is not None,
                                             **fields)

    async def _promote_memories(self, session: StoredSession,
                                strategy: MemoryStrategyConfig) -> list[str]:
        assert self.long_term is not None
        pending = [r for r in session.memories if r.persisted_at is None]
        if not pending:
            return []
        now = utcnow()
        records = [
            MemoryRecord.model_validate({
                **r.model_dump(exclude={"persisted_at", "namespace", "user_id", "session_id"}),
                # The session's scope, never the record's own: a caller allowed to write this
                # session must not place memories in another tenant through it.
                "namespace": session.namespace,
                "user_id": session.user_id,
                "session_id": r.session_id or session.session_id,
                "persisted_at": now,
                "extraction_strategy": strategy.strategy,
                "extraction_strategy_config": strategy.config,
            })
            for r in pending
        ]
        final = await self.long_term.index_records(records, deduplicate=True)
        await self._provenance(records, final, session.session_id, "promotion")
        await self.wm_store.mark(session.namespace, session.user_id, session.session_id,
                                 persisted_memories=[r.id for r in pending],
                                 persisted_at=now.timestamp())
        return [r.id for r in records]

    async def _index_messages(self, scope: Scope, messages: list[MemoryMessage],
                              live_ids: set[str]) -> list[str]:
        assert self.long_term is not None
        todo = [m for m in messages if m.persisted_at is None]
        if not todo:
            return []
        now = utcnow()
        records = [
            MemoryRecord(
                id=message_memory_id(scope, m.id), text=f"{m.role}: {m.content}",
                namespace=scope.namespace, user_id=scope.user_id, session_id=scope.session_id,
                memory_type=MemoryTypeEnum.message, extraction_strategy="message",
                created_at=m.created_at, persisted_at=now, discrete_memory_extracted="t",
                extracted_from=[m.id],
            )
            for m in todo
        ]
        final = await self.long_term.index_records(records, deduplicate=True)
        await self._provenance(records, final, scope.session_id, "message")
        await self.wm_store.mark(scope.namespace, scope.user_id, scope.session_id,
                                 persisted_messages=[m.id for m in todo if m.id in live_ids],
                                 persisted_at=now.timestamp())
        return [r.id for r in records]

    async def _extract(self, scope: Scope, strategy: MemoryStrategyConfig,
                       messages: list[MemoryMessage], live_ids: set[str],
                       result: PromotionResult) -> None:
        assert self.long_term is not None and self.extractor is not None
        todo = [m for m in messages if m.discrete_memory_extracted == "f"]
        for batch in batches(todo):
            ids = [m.id for m in batch]
            bid = batch_id(scope, strategy, ids)
            answer = await self.store.journaled(bid)
            if answer is None:
                answer = await self.extractor.ask(batch, strategy, scope)
                result.model_calls += 1
                await self.store.journal(bid, answer)
            records = self.extractor.records(answer, batch, strategy, scope, bid)
            if records:
                final = await self.long_term.index_records(records, deduplicate=True)
                await self._provenance(records, final, scope.session_id, "extraction",
                                       batch=bid, strategy=strategy)
            await self.wm_store.mark(scope.namespace, scope.user_id, scope.session_id,
                                     extracted_messages=[i for i in ids if i in live_ids])
            await self.store.drop_folded(scope.namespace, scope.user_id, scope.session_id,
                                         [i for i in ids if i not in live_ids])
            await self.store.forget_journal(bid)
            result.memories_extracted += [r.id for r in records]
