"""Long-term memory logic: create with batched dedup, search, get, edit, delete, compact.

Methods taking a ``Principal`` serve the API and enforce tenant bounds; the principal-free
ones (``index_records``, ``delete_ids``, ``iter_scope``, ``update_last_accessed``) are for
background tasks, whose records already carry their namespace, user and session.
"""

from __future__ import annotations

import logging
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence

import numpy as np
import numpy.typing as npt
from pydantic import ValidationError
from redisvl.query.filter import FilterExpression

from agent_memory.embeddings.base import Embedder
from agent_memory.errors import ClientError, Forbidden, NotFound
from agent_memory.llm import ChatModel
from agent_memory.models._types import from_epoch, utcnow
from agent_memory.models.long_term import (
    EditMemoryRecordRequest,
    MemoryRecordResultsResponse,
    SearchRequest,
)
from agent_memory.models.records import MemoryRecord
from agent_memory.principal import Principal
from agent_memory.services import dedup
from agent_memory.services.fusion import DEFAULT_HYBRID_ALPHA
from agent_memory.services.deletion import API_DELETE, POLICY, Deletion, DeletionTrail
from agent_memory.services.ltm_search import Searcher, scoped_filter
from agent_memory.services.provenance import ProvenanceLog
from agent_memory.services.session_context import (
    context_updates,
    edge_groups,
    link_sessions,
    session_runs,
    unlink_sessions,
)
from agent_memory.settings import Settings
from agent_memory.storage.filters import and_all, tag_eq_or_missing, tag_in
from agent_memory.storage.lexical import Neighbour
from agent_memory.storage.long_term import LongTermStore
from agent_memory.storage.trash import TrashStore

log = logging.getLogger(__name__)

OnAccessed = Callable[[list[str]], Awaitable[None]]

_HASHED = ("text", "user_id", "session_id", "namespace", "memory_type")
_OPTIMIZE_PROMPT = (
    "Rewrite this question as a short search query for a memory store. Answer with the "
    "query only.\n\nQuestion: {query}"
)


def _scope(record: MemoryRecord) -> FilterExpression | None:
    """Where a record's near duplicates are looked for: its namespace and user."""
    return and_all([tag_eq_or_missing("namespace", record.namespace),
                    tag_eq_or_missing("user_id", record.user_id)])


