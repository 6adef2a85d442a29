"""Hybrid search's one-round-trip paths give exactly the rankings of the two-round-trip
path they replace (services/ltm_search.py, ``Searcher._hybrid``)."""

from __future__ import annotations

import random
from collections import Counter

import pytest
from redis.asyncio import Redis
from redisvl.query.filter import Tag

from agent_memory.embeddings import HashingEmbedder
from agent_memory.models.long_term import ExtractedMemoryRecord, SearchRequest
from agent_memory.services.long_term import LongTermService
from agent_memory.services.ltm_search import Searcher
from agent_memory.services.ranking import LexicalRanker
from agent_memory.storage.lexical import LexicalStore
from agent_memory.storage.long_term import LongTermStore
from tests.conftest import make_settings

WORDS = ("flight hotel lisbon berlin coffee tea budget meeting project deadline dentist "
         "birthday gift running marathon piano guitar python redis vector").split()


def _sentence(rng: random.Random, n: int) -> str:
    return " ".join(rng.choice(WORDS) for _ in range(n))


async def test_hinted_round_trips_rank_exactly_as_two_round_trips(
        redis: Redis, redis_url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    """A scope small enough for one search of every candidate (40 memories), and one too
    big (260, the weighted search guessed from the last counts, checked against the fresh
    ones, writes in between): every page, score and total equals a fresh searcher's, which
    has no hints and always takes the second round trip; and the hinted paths are taken."""
    settings = make_settings(redis_url, deduplication_distance_threshold=0)
    embedder = HashingEmbedder(32)
    store = LongTermStore(redis, settings, 32)
    await store.ensure_index(embedder.model_id)
    svc = LongTermService(store, embedder, settings)
    rng = random.Random(3)
    sizes = {"small": 40, "big": 260}
    await svc.index_records([
        ExtractedMemoryRecord(id=f"{ns}-{i}", text=_sentence(rng, 8), namespace=ns)
        for ns, size in sizes.items() for i in range(size)], deduplicate=False)

    taken: Counter[str] = Counter()
    every, candidates = LexicalStore.every_candidate, LexicalStore.candidates

    async def count_every(self: LexicalStore, *args: object, **kw: object) -> object:
        found = await every(self, *args, **kw)  # type: ignore[arg-type]
        taken["every" if found is not None else "every-cut"] += 1
        return found

    async def count_candidates(self: LexicalStore, *args: object, **kw: object) -> object:
        taken["candidates"] += 1
        return await candidates(self, *args, **kw)  # type: ignore[arg-type]

    rank = LexicalRanker.rank

    async def count_rank(self: LexicalRanker, *args: object, **kw: object) -> object:
        if kw.get("docs") is not None:  # the candidates came in the first round trip
            taken[f"one-trip {args[3]}"] += 1
        return await rank(self, *args, **kw)  # type: ignore[arg-type]

    monkeypatch.setattr(LexicalStore, "every_candidate", count_every)
    monkeypatch.setattr(LexicalStore, "candidates", count_candidates)
    monkeypatch.setattr(LexicalRanker, "rank", count_rank)
    hinted = Searcher(store, embedder, "hybrid")
    for round_ in range(6):
        for ns in sizes:
            for q in range(12):
                request = SearchRequest(text=_sentence(rng, 3 + q % 3), limit=10,
                                        recency_boost=False)
                where = Tag("namespace") == ns
                got = await hinted.search(where, request)
                want = await Searcher(store, embedder, "hybrid").search(where, request)
                assert [(m.id, m.score) for m in got.memories] == \
                    [(m.id, m.score) for m in want.memories]
                assert got.total == want.total
        # writes between rounds: the counts move, the guesses must be re-checked
        await svc.index_records([ExtractedMemoryRecord(
            id=f"big-new-{round_}-{i}", text=_sentence(rng, 8), namespace="big")
            for i in range(5)], deduplicate=False)
    assert taken["every"] >= 40 and taken["every-cut"] == 0  # small: from its 2nd search on
    # big: a guess checked against the fresh counts and used (more often as words recur)
    big = taken["one-trip @namespace:{big}"]
    assert 5 <= big < 72, taken
    assert taken["one-trip @namespace:{small}"] == taken["every"]
