"""Long-term routes end to end: create, get, edit, delete, compact, feature switch."""

from __future__ import annotations

import httpx
from asgi_lifespan import LifespanManager
from redis.asyncio import Redis

from agent_memory.app import create_app
from agent_memory.services.dedup import memory_hash
from agent_memory.models.records import MemoryRecord
from tests.conftest import make_settings


async def _create(client: httpx.AsyncClient, memories: list[dict], **extra: object) -> list[str]:
    response = await client.post("/v1/long-term-memory/", json={"memories": memories, **extra})
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["status"] == "ok"
    return body["ids"]


async def test_create_without_id_assigns_ulid_and_ams_defaults(client: httpx.AsyncClient) -> None:
    """A record without id gets a ULID; memory_type defaults to semantic, extracted to "t"."""
    (memory_id,) = await _create(client, [{"text": "likes green tea", "user_id": "u1"}])
    assert len(memory_id) == 26
    got = (await client.get(f"/v1/long-term-memory/{memory_id}")).json()
    assert got["text"] == "likes green tea"
    assert got["memory_type"] == "semantic"
    assert got["discrete_memory_extracted"] == "t"
    assert got["user_id"] == "u1" and got["namespace"] is None
    expected = memory_hash(MemoryRecord(id="x", text="likes green tea", user_id="u1",
                                        memory_type="semantic"))
    assert got["memory_hash"] == expected


async def test_create_both_slash_spellings_and_ids_round_trip(client: httpx.AsyncClient) -> None:
    """POST with and without the trailing slash; given ids come back unchanged."""
    r = await client.post("/v1/long-term-memory", json={"memories": [{"id": "m-1", "text": "a b"}]})
    assert r.status_code == 200 and r.json()["ids"] == ["m-1"]
    assert (await client.get("/v1/long-term-memory/m-1")).json()["id"] == "m-1"
    assert (await client.get("/v1/long-term-memory/m-1/")).status_code == 200


async def test_create_rejects_blank_text_and_bad_type(client: httpx.AsyncClient) -> None:
    """Blank text or an unknown memory_type is a 422 with the field path."""
    r = await client.post("/v1/long-term-memory/", json={"memories": [{"text": "  "}]})
    assert r.status_code == 422
    assert r.json()["detail"][0]["loc"][:3] == ["body", "memories", 0]
    r = await client.post("/v1/long-term-memory/", json={"memories": [{"text": "x", "memory_type": "pref"}]})
    assert r.status_code == 422


async def test_get_missing_is_404(client: httpx.AsyncClient) -> None:
    """An unknown id answers 404 with AMS's detail."""
    r = await client.get("/v1/long-term-memory/nope")
    assert r.status_code == 404
    assert r.json()["detail"] == "Memory nope not found"


async def test_patch_updates_fields_rehashes_and_reembeds_only_on_text(
        client: httpx.AsyncClient, redis: Redis) -> None:
    """PATCH changes fields; hash follows text/namespace; vector changes only with text."""
    (mid,) = await _create(client, [{"id": "p1", "text": "old text", "namespace": "n"}])
    vec_before = await redis.hget("memory_idx:p1", "vector")
    r = await client.patch(f"/v1/long-term-memory/{mid}", json={"topics": ["x", "y"], "pinned": True})
    assert r.status_code == 200, r.text
    assert r.json()["topics"] == ["x", "y"] and r.json()["pinned"] is True
    assert await redis.hget("memory_idx:p1", "vector") == vec_before
    hash_before = r.json()["memory_hash"]
    r = await client.patch(f"/v1/long-term-memory/{mid}", json={"namespace": "n2"})
    assert r.json()["memory_hash"] != hash_before
    r = await client.patch(f"/v1/long-term-memory/{mid}", json={"text": "entirely new words"})
    assert r.json()["text"] == "entirely new words"
    assert await redis.hget("memory_idx:p1", "vector") != vec_before
    got = (await client.get(f"/v1/long-term-memory/{mid}")).json()
    assert got["namespace"] == "n2" and got["topics"] == ["x", "y"] and got["pinned"] is True


async def test_patch_empty_is_400_and_missing_is_404(client: httpx.AsyncClient) -> None:
    """An empty PATCH is 400 (AMS wording); PATCH of an unknown id is 404."""
    await _create(client, [{"id": "e1", "text": "t"}])
    r = await client.patch("/v1/long-term-memory/e1", json={})
    assert r.status_code == 400 and r.json()["detail"] == "No fields provided for update"
    r = await client.patch("/v1/long-term-memory/zz", json={"text": "x"})
    assert r.status_code == 404


async def test_delete_by_query_and_by_id(client: httpx.AsyncClient) -> None:
    """DELETE ?memory_ids=a&memory_ids=b reports the count; DELETE /{id} removes one."""
    await _create(client, [{"id": i, "text": f"memory {i}"} for i in ("d1", "d2", "d3")])
    r = await client.delete("/v1/long-term-memory?memory_ids=d1&memory_ids=d2&memory_ids=zz")
    assert r.status_code == 200 and r.json()["status"] == "ok, deleted 2 memories"
    assert (await client.get("/v1/long-term-memory/d1")).status_code == 404
    r = await client.delete("/v1/long-term-memory/d3")
    assert r.status_code == 200 and r.json()["status"] == "ok, deleted 1 memories"
    assert (await client.delete("/v1/long-term-memory/d3")).status_code == 404


async def test_compact_removes_exact_duplicates_keeping_oldest(client: httpx.AsyncClient) -> None:
    """Copies stored without dedup are compacted to one (the oldest); count reported."""
    await _create(client, [
        {"id": "c1", "text": "same", "namespace": "n", "created_at": "2024-01-01T00:00:00Z"},
        {"id": "c2", "text": "same", "namespace": "n", "created_at": "2024-02-01T00:00:00Z"},
        {"id": "c3", "text": "other", "namespace": "n"},
        {"id": "c4", "text": "same", "namespace": "m"},
    ], deduplicate=False)
    r = await client.post("/v1/long-term-memory/compact?namespace=n")
    assert r.status_code == 200
    assert r.json()["status"] == "ok, 2 memories remaining after compaction"
    assert (await client.get("/v1/long-term-memory/c1")).status_code == 200
    assert (await client.get("/v1/long-term-memory/c2")).status_code == 404
    assert (await client.get("/v1/long-term-memory/c4")).status_code == 200


async def test_routes_answer_400_when_long_term_memory_disabled(redis_url: str, redis: Redis) -> None:
    """LONG_TERM_MEMORY=false: every long-term route is 400 "Long-term memory is disabled"."""
    app = create_app(make_settings(redis_url, long_term_memory=False))
    async with LifespanManager(app) as manager:
        transport = httpx.ASGITransport(app=manager.app)
        async with httpx.AsyncClient(transport=transport, base_url="http://t") as client:
            calls = [
                client.post("/v1/long-term-memory/", json={"memories": []}),
                client.post("/v1/long-term-memory/search", json={"text": "x"}),
                client.get("/v1/long-term-memory/a"),
                client.patch("/v1/long-term-memory/a", json={"text": "b"}),
                client.delete("/v1/long-term-memory?memory_ids=a"),
                client.post("/v1/long-term-memory/compact"),
            ]
            for call in calls:
                r = await call
                assert r.status_code == 400, r.text
                assert r.json()["detail"] == "Long-term memory is disabled"
