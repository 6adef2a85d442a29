"""Turn ingestion: the one pipeline behind ``POST /v1/process`` and ``POST /ingestion/memory``.

A door translates its request into a :class:`Submission` (units of turns, each with a stable
hash and deterministic message ids) and calls :meth:`IngestionService.accept`, which answers
within the request:

1. one script creates the user and missing containers, claims every unit's hash for a new
   job unless an earlier job holds it, and creates the job (status ``accepting``);
2. the active writes of the units this job took: their messages appended to each
   container's working-memory session (ids already there are skipped), and, on the
   ingestion door, one long-term ``message`` fragment per turn, searchable at once;
3. the job is enqueued (Docket task keyed by the job id) and becomes ``queued``; a job with
   no background work becomes ``succeeded`` right away.

A duplicate of a unit whose job is still ``accepting`` (a concurrent twin, or a retry after
a crash) redoes step 2 and 3 for it: both are idempotent, and the answer never comes before
the writes are in. The adjudication itself runs in the job (``services/ingestion_jobs.py``).
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import time
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Literal

from agent_memory.errors import InvalidRequest, NotFound
from agent_memory.models._types import from_epoch, utcnow
from agent_memory.models.jobs import ContainerRecord, JobResponse, UserListResponse, UserResponse
from agent_memory.models.records import MemoryRecord, MemoryTypeEnum
from agent_memory.models.working_memory import MemoryMessage
from agent_memory.principal import Principal
from agent_memory.services.adjudication import Policy
from agent_memory.services.extraction import Scope
from agent_memory.services.idempotency import Replay
from agent_memory.services.long_term import LongTermService
from agent_memory.services.promotion import message_memory_id
from agent_memory.services.provenance import ProvenanceLog
from agent_memory.services.working_memory import WorkingMemoryService
from agent_memory.settings import Settings
from agent_memory.storage.ingestion import IngestionStore
from agent_memory.storage.jobs import ACCEPTING, JobStore
from agent_memory.tokenizer import count_message_tokens, count_tokens

Door = Literal["process", "ingestion"]
Enqueue = Callable[[str], Awaitable[None]]
"""Puts a job's task on the docket (keyed by the job id: a repeat is a no-op)."""


@dataclass(frozen=True)
class TaskCommand:
    """A job's Docket task as one command for the batch that queues the job
    (``tasks/_schedule.py`` makes it; ``JobStore.queue`` sends it)."""

    command: tuple[Any, ...]  # the EVALSHA of Docket's schedule script
    script: str  # that script's source (loaded on NOSCRIPT)
    runs_key: str  # the task's runs hash: it has a state once the task is on the docket
    scheduled: Callable[[Any], None]  # Docket's own bookkeeping, given the script's reply


TaskCommands = Callable[[str], TaskCommand | None]
"""The task command of a job (``None``: enqueue with :data:`Enqueue` instead)."""


@dataclass(frozen=True)
class TurnMessage:
    """One message of a unit, with its working-memory id."""

    id: str
    role: str
    text: str
    at: datetime


@dataclass(frozen=True)
class Unit:
    """What one hash claims: a post-turn pair (process) or one turn (ingestion)."""

    hash: str
    messages: list[TurnMessage]


@dataclass
class Submission:
    """A door's request in the pipeline's terms."""

    door: Door
    namespace: str | None
    user_id: str | None
    containers: list[tuple[str, str | None]]  # (id, type): each is a session
    units: list[Unit]
    policy: Policy
    metadata: dict[str, Any] = field(default_factory=dict)
    write_messages: bool = True  # append to the containers' sessions
    write_fragments: bool = False  # one long-term fragment per turn (ingestion's active tier)
    passive: bool = True  # adjudicate in the background


@dataclass
class Receipt:
    """What :meth:`IngestionService.accept` did, for the door to render."""

    job_id: str
    created_user: bool
    created_containers: list[str]
    accepted_at: datetime
    fragment_ids: list[str]
    passive_job_id: str | None
    tokens_in: int


def _settle(future: asyncio.Future[Any]) -> None:
    """Cancel an early lookup nobody awaited (an error on the way), or mark its failure
    as seen."""
    if not future.done():
        future.cancel()
    elif not future.cancelled():
        future.exception()


def unit_hash(*parts: object) -> str:
    """The stable hash of a unit (its identifying parts, JSON-encoded)."""
    return hashlib.sha256(json.dumps(parts, default=str).encode()).hexdigest()


