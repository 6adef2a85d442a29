"""Inputs the fuzzing test turned into 5xx once; each must now be a clean 4xx or a 200."""

from __future__ import annotations

import math

import httpx


async def test_a_ttl_beyond_redis_clock_is_a_422(client: httpx.AsyncClient) -> None:
    """ttl_seconds=1e18 made Redis refuse the EXPIRE (503); now the model bounds it."""
    response = await client.put("/v1/working-memory/s1",
                                json={"messages": [], "ttl_seconds": 1112588965446017792})
    assert response.status_code == 422
    assert response.json()["detail"][0]["loc"][-1] == "ttl_seconds"


async def test_unsearchable_ids_are_422_not_storage_errors(client: httpx.AsyncClient) -> None:
    """NUL, control-only and '_'-only ids broke the RediSearch query; now they are 422."""
    for path in ("/v1/working-memory/_", "/v1/working-memory/%60"):
        response = await client.get(path)
        assert response.status_code == 422, path
        assert response.json()["error"]["code"] == "validation_error"
    for user in ("a\x00b", "\x04", "\x0b\x1a"):
        response = await client.delete("/v1/working-memory/s1", params={"user_id": user})
        assert response.status_code == 422, repr(user)
    compact = await client.post("/v1/long-term-memory/compact", params={"user_id": "\x04"})
    assert 400 <= compact.status_code < 500


async def test_a_text_without_words_still_has_a_distance(client: httpx.AsyncClient) -> None:
    """A record like "+?" embedded to a zero vector; its distance came back NaN (null)."""
    created = await client.post("/v1/long-term-memory/", json={
        "memories": [{"id": "punct", "text": "+?"}, {"id": "word", "text": "hello there"}],
        "deduplicate": False})
    assert created.status_code == 200
    found = await client.post("/v1/long-term-memory/search",
                              json={"text": "+?", "search_mode": "semantic", "limit": 5})
    assert found.status_code == 200
    hits = found.json()["memories"]
    assert hits and all(isinstance(h["dist"], float) and math.isfinite(h["dist"]) for h in hits)


async def test_a_date_that_overflows_in_utc_is_a_422(client: httpx.AsyncClient) -> None:
    """Year 1 with a positive offset is before year 1 in UTC: OverflowError gave a 500."""
    response = await client.post("/v1/long-term-memory/", json={"memories": [
        {"text": "x", "updated_at": "0001-01-01T00:00:00+00:01"}]})
    assert response.status_code == 422
    assert response.json()["detail"][0]["loc"][-1] == "updated_at"


async def test_an_access_count_beyond_64_bits_is_a_422(client: httpx.AsyncClient) -> None:
    """access_count=10**20 was stored, then every access update (HINCRBY) failed with 503."""
    response = await client.post("/v1/long-term-memory/", json={"memories": [
        {"id": "big", "text": "counted", "access_count": 10**20}]})
    assert response.status_code == 422
    assert response.json()["detail"][0]["loc"][-1] == "access_count"


async def test_a_prefix_with_a_control_character_is_a_422(client: httpx.AsyncClient) -> None:
    """startswith "a\\x1db" broke the RediSearch prefix clause (503); now the model refuses it."""
    response = await client.post("/v1/long-term-memory/search", json={
        "text": "x", "entities": {"startswith": "a\x1db"}})
    assert response.status_code == 422
    ok = await client.post("/v1/long-term-memory/search", json={
        "text": "x", "entities": {"startswith": "ab/V"}})
    assert ok.status_code == 200
