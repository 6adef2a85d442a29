"""Long-term search: tenant-scoped filters, the three modes, recency, paging.

Ranking is computed over a *candidate window* and only then paged, so the order of one
page never depends on which page was asked for:

    window = max(offset + limit, CANDIDATE_WINDOW)

Every mode fetches its top ``window`` candidates, scores them, re-ranks them with recency
(unless ``recency_boost`` is false), sorts by ``(-score, id)`` and slices
``[offset, offset + limit)``. Pages inside the first ``CANDIDATE_WINDOW`` results are thus
consistent with each other; deeper pages widen the window. ``server_side_recency`` is
accepted and gives the same result (the re-rank always runs here, over the window).

The default mode is ``DEFAULT_SEARCH_MODE`` (hybrid unless configured): vector and keyword
candidates under the same filters, fused (services/fusion.py), so a query sharing no word
with a memory still finds it.

``total`` is a real count: semantic and hybrid count every memory matching the filters (all
are vector candidates), a ``distance_threshold`` counts memories within it, keyword counts
memories matching the words. There is no soft-filter fallback of any kind.

Empty or whitespace ``text`` lists the memories matching the filters, newest ``created_at``
first, ties by id (FT.AGGREGATE sorts on RediSearch's values of ``created_at``, which keep
12 significant digits: memories created within the same 10 ms count as ties).
"""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass

from redisvl.query.filter import FilterExpression

from agent_memory.embeddings.base import Embedder
from agent_memory.errors import ClientError
from agent_memory.models.long_term import (
    MemoryRecordResult,
    MemoryRecordResultsResponse,
    SearchMode,
    SearchRequest,
)
from agent_memory.principal import Principal
from agent_memory.services.fusion import fuse
from agent_memory.services.ranking import LexicalRanker, RankingParams
from agent_memory.services.recency import RecencyParams, scorer
from agent_memory.services.text_query import lexical_query
from agent_memory.services.word_sample import WordSample
from agent_memory.storage._ltm_codec import decode
from agent_memory.storage.filters import and_all, date_filter, number_filter, tag_filter, tag_in
from agent_memory.storage.lexical import LexicalStore
from agent_memory.storage.long_term import Hit, LongTermStore

CANDIDATE_WINDOW = 50
# How many keyword candidates hybrid's list reads and ranks to hand its best
# CANDIDATE_WINDOW to the fusion. RediSearch picks them with its BM25STD, whose statistics
# count the stale entries of re-indexed memories until its GC runs; a deeper pool leaves
# more of the choice to our ranking (issue-17r, docs/search-quality.md section 8: +0.016 /
# +0.019 recall@10 on the tuning fold, 150 chosen over 100 and 200 there).
HYBRID_KEYWORD_DEPTH = 150
_SCOPE_HINTS = 10_000  # filters whose size hybrid search remembers (see Searcher._hybrid)
# Word counts of scopes last seen holding at least LARGE_SCOPE memories are reused for
# COUNTS_TTL seconds (see Searcher._hybrid): counting a word costs a walk of every memory
# holding it (~23 ms for the ~130,000 of a word in the 1M benchmark, ~1 ms in a tenant's
# 1,000 there), while a few seconds of writes move the IDF of a scope that large by almost
# nothing. Every LoCoMo conversation and the paraphrase set are smaller (always counted).
LARGE_SCOPE = 1_000
COUNTS_TTL = 10.0
# In a store of at least SAMPLE_SCOPE memories, the counts of words common in the store
# (no filter) or in a filtered scope of at least LARGE_SCOPE memories are estimated from a
# sample of it instead (services/word_sample.py).
SAMPLE_SCOPE = 100_000
_COUNTS_KEPT = 50_000  # (scope, word) counts kept at most

_TAG_FILTERS = ("session_id", "namespace", "user_id", "topics", "entities", "memory_type",
                "extraction_strategy", "tags", "source", "tier")
_NUMBER_FILTERS = ("importance",)
_DATE_FILTERS = ("created_at", "last_accessed", "event_date")


