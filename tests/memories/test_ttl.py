"""TTL: from the instant ``expires_at`` passes, no route returns the memory; the scheduled
purge then deletes it and its index entry.

The test clock (``services.clock``, shared by the app and its workers through the Docket)
is advanced instead of sleeping through the minute: the server reads "now" from that
clock for both the expiry filter and by-id reads, so the test exercises the real path.
"""

from __future__ import annotations

from datetime import datetime

from redis.asyncio import Redis

from tests.memories.conftest import run_scheduled_until
from tests.support.wait import wait_until
from tests.tasks.conftest import Stack

TEXT = "The staging database password rotates every Friday at noon."


async def _visible(stack: Stack, memory_id: int) -> dict[str, bool]:
    """Whether each read route returns the memory."""
    c = stack.client
    seen: dict[str, bool] = {}
    seen["get"] = (await c.get(f"/v1/memories/{memory_id}")).status_code == 200
    seen["ams_get"] = (await c.get(f"/v1/long-term-memory/{memory_id}")).status_code == 200
    for mode in ("semantic", "keyword", "hybrid"):
        found = (await c.post("/v1/long-term-memory/search",
                              json={"text": "staging database password", "search_mode": mode,
                                    "limit": 50})).json()
        seen[f"search_{mode}"] = str(memory_id) in [m["id"] for m in found["memories"]]
        seen[f"total_{mode}"] = found["total"] > 0
    listing = (await c.post("/v1/long-term-memory/search", json={"limit": 50})).json()
    seen["listing"] = str(memory_id) in [m["id"] for m in listing["memories"]]
    recall = (await c.post("/v1/memories/recall",
                           json={"query": "staging database password"})).json()
    seen["recall"] = memory_id in [h["id"] for h in recall["results"]]
    prompt = (await c.post("/v1/memory/prompt",
                           json={"query": "When does the staging password rotate?",
                                 "long_term_search": {"limit": 20}})).json()
    seen["prompt"] = any("rotates every Friday" in m["content"]["text"]
                         for m in prompt["messages"])
    return seen


async def test_a_one_minute_ttl_hides_the_memory_from_every_route_at_expiry(
        stack: Stack, redis: Redis) -> None:
    """Visible a millisecond before expires_at on every route; gone at the instant itself;
    the purge task (on a real worker) then deletes the hash and its index entry."""
    added = (await stack.client.post("/v1/memories",
                                     json={"text": TEXT, "ttl_minutes": 1})).json()
    memory_id = added["id"]
    expires = datetime.fromisoformat(added["expires_at"]).timestamp()
    assert expires - datetime.fromisoformat(added["created_at"]).timestamp() == 60
    clock = stack.services.clock
    assert clock is not None

    clock.set(expires - 0.001)  # stopped one millisecond before expiry
    before = await _visible(stack, memory_id)
    assert all(before.values()), before

    clock.set(expires)  # the instant it expires
    after = await _visible(stack, memory_id)
    assert not any(after.values()), after
    assert await redis.exists(f"memory_idx:{memory_id}") == 1  # hidden, not yet purged

    async def purged() -> bool:
        return await redis.exists(f"memory_idx:{memory_id}") == 0

    await run_scheduled_until(stack.docket, purged)
    assert stack.services.long_term is not None  # and the index entry went with it
    assert await stack.services.long_term.store.count(None) == 0
    history = await stack.services.provenance.history(str(memory_id))
    assert [e["event"] for e in history] == ["created", "deleted"]
    assert history[1]["method"] == "policy"  # the one delete path, as a policy delete


async def test_the_purge_leaves_live_and_ttl_less_memories_alone(stack: Stack,
                                                                 redis: Redis) -> None:
    """Only expired rows are purged; a row without a TTL and one expiring later stay."""
    c = stack.client
    short = (await c.post("/v1/memories", json={"text": "short lived", "ttl_minutes": 1})).json()
    later = (await c.post("/v1/memories", json={"text": "longer lived", "ttl_minutes": 60})).json()
    forever = (await c.post("/v1/memories", json={"text": "kept for good"})).json()
    assert stack.services.clock is not None
    stack.services.clock.advance(120)
    async def purged() -> bool:
        return await redis.exists(f"memory_idx:{short['id']}") == 0

    await run_scheduled_until(stack.docket, purged)
    for row in (later, forever):
        assert (await c.get(f"/v1/memories/{row['id']}")).status_code == 200


async def test_a_patch_can_extend_or_remove_the_ttl(stack: Stack) -> None:
    """ttl_minutes on PATCH counts from the edit; null removes the expiry."""
    c = stack.client
    row = (await c.post("/v1/memories", json={"text": "renewable", "ttl_minutes": 1})).json()
    patched = (await c.patch(f"/v1/memories/{row['id']}", json={"ttl_minutes": None})).json()
    assert patched["expires_at"] is None
    assert stack.services.clock is not None
    stack.services.clock.advance(3600)
    assert (await c.get(f"/v1/memories/{row['id']}")).status_code == 200


async def test_the_expiry_floor_keeps_the_clause_off_until_something_expires(
        stack: Stack, redis: Redis) -> None:
    """Searches add the not-expired clause only once the earliest stored expiry has
    passed; the purge recomputes the floor (none left: the key goes)."""
    store = stack.services.long_term.store  # type: ignore[union-attr]
    assert await store.live(None) is None  # nothing expires: an unfiltered KNN stays "*"
    short = (await stack.client.post("/v1/memories", json={"text": "a", "ttl_minutes": 1})).json()
    await stack.client.post("/v1/memories", json={"text": "b", "ttl_minutes": 60})
    expires = datetime.fromisoformat(short["expires_at"]).timestamp()
    assert float(await redis.get(store.floor_key)) == expires
    assert await store.live(None) is None
    assert stack.services.clock is not None
    stack.services.clock.set(expires)
    assert "expires_at" in str(await store.live(None))

    async def recomputed() -> bool:
        floor = await redis.get(store.floor_key)
        return floor is not None and float(floor) > expires

    await run_scheduled_until(stack.docket, recomputed)

    async def clause_off() -> bool:  # this process rereads the floor within half a second
        return await store.live(None) is None

    await wait_until(clause_off, timeout=5)
