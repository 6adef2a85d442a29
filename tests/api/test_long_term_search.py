"""Long-term search: modes, totals, paging, ordering, recency and the stopword crash."""

from __future__ import annotations

import httpx
from redis.asyncio import Redis

CRASH_QUERY = ("will there be an interview required to volunteer with the organization james "
               "volunteered for?")


async def _create(client: httpx.AsyncClient, memories: list[dict], dedup: bool = True) -> list[str]:
    r = await client.post("/v1/long-term-memory/", json={"memories": memories, "deduplicate": dedup})
    assert r.status_code == 200, r.text
    return r.json()["ids"]


async def _search(client: httpx.AsyncClient, **body: object) -> dict:
    r = await client.post("/v1/long-term-memory/search", json=body)
    assert r.status_code == 200, r.text
    return r.json()


async def test_semantic_search_ranks_closest_first_with_score_type(client: httpx.AsyncClient) -> None:
    """Semantic mode returns the nearest memory first with dist/score/score_type set."""
    await _create(client, [
        {"id": "a", "text": "the cat sat on the warm mat"},
        {"id": "b", "text": "stock markets fell sharply today"},
        {"id": "c", "text": "my cat loves the mat by the fire"},
    ])
    out = await _search(client, text="cat mat", search_mode="semantic", recency_boost=False)
    ids = [m["id"] for m in out["memories"]]
    assert ids[0] in {"a", "c"} and ids[-1] == "b"
    top = out["memories"][0]
    assert top["score_type"] == "semantic"
    assert abs(top["score"] - (1 - top["dist"])) < 1e-6
    assert out["total"] == 3


async def test_keyword_search_is_bm25_and_total_counts_matches(client: httpx.AsyncClient) -> None:
    """Keyword mode finds only memories sharing a word; total counts matches, not the page."""
    await _create(client, [{"id": f"k{i}", "text": f"volunteer shift number {i}"} for i in range(15)]
                  + [{"id": "z", "text": "nothing related here"}])
    out = await _search(client, text="volunteer", search_mode="keyword", limit=5)
    assert out["total"] == 15
    assert len(out["memories"]) == 5 and out["next_offset"] == 5
    assert all(m["score_type"] == "keyword" for m in out["memories"])
    last = await _search(client, text="volunteer", search_mode="keyword", limit=5, offset=10)
    assert len(last["memories"]) == 5 and last["next_offset"] is None


async def test_paging_is_stable_and_disjoint(client: httpx.AsyncClient) -> None:
    """Pages of one query never overlap and together equal the first big page (ties by id)."""
    await _create(client, [{"id": f"p{i:02d}", "text": "identical words everywhere"} for i in range(30)],
                  dedup=False)
    for mode in ("semantic", "keyword", "hybrid"):
        full = await _search(client, text="identical words", search_mode=mode, limit=30)
        pages = []
        for offset in range(0, 30, 7):
            page = await _search(client, text="identical words", search_mode=mode, limit=7, offset=offset)
            pages += [m["id"] for m in page["memories"]]
        assert pages == [m["id"] for m in full["memories"]], mode
        assert len(set(pages)) == 30


async def test_scores_are_sorted_descending_with_recency(client: httpx.AsyncClient) -> None:
    """With recency on (default), the returned score is the sort key: non-increasing."""
    await _create(client, [
        {"id": "old", "text": "garden roses bloom", "created_at": "2020-01-01T00:00:00Z",
         "last_accessed": "2020-01-01T00:00:00Z"},
        {"id": "new", "text": "garden roses bloom in june"},
        {"id": "mid", "text": "roses", "created_at": "2024-01-01T00:00:00Z"},
    ])
    for mode in ("semantic", "keyword", "hybrid"):
        out = await _search(client, text="garden roses bloom", search_mode=mode)
        scores = [m["score"] for m in out["memories"]]
        assert scores == sorted(scores, reverse=True), mode


