"""Access tracking, bounded compaction, and the periodic jobs running on their own."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from datetime import timedelta

import pytest
from redis.asyncio import Redis

from agent_memory.models._types import utcnow
from agent_memory.models.records import MemoryRecord
from agent_memory.services import dedup
from tests.support.wait import wait_until
from tests.tasks.conftest import Stack, all_memories, drain, open_stack, task_settings, worker_on


def _rec(memory_id: str, text: str = "the user likes tea", **extra: object) -> MemoryRecord:
    return MemoryRecord(id=memory_id, text=text, namespace="ns", user_id="u",
                        memory_type="semantic", **extra)  # type: ignore[arg-type]


async def test_search_hits_update_access_once_per_interval(stack: Stack) -> None:
    """Searches enqueue one coalesced task; it bumps access_count and last_accessed once
    per LAST_ACCESSED_INTERVAL_SECONDS however many searches hit the memory."""
    long_term = stack.services.long_term
    assert long_term is not None
    # Read an hour ago: due for an update (a memory read within the interval is not).
    await long_term.index_records([_rec("a", last_accessed=utcnow() - timedelta(hours=1))])
    (before,) = await long_term.store.get_many(["a"])
    for _ in range(3):
        response = await stack.client.post("/v1/long-term-memory/search",
                                           json={"text": "tea", "namespace": {"eq": "ns"}})
        assert [m["id"] for m in response.json()["memories"]] == ["a"]
    await stack.services.background.flush_access()  # what the process does 0.25 s later
    await drain(stack.docket)
    (after,) = await long_term.store.get_many(["a"])
    assert before is not None and after is not None
    assert after.access_count == before.access_count + 1
    assert after.last_accessed > before.last_accessed
    await stack.client.post("/v1/long-term-memory/search", json={"text": "tea"})
    await stack.services.background.flush_access()
    await drain(stack.docket)
    (again,) = await long_term.store.get_many(["a"])
    assert again is not None and again.access_count == after.access_count  # within 900 s


async def test_a_burst_of_searches_schedules_one_flush_that_covers_them_all(
        stack: Stack, redis: Redis) -> None:
    """Searches within one flush window enqueue the flush task once; it still updates every
    memory any of them returned."""
    long_term = stack.services.long_term
    assert long_term is not None
    hour_ago = utcnow() - timedelta(hours=1)
    await long_term.index_records([_rec("tea", "the user likes tea", last_accessed=hour_ago),
                                   _rec("jazz", "the user plays jazz piano", last_accessed=hour_ago)])
    for text in ("tea", "jazz", "tea", "jazz"):
        response = await stack.client.post("/v1/long-term-memory/search", json={"text": text})
        assert response.json()["memories"][0]["id"] == text
    await stack.services.background.flush_access()
    executions = await stack.docket.snapshot()
    flushes = [e for e in [*executions.future, *executions.running] if e.key == "access-flush"]
    assert len(flushes) == 1
    await drain(stack.docket)
    for memory in await long_term.store.get_many(["tea", "jazz"]):
        assert memory is not None and memory.access_count == 1


async def test_buffered_access_ids_are_noted_without_an_explicit_flush(
        stack: Stack, redis: Redis) -> None:
    """A search costs no Redis round trip for access tracking: the process notes the ids
    a moment later, on its own, and arms the flush task."""
    long_term = stack.services.long_term
    assert long_term is not None
    await long_term.index_records([_rec("a", last_accessed=utcnow() - timedelta(hours=1))])
    await redis.config_resetstat()
    response = await stack.client.post("/v1/long-term-memory/search", json={"text": "tea"})
    assert [m["id"] for m in response.json()["memories"]] == ["a"]
    assert "cmdstat_sadd" not in await redis.info("commandstats")  # nothing on the request path

    async def noted() -> bool:
        executions = await stack.docket.snapshot()
        return any(e.key == "access-flush" for e in executions.future)
    await wait_until(noted, timeout=5)
    await drain(stack.docket)
    (after,) = await long_term.store.get_many(["a"])
    assert after is not None and after.access_count == 1


async def test_compaction_only_looks_at_what_changed(stack: Stack) -> None:
    """Old duplicates that did not change since the last run are left alone; a new
    duplicate brings its whole hash group in, and only the oldest survives."""
    background = stack.services.background
    long_term = stack.services.long_term
    assert background is not None and background.compaction is not None and long_term
    day_ago = utcnow() - timedelta(days=1)
    old = [_rec(i, created_at=day_ago - timedelta(minutes=n), updated_at=day_ago)
           for n, i in enumerate(["old1", "old2"])]
    vectors = await long_term.embedder.embed([r.text for r in old])
    await long_term.store.write([r.model_copy(update={"memory_hash": dedup.memory_hash(r)})
                                 for r in old], vectors)
    await background.compaction.watermark.set((utcnow() - timedelta(hours=1)).timestamp())
    first = await background.compaction.run()
    assert first.changed == 0 and first.hash_duplicates == []
    await long_term.index_records([_rec("new")], deduplicate=False)
    second = await background.compaction.run()
    assert second.changed == 1
    assert sorted(second.hash_duplicates) == ["new", "old1"]
    assert [m.id for m in await all_memories(stack.services)] == ["old2"]


async def test_semantic_compaction_removes_the_newer_near_duplicate(
        redis_url: str, redis: Redis) -> None:
    """With COMPACT_SEMANTIC_DUPLICATES a changed memory close to an older one goes."""
    settings = task_settings(redis_url, compact_semantic_duplicates=True,
                             deduplication_distance_threshold=0.2)
    async with open_stack(settings) as stack:
        long_term = stack.services.long_term
        background = stack.services.background
        assert long_term is not None and background and background.compaction
        now = utcnow()
        await long_term.index_records([
            _rec("first", "the user likes green tea a lot", created_at=now - timedelta(hours=1)),
            _rec("second", "the user likes green tea a lot!", created_at=now),
            _rec("other", "meeting with Carla on Friday about the budget"),
        ], deduplicate=False)
        result = await background.compaction.run()
        assert result.semantic_duplicates == ["second"]
        assert {m.id for m in await all_memories(stack.services)} == {"first", "other"}


@pytest.fixture
async def periodic_stack(redis_url: str, redis: Redis) -> AsyncIterator[Stack]:
    settings = task_settings(redis_url, forgetting_enabled=True, forgetting_max_age_days=5,
                             forgetting_every_minutes=0.005, compaction_every_minutes=0.005,
                             forgetting_namespace_policies={"keep": {"max_age_days": 100}})
    async with open_stack(settings) as running:
        yield running


async def test_periodic_forgetting_and_compaction_run_on_their_own(
        periodic_stack: Stack) -> None:
    """A worker seeds the perpetual jobs itself; with FORGETTING_* set, old memories go
    without any request, per-namespace policies apply, and duplicates are compacted."""
    long_term = periodic_stack.services.long_term
    assert long_term is not None
    ten_days_ago = utcnow() - timedelta(days=10)
    await long_term.index_records([
        _rec("old", "an old memory", created_at=ten_days_ago),
        _rec("kept", "an old memory elsewhere", created_at=ten_days_ago).model_copy(
            update={"namespace": "keep"}),
        _rec("fresh", "a fresh memory"),
        _rec("dup1", "a duplicated memory"),
        _rec("dup2", "a duplicated memory"),
    ], deduplicate=False)
    async with worker_on(periodic_stack.docket, automatic=True) as worker:
        running = asyncio.create_task(worker.run_forever())
        try:
            async def settled() -> bool:
                ids = {m.id for m in await all_memories(periodic_stack.services)}
                return ids == {"kept", "fresh", "dup1"} or ids == {"kept", "fresh", "dup2"}

            await wait_until(settled, timeout=20)
        finally:
            running.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await running


async def test_compaction_on_request_in_background_reports_status(stack: Stack) -> None:
    """POST /compact?background=true answers at once with a task id; a worker compacts the
    caller's scope and the task ends in success."""
    long_term = stack.services.long_term
    assert long_term is not None
    await long_term.index_records([_rec("d1", "same words"), _rec("d2", "same words"),
                                   _rec("x1", "same words").model_copy(update={"namespace": "b"})],
                                  deduplicate=False)
    response = await stack.client.post("/v1/long-term-memory/compact",
                                       params={"namespace": "ns", "background": "true"})
    assert response.status_code == 200, response.text
    task_id = response.json()["task_id"]
    assert task_id in response.json()["status"]
    assert (await stack.client.get(f"/v1/tasks/{task_id}")).json()["status"] == "pending"
    await drain(stack.docket)
    task = (await stack.client.get(f"/v1/tasks/{task_id}")).json()
    assert task["type"] == "compact" and task["status"] == "success"
    remaining = {m.id for m in await all_memories(stack.services)}
    assert len(remaining & {"d1", "d2"}) == 1 and "x1" in remaining  # other namespace untouched
