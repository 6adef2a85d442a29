"""Erase a person: every store holding per-user data removes it at once (no grace).

Stores register on the container's :class:`EraseRegistry` (``services.erasable``)::

    services.erasable.register("ingestion", ingestion_store)

where the store has ``async def erase_user(namespace: str | None, user_id: str) ->
dict[str, int]`` (what it removed, by kind). ``namespace`` ``None`` means every namespace
of that user. ``erase_user`` must be idempotent: a redelivered erase task runs it again.

The erase task runs the stores in registration order, then sweeps long-term memory once
more (a promotion in flight may have written after the first pass), then makes Redis
rewrite its append-only file so the erased values leave the disk, and records one audit
event with the counts (never any text).
"""

from __future__ import annotations

import asyncio
import json
import logging
import time
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Protocol

from agent_memory.errors import FeatureDisabled, NotFound
from agent_memory.models._types import new_ulid
from agent_memory.models.forgetting import EraseStatusResponse, EraseUserRequest
from agent_memory.models.tasks import TaskRecord, TaskStatus, TaskType
from agent_memory.principal import Principal
from agent_memory.services.audit import AuditTrail
from agent_memory.services.deletion import ERASE
from agent_memory.services.promotion import promotion_task_id
from agent_memory.services.provenance import ProvenanceLog
from agent_memory.settings import Settings
from agent_memory.storage.erase import UserDataStore
from agent_memory.storage.filters import tag_in
from agent_memory.storage.keys import promotion_key
from agent_memory.storage.task_status import TaskStatusStore

if TYPE_CHECKING:
    from agent_memory.services.long_term import LongTermService

log = logging.getLogger(__name__)

ERASE_TASK = "erase_user"
LONG_TERM = "long_term"
_BATCH = 1000
_DELETE_CHUNK = 25
_CANCEL_CHUNK = 50

Enqueue = Callable[[str, str | None, str, str, str | None], Awaitable[None]]
"""``(task_id, namespace, user_id, subject, reason)``: puts the erase task on the docket."""
CancelTask = Callable[[str], Awaitable[None]]
"""Cancels a scheduled Docket task by key."""


class Erasable(Protocol):
    """A store holding per-user data."""

    async def erase_user(self, namespace: str | None, user_id: str) -> dict[str, int]: ...


class EraseRegistry:
    """The stores an erase visits, in registration order."""

    def __init__(self) -> None:
        self._stores: dict[str, Erasable] = {}

    def register(self, name: str, store: Erasable) -> None:
        """Add (or replace) the store reported under ``name``."""
        self._stores[name] = store

    def items(self) -> list[tuple[str, Erasable]]:
        return list(self._stores.items())

    def get(self, name: str) -> Erasable | None:
        return self._stores.get(name)


class WorkingMemoryEraser:
    """Sessions, folded messages, promotion markers and queued promotions of a person."""

    def __init__(self, store: UserDataStore, cancel: CancelTask | None) -> None:
        self.store = store
        self.cancel = cancel

    async def erase_user(self, namespace: str | None, user_id: str) -> dict[str, int]:
        sessions = await self.store.sessions_of(namespace, user_id)
        cancelled = 0
        if self.cancel is not None:  # first: no queued promotion writes for them afterwards
            keys = [promotion_key(ns, user, sid) for ns, user, sid in sessions]
            for start in range(0, len(keys), _CANCEL_CHUNK):  # a few round trips each
                chunk = keys[start:start + _CANCEL_CHUNK]
                await asyncio.gather(*(self.cancel(key) for key in chunk))
                cancelled += len(chunk)
        counts = await self.store.delete_sessions(
            sessions, [promotion_task_id(ns, user, sid) for ns, user, sid in sessions])
        counts["queued_promotions_cancelled"] = cancelled
        counts["extraction_journal"] = await self.store.drop_extraction_journal()
        return counts


class LongTermEraser:
    """A person's long-term memories (index entries included), their trash, their
    provenance and their ids in the access-tracking queue."""

    def __init__(self, long_term: LongTermService, provenance: ProvenanceLog,
                 store: UserDataStore) -> None:
        self.long_term = long_term
        self.provenance = provenance
        self.store = store

    async def erase_user(self, namespace: str | None, user_id: str) -> dict[str, int]:
        lt = self.long_term
        where = tag_in("user_id", [user_id])
        if namespace is not None:
            where = where & tag_in("namespace", [namespace])
        ids: list[str] = []
        async for batch in lt.store.iter_ids(where, _BATCH):  # all first: no delete mid-cursor
            ids += batch
        memories = 0
        # No neighbour relinking: session context only ever links messages of the same
        # namespace, user and session (services/session_context.py), so every memory whose
        # context fields hold an erased message's text is itself erased here. Small
        # chunks keep each DEL (and its index updates) short for other clients.
        for start in range(0, len(ids), _DELETE_CHUNK):
            memories += await lt.store.delete(ids[start:start + _DELETE_CHUNK])
        trashed = await lt.trash.all_ids()
        scopes = await lt.trash.scopes(trashed)
        theirs = [i for i, s in zip(trashed, scopes, strict=True)
                  if s is not None and s[1] == user_id
                  and (namespace is None or s[0] == namespace)]
        trash = await lt.trash.drop(theirs)
        provenance = await self.provenance.forget([*ids, *theirs])
        access = await self.store.drop_pending_access([*ids, *theirs])
        return {"memories": memories, "trash": trash, "provenance": provenance,
                "access_pending": access}


