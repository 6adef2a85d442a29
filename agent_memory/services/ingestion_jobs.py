"""The background half of turn ingestion: one job adjudicates the units it took.

Units are grouped into exchanges (a user turn and the turns that follow it); each exchange
gets one decision: the model's (one JSON-mode call that sees the user's relevant memories)
or the rules'. The decision is journaled in the job before anything is written, and every
write uses ids fixed by the turn hash, so a job redelivered after a killed worker reuses the
journal (no second model call) and rewrites the same records (no duplicates).
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import logging
import time
from dataclasses import dataclass, field
from typing import Any

from agent_memory.models._types import from_epoch
from agent_memory.models.long_term import EditMemoryRecordRequest, SearchRequest
from agent_memory.models.records import MemoryRecord, MemoryTypeEnum
from agent_memory.principal import LOCAL_ADMIN
from agent_memory.services.adjudication import (
    PROMPT_VERSION,
    Candidate,
    Decision,
    ModelAdjudicator,
    Policy,
    RulesAdjudicator,
)
from agent_memory.services.deletion import POLICY, Deletion
from agent_memory.services.long_term import LongTermService
from agent_memory.services.provenance import ProvenanceLog
from agent_memory.settings import Settings
from agent_memory.storage.filters import and_all, tag_eq_or_missing, tag_in, tag_missing
from agent_memory.storage.ingestion import IngestionStore
from agent_memory.storage.jobs import JobStore

log = logging.getLogger(__name__)

CANDIDATES = 20  # existing memories an exchange is compared with, by its words
RECENT = 10  # and the user's newest ones


@dataclass
class _Job:
    id: str
    door: str
    namespace: str | None
    user_id: str | None
    containers: list[tuple[str, str | None]]
    policy: Policy
    metadata: dict[str, Any]
    exchanges: list[list[dict[str, Any]]]  # units (hash, messages) grouped per exchange


@dataclass
class _Tally:
    counts: dict[str, int] = field(default_factory=lambda: dict.fromkeys(
        ("added", "updated", "superseded", "skipped"), 0))
    ids: dict[str, list[str]] = field(default_factory=lambda: {
        "added": [], "updated": [], "superseded": []})
    usage: dict[str, int] = field(default_factory=dict)
    model_calls: int = 0
    adjudicator: str = "rules"


def _load(job_id: str, fields: dict[str, str]) -> _Job:
    payload = json.loads(fields["payload"])
    user_id = fields.get("user_id") or None
    containers = [(c, t) for c, t in payload["containers"]]
    write_user, write_global, write_container = payload["policy"]
    policy = Policy(write_user, write_global, write_container, has_user=user_id is not None,
                    has_containers=bool(containers))
    exchanges: list[list[dict[str, Any]]] = []
    for unit in payload["units"]:
        starts = any(role == "user" for _, role, _, _ in unit["messages"])
        if starts or not exchanges:
            exchanges.append([])
        exchanges[-1].append(unit)
    return _Job(job_id, payload["door"], fields.get("namespace") or None, user_id,
                containers, policy, payload["metadata"], exchanges)


class JobRunner:
    """Runs ingestion jobs (the ``ingest_turns`` task body)."""

    def __init__(self, settings: Settings, jobs: JobStore, store: IngestionStore,
                 long_term: LongTermService | None, model: ModelAdjudicator | None,
                 provenance: ProvenanceLog | None = None) -> None:
        self.settings = settings
        self.jobs = jobs
        self.store = store
        self.long_term = long_term
        self.rules = RulesAdjudicator()
        self.model = model
        self.provenance = provenance

    @property
    def ttl(self) -> int:
        return int(self.settings.ingestion_job_ttl_days * 86400)

    async def run(self, job_id: str, *, final_attempt: bool = True) -> str | None:
        """One attempt; returns the final status (``None``: no such job). A failed attempt
        that will be retried stays ``running`` with its error; the last one is ``failed``."""
        found = await self.jobs.start(job_id, time.time(), self.ttl)
        if found is None or found == "succeeded":
            return found
        fields = await self.jobs.get(job_id)
        assert fields is not None
        try:
            tally = await self._run(_load(job_id, fields))
        except Exception as exc:
            await self.jobs.update(job_id, {
                "status": "failed" if final_attempt else "running",
                "error": f"{type(exc).__name__}: {exc}",
                **({"finished_at": time.time()} if final_attempt else {})}, self.ttl)
            raise
        ids = json.loads(fields.get("ids", "{}"))
        await self.jobs.update(job_id, {
            "status": "succeeded", "finished_at": time.time(), "error": "",
            "counts": tally.counts, "ids": {**ids, **tally.ids}, "usage": tally.usage,
            "model_calls": tally.model_calls, "adjudicator": tally.adjudicator}, self.ttl)
        return "succeeded"

    async def _run(self, job: _Job) -> _Tally:
        tally = _Tally(adjudicator="model" if self.model is not None else "rules")
        if self.long_term is None:
            tally.counts["skipped"] = len(job.exchanges)
            return tally
        for index, exchange in enumerate(job.exchanges):
            plan = json.loads(await self.jobs.journaled(job.id, index) or "null")
            if plan is None:
                plan = json.loads(await self.jobs.journal(
                    job.id, index, json.dumps(await self._decide(job, exchange))))
            tally.adjudicator = plan["adjudicator"]
            if plan["adjudicator"] == "model":
                tally.model_calls += 1
                for name, value in plan.get("usage", {}).items():
                    tally.usage[name] = tally.usage.get(name, 0) + int(value)
            for n, raw in enumerate(plan["decisions"]):
                await self._apply(job, exchange, n, Decision.from_json(raw), plan, tally)
        return tally

    # -- deciding ------------------------------------------------------------------------------

    async def _decide(self, job: _Job, exchange: list[dict[str, Any]]) -> dict[str, Any]:
        messages = [(role, text) for unit in exchange for _, role, text, _ in unit["messages"]]
        user_text = "\n".join(text for role, text in messages if role == "user")
        if self.model is None and not self.rules.has_facts(user_text):
            return {"candidates": [], "adjudicator": "rules", "decisions": []}
        candidates = await self._candidates(job, user_text or messages[0][1])
        plan: dict[str, Any] = {"candidates": [c.id for c in candidates]}
        if self.model is not None:
            answer, usage = await self.model.ask(
                [{"role": r, "text": t} for r, t in messages], candidates, job.policy)
            decisions = self.model.decide(answer, candidates, job.policy)
            plan.update(adjudicator="model", usage=usage)
        else:
            decisions = self.rules.decide(user_text, candidates, job.policy)
            plan.update(adjudicator="rules")
        plan["decisions"] = [d.to_json() for d in decisions]
        return plan

    async def _candidates(self, job: _Job, text: str) -> list[Candidate]:
        """The user's memories nearest the exchange (never other users', never fragments)."""
        kinds = tag_in("memory_type", [MemoryTypeEnum.semantic.value,
                                       MemoryTypeEnum.episodic.value])
        if job.user_id is not None:
            who = tag_in("user_id", [job.user_id])
        elif job.containers:
            who = tag_missing("user_id") & tag_in("session_id", [c for c, _ in job.containers])
        else:
            return []
        where = and_all([tag_eq_or_missing("namespace", job.namespace), who, kinds])
        # The words of the exchange find what it is about; the newest memories catch what a
        # correction refers to without repeating its words ("actually, I use X now").
        related, newest = await asyncio.gather(
            self.long_term.searcher.search(where, SearchRequest(
                text=text, search_mode="keyword", limit=CANDIDATES, recency_boost=False)),
            self.long_term.searcher.search(where, SearchRequest(
                text="", search_mode="keyword", limit=RECENT, recency_boost=False)))
        seen: dict[str, Candidate] = {}
        for m in [*related.memories, *newest.memories]:
            seen.setdefault(m.id, Candidate(m.id, m.text, "container" if m.session_id else
                                            "user" if m.user_id else "global"))
        return list(seen.values())

    # -- acting ----------------------------------------------------------------------------------

    def _records(self, job: _Job, exchange: list[dict[str, Any]], n: int, decision: Decision,
                 plan: dict[str, Any]) -> list[MemoryRecord]:
        turn_hash = exchange[0]["hash"]
        sessions: list[str | None] = ([c for c, _ in job.containers]
                                      if decision.scope == "container" else [None])
        at = max(m[3] for unit in exchange for m in unit["messages"])
        out = []
        for session in sessions:
            digest = hashlib.sha256(json.dumps(
                [job.namespace, job.user_id, turn_hash, n, session]).encode()).hexdigest()
            out.append(MemoryRecord(
                id=f"ing-{digest[:32]}", text=decision.text, namespace=job.namespace,
                user_id=None if decision.scope == "global" else job.user_id,
                session_id=session, memory_type=MemoryTypeEnum.semantic,
                topics=decision.topics, entities=decision.entities,
                discrete_memory_extracted="t", extraction_strategy="ingestion",
                extracted_from=[m[0] for unit in exchange for m in unit["messages"]],
                event_date=from_epoch(at),  # created_at: kept when a redelivery rewrites
                metadata={"request": job.metadata, "ingestion": {
                    "job_id": job.id, "turn_hash": turn_hash, "door": job.door,
                    "adjudicator": plan["adjudicator"], "rule": decision.rule}}))
        return out

    async def _apply(self, job: _Job, exchange: list[dict[str, Any]], n: int,
                     decision: Decision, plan: dict[str, Any], tally: _Tally) -> None:
        if decision.action == "noop" or decision.scope is None:
            tally.counts["skipped"] += 1
            return
        if decision.action == "update":
            await self._update(decision, tally)
            return
        records = self._records(job, exchange, n, decision, plan)
        existing = {r.id for r in await self.long_term.store.get_many([r.id for r in records])
                    if r is not None}
        # An added fact the store already holds (same text, or nearly) is skipped; a
        # superseding one is written whatever it resembles: the old one is on its way out.
        stored = await self.long_term.index_records(
            records, deduplicate=decision.action == "add")
        fresh = []
        for record, stored_id in zip(records, stored, strict=True):
            if stored_id != record.id:  # the same fact is already remembered
                tally.counts["skipped"] += 1
                continue
            tally.counts["added"] += 1
            tally.ids["added"].append(record.id)
            if record.id not in existing:
                fresh.append(record)
        for record in fresh:
            await self._created(job, exchange, record, plan)
        if decision.action == "supersede" and stored:
            for target in decision.targets:
                if target in stored:
                    continue
                await self._supersede(job, target, stored[0])
                tally.counts["superseded"] += 1
                tally.ids["superseded"].append(target)

    async def _update(self, decision: Decision, tally: _Tally) -> None:
        (current,) = await self.long_term.store.get_many(decision.targets[:1])
        if current is None:
            tally.counts["skipped"] += 1  # deleted meanwhile: nothing to refine
            return
        if current.text != decision.text:
            await self.long_term.update(LOCAL_ADMIN, current.id, EditMemoryRecordRequest(
                text=decision.text, topics=decision.topics, entities=decision.entities))
            if self.provenance is not None:
                await self.provenance.record(current.id, "edited", door="ingestion",
                                             fields=["text"])
        tally.counts["updated"] += 1
        tally.ids["updated"].append(current.id)

    async def _supersede(self, job: _Job, old_id: str, new_id: str) -> None:
        """Take ``old_id`` out of every read at once: a soft delete through the long-term
        service (restorable within the grace period, then purged), recorded as a
        ``memory.supersede`` audit event and a ``superseded`` provenance event. Already
        gone (a redelivery): nothing to do."""
        assert self.long_term is not None
        (old,) = await self.long_term.store.get_many([old_id])
        if old is None:
            return
        if self.provenance is not None:
            await self.provenance.record(old_id, "superseded", superseded_by=new_id,
                                         job_id=job.id)
        await self.long_term.delete_ids([old_id], Deletion(
            POLICY, reason="superseded by a later statement", action="memory.supersede",
            details={"superseded_by": new_id, "job_id": job.id}))

    async def _created(self, job: _Job, exchange: list[dict[str, Any]], record: MemoryRecord,
                       plan: dict[str, Any]) -> None:
        """The one provenance call site of memories this pipeline creates."""
        if self.provenance is None:
            return
        request = job.metadata if job.door == "process" else {}
        await self.provenance.record(
            record.id, "created", door=job.door, session_id=record.session_id,
            message_ids=record.extracted_from, job_id=job.id, turn_hash=exchange[0]["hash"],
            strategy=plan["adjudicator"],
            model=self.settings.generation_model if plan["adjudicator"] == "model" else None,
            prompt_version=PROMPT_VERSION if plan["adjudicator"] == "model" else None,
            task_id=job.id, candidates=plan.get("candidates"),
            app=request.get("app"), trace_id=request.get("trace_id"),
            source=request.get("source"), upstream_model=request.get("model"))
