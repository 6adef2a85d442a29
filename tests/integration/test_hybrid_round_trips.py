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
from agent_memory.services.ltm_search import HYBRID_KEYWORD_DEPTH, Searcher
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
    """A scope small enough for one search of every candidate (``depth`` - 10 memories,
    then past ``depth`` as writes arrive) and one too big (260): every page, score and total equals
    a fresh searcher's, which knows no scope's size and always takes the second round
    trip; the one-round-trip path is taken in the small scope only, and a search of every
    candidate that was cut (the scope grew) falls back to the usual one."""
    settings = make_settings(redis_url, deduplication_distance_threshold=0)
    embedder = HashingEmbedder(32)
    store = LongTermStore(redis, settings, 32)
    await store.ensure_index(embedder.model_id)
    svc = LongTermService(store, embedder, settings)
    rng = random.Random(3)
    sizes = {"small": HYBRID_KEYWORD_DEPTH - 10, "big": 260}
    await svc.index_records([
        ExtractedMemoryRecord(id=f"{ns}-{i}", text=_sentence(rng, 8), namespace=ns)
        for ns, size in sizes.items() for i in range(size)], deduplicate=False)

    taken: Counter[str] = Counter()
    every = LexicalStore.every_candidate

    async def count_every(self: LexicalStore, *args: object, **kw: object) -> object:
        found = await every(self, *args, **kw)  # type: ignore[arg-type]
        taken["every" if found is not None else "every-cut"] += 1
        return found

    rank = LexicalRanker.rank

    async def count_rank(self: LexicalRanker, *args: object, **kw: object) -> object:
        if kw.get("docs") is not None:  # the candidates came in the first round trip
            taken[f"one-trip {args[3]}"] += 1
        return await rank(self, *args, **kw)  # type: ignore[arg-type]

    monkeypatch.setattr(LexicalStore, "every_candidate", count_every)
    monkeypatch.setattr(LexicalRanker, "rank", count_rank)
    hinted = Searcher(store, embedder, "hybrid")
    for round_ in range(6):
        for ns in sizes:
            for q in range(12):
                # each round's first query has many words: past ``depth`` memories, nearly
                # all match it, and the search of every candidate is cut
                words = 14 if q == 0 else 3 + q % 3
                request = SearchRequest(text=_sentence(rng, words), limit=10,
                                        recency_boost=False)
                where = Tag("namespace") == ns
                got = await hinted.search(where, request)
                want = await Searcher(store, embedder, "hybrid").search(where, request)
                assert [(m.id, m.score) for m in got.memories] == \
                    [(m.id, m.score) for m in want.memories]
                assert got.total == want.total
        # writes between rounds: the counts move, the guesses must be re-checked
        await svc.index_records([ExtractedMemoryRecord(
            id=f"{ns}-new-{round_}-{i}", text=_sentence(rng, 8), namespace=ns)
            for ns in sizes for i in range(3)], deduplicate=False)
    # small: from its second search on, while it holds at most ``depth`` memories (rounds 0-3),
    # then a search that was cut (round 4), then the usual path; big: never
    assert taken["one-trip @namespace:{small}"] == taken["every"] == 4 * 12 - 1
    assert taken["every-cut"] == 1
    assert taken["one-trip @namespace:{big}"] == 0
