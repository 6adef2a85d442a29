"""Every filter operator applied by the real index (AMS's filter bugs as regressions)."""

from __future__ import annotations

import httpx
import pytest

SEED = [
    {"id": "m1", "text": "note one", "session_id": "s1", "user_id": "u1", "namespace": "ws:alpha",
     "topics": ["food", "travel"], "entities": ["Paris"], "memory_type": "semantic",
     "created_at": "2024-01-01T00:00:00.250Z", "event_date": "2024-05-01T00:00:00Z"},
    {"id": "m2", "text": "note two", "session_id": "s2", "user_id": "u1", "namespace": "ws:alpha",
     "topics": ["food"], "entities": ["Rome"], "memory_type": "episodic",
     "created_at": "2024-01-01T00:00:00.750Z", "extraction_strategy": "summary"},
    {"id": "m3", "text": "note three", "session_id": "s3", "user_id": "u2", "namespace": "ws:beta",
     "topics": ["travel"], "memory_type": "message", "created_at": "2024-03-01T00:00:00Z",
     "event_date": "2024-06-01T00:00:00Z"},
    {"id": "m4", "text": "note four", "user_id": "u3", "namespace": "other",
     "created_at": "2024-04-01T00:00:00Z"},
]


@pytest.fixture
async def seeded(client: httpx.AsyncClient) -> httpx.AsyncClient:
    r = await client.post("/v1/long-term-memory/", json={"memories": SEED})
    assert r.status_code == 200, r.text
    return client


CASES = [
    ({"session_id": {"eq": "s1"}}, {"m1"}),
    ({"session_id": {"ne": "s1"}}, {"m2", "m3", "m4"}),
    ({"session_id": {"any": ["s1", "s3"]}}, {"m1", "m3"}),
    ({"user_id": {"eq": "u1"}}, {"m1", "m2"}),
    ({"user_id": {"in_": ["u2", "u3"]}}, {"m3", "m4"}),
    ({"namespace": {"startswith": "ws:"}}, {"m1", "m2", "m3"}),
    ({"namespace": {"startswith": "ws:al"}}, {"m1", "m2"}),
    ({"topics": {"all": ["food", "travel"]}}, {"m1"}),  # AMS: any -> m1, m2, m3
    ({"topics": {"any": ["food", "travel"]}}, {"m1", "m2", "m3"}),
    ({"topics": {"ne": "food"}}, {"m3", "m4"}),
    ({"topics": {"none": ["food", "travel"]}}, {"m4"}),
    ({"entities": {"eq": "Paris"}}, {"m1"}),
    ({"memory_type": {"eq": "episodic"}}, {"m2"}),
    ({"memory_type": {"any": ["semantic", "message"]}}, {"m1", "m3", "m4"}),  # m4: default
    ({"memory_type": {"ne": "semantic"}}, {"m2", "m3"}),
    ({"extraction_strategy": {"eq": "summary"}}, {"m2"}),
    # date ranges: both operators apply (AMS kept only gte)
    ({"created_at": {"gte": "2024-01-01T00:00:00Z", "lte": "2024-02-01T00:00:00Z"}}, {"m1", "m2"}),
    ({"created_at": {"gt": "2024-01-01T00:00:00.500Z"}}, {"m2", "m3", "m4"}),  # sub-second
    ({"created_at": {"lt": "2024-01-01T00:00:00.500Z"}}, {"m1"}),
    ({"created_at": {"eq": "2024-01-01T00:00:00.250Z"}}, {"m1"}),
    ({"created_at": {"ne": "2024-01-01T00:00:00.250Z"}}, {"m2", "m3", "m4"}),
    ({"created_at": {"between": ["2024-01-01T00:00:00.500Z", "2024-03-01T00:00:00Z"]}}, {"m2", "m3"}),
    ({"created_at": {"between": ["2024-01-01T00:00:00.500Z", "2024-03-01T00:00:00Z"],
                     "inclusive": "left"}}, {"m2"}),
    ({"event_date": {"gte": "2024-05-15T00:00:00Z"}}, {"m3"}),
    ({"last_accessed": {"gte": "2000-01-01T00:00:00Z"}}, {"m1", "m2", "m3", "m4"}),
    # several filters AND together
    ({"user_id": {"eq": "u1"}, "topics": {"any": ["travel"]}}, {"m1"}),
]


@pytest.mark.parametrize(("filters", "expected"), CASES)
@pytest.mark.parametrize("text", ["", "note"])
async def test_filter_operator(seeded: httpx.AsyncClient, filters: dict, expected: set[str],
                               text: str) -> None:
    """Each operator selects exactly the expected memories (listing and search, real total)."""
    r = await seeded.post("/v1/long-term-memory/search",
                          json={"text": text, "limit": 100, "search_mode": "semantic", **filters})
    assert r.status_code == 200, r.text
    body = r.json()
    assert {m["id"] for m in body["memories"]} == expected
    assert body["total"] == len(expected)


async def test_keyword_total_respects_filters(seeded: httpx.AsyncClient) -> None:
    """Keyword totals count text matches inside the filter."""
    r = await seeded.post("/v1/long-term-memory/search",
                          json={"text": "note", "search_mode": "keyword", "user_id": {"eq": "u1"}})
    assert r.json()["total"] == 2


@pytest.mark.parametrize("bad", [
    {"namespace": {"eq": ""}},
    {"namespace": {"any": []}},
    {"namespace": {}},
    {"topics": {"all": ["a", ""]}},
    {"namespace": {"eq": "a", "field": "user_id"}},
    {"created_at": {"between": ["2024-01-02T00:00:00Z"]}},
    {"created_at": {}},
    {"memory_type": {"eq": "preference"}},
    {"namespace": {"startswith": "a*"}},
])
async def test_bad_filters_are_422_never_wildcards(seeded: httpx.AsyncClient, bad: dict) -> None:
    """Empty or malformed filters are rejected rather than silently matching everything."""
    r = await seeded.post("/v1/long-term-memory/search", json={"text": "note", **bad})
    assert r.status_code == 422, r.text
