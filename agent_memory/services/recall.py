"""Weighted recall: the best ``k`` rows by a blend of meaning, recency and importance.

For a query, the ``MEMORIES_RECALL_CANDIDATES`` (50) nearest rows matching the filters
and the caller's bounds are scored, and the best ``k`` (clamped to [1, 50]) returned:

    score = w_semantic * semantic + w_recency * recency + w_importance * importance

- ``semantic`` = 1 - cosine distance to the query, clamped to [0, 1];
- ``recency`` = 0.5 ** (idle days / ``MEMORIES_RECENCY_HALF_LIFE_DAYS``), idle counted from
  the row's last write or access (``last_accessed``);
- ``importance`` = the caller's hint (0.5 for rows written without one).

Weights are normalised to sum to 1 (defaults 0.6 / 0.2 / 0.2). Ties break by id. Returned
rows count as accessed: like AMS search hits, they are noted and updated a moment later by
the ``track_access`` task (``last_accessed`` now, tier hot), not on the request path. Hits
show the row as it was before this access.
"""

from __future__ import annotations

import logging
import math

from redisvl.query import VectorQuery
from redisvl.query.filter import FilterExpression, Num

from agent_memory.clock import Clock
from agent_memory.models.memories import (
    DEFAULT_IMPORTANCE,
    RecallHit,
    RecallRequest,
    RecallResponse,
    ScoreComponents,
)
from agent_memory.principal import Principal
from agent_memory.services.long_term import LongTermService
from agent_memory.services.memories import to_response
from agent_memory.settings import Settings
from agent_memory.storage._ltm_codec import decode, metadata_digest
from agent_memory.storage.filters import and_all, tag_in
from agent_memory.storage.long_term import store_guard
from agent_memory.storage.ltm_schema import VECTOR_FIELD
from agent_memory.storage.memories import MemoriesStore
from agent_memory.storage.raw_search import number

log = logging.getLogger(__name__)

_RETURN = ["last_accessed", "importance", "is_summary"]
DAY = 86400.0


def recall_filter(principal: Principal, request: RecallRequest) -> FilterExpression | None:
    """The request's filters AND the caller's tenant bounds (never widened: a bound
    caller always gets its namespace/user clause)."""
    namespace = principal.scope_namespace(request.namespace)
    user_id = principal.scope_user(request.user_id)
    parts: list[FilterExpression | None] = []
    if namespace is not None:
        parts.append(tag_in("namespace", [namespace]))
    elif principal.namespaces is not None:
        parts.append(tag_in("namespace", sorted(principal.namespaces)))
    if user_id is not None:
        parts.append(tag_in("user_id", [user_id]))
    f = request.filters
    if f is not None:
        if f.sources:
            parts.append(tag_in("source", f.sources))
        if f.tags:
            parts.append(tag_in("tags", f.tags))
        if f.since is not None:
            parts.append(Num("created_at") >= f.since.timestamp())
        if f.until is not None:
            parts.append(Num("created_at") <= f.until.timestamp())
        tiers = f.tiers()
        if tiers:
            parts.append(tag_in("tier", tiers))
        for key, value in (f.metadata or {}).items():
            parts.append(tag_in("metadata_kv", [metadata_digest(key, value)]))
    return and_all(parts)


class RecallService:
    """Runs recalls over the shared long-term index."""

    def __init__(self, long_term: LongTermService, store: MemoriesStore, settings: Settings,
                 clock: Clock) -> None:
        self.long_term = long_term
        self.store = store
        self.settings = settings
        self.clock = clock

    async def recall(self, principal: Principal, request: RecallRequest) -> RecallResponse:
        """The best ``request.k`` rows, each with its score and components."""
        weights = request.weights_used()
        where = await self.long_term.store.live(recall_filter(principal, request))
        vector = (await self.long_term.embedder.embed([request.query]))[0]
        query = VectorQuery(vector.tobytes(), VECTOR_FIELD, return_fields=_RETURN,
                            filter_expression=where,
                            num_results=self.settings.memories_recall_candidates)
        with store_guard("recall"):
            (found,) = await self.long_term.store.search_raw([(query.query, query.params)])
        now = self.clock.now()
        half_life = self.settings.memories_recency_half_life_days
        cut = len(self.long_term.store.prefix) + 1
        scored = []
        summaries = request.filters is not None and request.filters.include_summaries
        for doc in found.docs:
            # Summary rows are dropped here rather than by a negated clause, which would make
            # an unfiltered KNN several times slower (they are few among the candidates).
            if not summaries and doc.get(b"is_summary") == b"1":
                continue
            semantic = min(max(1.0 - number(doc, b"vector_distance"), 0.0), 1.0)
            idle_days = max(now - number(doc, b"last_accessed"), 0.0) / DAY
            recency = math.pow(0.5, idle_days / half_life)
            raw = doc.get(b"importance")
            importance = number(doc, b"importance") if raw not in (None, b"") \
                else DEFAULT_IMPORTANCE
            score = (weights["semantic"] * semantic + weights["recency"] * recency
                     + weights["importance"] * importance)
            memory_id = doc[b"id"][cut:].decode() if isinstance(doc[b"id"], bytes) \
                else str(doc[b"id"])[cut:]
            scored.append((score, memory_id, ScoreComponents(
                semantic=semantic, recency=recency, importance=importance)))
        scored.sort(key=lambda s: (-s[0], s[1]))
        chosen = scored[:request.k]
        ids = [memory_id for _, memory_id, _ in chosen]
        rows = await self.long_term.store.get_raw(ids)
        results = []
        for (score, _, parts), row in zip(chosen, rows, strict=True):
            if row is None:  # deleted or expired between the search and the read
                continue
            results.append(to_response(decode(row), self.settings, RecallHit, score=score,
                                       components=parts))
        if results and self.long_term.on_accessed is not None:
            # Off the request path, as for AMS search hits: every write of an indexed field
            # re-indexes the row (its vector too), which would cost more than the recall.
            try:
                await self.long_term.on_accessed([str(r.id) for r in results])
            except Exception:  # noqa: BLE001 - access tracking must never fail a recall
                log.warning("could not record access to %d memories", len(results))
        return RecallResponse(query=request.query, k=request.k, weights=weights,
                              results=results)