class LongTermService:
    """Long-term memories as the API and tasks see them.

    Args:
        store: Redis storage and index.
        embedder: Embeds texts, one batch per call.
        settings: Dedup threshold, default search mode, access interval.
        llm: Used by ``optimize_query`` only; ``None`` makes it a no-op.
        on_accessed: Called with the ids a search returned (e.g. to enqueue the throttled
            access update); ``None`` means nothing happens on the request path.
    """

    def __init__(self, store: LongTermStore, embedder: Embedder, settings: Settings,
                 llm: ChatModel | None = None, on_accessed: OnAccessed | None = None) -> None:
        self.store = store
        self.embedder = embedder
        self.settings = settings
        self.llm = llm
        self.on_accessed = on_accessed
        alpha = settings.default_hybrid_alpha
        if alpha is None:  # each embedder's similarities were weighed on tuning folds
            alpha = getattr(embedder, "hybrid_alpha", DEFAULT_HYBRID_ALPHA)
        self.searcher = Searcher(store, embedder, settings.default_search_mode, alpha)
        self.trash = TrashStore(store.redis, store.prefix)
        # Set by build_services: where deletes and creates are reported (audit, provenance).
        self.trail: DeletionTrail | None = None
        self.provenance: ProvenanceLog | None = None

    # -- create -------------------------------------------------------------------------

    async def create(self, principal: Principal, records: Sequence[MemoryRecord],
                     deduplicate: bool = True) -> list[str]:
        """Store records within the caller's bounds; returns the id each one ended up as."""
        scoped = await self.scoped_for_create(principal, records)
        provenance = self.provenance
        # The provenance events ride in the write's pipeline (one round trip fewer).
        return await self.index_records(
            scoped, deduplicate=deduplicate,
            also=(lambda final: provenance.created_commands(scoped, final, door="ams"))
            if provenance is not None else None)

    async def scoped_for_create(self, principal: Principal,
                                records: Sequence[MemoryRecord]) -> list[MemoryRecord]:
        """``records`` in the caller's bounds (namespace and user filled in or refused);
        an id stored outside the bounds is refused (403) rather than taken over."""
        scoped = [
            r.model_copy(update={"namespace": principal.scope_namespace(r.namespace),
                                 "user_id": principal.scope_user(r.user_id)})
            for r in records
        ]
        if not principal.unbounded:
            for existing in await self.store.scope_of([r.id for r in scoped]):
                if existing is not None and not principal.allows(existing[0], existing[1]):
                    raise Forbidden("a memory with this id exists outside this token's bounds")
        return scoped

    async def index_records(self, records: Sequence[MemoryRecord],
                            deduplicate: bool = True,
                            also: Callable[[list[str]], Sequence[Sequence[object]]] | None
                            = None) -> list[str]:
        """Store records (no tenant check), deduplicated in batches; see module docs.

        Dedup, when on: repeated ids in the batch collapse (last wins); a stored memory
        with the same id is overwritten, keeping its ``created_at`` (unless the new record
        sets one) and ``persisted_at``; a memory whose AMS hash matches a stored or an
        earlier batch memory is skipped and reported under that memory's id; with
        ``DEDUPLICATION_DISTANCE_THRESHOLD`` > 0 a memory that close to a stored or earlier
        batch memory of the same namespace and user is skipped likewise. No LLM merge:
        ids never change. Round trips per batch: the id and hash lookups together with
        the near-duplicate range searches, then one pipelined write.

        Args:
            also: Given the returned ids, commands to send after the write in its pipeline
                (appends: sent once; on their own when nothing is written).

        Returns:
            For every input record, the id it is stored under.
        """
        if not records:
            return []
        now = utcnow()
        unique, where = dedup.last_by_id(records)
        unique = [r.model_copy(update={"memory_hash": dedup.memory_hash(r), "updated_at": now})
                  for r in unique]
        final = [r.id for r in unique]  # id each unique record resolves to
        keep = [True] * len(unique)
        # Every record is embedded up front so that the id lookup, the hash lookup and the
        # near-duplicate searches share one round trip (a hash duplicate's embedding is
        # then unused).
        vectors = await self.embedder.embed([r.text for r in unique])
        threshold = self.settings.deduplication_distance_threshold
        semantic = deduplicate and threshold > 0
        found = await self.store.lookup(
            [r.id for r in unique],
            [r.memory_hash or "" for r in unique if r.extraction_strategy != "summary"]
            if deduplicate else [],
            [self.store.near_query(vector, _scope(r), threshold)
             for r, vector in zip(unique, vectors, strict=True)] if semantic else [])
        existing = found.scopes
        for i, (record, stored_scope) in enumerate(zip(unique, existing, strict=True)):
            if stored_scope is None:
                continue
            update = {"persisted_at": record.persisted_at or from_epoch(stored_scope[3])}
            if "created_at" not in record.model_fields_set and stored_scope[2] is not None:
                update["created_at"] = from_epoch(stored_scope[2])
            unique[i] = record.model_copy(update=update)
        if deduplicate:
            touched = self._dedup_by_hash(unique, existing, found.by_hash, keep, final)
            if touched:  # AMS marks the surviving memory as accessed
                await self.store.touch(touched, 0)
        todo = [i for i in range(len(unique)) if keep[i]]
        if semantic and todo:
            todo = self._dedup_semantic(unique, todo, vectors, existing, found.nearest, final)
        out = [final[w] for w in where]
        extra = list(also(out)) if also is not None else []
        if todo:
            written = [unique[i] for i in todo]
            await self.store.write(written, vectors[todo],
                                   replacing=[existing[i] is not None for i in todo], once=extra)
            await link_sessions(self.searcher.ranker.store, written)  # messages: neighbours
        elif extra:
            await self.store.run_once(extra)
        return out

    async def turn_neighbours(self, records: Sequence[MemoryRecord]
                              ) -> list[tuple[Neighbour | None, Neighbour | None]]:
        """The session lookup of :meth:`index_turns` for ``records``, to run beside other
        work (pass the result to :meth:`index_turns` with the same records)."""
        runs = session_runs(dedup.last_by_id(records)[0])
        lexical = self.searcher.ranker.store
        return await lexical.session_edges(edge_groups(runs), arrived=True) if runs else []

    async def index_turns(self, records: Sequence[MemoryRecord],
                          neighbours: list[tuple[Neighbour | None, Neighbour | None]] | None
                          = None) -> list[str]:
        """Store records whose ids are fixed by what they record (ingestion's one fragment
        per turn): :meth:`index_records` without dedup, in two round trips.

        The session neighbours are looked up first (by ``created_at``, the new ids left
        out); then one pipeline writes each record whole, its own context fields in the
        same HSET (one index update, not two), and the neighbours' context fields. No id
        lookup: a stored record with the same id is replaced (deleted first), and a record
        sets its own ``created_at`` and ``persisted_at`` (what :meth:`index_records` would
        keep from the stored one when the record has none). ``neighbours``: what
        :meth:`turn_neighbours` found for the same records (then one round trip).
        """
        if not records:
            return []
        now = utcnow()
        unique = [r.model_copy(update={"memory_hash": dedup.memory_hash(r), "updated_at": now})
                  for r in dedup.last_by_id(records)[0]]
        lexical = self.searcher.ranker.store
        runs = session_runs(unique)
        if neighbours is not None:
            edges = neighbours
        else:
            edges = await lexical.session_edges(edge_groups(runs), arrived=True) if runs else []
        vectors = await self.embedder.embed([r.text for r in unique])
        updates = context_updates(runs, edges)
        own = [updates.pop(r.id, {}) for r in unique]
        await self.store.write(unique, vectors, extra_fields=own,
                               then=lexical.context_commands(updates),
                               scripts=[lexical.context_script] if updates else ())
        return [r.id for r in records]

    def _dedup_by_hash(self, unique: list[MemoryRecord],
                       existing: list[tuple[str | None, ...] | None],
                       stored: dict[str, str], keep: list[bool], final: list[str]) -> list[str]:
        """Drop hash duplicates (stored or earlier in the batch); returns the stored ids
        that were matched."""
        first_in_batch: dict[str, int] = {}
        touched: list[str] = []
        for i, record in enumerate(unique):
            h = record.memory_hash or ""
            if record.extraction_strategy == "summary" or existing[i] is not None:
                continue  # summaries are keyed by id; an overwrite by id is not a duplicate
            if h in stored and stored[h] != record.id:
                keep[i], final[i] = False, stored[h]
                touched.append(stored[h])
            elif h in first_in_batch:
                keep[i], final[i] = False, final[first_in_batch[h]]
            else:
                first_in_batch[h] = i
        return touched

    def _dedup_semantic(self, unique: list[MemoryRecord], todo: list[int],
                        vectors: npt.NDArray[np.float32],
                        existing: list[tuple[str | None, ...] | None],
                        nearest: list[str | None], final: list[str]) -> list[int]:
        """The rows of ``todo`` still to write once stored and in-batch near duplicates are
        dropped (each reported under the id it duplicates)."""
        threshold = self.settings.deduplication_distance_threshold
        scopes = [(unique[i].namespace, unique[i].user_id) for i in todo]
        in_batch = dedup.near_duplicates_in_batch(vectors[todo], scopes, threshold)
        kept: list[int] = []
        for row, i in enumerate(todo):
            if unique[i].pinned or existing[i] is not None:
                kept.append(i)  # overwrites by id are kept whatever their neighbours
            elif nearest[i] is not None:
                final[i] = nearest[i]  # type: ignore[assignment]
            elif in_batch[row] is not None:
                final[i] = final[todo[in_batch[row]]]  # type: ignore[index]
            else:
                kept.append(i)
        return kept

    # -- read ---------------------------------------------------------------------------

    async def search(self, principal: Principal, request: SearchRequest,
                     optimize_query: bool = False) -> MemoryRecordResultsResponse:
        """One page of memories within the caller's bounds (see ``ltm_search``)."""
        where = await self.store.live(scoped_filter(principal, request))  # no expired rows
        mode = request.search_mode or self.settings.default_search_mode
        if optimize_query and self.llm is not None and request.text and mode == "semantic":
            request = request.model_copy(update={"text": await self._optimize(request.text)})
        result = await self.searcher.search(where, request)
        if self.on_accessed is not None and result.memories:
            try:
                await self.on_accessed([m.id for m in result.memories])
            except Exception:  # noqa: BLE001 - access tracking must never fail a search
                log.warning("could not record access to %d memories", len(result.memories),
                            exc_info=True)
        return result

    async def _optimize(self, text: str) -> str:
        """AMS's query rewrite; the original text on any failure or a too-short answer."""
        try:
            rewritten = await self.llm.complete(  # type: ignore[union-attr]
                [{"role": "user", "content": _OPTIMIZE_PROMPT.format(query=text)}],
                model=self.settings.fast_model, max_tokens=100)
        except Exception:  # noqa: BLE001 - a failed rewrite must not fail the search
            log.warning("query optimisation failed; searching with the original text")
            return text
        rewritten = rewritten.strip()
        return rewritten if len(rewritten) >= 2 else text

    async def get(self, principal: Principal, memory_id: str) -> MemoryRecord:
        """One memory; 404 when missing or outside the caller's bounds."""
        (record,) = await self.store.get_many([memory_id])
        if record is None or not principal.allows(record.namespace, record.user_id):
            raise NotFound.for_memory(memory_id)
        return record

    # -- edit / delete ------------------------------------------------------------------

    async def update(self, principal: Principal, memory_id: str,
                     edit: EditMemoryRecordRequest) -> MemoryRecord:
        """Apply the set fields; re-embeds only when the text changes."""
        changes = edit.changes()
        if not changes:
            raise ClientError("No fields provided for update")
        record = await self.get(principal, memory_id)
        if "namespace" in changes:
            changes["namespace"] = principal.scope_namespace(changes["namespace"])
        if "user_id" in changes:
            changes["user_id"] = principal.scope_user(changes["user_id"])
        changes["updated_at"] = utcnow()
        updated = record.model_copy(update=changes)
        updated = MemoryRecord.model_validate(updated.model_dump())
        if any(getattr(updated, f) != getattr(record, f) for f in _HASHED):
            updated.memory_hash = dedup.memory_hash(updated)
        if updated.text != record.text:
            vector: object = (await self.embedder.embed([updated.text]))[0]
        else:
            vector = await self.store.vector_of(memory_id)
        await self.store.write([updated], [vector])  # type: ignore[list-item]
        await link_sessions(self.searcher.ranker.store, [updated])  # the rewrite dropped them
        if self.provenance is not None:  # which fields changed, never their values
            await self.provenance.record(memory_id, "edited", door="ams",
                                         fields=sorted(k for k in changes if k != "updated_at"))
        return updated

    async def delete(self, principal: Principal, ids: Sequence[str],
                     deletion: Deletion | None = None) -> int:
        """Delete the caller's memories among ``ids``; returns how many were deleted.

        A soft delete (see ``services/deletion.py``): recorded as ``api_delete`` by this
        caller unless ``deletion`` says otherwise.
        """
        ids = list(dict.fromkeys(i for i in ids if i))
        if not principal.unbounded:
            scopes = await self.store.scope_of(ids)
            ids = [i for i, s in zip(ids, scopes, strict=True)
                   if s is not None and principal.allows(s[0], s[1])]
        return len(await self.soft_delete(ids, deletion or Deletion(API_DELETE,
                                                                   principal=principal)))

    async def delete_ids(self, ids: Sequence[str], deletion: Deletion | None = None) -> int:
        """Delete by id with no tenant check (background tasks; ``policy`` by default)."""
        return len(await self.soft_delete(list(dict.fromkeys(ids)), deletion or Deletion(POLICY)))

    def purge_after(self, at: float) -> str:
        """When a memory soft-deleted at ``at`` is purged for good (ISO 8601)."""
        return from_epoch(at + self.settings.soft_delete_grace_days * 86400).isoformat()  # type: ignore[union-attr]

    async def soft_delete(self, ids: list[str], deletion: Deletion) -> list[str]:
        """The one delete path (no tenant check): move to the trash (out of the index),
        relink the session neighbours of deleted messages so no deleted text stays in
        another memory's context fields, and leave the trail. Returns the ids moved."""
        if not ids:
            return []
        try:
            records = [r for r in await self.store.get_many(ids, live=False) if r is not None]
        except ValidationError:  # a record too damaged to read: delete it all the same
            log.warning("could not read memories before deleting them; neighbours not relinked")
            records = []
        at = time.time()
        subject = deletion.principal.subject if deletion.principal is not None else "system"
        moved = await self.trash.move_in(ids, at=at, method=deletion.method, subject=subject)
        await unlink_sessions(self.searcher.ranker.store, [r for r in records if r.id in moved])
        if self.trail is not None:
            await self.trail.deleted(moved, deletion, self.purge_after(at))
        return list(moved)

    # -- maintenance --------------------------------------------------------------------

    def _scope_filter(self, namespace: str | None, user_id: str | None,
                      session_id: str | None = None) -> object:
        return and_all([
            tag_in("namespace", [namespace]) if namespace is not None else None,
            tag_in("user_id", [user_id]) if user_id is not None else None,
            tag_in("session_id", [session_id]) if session_id is not None else None,
        ])

    def check_scope(self, namespace: str | None, user_id: str | None,
                    session_id: str | None = None) -> None:
        """422 now for a scope no filter can be built for: background variants call this
        before enqueueing, so they fail exactly as the foreground call does."""
        self._scope_filter(namespace, user_id, session_id)

    async def compact(self, principal: Principal, namespace: str | None,
                      user_id: str | None) -> tuple[int, int]:
        """Remove exact (hash) duplicates in scope, keeping the oldest; returns how many
        memories remain in scope and how many damaged records were skipped. No LLM merge,
        so no id ever changes."""
        namespace = principal.scope_namespace(namespace)
        user_id = principal.scope_user(user_id)
        where = self._scope_filter(namespace, user_id)
        keep: dict[str, tuple[float, str]] = {}
        doomed: list[str] = []
        damaged = 0
        async for rows in self.store.iter_fields(where, ("id_", "memory_hash", "created_at"),
                                                 1000):
            for memory_id, h, created in rows:
                if not memory_id:  # unreadable hash: skip it, never fail the pass
                    damaged += 1
                    continue
                if not h:
                    continue
                try:
                    candidate = (float(created or 0), memory_id)
                except ValueError:
                    damaged += 1
                    continue
                best = keep.get(h)
                if best is None:
                    keep[h] = candidate
                elif candidate < best:
                    doomed.append(best[1])
                    keep[h] = candidate
                else:
                    doomed.append(memory_id)
        deletion = Deletion(POLICY, reason="compaction: exact duplicate", principal=principal)
        for i in range(0, len(doomed), 1000):
            await self.soft_delete(doomed[i:i + 1000], deletion)
        if damaged:
            log.warning("compaction skipped %d damaged records", damaged)
        return await self.store.count(where), damaged  # type: ignore[arg-type]

    async def iter_scope(self, namespace: str | None, user_id: str | None,
                         session_id: str | None, batch: int = 500,
                         damaged: list[str] | None = None) -> AsyncIterator[list[MemoryRecord]]:
        """Every memory in a scope (``None`` = any), ``batch`` at a time, exhaustively;
        damaged records are skipped and listed in ``damaged`` (see ``iter_records``)."""
        where = self._scope_filter(namespace, user_id, session_id)
        async for records in self.store.iter_records(where, batch,  # type: ignore[arg-type]
                                                     damaged):
            yield records

    async def update_last_accessed(self, ids: Sequence[str],
                                   min_interval_seconds: float | None = None) -> int:
        """Set ``last_accessed`` and bump ``access_count`` at most once per memory per
        interval, in one pipeline round trip; returns how many memories were updated."""
        interval = (self.settings.last_accessed_interval_seconds
                    if min_interval_seconds is None else min_interval_seconds)
        return await self.store.touch(list(dict.fromkeys(ids)), interval)

    # -- new rows with issued ids (the memories door, issue 14) --------------------------------

    async def write_new(self, record: MemoryRecord, counter_key: str) -> MemoryRecord:
        """Store a record under the next free integer id of ``counter_key`` (the id it
        carries is replaced), in one round trip once embedded; returns it with its id.
        No hash or near-duplicate lookups: the door keeps repeated texts as rows of their
        own."""
        vector = (await self.embedder.embed([record.text]))[0]
        memory_id = await self.store.insert_counted(record, vector, counter_key)
        return record.model_copy(update={"id": memory_id})
