"""A working-memory PUT arms promotion in its own round trip, once, with a real Docket."""

from __future__ import annotations

from typing import Any

import pytest
from docket.testing import assert_task_count
from redis.asyncio import Redis

from agent_memory.services.promotion import PROMOTE_TASK
from agent_memory.storage.keys import promotion_armed_key
from agent_memory.storage.mux import Mux
from tests.tasks.conftest import Stack, all_memories, drain, open_stack, task_settings


def _body(n: int, prefix: str = "m") -> dict[str, Any]:
    return {"namespace": "ns", "user_id": "u",
            "messages": [{"role": "user", "content": f"{prefix} message {i} about tea",
                          "id": f"{prefix}{i}"} for i in range(n)]}


class _Trips:
    """Counts the round trips the shared connection makes (the real Mux underneath)."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch) -> None:
        self.count = 0
        for name in ("execute", "batch", "replies"):
            original = getattr(Mux, name)

            async def counted(mux: Mux, *args: Any, _original: Any = original,
                              **kwargs: Any) -> Any:
                self.count += 1
                return await _original(mux, *args, **kwargs)

            monkeypatch.setattr(Mux, name, counted)


async def _task_status(stack: Stack, task_id: str) -> str:
    return (await stack.client.get(f"/v1/tasks/{task_id}")).json()["status"]


async def test_a_put_schedules_promotion_in_its_own_round_trip(
        redis_url: str, redis: Redis, monkeypatch: pytest.MonkeyPatch) -> None:
    """The first PUT of a session stores it, sets the marker, schedules the task and records
    its pending status in one round trip; the next turn (within half a debounce) is one
    round trip too and schedules nothing more: one task, one run, every message promoted."""
    async with open_stack(task_settings(redis_url, extraction_debounce_seconds=2)) as stack:
        # Scripts loaded, connection made (a cold PUT loads them: two more trips).
        await stack.client.put("/v1/working-memory/warm", json=_body(1))
        trips = _Trips(monkeypatch)
        first = await stack.client.put("/v1/working-memory/s", json=_body(2))
        assert first.status_code == 200
        assert trips.count == 1
        marker = promotion_armed_key("ns", "u", "s")
        assert 0 < await redis.pttl(marker) <= 1_000
        await assert_task_count(stack.docket, PROMOTE_TASK, count=2)  # and "warm"'s
        assert await _task_status(stack, first.headers["x-promotion-task"]) == "pending"

        trips.count = 0
        second = await stack.client.put("/v1/working-memory/s", json=_body(4))
        assert second.status_code == 200 and trips.count == 1
        await assert_task_count(stack.docket, PROMOTE_TASK, count=2)
        # The first write's schedule rode with it; the second found the marker set and
        # scheduled nothing (a schedule would have been a round trip of its own).
        await drain(stack.docket)
        assert len(await all_memories(stack.services)) == 5
        assert await _task_status(stack, first.headers["x-promotion-task"]) == "success"


async def test_a_put_after_a_flushed_script_cache_is_written_and_scheduled_once(
        redis_url: str, redis: Redis) -> None:
    """Redis forgot every script (restart, SCRIPT FLUSH): the replace and the Docket script
    are loaded and each runs once (the version moves by one), one task is scheduled."""
    async with open_stack(task_settings(redis_url, extraction_debounce_seconds=2)) as stack:
        await stack.client.get("/v1/health")
        await redis.script_flush()
        put = await stack.client.put("/v1/working-memory/s", json=_body(2))
        assert put.status_code == 200 and put.headers["etag"] == '"1"'
        await assert_task_count(stack.docket, PROMOTE_TASK, count=1)
        assert await _task_status(stack, put.headers["x-promotion-task"]) == "pending"
        await drain(stack.docket)
        assert len(await all_memories(stack.services)) == 2


async def test_a_refused_if_match_put_schedules_nothing(redis_url: str, redis: Redis) -> None:
    """With If-Match the schedule does not ride along: a 412 leaves no task, no marker and
    no pending status behind."""
    async with open_stack(task_settings(redis_url, extraction_debounce_seconds=2)) as stack:
        refused = await stack.client.put("/v1/working-memory/s", json=_body(2),
                                         headers={"If-Match": '"7"'})
        assert refused.status_code == 412
        await assert_task_count(stack.docket, PROMOTE_TASK, count=0)
        assert not await redis.exists(promotion_armed_key("ns", "u", "s"))
        task = await stack.client.get(f"/v1/tasks/{refused.headers.get('x-promotion-task', 'x')}")
        assert task.status_code == 404

        created = await stack.client.put("/v1/working-memory/s", json=_body(2),
                                         headers={"If-Match": "*"})
        assert created.status_code == 412  # "*" needs an existing session
        ok = await stack.client.put("/v1/working-memory/s", json=_body(2))
        matched = await stack.client.put("/v1/working-memory/s", json=_body(3),
                                         headers={"If-Match": ok.headers["etag"]})
        assert matched.status_code == 200
        await assert_task_count(stack.docket, PROMOTE_TASK, count=1)


async def test_a_session_scheduled_by_another_process_is_still_promoted_once(
        redis_url: str, redis: Redis) -> None:
    """Two API processes writing one session each carry a schedule the first time they see
    it (the second moves the same keyed task later): still one task and one run."""
    settings = task_settings(redis_url, extraction_debounce_seconds=2)
    async with open_stack(settings) as one, open_stack(settings) as two:
        await one.client.put("/v1/working-memory/s", json=_body(2))
        await two.client.put("/v1/working-memory/s", json=_body(3))
        await assert_task_count(one.docket, PROMOTE_TASK, count=1)
        await drain(one.docket)
        assert len(await all_memories(one.services)) == 3


async def test_a_put_scheduled_from_the_template_is_run_by_dockets_worker(
        redis_url: str, redis: Redis, monkeypatch: pytest.MonkeyPatch) -> None:
    """The schedule a PUT sends comes from the checked template (Docket's own builder is
    not called), and a real worker runs it: the session is promoted, its status success."""
    from docket import Execution

    built: list[str] = []
    original = Execution._schedule_script_args

    def counted(self: Execution, *args: Any, **kwargs: Any) -> Any:
        built.append(self.key)
        return original(self, *args, **kwargs)

    monkeypatch.setattr(Execution, "_schedule_script_args", counted)
    async with open_stack(task_settings(redis_url, extraction_debounce_seconds=0.2)) as stack:
        built.clear()  # the start-up check builds Docket's commands for its samples
        put = await stack.client.put("/v1/working-memory/t", json=_body(3))
        assert put.status_code == 200
        assert built == []
        await assert_task_count(stack.docket, PROMOTE_TASK, count=1)
        assert await _task_status(stack, put.headers["x-promotion-task"]) == "pending"
        await drain(stack.docket)
        assert len(await all_memories(stack.services)) == 3
        assert await _task_status(stack, put.headers["x-promotion-task"]) == "success"
