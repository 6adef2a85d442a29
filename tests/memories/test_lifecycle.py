"""Tiers and summaries through the scheduled tasks, on a real worker.

The shared test clock stands in for days of idleness: the passes compare each row's last
write or access with ``services.clock``.
"""

from __future__ import annotations

from typing import Any

from redis.asyncio import Redis
from redisvl.query.filter import Tag

from tests.memories.conftest import run_scheduled_until
from tests.tasks.conftest import Stack

DAY = 86400


async def _add(stack: Stack, text: str, **fields: object) -> int:
    response = await stack.client.post("/v1/memories", json={"text": text, "user_id": "u",
                                                             **fields})
    assert response.status_code == 201, response.text
    return int(response.json()["id"])


async def _rows(redis: Redis) -> dict[str, dict[bytes, bytes]]:
    """Every record hash, by key (to check nothing is lost or copied)."""
    out = {}
    async for key in redis.scan_iter(match="memory_idx:*"):
        out[key.decode()] = await redis.hgetall(key)
    return out


async def _tiers(stack: Stack, ids: list[int]) -> dict[int, Any]:
    assert stack.services.long_term is not None
    records = await stack.services.long_term.store.get_many([str(i) for i in ids])
    return {i: r.tier if r else None for i, r in zip(ids, records, strict=True)}


async def test_rows_move_hot_warm_cold_and_back_to_hot_on_access(stack: Stack,
                                                                redis: Redis) -> None:
    """Idle 25 h: warm; idle 8 days: cold; a read makes a row hot at once and the mover
    leaves it there. Every move rewrites only the tier: same keys, same fields otherwise."""
    # Unrelated texts, so the summarizer (also running) leaves them alone.
    ids = [await _add(stack, text) for text in (
        "Roadmap review moved to March", "Buy eggs and flour", "The cat sleeps all day")]
    before = await _rows(redis)
    clock = stack.services.clock
    assert clock is not None
    assert set((await _tiers(stack, ids)).values()) == {"hot"}

    clock.advance(25 * 3600)

    async def all_in(tier: str) -> bool:
        return set((await _tiers(stack, ids)).values()) == {tier}

    await run_scheduled_until(stack.docket, lambda: all_in("warm"))
    clock.advance(7 * DAY)
    await run_scheduled_until(stack.docket, lambda: all_in("cold"))

    after = await _rows(redis)
    assert after.keys() == before.keys()  # nothing lost, nothing duplicated
    for key, fields in before.items():
        changed = {k for k in fields.keys() | after[key].keys() if fields.get(k) != after[key].get(k)}
        assert changed == {b"tier"}, (key, changed)

    read = await stack.client.get(f"/v1/memories/{ids[0]}")
    assert read.json()["tier"] == "hot" and read.json()["lifecycle"]["tier"] == "hot"

    async def settled() -> bool:
        tiers = await _tiers(stack, ids)
        return tiers == {ids[0]: "hot", ids[1]: "cold", ids[2]: "cold"}

    await run_scheduled_until(stack.docket, settled)  # the mover keeps the read row hot
    lifecycle = read.json()["lifecycle"]
    assert lifecycle["warm_at"] > lifecycle["last_active_at"]
    assert lifecycle["cold_at"] > lifecycle["warm_at"]


async def test_related_cold_rows_roll_up_into_a_summary_row(stack: Stack) -> None:
    """Cold rows sharing a tag become one summary row (extractive without a model) that
    covers their ids; the covered rows stay readable and point to it; recall returns the
    summary only with include_summaries."""
    a = await _add(stack, "Flew to Lisbon on Monday. Hotel by the river.", tags=["trip"])
    b = await _add(stack, "Lisbon dinner with Ana was great.", tags=["trip", "food"])
    lone = await _add(stack, "Renewed the car insurance policy.", tags=["admin"])
    assert stack.services.clock is not None
    stack.services.clock.advance(8 * DAY)
    long_term = stack.services.long_term
    assert long_term is not None

    async def summarized() -> bool:  # read without touching (a read would heat the rows)
        return await long_term.store.count(Tag("is_summary") == "1") > 0

    await run_scheduled_until(stack.docket, summarized)
    listing = await stack.client.post("/v1/memories/recall", json={
        "query": "Lisbon trip", "user_id": "u", "filters": {"include_summaries": True}})
    (found,) = [h for h in listing.json()["results"] if h["is_summary"]]
    assert found["covers"] == [a, b]
    assert found["text"] == "Flew to Lisbon on Monday. Lisbon dinner with Ana was great."
    assert found["tags"] == ["food", "trip"] and found["user_id"] == "u"
    assert found["enrichment"]["method"] == "rules"
    assert "extractive" in found["enrichment"]["note"]
    for covered in (a, b):
        row = (await stack.client.get(f"/v1/memories/{covered}")).json()
        assert row["summary_id"] == found["id"] and row["is_summary"] is False
    lone_row = (await stack.client.get(f"/v1/memories/{lone}")).json()
    assert lone_row["summary_id"] is None
    plain = await stack.client.post("/v1/memories/recall",
                                    json={"query": "Lisbon trip", "user_id": "u"})
    assert not any(h["is_summary"] for h in plain.json()["results"])


async def test_a_recalled_cold_row_is_hot_again_after_the_access_update(stack: Stack) -> None:
    """Recall hits are accesses: the track_access task (not the request) makes them hot."""
    row = await _add(stack, "The boiler service is due in October")
    assert stack.services.clock is not None and stack.services.background is not None
    stack.services.clock.advance(8 * 86400)

    async def cold() -> bool:
        return (await _tiers(stack, [row]))[row] == "cold"

    await run_scheduled_until(stack.docket, cold)
    hit = (await stack.client.post("/v1/memories/recall", json={
        "query": "boiler service", "user_id": "u"})).json()["results"][0]
    assert hit["id"] == row and hit["tier"] == "cold"  # as it was before this access
    await stack.services.background.flush_access()

    async def hot() -> bool:
        return (await _tiers(stack, [row]))[row] == "hot"

    await run_scheduled_until(stack.docket, hot)  # track_access runs beside the passes
