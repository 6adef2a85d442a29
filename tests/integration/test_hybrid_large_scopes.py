"""Hybrid search in large scopes (services/ranking.py ``candidate_max_count``,
services/ltm_search.py ``LARGE_SCOPE``), with the thresholds lowered so a test-sized scope
is "large": common words fetch no candidates alone, word counts are reused, and neither
changes ``total`` or widens a filter."""

from __future__ import annotations

import random
from collections import Counter
from dataclasses import replace

import pytest
from redis.asyncio import Redis
from redisvl.query.filter import Tag

from agent_memory.embeddings import HashingEmbedder
from agent_memory.models.long_term import ExtractedMemoryRecord, SearchRequest
from agent_memory.services import ltm_search
from agent_memory.services.long_term import LongTermService
from agent_memory.services.ltm_search import Searcher
from agent_memory.services.ranking import LexicalRanker, RankingParams, analyze, merge_candidates
from agent_memory.storage.lexical import LexicalStore
from agent_memory.storage.long_term import LongTermStore
from tests.conftest import make_settings

WORDS = ("flight hotel lisbon berlin coffee tea budget meeting project deadline dentist "
         "birthday gift running marathon piano guitar python redis vector").split()


async def _service(redis: Redis, redis_url: str) -> tuple[LongTermStore, HashingEmbedder,
                                                          LongTermService]:
    settings = make_settings(redis_url, deduplication_distance_threshold=0)
    embedder = HashingEmbedder(32)
    store = LongTermStore(redis, settings, 32)
    await store.ensure_index(embedder.model_id)
    return store, embedder, LongTermService(store, embedder, settings)


def _spy_on_counts(monkeypatch: pytest.MonkeyPatch) -> Counter[str]:
    """The words ``LexicalStore.document_counts`` is asked to count from now on."""
    counted: Counter[str] = Counter()
    counts = LexicalStore.document_counts

    async def count_calls(self: LexicalStore, words: list[str], *args: object,
                          **kw: object) -> object:
        counted.update(words)
        return await counts(self, words, *args, **kw)  # type: ignore[arg-type]

    monkeypatch.setattr(LexicalStore, "document_counts", count_calls)
    return counted


async def _same_pages(searcher: Searcher, exact: Searcher, where: object,
                      texts: tuple[str, ...], total: int) -> list[list[object]]:
    """Each query's first page from ``searcher`` equals ``exact``'s (ids and scores), and
    both count ``total``; returns the pages."""
    pages = []
    for text in texts:
        request = SearchRequest(text=text, limit=10, recency_boost=False)
        got = await searcher.search(where, request)  # type: ignore[arg-type]
        want = await exact.search(where, request)  # type: ignore[arg-type]
        assert [(m.id, m.score) for m in got.memories] == \
            [(m.id, m.score) for m in want.memories]
        assert got.total == want.total == total
        pages.append(got.memories)
    return pages


def _stems(text: str) -> set[str]:
    return {stem for stem, _ in analyze(text)}