async def test_recency_reranks_before_paging(client: httpx.AsyncClient) -> None:
    """Two equally relevant memories: the recent one wins with recency, and page 1 (limit 1)
    holds it — the re-rank happened before the slice, not on the page."""
    await _create(client, [
        {"id": "a-old", "text": "blue bicycle", "created_at": "2015-01-01T00:00:00Z",
         "last_accessed": "2015-01-01T00:00:00Z"},
        {"id": "z-new", "text": "blue bicycle"},
    ], dedup=False)
    first = await _search(client, text="blue bicycle", search_mode="semantic", limit=1)
    assert first["memories"][0]["id"] == "z-new"
    second = await _search(client, text="blue bicycle", search_mode="semantic", limit=1, offset=1)
    assert second["memories"][0]["id"] == "a-old"
    assert first["memories"][0]["score"] > second["memories"][0]["score"]
    off = await _search(client, text="blue bicycle", search_mode="semantic", limit=1,
                        recency_boost=False)
    assert off["memories"][0]["id"] == "a-old"  # tie broken by id without recency
    server = await _search(client, text="blue bicycle", search_mode="semantic", limit=1,
                           server_side_recency=True)
    assert server["memories"][0]["id"] == "z-new"


async def test_empty_text_lists_newest_first_then_id(client: httpx.AsyncClient) -> None:
    """Empty or whitespace text lists by filter: created_at desc, ties by id; real total."""
    await _create(client, [
        {"id": "b", "text": "one", "created_at": "2024-01-02T00:00:00Z"},
        {"id": "a", "text": "two", "created_at": "2024-01-02T00:00:00Z"},
        {"id": "c", "text": "three", "created_at": "2024-01-03T00:00:00Z"},
        {"id": "d", "text": "four", "created_at": "2024-01-01T00:00:00Z"},
    ])
    for text in ("", "   ", None):
        out = await _search(client, text=text, limit=3)
        assert [m["id"] for m in out["memories"]] == ["c", "a", "b"]
        assert out["total"] == 4 and out["next_offset"] == 3
        assert out["memories"][0]["score"] is None and out["memories"][0]["dist"] == 0


async def test_distance_threshold_outside_semantic_is_400(client: httpx.AsyncClient) -> None:
    """distance_threshold with keyword or hybrid mode is a 400, as AMS."""
    for mode in ("keyword", "hybrid"):
        r = await client.post("/v1/long-term-memory/search",
                              json={"text": "x", "search_mode": mode, "distance_threshold": 0.3})
        assert r.status_code == 400


async def test_distance_threshold_is_a_range_with_real_total(client: httpx.AsyncClient) -> None:
    """A distance threshold keeps only memories within it and counts exactly those."""
    await _create(client, [
        {"id": "near", "text": "red apple pie"},
        {"id": "far", "text": "quantum chromodynamics lecture"},
    ])
    out = await _search(client, text="red apple pie", search_mode="semantic", distance_threshold=0.2)
    assert [m["id"] for m in out["memories"]] == ["near"] and out["total"] == 1


async def test_default_mode_comes_from_settings(client: httpx.AsyncClient) -> None:
    """Without search_mode the server default (hybrid, DEFAULT_SEARCH_MODE) is used."""
    await _create(client, [{"text": "hello there friend"}])
    out = await _search(client, text="hello friend")
    assert out["memories"][0]["score_type"] == "hybrid"


async def test_hybrid_finds_lexical_and_vector_matches(client: httpx.AsyncClient) -> None:
    """Hybrid puts a memory that matches the rare word well ahead of unrelated ones."""
    await _create(client, [
        {"id": "hit", "text": "Caroline went to the LGBTQ support group on Tuesday"},
        {"id": "m1", "text": "Melanie painted a sunset over the lake"},
        {"id": "m2", "text": "they talked about the weather"},
    ])
    out = await _search(client, text="When did Caroline go to the support group?",
                        search_mode="hybrid", hybrid_alpha=0.5)
    assert out["memories"][0]["id"] == "hit"


