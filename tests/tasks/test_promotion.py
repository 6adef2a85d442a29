"""Promotion after working-memory writes, with a real worker on the real Redis."""

from __future__ import annotations

import pytest
from redis.asyncio import Redis
from docket.testing import assert_task_count

from agent_memory.errors import NotFound
from agent_memory.principal import Principal
from agent_memory.services.promotion import PROMOTE_TASK
from agent_memory.storage.keys import promotion_armed_key, promotion_key
from tests.tasks.conftest import Stack, all_memories, drain, open_stack, task_settings


def _msgs(n: int, prefix: str = "m") -> list[dict[str, str]]:
    return [{"role": "user" if i % 2 == 0 else "assistant",
             "content": f"{prefix} message number {i} about tea", "id": f"{prefix}{i}"}
            for i in range(n)]


async def test_structured_memories_are_promoted_once(stack: Stack) -> None:
    """Client memories land in long-term memory with the session scope, are flagged
    persisted, and a second run adds nothing."""
    body = {"namespace": "ns", "user_id": "u1",
            "memories": [{"id": "mem-1", "text": "user likes green tea",
                          "memory_type": "semantic", "namespace": "elsewhere"}]}
    assert (await stack.client.put("/v1/working-memory/s1", json=body)).status_code == 200
    await drain(stack.docket)
    found = await all_memories(stack.services)
    assert [(m.id, m.namespace, m.user_id, m.session_id) for m in found] == [
        ("mem-1", "ns", "u1", "s1")]  # the session's scope wins over the record's own
    session = (await stack.client.get("/v1/working-memory/s1",
                                      params={"namespace": "ns", "user_id": "u1"})).json()
    assert session["memories"][0]["persisted_at"] is not None
    # The next write schedules nothing for memories already persisted; a forced run is a no-op.
    await stack.services.background.promotion.promote("ns", "u1", "s1")  # type: ignore[union-attr]
    assert len(await all_memories(stack.services)) == 1


async def test_without_model_messages_become_message_memories(stack: Stack) -> None:
    """No model configured: promotion indexes messages as `message` memories, keeps their
    scope, flags them persisted, and nothing fails."""
    body = {"namespace": "ns", "user_id": "u1", "messages": _msgs(3)}
    await stack.client.put("/v1/working-memory/s1", json=body)
    await drain(stack.docket)
    found = sorted(await all_memories(stack.services), key=lambda m: m.created_at)
    assert [m.memory_type.value for m in found] == ["message"] * 3
    assert [m.text for m in found] == [f"{r['role']}: {r['content']}" for r in _msgs(3)]
    assert {(m.namespace, m.user_id, m.session_id) for m in found} == {("ns", "u1", "s1")}
    assert [m.extracted_from for m in found] == [["m0"], ["m1"], ["m2"]]
    session = (await stack.client.get("/v1/working-memory/s1",
                                      params={"namespace": "ns", "user_id": "u1"})).json()
    assert all(m["persisted_at"] is not None for m in session["messages"])
    # Re-sending the same messages (the AMS client's GET+PUT) creates no duplicates.
    await stack.client.put("/v1/working-memory/s1", json={**body, "messages": session["messages"]})
    await drain(stack.docket)
    assert len(await all_memories(stack.services)) == 3


async def test_writes_are_debounced_per_tenant(stack: Stack) -> None:
    """Writes within the debounce re-arm one task per (namespace, user, session); the same
    session id in another namespace gets its own task."""
    for i in range(3):
        await stack.client.post("/v1/working-memory/s/messages",
                                json={"namespace": "a", "messages": _msgs(1, f"a{i}-")})
    await stack.client.post("/v1/working-memory/s/messages",
                            json={"namespace": "b", "messages": _msgs(1, "b")})
    await assert_task_count(stack.docket, PROMOTE_TASK, count=2)
    execution = await stack.docket.get_execution(promotion_key("a", None, "s"))
    assert execution is not None
    await drain(stack.docket)
    assert len(await all_memories(stack.services, namespace="a")) == 3
    assert len(await all_memories(stack.services, namespace="b")) == 1
    await assert_task_count(stack.docket, PROMOTE_TASK, count=0)


async def test_nothing_to_promote_schedules_nothing(stack: Stack) -> None:
    """A session of already-persisted content does not enqueue promotion."""
    await stack.client.put("/v1/working-memory/s", json={"data": {"k": 1}})
    await assert_task_count(stack.docket, PROMOTE_TASK, count=0)


async def test_a_second_run_of_a_session_waits_for_the_first(stack: Stack) -> None:
    """While one run holds a session's lease, another attempt does nothing but re-arm
    the task; once the lease is free the re-armed run promotes everything."""
    background = stack.services.background
    assert background is not None
    promotion = background.promotion
    await stack.client.put("/v1/working-memory/s", json={"namespace": "a",
                                                        "messages": _msgs(2)})
    async with promotion.store.session_lease("a", None, "s", "first-run") as held:
        assert held
        assert await promotion.run("a", None, "s", token="second-run") is None
        assert await all_memories(stack.services) == []
        await assert_task_count(stack.docket, PROMOTE_TASK, count=1)
    await drain(stack.docket)
    assert len(await all_memories(stack.services)) == 2


async def test_promotion_reports_its_status(stack: Stack) -> None:
    """Writes name their session's promotion task (X-Promotion-Task); it is pending until
    the debounced run, then success; another tenant cannot read it."""
    put = await stack.client.put("/v1/working-memory/s", json={"namespace": "ns",
                                                              "messages": _msgs(1)})
    task_id = put.headers["x-promotion-task"]
    pending = (await stack.client.get(f"/v1/tasks/{task_id}")).json()
    assert pending["type"] == "promotion" and pending["status"] == "pending"
    await drain(stack.docket)
    done = (await stack.client.get(f"/v1/tasks/{task_id}")).json()
    assert done["status"] == "success" and done["started_at"] and done["completed_at"]
    background = stack.services.background
    assert background is not None
    with pytest.raises(NotFound):
        await background.task(Principal("x", namespaces=frozenset({"other"})), task_id)
    appended = await stack.client.post("/v1/working-memory/s/messages",
                                       json={"namespace": "ns", "messages": _msgs(1, "z")})
    assert appended.headers["x-promotion-task"] == task_id
    assert (await stack.client.get(f"/v1/tasks/{task_id}")).json()["status"] == "pending"


async def test_an_append_sets_the_promotion_marker_in_its_own_round_trip(
        redis_url: str, redis: Redis) -> None:
    """The append script sets the session's marker (SET NX, half the debounce) when it adds
    messages promotion must handle; the request then schedules the task once. Messages
    already persisted and extracted set nothing."""
    marker = promotion_armed_key("ns", "u", "s")
    done = {"role": "user", "content": "old news", "id": "done",
            "persisted_at": "2026-01-01T00:00:00Z", "discrete_memory_extracted": "t"}
    async with open_stack(task_settings(redis_url, extraction_debounce_seconds=20)) as stack:
        await stack.client.post("/v1/working-memory/s/messages",
                                json={"namespace": "ns", "user_id": "u", "messages": [done]})
        assert not await redis.exists(marker)
        await assert_task_count(stack.docket, PROMOTE_TASK, count=0)

        await stack.client.post("/v1/working-memory/s/messages",
                                json={"namespace": "ns", "user_id": "u", "messages": _msgs(1)})
        debounce_ms = stack.services.settings.extraction_debounce_seconds * 1000
        assert 0 < await redis.pttl(marker) <= debounce_ms / 2
        await assert_task_count(stack.docket, PROMOTE_TASK, count=1)