def _merge(into: dict[str, int], more: dict[str, int]) -> dict[str, int]:
    for kind, n in more.items():
        into[kind] = into.get(kind, 0) + int(n)
    return into


class EraseService:
    """Accepts erase requests, runs them as tasks, reports their outcome."""

    def __init__(self, registry: EraseRegistry, store: UserDataStore, audit: AuditTrail,
                 task_status: TaskStatusStore, settings: Settings,
                 enqueue: Enqueue | None) -> None:
        self.registry = registry
        self.store = store
        self.audit = audit
        self.task_status = task_status
        self.settings = settings
        self.enqueue = enqueue

    async def request(self, principal: Principal, user_id: str,
                      body: EraseUserRequest) -> TaskRecord:
        """Accept an erase of ``user_id`` within the caller's bounds; returns its task.

        An admin may omit the namespace (every namespace); a namespace-bound token erases
        within its namespace; a user-bound token only itself.
        """
        if self.enqueue is None:
            raise FeatureDisabled("Erase needs background work (USE_DOCKET)")
        namespace = principal.scope_namespace(body.namespace)
        principal.scope_user(user_id)  # raises Forbidden for another user
        record = TaskRecord(id=new_ulid(), type=TaskType.erase, namespace=namespace,
                            user_id=user_id)
        await self.task_status.create(record)
        await self.audit.record("user.erase", principal=principal, namespace=namespace,
                                user_id=user_id, method=ERASE, reason=body.reason,
                                outcome="requested", details={"task_id": record.id})
        await self.enqueue(record.id, namespace, user_id, principal.subject, body.reason)
        return record

    async def run(self, task_id: str, namespace: str | None, user_id: str, subject: str,
                  reason: str | None) -> dict[str, object]:
        """The erase task: every registered store, a last long-term sweep, the AOF rewrite."""
        await self.task_status.advance(task_id, TaskStatus.running)
        seconds: dict[str, float] = {}
        try:
            stores: dict[str, dict[str, int]] = {}
            for name, store in self.registry.items():
                began = time.perf_counter()
                stores[name] = dict(await store.erase_user(namespace, user_id))
                seconds[name] = round(time.perf_counter() - began, 3)
            last = self.registry.get(LONG_TERM)
            if last is not None:
                began = time.perf_counter()
                _merge(stores[LONG_TERM], await last.erase_user(namespace, user_id))
                seconds["long_term_sweep"] = round(time.perf_counter() - began, 3)
            began = time.perf_counter()
            aof = await self.store.rewrite_aof(self.settings.erase_aof_rewrite_timeout_seconds)
            seconds["aof"] = round(time.perf_counter() - began, 3)
        except Exception as exc:
            await self.task_status.advance(task_id, TaskStatus.failed,
                                           error=f"{type(exc).__name__}: {exc}")
            raise
        result: dict[str, object] = {"stores": stores, "aof": aof, "seconds": seconds}
        await self.audit.record(
            "user.erase", principal=Principal(subject=subject), namespace=namespace,
            user_id=user_id, method=ERASE, reason=reason,
            counts={f"{name}.{kind}": n for name, c in stores.items() for kind, n in c.items()},
            outcome="erased", details={"task_id": task_id, "aof": aof})
        await self.task_status.advance(task_id, TaskStatus.success, result=result)
        return result

    async def status(self, principal: Principal, user_id: str,
                     task_id: str) -> EraseStatusResponse:
        """An erase task's status and counts; 404 for another tenant's or another user's."""
        record = await self.task_status.get(task_id)
        if (record is None or record.type is not TaskType.erase or record.user_id != user_id
                or not principal.allows(record.namespace, record.user_id)):
            raise NotFound(f"Erase task {task_id} not found", details={"task_id": task_id})
        return EraseStatusResponse(
            task_id=record.id, status=record.status.value, user_id=record.user_id,
            namespace=record.namespace, error_message=record.error_message,
            result=json.loads(record.result) if record.result else None,
            created_at=record.created_at, started_at=record.started_at,
            completed_at=record.completed_at)
