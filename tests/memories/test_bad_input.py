"""Bad input: a 422 with both error shapes and nothing written; ids of either form."""

from __future__ import annotations

from typing import Any

import pytest
from redis.asyncio import Redis

from tests.tasks.conftest import Stack

BAD_ADDS: list[Any] = [
    {"text": ""},
    {"text": "   \n"},
    {"text": "x", "importance": 1.5},
    {"text": "x", "importance": -0.1},
    {"text": "x", "importance": "high"},
    {"text": "x", "ttl_minutes": 0},
    {"text": "x", "ttl_minutes": -5},
    {"text": "x", "ttl_minutes": 10 * 366 * 24 * 60 + 1},
    {"text": "x", "tags": ["ok", 3]},
    {"text": "x", "tags": "budget"},
    {"text": "x", "tags": ["a,b"]},
    {"text": "x", "metadata": {"bad": float("nan")}},
    {"text": "x", "metadata": ["not", "an", "object"]},
    {"text": "x", "source": ""},
    {"text": "x", "ttl_minute": 5},
    {"text": 42},
]


@pytest.mark.parametrize("body", BAD_ADDS)
async def test_bad_adds_are_422_and_write_nothing(stack: Stack, redis: Redis,
                                                  body: dict[str, Any]) -> None:
    """Every rejected add answers 422 with AMS's detail list and our error object."""
    import json

    raw = json.dumps(body, allow_nan=True)  # NaN goes out as the non-JSON token it is
    response = await stack.client.post("/v1/memories", content=raw,
                                       headers={"content-type": "application/json"})
    assert response.status_code == 422, (body, response.text)
    payload = response.json()
    assert isinstance(payload["detail"], list)
    assert payload["error"]["code"] == "validation_error"
    assert [k async for k in redis.scan_iter(match="memory_idx:*")] == []


async def test_bad_edits_and_ids(stack: Stack) -> None:
    """An empty PATCH, a null text and an unknown id are clear errors; integer and string
    ids address the same row."""
    row = (await stack.client.post("/v1/memories", json={"text": "kept"})).json()
    assert (await stack.client.patch(f"/v1/memories/{row['id']}", json={})).status_code == 422
    assert (await stack.client.patch(f"/v1/memories/{row['id']}",
                                     json={"text": None})).status_code == 422
    assert (await stack.client.patch(f"/v1/memories/{row['id']}",
                                     json={"importance": 2})).status_code == 422
    assert (await stack.client.get("/v1/memories/999999")).status_code == 404
    ok = await stack.client.patch(f"/v1/memories/{row['id']}",
                                  json={"tags": ["x"], "importance": 1})
    assert ok.status_code == 200 and ok.json()["tags"] == ["x"] and ok.json()["importance"] == 1
    assert ok.json()["text"] == "kept" and ok.json()["created_at"] == row["created_at"]


async def test_rows_of_other_doors_keep_their_string_ids(stack: Stack) -> None:
    """An AMS-written memory is readable here under its string id; a counter id never
    takes over an id another door chose."""
    await stack.client.post("/v1/long-term-memory/", json={"memories": [
        {"id": "1", "text": "written through AMS with id one"},
        {"id": "note-a", "text": "written through AMS with a string id"}]})
    added = (await stack.client.post("/v1/memories", json={"text": "new row"})).json()
    assert added["id"] == 2  # 1 was taken
    other = (await stack.client.get("/v1/memories/note-a")).json()
    assert other["id"] == "note-a" and other["tier"] is None and other["importance"] == 0.5
    one = (await stack.client.get("/v1/memories/1")).json()
    assert one["text"] == "written through AMS with id one"


@pytest.mark.parametrize("body", [{"query": ""}, {"query": "x", "k": "5"},
                                  {"query": "x", "filters": {"tier": "lukewarm"}},
                                  {"query": "x", "filters": {"since": "2026-05-01T00:00:00Z",
                                                             "until": "2026-04-01T00:00:00Z"}},
                                  {"query": "x", "filters": {"metadata": {"a": {"b": 1}}}},
                                  {"query": "x", "colour": "red"}])
async def test_bad_recalls_are_422(stack: Stack, body: dict[str, Any]) -> None:
    """Empty query, non-integer k, unknown tier, reversed window, nested metadata value
    or unknown field: 422."""
    response = await stack.client.post("/v1/memories/recall", json=body)
    assert response.status_code == 422, (body, response.text)
    assert response.json()["error"]["code"] == "validation_error"