def scoped_filter(principal: Principal, request: SearchRequest) -> FilterExpression | None:
    """The request's filters AND the caller's tenant bounds.

    A bound caller always gets a clause restricting results to its namespaces and user,
    whatever filter it sent (``ne``, ``startswith`` or none at all); naming a value
    outside its bounds with eq/any/all is a 403 rather than an empty page.
    """
    parts: list[FilterExpression | None] = []
    for name in _TAG_FILTERS:
        spec = getattr(request, name)
        if spec is not None:
            parts.append(tag_filter(name, spec))
    for name in _DATE_FILTERS:
        spec = getattr(request, name)
        if spec is not None:
            parts.append(date_filter(name, spec))
    for name in _NUMBER_FILTERS:
        spec = getattr(request, name)
        if spec is not None:
            parts.append(number_filter(name, spec))
    if principal.namespaces is not None:
        if request.namespace is not None:
            principal.check_namespaces(request.namespace.values())
        parts.append(tag_in("namespace", sorted(principal.namespaces)))
    if principal.user_id is not None:
        if request.user_id is not None:
            for value in request.user_id.values():
                principal.scope_user(value)
        parts.append(tag_in("user_id", [principal.user_id]))
    return and_all(parts)


@dataclass
class _Candidate:
    hit: Hit
    relevance: float  # the mode's own score in [0, 1]
    dist: float


def _recency_params(request: SearchRequest) -> RecencyParams:
    return RecencyParams(
        request.recency_semantic_weight, request.recency_recency_weight,
        request.recency_freshness_weight, request.recency_novelty_weight,
        request.recency_half_life_last_access_days, request.recency_half_life_created_days,
    )


def _semantic(hits: list[Hit]) -> list[_Candidate]:
    return [_Candidate(h, min(max(1.0 - h.value, 0.0), 1.0), h.value) for h in hits]


def _keyword(hits: list[Hit]) -> list[_Candidate]:
    top = max((h.value for h in hits), default=0.0)
    out = []
    for h in hits:
        rel = h.value / top if top > 0 else 0.0
        out.append(_Candidate(h, rel, 1.0 - rel))
    return out