def timestamp(value: datetime) -> str:
    """A timestamp as hashed: UTC ISO 8601, so spellings of one instant hash alike."""
    return value.astimezone(UTC).isoformat()


def fragment_id(namespace: str | None, user_id: str | None, session_id: str,
                message_id: str) -> str:
    """A fragment's long-term id: the id promotion would give the same message."""
    return message_memory_id(Scope(namespace, user_id, session_id), message_id)


class IngestionService:
    """Accepts turns (request path) and answers job and user reads."""

    def __init__(self, settings: Settings, store: IngestionStore, jobs: JobStore,
                 working_memory: WorkingMemoryService, long_term: LongTermService | None,
                 enqueue: Enqueue | None, run_inline: Callable[[str], Awaitable[None]] | None
                 = None, provenance: ProvenanceLog | None = None,
                 task_command: TaskCommands | None = None) -> None:
        self.settings = settings
        self.store = store
        self.jobs = jobs
        self.working_memory = working_memory
        self.long_term = long_term
        self.enqueue = enqueue
        self.run_inline = run_inline  # no Docket: the job runs before the answer
        self.provenance = provenance
        self.task_command = task_command  # enqueue and queue in one round trip

    @property
    def job_ttl(self) -> int:
        return int(self.settings.ingestion_job_ttl_days * 86400)

    def check_sizes(self, sub: Submission) -> None:
        """Every text within ``MAX_TEXT_CHARS`` (422 naming the first one over)."""
        limit = self.settings.max_text_chars
        for i, unit in enumerate(sub.units):
            for message in unit.messages:
                if len(message.text) > limit:
                    raise InvalidRequest(
                        f"a message is longer than {limit} characters",
                        details=[{"type": "string_too_long", "loc": ["body", "turns", i],
                                  "msg": f"at most {limit} characters"}])

    async def accept(self, principal: Principal, sub: Submission,
                     response_key: str | None = None) -> Receipt:
        """Steps 1-3 of the module docs; returns what the door answers.

        Raises:
            Replay: A response is stored under ``response_key`` (the request's
                ``Idempotency-Key``, see ``services/idempotency.py``); nothing was written.
        """
        self.check_sizes(sub)
        units = list({u.hash: u for u in sub.units}.values())  # a turn repeated in one request
        job_id = str(uuid.uuid4()) if sub.door == "process" else uuid.uuid4().hex
        now = time.time()
        payload = {"door": sub.door, "containers": sub.containers,
                   "policy": [sub.policy.write_user, sub.policy.write_global,
                              sub.policy.write_container],
                   "metadata": sub.metadata, "fragments": sub.write_fragments,
                   "units": [{"hash": u.hash, "messages": [
                       [m.id, m.role, m.text, m.at.timestamp()] for m in u.messages]}
                       for u in units]}
        early = self._look_around(sub, units, job_id)
        try:
            accepted = await self.store.accept(
                sub.namespace, sub.user_id, job_id, [u.hash for u in units], sub.containers,
                {"door": sub.door, "namespace": sub.namespace or "",
                 "user_id": sub.user_id or "", "status": ACCEPTING, "created_at": now,
                 "passive": "1" if sub.passive else "0",
                 "payload": json.dumps(payload, ensure_ascii=False)},
                now=now, turn_ttl=int(self.settings.ingestion_turn_ttl_days * 86400),
                job_ttl=self.job_ttl, response_key=response_key)
            if accepted.stored is not None:
                raise Replay(accepted.stored)
            others = sorted({o for o in accepted.owners if o != job_id})
            found = await self.jobs.statuses(others) if others else {}
            if accepted.took:  # else this request's job was never created: nothing to finish
                found[job_id] = (ACCEPTING, sub.passive)
            unfinished = {j for j, (status, _) in found.items() if status == ACCEPTING}
            todo = [u for u, o in zip(units, accepted.owners, strict=True) if o in unfinished]
            written = await self._write_active(
                principal, sub, todo, job_id,
                {u.hash: o for u, o in zip(units, accepted.owners, strict=True)},
                early if accepted.took == len(units) else None)
        finally:
            if early is not None:
                _settle(early[1])
        for job in sorted(unfinished):
            await self._finish_accept(job, found[job][1], written if job == job_id else None)
        mine = [u for u, owner in zip(units, accepted.owners, strict=True) if owner == job_id]
        answer_job = job_id if mine else accepted.owners[0]
        passive = found[answer_job][1]
        fragments = ([fragment_id(sub.namespace, sub.user_id, cid, m.id)
                      for cid, _ in sub.containers[:1] for u in units for m in u.messages]
                     if sub.write_fragments and self.long_term is not None else [])
        return Receipt(job_id=answer_job, created_user=accepted.created_user,
                       created_containers=accepted.created_containers,
                       accepted_at=from_epoch(now) or utcnow(), fragment_ids=fragments,
                       passive_job_id=answer_job if passive else None,
                       tokens_in=sum(count_tokens(m.text) for u in mine for m in u.messages))

    def _look_around(self, sub: Submission, units: list[Unit], job_id: str
                     ) -> tuple[list[MemoryRecord], asyncio.Future[Any]] | None:
        """The fragments of ``units`` as this job would write them, and their session
        neighbours' lookup, started now so that it leaves with the accept script (a read:
        wasted only when a turn turns out to be a duplicate)."""
        if not sub.write_fragments or self.long_term is None:
            return None
        records = self._fragments(sub, units, {}, job_id, utcnow())
        return records, asyncio.ensure_future(self.long_term.turn_neighbours(records))

    def _fragments(self, sub: Submission, units: list[Unit], owners: dict[str, str],
                   job_id: str, persisted: datetime | None) -> list[MemoryRecord]:
        return [self._fragment(sub, cid, u, m, owners.get(u.hash, job_id), persisted)
                for cid, _ in sub.containers[:1] for u in units for m in u.messages]

    async def _write_active(self, principal: Principal, sub: Submission, units: list[Unit],
                            job_id: str, owners: dict[str, str] | None = None,
                            early: tuple[list[MemoryRecord], asyncio.Future[Any]] | None = None
                            ) -> dict[str, list[str]]:
        """Session messages and fragments of ``units`` (idempotent: fixed ids), written
        concurrently: they share the pipelined connection, so the session appends, the
        fragments and their provenance leave in one write when the fragments' neighbours
        were looked up beside the accept script (``early``: this job took every unit);
        else the lookup goes first, with the appends. A twin redoing the writes of an
        unfinished job records no provenance: the job that took the turns did."""
        out: dict[str, list[str]] = {"messages": [], "fragments": []}
        if not units:
            return out
        owners = owners or {}
        fragments = sub.write_fragments and self.long_term is not None
        records: list[MemoryRecord] = []
        neighbours = None
        if fragments and early is not None:  # this job took every unit: as looked up
            records, neighbours = early[0], await early[1]
        elif fragments:
            records = self._fragments(sub, units, owners, job_id, utcnow())
        persisted = records[0].persisted_at if records else None
        writes: list[Awaitable[Any]] = []
        if sub.write_messages:
            messages = [(MemoryMessage.model_construct(
                role=m.role, content=m.text, id=m.id, created_at=m.at,
                persisted_at=persisted, discrete_memory_extracted="t"),
                count_message_tokens(m.role, m.text)) for u in units for m in u.messages]
            for cid, _ in sub.containers:
                writes.append(self.working_memory.append_turns(sub.namespace, sub.user_id,
                                                               cid, messages))
                out["messages"] += [f"{cid}/{m.id}" for m, _ in messages]
        if fragments:
            assert self.long_term is not None
            # No dedup: a turn is its own fragment even when its words were said before.
            writes.append(self.long_term.index_turns(records, neighbours))
            events = self._created_events(sub, records, job_id)
            if events and self.provenance is not None:
                writes.append(self.provenance.store.append_many(events))
        done = await asyncio.gather(*writes)
        if fragments:
            out["fragments"] = done[len(sub.containers) if sub.write_messages else 0]
        return out

    def _created_events(self, sub: Submission, records: list[MemoryRecord],
                        job_id: str) -> list[tuple[str, dict[str, Any]]]:
        """The provenance events of the fragments this job writes."""
        if self.provenance is None:
            return []
        mine = [r for r in records if r.metadata["ingestion"].get("job_id") == job_id]
        return [
            (r.id, self.provenance._event("created", {
                "door": sub.door, "session_id": r.session_id, "message_ids": r.extracted_from,
                "job_id": job_id, "turn_hash": r.metadata["ingestion"]["turn_hash"],
                "strategy": "message"}))
            for r in mine]

    @staticmethod
    def _fragment(sub: Submission, session_id: str, unit: Unit, message: TurnMessage,
                  job_id: str, persisted: datetime | None) -> MemoryRecord:
        """A turn as a long-term ``message`` record (promotion's form and id)."""
        return MemoryRecord(
            id=fragment_id(sub.namespace, sub.user_id, session_id, message.id),
            text=f"{message.role}: {message.text}", namespace=sub.namespace,
            user_id=sub.user_id, session_id=session_id, memory_type=MemoryTypeEnum.message,
            extraction_strategy="message", created_at=message.at, persisted_at=persisted,
            discrete_memory_extracted="t", extracted_from=[message.id],
            metadata={"request": sub.metadata,
                      "ingestion": {"turn_hash": unit.hash, "door": sub.door,
                                    "job_id": job_id}})

    async def _finish_accept(self, job_id: str, passive: bool,
                             written: dict[str, list[str]] | None) -> None:
        """Enqueue (when there is background work), then leave ``accepting``: one round
        trip when the task can ride in the status change's batch."""
        fields: dict[str, Any] = {"ids": written} if written is not None else {}
        task = self.task_command(job_id) if passive and self.task_command else None
        if task is not None:
            reply, _ = await self.jobs.queue(job_id, ACCEPTING, "queued", self.job_ttl,
                                             task.command, task.script, task.runs_key, fields)
            task.scheduled(reply)
        elif passive and self.enqueue is not None:
            await self.enqueue(job_id)
            await self.jobs.advance(job_id, ACCEPTING, "queued", self.job_ttl, fields)
        elif passive and self.run_inline is not None:
            await self.jobs.advance(job_id, ACCEPTING, "queued", self.job_ttl, fields)
            await self.run_inline(job_id)
        else:
            await self.jobs.advance(job_id, ACCEPTING, "succeeded", self.job_ttl,
                                    {**fields, "finished_at": time.time()})

    # -- reads ---------------------------------------------------------------------------------

    async def job(self, principal: Principal, job_id: str) -> JobResponse:
        """A job's status; 404 when unknown, expired, or another tenant's."""
        fields = await self.jobs.get(job_id)
        if fields is None or not principal.allows(fields.get("namespace") or None,
                                                  fields.get("user_id") or None):
            raise NotFound(f"Job {job_id} not found", details={"job_id": job_id})
        status = fields["status"]
        payload = json.loads(fields.get("payload", "{}"))
        return JobResponse(
            job_id=job_id, door=fields["door"],  # type: ignore[arg-type]
            status="queued" if status == ACCEPTING else status,  # type: ignore[arg-type]
            created_at=from_epoch(fields["created_at"]),  # type: ignore[arg-type]
            started_at=from_epoch(fields.get("started_at")),
            finished_at=from_epoch(fields.get("finished_at")),
            turns=sum(len(u["messages"]) for u in payload.get("units", [])),
            counts=json.loads(fields.get("counts", "{}")),
            ids=json.loads(fields.get("ids", "{}")),
            adjudicator=fields.get("adjudicator") or None,  # type: ignore[arg-type]
            model_calls=int(fields.get("model_calls", 0)),
            usage=json.loads(fields.get("usage", "{}")),
            error=fields.get("error") or None, attempts=int(fields.get("attempts", 0)))

    async def user(self, principal: Principal, user_id: str,
                   namespace: str | None) -> UserResponse:
        """A user and its containers; 404 when unknown or outside the caller's bounds."""
        namespace = principal.scope_namespace(namespace)
        if not principal.allows(namespace, user_id):
            raise NotFound(f"User {user_id} not found", details={"user_id": user_id})
        found = await self.store.user(namespace, user_id)
        if found is None:
            raise NotFound(f"User {user_id} not found", details={"user_id": user_id})
        created, containers = found
        return UserResponse(
            user_id=user_id, namespace=namespace, created_at=from_epoch(created),  # type: ignore[arg-type]
            containers=[ContainerRecord(id=c, type=t, created_at=from_epoch(at))  # type: ignore[arg-type]
                        for c, t, at in containers])

    async def users(self, principal: Principal, namespace: str | None, offset: int,
                    limit: int) -> UserListResponse:
        """A page of the namespace's users (only itself for a user-bound caller)."""
        namespace = principal.scope_namespace(namespace)
        if principal.user_id is not None:
            found = await self.store.user(namespace, principal.user_id)
            return UserListResponse(users=[principal.user_id] if found else [],
                                    total=1 if found else 0)
        users, total = await self.store.users(namespace, offset, limit)
        return UserListResponse(users=users, total=total)

    async def erase_user(self, namespace: str | None, user_id: str) -> dict[str, int]:
        """Issue 16's erase: the user's ingestion records, turn claims and jobs (turn text)."""
        return await self.store.erase_user(namespace, user_id)