async def test_common_words_fetch_no_candidates_alone(redis: Redis, redis_url: str) -> None:
    """Hybrid's keyword list with ``candidate_max_count`` 10 in a scope of 124 memories: a query of common words
    only ranks memories holding all of them; a query with one rare word ranks only memories
    holding it (the common ones still score them); a scope no larger than the bound ranks
    exactly as the unbounded ranker."""
    store, _, svc = await _service(redis, redis_url)
    rng = random.Random(5)
    records = [ExtractedMemoryRecord(id=f"m{i}", text=" ".join(rng.sample(WORDS[:8], 4)),
                                     namespace="big") for i in range(120)]
    records += [ExtractedMemoryRecord(id=f"r{i}", text=f"marathon {' '.join(rng.sample(WORDS[:8], 3))}",
                                      namespace="big") for i in range(4)]
    records += [ExtractedMemoryRecord(id=f"s{i}", text=" ".join(rng.sample(WORDS, 5)),
                                      namespace="small") for i in range(8)]
    await svc.index_records(records, deduplicate=False)
    lexical = LexicalStore(store)
    # hybrid's list: feedback words re-score the candidates but fetch none of their own
    base = LexicalRanker(lexical, RankingParams(feedback_candidates=False,
                                                feedback_counts=False))
    bounded = LexicalRanker(lexical, replace(base.params, candidate_max_count=10))
    texts = {r.id: r.text for r in records}
    big = Tag("namespace") == "big"

    common = "flight hotel lisbon"
    ranked, _ = await bounded.search(common, big, 50)
    assert ranked
    assert all({"flight", "hotel", "lisbon"} <= _stems(texts[r.doc.memory_id])
               for r in ranked)
    wide, _ = await base.search(common, big, 50)
    assert len(wide) > len(ranked)  # the unbounded ranker also lists partial matches

    rare = "marathon flight"
    ranked, _ = await bounded.search(rare, big, 50)
    assert {r.doc.memory_id for r in ranked} == {f"r{i}" for i in range(4)}

    small = Tag("namespace") == "small"
    for query in ("flight hotel", "coffee tea budget", "piano"):
        got, got_total = await bounded.search(query, small, 50)
        want, want_total = await base.search(query, small, 50)
        assert [(r.doc.memory_id, r.score) for r in got] == \
            [(r.doc.memory_id, r.score) for r in want]
        assert got_total == want_total