class Searcher:
    """Runs searches against the store with the configured embedder."""

    def __init__(self, store: LongTermStore, embedder: Embedder, default_mode: SearchMode,
                 default_alpha: float = 0.5) -> None:
        self.store = store
        self.embedder = embedder
        self.default_mode = default_mode
        self.default_alpha = default_alpha  # hybrid's vector weight when a request sets none
        self.lexical = lexical = LexicalStore(store)
        self.ranker = LexicalRanker(lexical)  # keyword mode
        # Hybrid's keyword list: the feedback words re-score the candidates the query words
        # found but fetch none of their own (docs/search-quality.md, section 6), from a pool
        # of HYBRID_KEYWORD_DEPTH candidates (section 8).
        self.hybrid_ranker = LexicalRanker(lexical, RankingParams(
            feedback_candidates=False, feedback_counts=False, depth=HYBRID_KEYWORD_DEPTH))
        self.sample = WordSample(
            lexical, floor=10 * self.hybrid_ranker.params.candidate_max_count,
            min_store=SAMPLE_SCOPE)
        self._scope_sizes: dict[str, int] = {}  # filter -> memories it held last time
        # (filter, stem) -> (memories holding the stem, monotonic time counted), large
        # scopes only
        self._word_counts: dict[tuple[str, str], tuple[int, float]] = {}

    def _note_scope(self, scope: str, size: int) -> None:
        """Remember how many memories a filter held (a hint only: see ``_hybrid``)."""
        if len(self._scope_sizes) >= _SCOPE_HINTS and scope not in self._scope_sizes:
            self._scope_sizes.clear()
        self._scope_sizes[scope] = size

    def _known_counts(self, scope: str, stems: list[str]) -> dict[str, int]:
        """The words' counts in a large scope counted less than ``COUNTS_TTL`` ago (none
        in a scope not known to be large)."""
        if self._scope_sizes.get(scope, 0) < LARGE_SCOPE:
            return {}
        oldest = time.monotonic() - COUNTS_TTL
        out = {}
        for stem in stems:
            found = self._word_counts.get((scope, stem))
            if found is not None and found[1] >= oldest:
                out[stem] = found[0]
        return out

    def _keep_counts(self, scope: str, size: int, stems: list[str], counts: list[int]) -> None:
        if size < LARGE_SCOPE:
            return
        if len(self._word_counts) + len(stems) > _COUNTS_KEPT:
            self._word_counts.clear()
        now = time.monotonic()
        for stem, count in zip(stems, counts, strict=True):
            self._word_counts[(scope, stem)] = (count, now)

    async def search(self, where: FilterExpression | None,
                     request: SearchRequest) -> MemoryRecordResultsResponse:
        """One page of results for an already scoped filter."""
        mode: SearchMode = request.search_mode or self.default_mode
        if request.distance_threshold is not None and mode != "semantic":
            raise ClientError("distance_threshold is only supported in semantic search mode",
                              details={"search_mode": mode})
        text = (request.text or "").strip()
        offset, limit = request.offset, request.limit
        if not text:
            records, total = await self.store.listing(where, offset, limit)
            page = [MemoryRecordResult.model_validate({**dict(r), "dist": 0.0}) for r in records]
            return MemoryRecordResultsResponse(memories=page, total=total,
                                               next_offset=_next(offset, limit, total))
        window = max(offset + limit, CANDIDATE_WINDOW)
        candidates, total = await self._candidates(mode, text, where, window, request)
        if request.recency_boost is not False:
            score = scorer(_recency_params(request), time.time())
            scored = [(score(c.relevance, c.hit.last_accessed, c.hit.created_at), c)
                      for c in candidates]
        else:
            scored = [(c.relevance, c) for c in candidates]
        scored.sort(key=lambda sc: (-sc[0], sc[1].hit.memory_id))
        chosen = scored[offset:offset + limit]
        rows = await self.store.get_raw([c.hit.memory_id for _, c in chosen])
        page = [
            decode(row, MemoryRecordResult, dist=c.dist, score=score, score_type=mode)
            for (score, c), row in zip(chosen, rows, strict=True)
            if row  # deleted between the search and the read
        ]
        return MemoryRecordResultsResponse(memories=page, total=total,
                                           next_offset=_next(offset, limit, total))

    async def _candidates(self, mode: SearchMode, text: str, where: FilterExpression | None,
                          window: int, request: SearchRequest) -> tuple[list[_Candidate], int]:
        if mode == "keyword":
            hits, total, _ = await self._text_hits(text, where, window, request)
            return _keyword(hits), total
        vector = (await self.embedder.embed([text]))[0]
        if mode == "semantic":
            if request.distance_threshold is not None:
                hits, total = await self.store.within(vector, where, request.distance_threshold,
                                                      window)
            else:
                hits, total = await self.store.knn(vector, where, window)
            return _semantic(hits), total
        return await self._hybrid(vector, text, where, window, request)

    async def _text_hits(self, text: str, where: FilterExpression | None, window: int,
                         request: SearchRequest) -> tuple[list[Hit], int, dict[str, float]]:
        """Full-text candidates, their total and their query coverage: our BM25 ranking
        (services/ranking.py) for the default scorer, RediSearch's own scorer when the
        request names another one (coverage is then the score over the best score)."""
        if request.text_scorer == "BM25STD":
            ranked, total = await self.ranker.search(text, where, window)
            return ([Hit(r.doc.memory_id, r.score, r.doc.created_at, r.doc.last_accessed)
                     for r in ranked], total, {r.doc.memory_id: r.coverage for r in ranked})
        words = lexical_query(text)
        if not words:  # only stopwords/punctuation: nothing can match lexically
            return [], 0, {}
        hits, total = await self.store.text(words, where, window, request.text_scorer)
        top = max((h.value for h in hits), default=0.0) or 1.0
        return hits, total, {h.memory_id: h.value / top for h in hits}

    async def _hybrid(self, vector: object, text: str, where: FilterExpression | None,
                      window: int, request: SearchRequest) -> tuple[list[_Candidate], int]:
        """Vector and keyword candidates under the same filter, fused (services/fusion.py).

        Both lists are asked for at once (they share the mux's round trip); with the default
        scorer the keyword list is ``hybrid_ranker``'s, whose word counts go beside the KNN
        and whose candidates take one more round trip. The vector list
        holds the nearest memories whatever their words, so a query sharing no word with a
        memory still finds it, and ``total`` counts every memory the filters allow.
        """
        terms = self.hybrid_ranker.terms(text) if request.text_scorer == "BM25STD" else {}
        thits: list[Hit] = []
        coverage: dict[str, float] = {}
        if terms:
            ranker = self.hybrid_ranker
            depth = ranker.depth(window)
            words = list(terms.values())
            scope = str(where) if where is not None else ""
            # The KNN's count is the ranker's "memories in scope": only the words' counts
            # go beside it, in the same round trip. The candidate search needs those counts
            # (its word weights), so it takes a second round trip, except in a scope last
            # seen holding no more than ``depth`` memories: there the unweighted search of
            # every memory with a query word goes beside the counts too (any candidate
            # search would return exactly those), and is used if it was not cut.
            # In a scope last seen holding at least ``LARGE_SCOPE`` memories, a word's count
            # of the last ``COUNTS_TTL`` seconds stands in for a fresh one (IDF only:
            # ``total`` and the filters never come from them): only the others are counted.
            # In a store of at least ``SAMPLE_SCOPE`` memories, the count of a word common
            # in the store (no filter) or in a filtered scope last seen that large is
            # estimated from a sample of the store or of the scope (services/word_sample.py).
            small = self._scope_sizes.get(scope, depth + 1) <= depth
            known = self._known_counts(scope, list(terms))
            missing = [stem for stem in terms if stem not in known]
            size = self._scope_sizes.get(scope, 0)
            if missing and size >= LARGE_SCOPE:
                known.update(await self.sample.estimates(missing, size, where))
                missing = [stem for stem in missing if stem not in known]
            # In a large scope where every query word's count is known (reused or
            # estimated), the candidate search needs nothing from this round trip: it goes
            # beside the KNN, its words weighed with the scope's size of last time (the
            # same search as after the KNN unless the scope changed size in between).
            ahead = None
            if not (missing or small) and size >= LARGE_SCOPE and any(known.values()):
                ahead = ranker.candidates(terms, {t: known[t] for t in terms}, size, where,
                                          depth)
            found = await asyncio.gather(
                self.store.knn(vector, where, window),  # type: ignore[arg-type]
                self.lexical.document_counts([terms[t] for t in missing], where,
                                             totals=False),
                *([self.lexical.every_candidate(words, where, depth, ranker.field_weights)]
                  if small else [ahead] if ahead is not None else []))
            (vhits, total), (_, fresh, _) = found[0], found[1]
            docs = found[2] if len(found) > 2 else None
            self._keep_counts(scope, total, missing, fresh)
            known.update(zip(missing, fresh, strict=True))
            df = {stem: known[stem] for stem in terms}  # in the query's order
            counts = list(df.values())
            self._note_scope(scope, total)
            if any(counts):
                ranked, _ = await ranker.rank(terms, total, df, where, window, docs=docs)
                new = tuple.__new__  # Hits without NamedTuple's Python-level __new__
                thits = [new(Hit, (r.doc.memory_id, r.score, r.doc.created_at,
                                   r.doc.last_accessed)) for r in ranked]
                coverage = {r.doc.memory_id: r.coverage for r in ranked}
        elif request.text_scorer != "BM25STD" and lexical_query(text):
            (vhits, total), (thits, _, coverage) = await asyncio.gather(
                self.store.knn(vector, where, window),  # type: ignore[arg-type]
                self._text_hits(text, where, window, request),
            )
        else:
            vhits, total = await self.store.knn(vector, where, window)  # type: ignore[arg-type]
        hits = {h.memory_id: h for h in (*vhits, *thits)}
        alpha = (request.hybrid_alpha if "hybrid_alpha" in request.model_fields_set
                 else self.default_alpha)
        fused = fuse({h.memory_id: h.value for h in vhits}, coverage, alpha=alpha,
                     vector_full=len(vhits) >= window)
        return [_Candidate(hits[f.memory_id], f.score, 1.0 - f.score) for f in fused], total


def _next(offset: int, limit: int, total: int) -> int | None:
    return offset + limit if offset + limit < total else None