async def test_stopword_crash_query_does_not_take_redis_down(client: httpx.AsyncClient,
                                                             redis: Redis) -> None:
    """The exact query that segfaults RediSearch 2.10.5 in AMS works in keyword and hybrid."""
    await _create(client, [
        {"id": "v", "text": "James volunteered at the shelter; an interview was required"},
        {"id": "w", "text": "the weather will be fine"},
    ])
    for mode in ("keyword", "hybrid", "semantic"):
        out = await _search(client, text=CRASH_QUERY, search_mode=mode)
        assert out["memories"][0]["id"] == "v", mode
    assert await redis.ping()


async def test_only_stopwords_and_punctuation_do_not_crash(client: httpx.AsyncClient,
                                                           redis: Redis) -> None:
    """A query of only stopwords/punctuation: keyword finds nothing, hybrid falls back to
    vectors; Redis stays up."""
    await _create(client, [{"id": "x", "text": "the and of to"}])
    for text in ("the and of to will be there?", "?!.,;:()[]{}|@*", "a an the"):
        out = await _search(client, text=text, search_mode="keyword")
        assert out["memories"] == [] and out["total"] == 0
        out = await _search(client, text=text, search_mode="hybrid")
        assert out["total"] == 1
    assert await redis.ping()


async def test_limit_and_offset_bounds(client: httpx.AsyncClient) -> None:
    """limit is 1..100 (default 10) and offset >= 0, else 422."""
    for body in ({"limit": 0}, {"limit": 101}, {"offset": -1}, {"hybrid_alpha": 2}):
        r = await client.post("/v1/long-term-memory/search", json={"text": "x", **body})
        assert r.status_code == 422, body


async def test_optimize_query_without_llm_is_a_noop(client: httpx.AsyncClient) -> None:
    """optimize_query=true with no model configured searches with the original text."""
    await _create(client, [{"id": "o", "text": "penguins live in antarctica"}])
    r = await client.post("/v1/long-term-memory/search?optimize_query=true",
                          json={"text": "penguins", "search_mode": "semantic"})
    assert r.status_code == 200 and r.json()["memories"][0]["id"] == "o"


async def test_deepest_page_is_served_not_503(client: httpx.AsyncClient) -> None:
    """The largest offset accepted still runs (offset + limit within RediSearch's cap);
    one past it is a 422."""
    await _create(client, [{"id": "only", "text": "deep paging check"}])
    for mode in ("semantic", "keyword", "hybrid"):
        out = await _search(client, text="deep paging", search_mode=mode, offset=9900, limit=100)
        assert out["memories"] == [] and out["total"] == 1
    out = await _search(client, text="", offset=9900, limit=100)
    assert out["memories"] == [] and out["total"] == 1
    r = await client.post("/v1/long-term-memory/search", json={"text": "x", "offset": 9901})
    assert r.status_code == 422


async def test_null_recency_parameters_mean_the_defaults(client: httpx.AsyncClient) -> None:
    """AMS's schema allows null for every recency knob (clients that serialize unset fields
    send them): null ranks and scores exactly as omitting the field, a negative is 422."""
    await _create(client, [{"id": f"m{i}", "text": f"tea note {i} about green tea"}
                           for i in range(5)])
    knobs = ("semantic_weight", "recency_weight", "freshness_weight", "novelty_weight",
             "half_life_last_access_days", "half_life_created_days")
    omitted = await _search(client, text="green tea", search_mode="semantic")
    nulls = await _search(client, text="green tea", search_mode="semantic",
                          **{f"recency_{k}": None for k in knobs})
    assert [m["id"] for m in nulls["memories"]] == [m["id"] for m in omitted["memories"]]
    for got, want in zip(nulls["memories"], omitted["memories"], strict=True):
        assert abs(got["score"] - want["score"]) < 1e-6  # "now" moves between the calls
    r = await client.post("/v1/long-term-memory/search",
                          json={"text": "tea", "recency_semantic_weight": -1})
    assert r.status_code == 422