async def test_large_scope_counts_are_reused_and_total_stays_exact(
        redis: Redis, redis_url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    """In a scope last seen holding at least ``LARGE_SCOPE`` memories the word counts of
    the last ``COUNTS_TTL`` seconds are reused (only words not counted recently are
    counted); without writes the
    pages equal a fresh searcher's; after writes ``total`` is still the exact scope size,
    and no memory outside the filter is ever returned."""
    store, embedder, svc = await _service(redis, redis_url)
    monkeypatch.setattr(ltm_search, "LARGE_SCOPE", 50)
    rng = random.Random(8)
    await svc.index_records([
        ExtractedMemoryRecord(id=f"{ns}-{i}", text=" ".join(rng.sample(WORDS, 6)), namespace=ns)
        for ns, size in (("a", 80), ("b", 30)) for i in range(size)], deduplicate=False)
    counted = _spy_on_counts(monkeypatch)
    searcher = Searcher(store, embedder, "hybrid")
    where = Tag("namespace") == "a"
    queries = ["flight hotel coffee", "coffee hotel", "hotel flight coffee", "tea coffee"]
    for text in queries:
        request = SearchRequest(text=text, limit=10, recency_boost=False)
        got = await searcher.search(where, request)
        want = await Searcher(store, embedder, "hybrid").search(where, request)
        assert [(m.id, m.score) for m in got.memories] == \
            [(m.id, m.score) for m in want.memories]
        assert got.total == want.total == 80
    # the fresh searchers (one per query) count every word; ours counted the first
    # query's words (scope size unknown) and then only "tea", the one word new to it
    assert counted == Counter({"flight": 2 + 1, "hotel": 3 + 1, "coffee": 4 + 1, "tea": 1 + 1})

    await svc.index_records([ExtractedMemoryRecord(id=f"a-new-{i}", text="flight coffee",
                                                   namespace="a") for i in range(5)],
                            deduplicate=False)
    got = await searcher.search(where, SearchRequest(text="flight coffee", limit=100,
                                                     recency_boost=False))
    assert got.total == 85
    assert all(m.namespace == "a" for m in got.memories)
    assert {f"a-new-{i}" for i in range(5)} <= {m.id for m in got.memories}
    small = await searcher.search(Tag("namespace") == "b",
                                  SearchRequest(text="flight coffee", limit=100))
    assert small.total == 30 and all(m.namespace == "b" for m in small.memories)


async def test_unfiltered_total_is_every_memory(redis: Redis, redis_url: str) -> None:
    """Without a filter, ``total`` (the text index's document count since issue-17k) is
    the number of memories, after creates and deletes, in semantic and hybrid mode; the
    wildcard count is used while an index reports itself unsettled."""
    from agent_memory.principal import LOCAL_ADMIN
    from agent_memory.storage.long_term import _settled_doc_count

    store, _, svc = await _service(redis, redis_url)
    await svc.index_records([ExtractedMemoryRecord(id=f"u{i}", text=f"flight hotel {i}")
                             for i in range(30)], deduplicate=False)
    for mode in ("semantic", "hybrid"):
        got = await svc.search(LOCAL_ADMIN, SearchRequest(text="flight", search_mode=mode))
        assert got.total == 30 == await store.count(None)
    await svc.delete(LOCAL_ADMIN, [f"u{i}" for i in range(5)])
    for mode in ("semantic", "hybrid"):
        got = await svc.search(LOCAL_ADMIN, SearchRequest(text="flight", search_mode=mode))
        assert got.total == 25 == await store.count(None)
    info = [b"num_docs", b"7", b"indexing", b"0", b"hash_indexing_failures", b"0"]
    assert _settled_doc_count(info) == 7
    assert _settled_doc_count([b"num_docs", b"7", b"indexing", b"1",
                               b"hash_indexing_failures", b"0"]) is None
    assert _settled_doc_count([b"num_docs", b"7", b"indexing", b"0",
                               b"hash_indexing_failures", b"2"]) is None


async def test_unfiltered_large_store_estimates_common_words_from_a_sample(
        redis: Redis, redis_url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    """With no filter over a store of at least ``sample_scope`` memories, words that at
    least ``MIN_HITS`` sampled memories hold are not counted (their counts come from the
    sample: services/word_sample.py) and a rarer word still is; with the whole store in the
    sample the estimates are the exact counts, so the pages equal a searcher that counts,
    and ``total`` stays the store's size."""
    store, embedder, svc = await _service(redis, redis_url)
    rng = random.Random(9)
    records = [ExtractedMemoryRecord(id=f"m{i}", text=" ".join(rng.sample(WORDS, 6)))
               for i in range(150)]
    records += [ExtractedMemoryRecord(id=f"z{i}", text=f"zebra {WORDS[i]}") for i in range(3)]
    await svc.index_records(records, deduplicate=False)
    counted = _spy_on_counts(monkeypatch)
    monkeypatch.setattr(ltm_search, "COUNTS_TTL", 0.0)  # no reuse: only the sample spares
    monkeypatch.setattr(ltm_search, "LARGE_SCOPE", 50)
    searcher = Searcher(store, embedder, "hybrid")
    searcher.sample.min_store, searcher.sample.floor = 100, 1
    exact = Searcher(store, embedder, "hybrid")
    exact.sample.min_store = 10**9
    await searcher.search(None, SearchRequest(text="flight", limit=10))  # learns the size
    counted.clear()
    await _same_pages(searcher, exact, None,
                      ("flight hotel coffee", "zebra flight", "tea budget piano"), 153)
    # ``exact`` counted every word of every query; ``searcher`` only the rare "zebra"
    assert counted == Counter({"flight": 2, "hotel": 1, "coffee": 1, "tea": 1, "budget": 1,
                               "piano": 1, "zebra": 2})


async def test_large_filtered_scope_in_a_large_store_estimates_from_its_own_sample(
        redis: Redis, redis_url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    """In a store of at least ``min_store`` memories, a filtered scope last seen holding at
    least ``LARGE_SCOPE`` memories gets its common words' counts from a sample of its own
    memories (no count); a word rare in it is still counted. The scope's vocabulary is not
    the store's (namespace "b" uses other words), and the scope is smaller than the sample,
    so the estimates are its exact counts: the pages and scores equal a searcher that
    counts, ``total`` is the scope's size and nothing outside the filter comes back. In a
    store smaller than ``min_store`` every word is counted."""
    store, embedder, svc = await _service(redis, redis_url)
    rng = random.Random(12)
    texts = {"a": [" ".join(rng.sample(WORDS[:12], 6)) for _ in range(90)],
             "b": [" ".join(rng.sample(WORDS[8:], 6)) for _ in range(90)]}
    texts["a"] += [f"zebra {WORDS[i]}" for i in range(2)]
    await svc.index_records([ExtractedMemoryRecord(id=f"{ns}{i}", text=text, namespace=ns)
                             for ns, some in texts.items() for i, text in enumerate(some)],
                            deduplicate=False)
    monkeypatch.setattr(ltm_search, "LARGE_SCOPE", 50)
    monkeypatch.setattr(ltm_search, "COUNTS_TTL", 0.0)  # no reuse: only the sample spares
    counted = _spy_on_counts(monkeypatch)
    searcher = Searcher(store, embedder, "hybrid")
    searcher.sample.min_store = 150
    exact = Searcher(store, embedder, "hybrid")
    exact.sample.min_store = 10**9
    where = Tag("namespace") == "a"
    await searcher.search(where, SearchRequest(text="flight", limit=10))  # learns the size
    # the first search that could use a sample counts (a scope searched once in a while
    # is never sampled); the next one within the sample's ttl reads it
    await searcher.search(where, SearchRequest(text="hotel", limit=10))
    assert counted == Counter({"flight": 1, "hotel": 1})
    counted.clear()
    pages = await _same_pages(searcher, exact, where,
                              ("flight hotel coffee", "zebra flight", "tea budget meeting"), 92)
    assert all(m.namespace == "a" for page in pages for m in page)
    # ``exact`` counted every word of every query; ``searcher`` only the rare "zebra"
    assert counted == Counter({"flight": 2, "hotel": 1, "coffee": 1, "tea": 1, "budget": 1,
                               "meeting": 1, "zebra": 2})

    counted.clear()
    small = Searcher(store, embedder, "hybrid")  # min_store 100,000: every word counted
    await small.search(where, SearchRequest(text="flight", limit=10))
    await small.search(where, SearchRequest(text="tea budget", limit=10))
    assert counted == Counter({"flight": 1, "tea": 1, "budget": 1})


async def test_a_scope_larger_than_its_sample_is_read_in_spread_pages(
        redis: Redis, redis_url: str) -> None:
    """A scope holding more memories than the sample's size is sampled in pages spread
    over it: the sample has the size asked for, only memories of the scope, no memory
    twice."""
    store, _, svc = await _service(redis, redis_url)
    await svc.index_records([ExtractedMemoryRecord(id=f"{ns}{i}", text=f"{ns}word item{i}",
                                                   namespace=ns)
                             for ns in ("a", "b") for i in range(120)], deduplicate=False)
    lexical = LexicalStore(store)
    texts = [fields[0] for fields in
             await lexical.scope_sample(Tag("namespace") == "a", 50, 120)]
    assert len(texts) == len(set(texts)) == 50
    assert all(t.startswith("aword item") for t in texts)
    items = sorted(int(t.rsplit("item", 1)[1]) for t in texts)
    assert items[-1] - items[0] > 100  # spread over the scope, not its first 50
    whole = [fields[0] for fields in
             await lexical.scope_sample(Tag("namespace") == "b", 200, 120)]
    assert sorted(whole) == sorted(f"bword item{i}" for i in range(120))


async def test_known_counts_send_the_candidate_search_beside_the_knn(
        redis: Redis, redis_url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    """In a large scope where every query word's count is known, the candidate search goes
    in the KNN's round trip (the ranker fetches none after it), and the page is the one a
    searcher that counts and then fetches returns."""
    store, embedder, svc = await _service(redis, redis_url)
    monkeypatch.setattr(ltm_search, "LARGE_SCOPE", 50)
    rng = random.Random(10)
    await svc.index_records([
        ExtractedMemoryRecord(id=f"a-{i}", text=" ".join(rng.sample(WORDS, 5)), namespace="a")
        for i in range(160)], deduplicate=False)
    given: list[bool] = []  # whether rank() was handed the candidates (fetched ahead)
    rank = LexicalRanker.rank

    async def rank_calls(self: LexicalRanker, *args: object, **kw: object) -> object:
        given.append(kw.get("docs") is not None)
        return await rank(self, *args, **kw)  # type: ignore[arg-type]

    monkeypatch.setattr(LexicalRanker, "rank", rank_calls)
    searcher = Searcher(store, embedder, "hybrid")
    where = Tag("namespace") == "a"
    for text in ("flight hotel coffee", "coffee hotel flight", "tea budget", "budget tea"):
        request = SearchRequest(text=text, limit=10, recency_boost=False)
        given.clear()
        got = await searcher.search(where, request)
        (ahead,) = given
        want = await Searcher(store, embedder, "hybrid").search(where, request)
        assert [(m.id, m.score) for m in got.memories] == \
            [(m.id, m.score) for m in want.memories]
        assert got.total == want.total == 160
        # the second query of each pair has every count known: fetched ahead
        assert ahead == (text in ("coffee hotel flight", "budget tea"))


async def test_fill_up_search_is_sent_only_when_the_first_falls_short(
        redis: Redis, redis_url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    """A query with a selective word and a word in more than ``candidate_max_df`` of the
    scope has two candidate searches, the second (every bounded word) only filling the
    window. When the selective word's count alone reaches ``depth``, the second is not
    sent; when that count was stale (the word is rarer now), it is sent after the first;
    when the count is below ``depth``, both go together. The candidates are the same as
    both searches sent at once, every time."""
    store, _, svc = await _service(redis, redis_url)
    records = [ExtractedMemoryRecord(id=f"a{i}", text=f"flight hotel {WORDS[i % 20]}",
                                     namespace="t") for i in range(10)]
    records += [ExtractedMemoryRecord(id=f"b{i}", text=f"hotel coffee {WORDS[i % 20]}",
                                      namespace="t") for i in range(20)]
    records += [ExtractedMemoryRecord(id=f"c{i}", text="piano hotel", namespace="t")
                for i in range(3)]
    records += [ExtractedMemoryRecord(id=f"d{i}", text=f"garden walk {i}", namespace="t")
                for i in range(67)]
    await svc.index_records(records, deduplicate=False)
    lexical = LexicalStore(store)
    ranker = LexicalRanker(lexical, RankingParams(depth=5))
    sent: list[int] = []
    candidates = LexicalStore.candidates

    async def spy(self: LexicalStore, searches: list[object], *args: object) -> object:
        sent.append(len(searches))
        return await candidates(self, searches, *args)  # type: ignore[arg-type]

    where = Tag("namespace") == "t"
    n = 100  # hotel is in a third of them: not selective
    for text, df, batches in (
            ("flight hotel", {"flight": 10, "hotel": 33}, [1]),  # flight alone fills 5
            ("piano hotel", {"piano": 7, "hotel": 33}, [1, 1]),  # stale: piano is in 3
            ("piano hotel", {"piano": 3, "hotel": 33}, [2])):    # both at once, as before
        terms = ranker.terms(text)
        searches = ranker.candidate_searches(terms, df, n)
        assert len(searches) == 2
        want = merge_candidates(
            await lexical.candidates(searches, where, 5, ranker.field_weights), 5)
        sent.clear()
        monkeypatch.setattr(LexicalStore, "candidates", spy)
        got = await ranker.candidates(terms, df, n, where, 5)
        monkeypatch.setattr(LexicalStore, "candidates", candidates)
        assert sent == batches
        assert [d.memory_id for d in got] == [d.memory_id for d in want]
        assert len(got) == 5
