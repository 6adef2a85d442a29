"""The default search mode (hybrid): what users rely on, through the HTTP API.

These tests use the hashing embedder (fast, deterministic); the cases that need a model
that knows meaning run the offline model in tests/client/test_default_search_client.py.
"""

from __future__ import annotations

import httpx
import pytest
from starlette.applications import Starlette

from tests.api.test_long_term_search import _create, _search


def _mem(i: int, text: str, **kw: object) -> dict:
    return {"id": f"m{i:02d}", "text": text, "namespace": "home", "user_id": "ana",
            "topics": ["food"], "memory_type": "semantic", **kw}


FILTERS = {"namespace": {"eq": "home"}, "user_id": {"eq": "ana"},
           "topics": {"any": ["food"]}, "memory_type": {"eq": "semantic"}}


async def _seed(client: httpx.AsyncClient) -> None:
    inside = [_mem(i, text) for i, text in enumerate([
        "Ana bakes sourdough bread on Sundays", "Ana's favourite dish is mushroom risotto",
        "Ana never eats coriander", "Ana drinks two espressos before noon",
        "Ana grows basil and thyme on the balcony"])]
    outside = [
        _mem(10, "Ana bakes sourdough bread on Sundays too", user_id="bo"),
        _mem(11, "Ana's sourdough bread recipe", namespace="work"),
        _mem(12, "Ana bakes sourdough bread for the office", topics=["work"]),
        _mem(13, "Ana baked sourdough bread yesterday", memory_type="episodic"),
    ]
    await _create(client, inside + outside, dedup=False)


async def test_default_mode_is_hybrid(client: httpx.AsyncClient) -> None:
    """A request naming no mode is answered by hybrid search."""
    await _seed(client)
    out = await _search(client, text="sourdough", **FILTERS)
    assert {m["score_type"] for m in out["memories"]} == {"hybrid"}


async def test_no_shared_word_still_returns_every_memory_the_filters_allow(
        client: httpx.AsyncClient) -> None:
    """A query sharing no word with any memory falls back to vector candidates under the
    same filters: every allowed memory comes back, nothing outside them, total exact."""
    await _seed(client)
    out = await _search(client, text="zucchini lasagne", **FILTERS)
    assert {m["id"] for m in out["memories"]} == {f"m{i:02d}" for i in range(5)}
    assert out["total"] == 5
    keyword = await _search(client, text="zucchini lasagne", search_mode="keyword", **FILTERS)
    assert keyword["memories"] == [] and keyword["total"] == 0


async def test_filters_never_widen(client: httpx.AsyncClient) -> None:
    """The words match memories outside the filters better than inside: none of them is
    returned, on any page, and the word match inside the filters comes first."""
    await _seed(client)
    seen = []
    for offset in (0, 2, 4):
        out = await _search(client, text="sourdough bread bakes", limit=2, offset=offset,
                            **FILTERS)
        assert out["total"] == 5
        seen += [m["id"] for m in out["memories"]]
        for m in out["memories"]:
            assert (m["namespace"], m["user_id"], m["memory_type"]) == \
                ("home", "ana", "semantic") and "food" in m["topics"]
    assert seen[0] == "m00"
    assert sorted(seen) == [f"m{i:02d}" for i in range(5)]


async def test_total_is_exact_and_paging_stable(client: httpx.AsyncClient) -> None:
    """total counts every memory the filters allow (not the page); pages of the default
    mode never overlap and together equal one big page."""
    await _create(client, [_mem(i, f"note {i} about pasta" if i % 3 else f"note {i} on tea")
                           for i in range(37)], dedup=False)
    await _create(client, [_mem(90 + i, f"pasta {i}", user_id="bo") for i in range(6)],
                  dedup=False)
    full = await _search(client, text="pasta note", limit=37, **FILTERS)
    assert full["total"] == 37 and len(full["memories"]) == 37
    pages: list[str] = []
    for offset in range(0, 37, 8):
        page = await _search(client, text="pasta note", limit=8, offset=offset, **FILTERS)
        assert page["total"] == 37
        pages += [m["id"] for m in page["memories"]]
    assert pages == [m["id"] for m in full["memories"]]


@pytest.mark.parametrize("mode", [None, "keyword"])
async def test_exact_phrase_beats_scattered_words(client: httpx.AsyncClient,
                                                  mode: str | None) -> None:
    """Same words, same length: the memory holding the query as a phrase ranks first (the
    scattered one would win the tie by id)."""
    await _create(client, [
        {"id": "a-scattered", "text": "risotto with peas and a mushroom sauce"},
        {"id": "z-phrase", "text": "mushroom risotto with peas and a sauce"},
        {"id": "other", "text": "a bowl of tomato soup"},
    ], dedup=False)
    body = {"text": "mushroom risotto", "recency_boost": False}
    if mode:
        body["search_mode"] = mode
    out = await _search(client, **body)
    assert [m["id"] for m in out["memories"][:2]] == ["z-phrase", "a-scattered"]


async def test_explicit_hybrid_alpha_is_honoured(client: httpx.AsyncClient,
                                                 app: Starlette) -> None:
    """hybrid_alpha 0 is keyword order, 1 is vector order (the sides of the fusion)."""
    await _seed(client)
    words = await _search(client, text="sourdough bread", hybrid_alpha=0.0,
                          recency_boost=False, **FILTERS)
    assert words["memories"][0]["id"] == "m00"
    assert words["memories"][0]["score"] > words["memories"][1]["score"]
    vectors = await _search(client, text="sourdough bread", hybrid_alpha=1.0,
                            recency_boost=False, **FILTERS)
    semantic = await _search(client, text="sourdough bread", search_mode="semantic",
                             recency_boost=False, **FILTERS)
    assert [m["id"] for m in vectors["memories"]] == [m["id"] for m in semantic["memories"]]
