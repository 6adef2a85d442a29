"""The official agent-memory-client 0.14.0 against a real uvicorn server: forget and tasks."""

from __future__ import annotations

from datetime import timedelta

import httpx
from agent_memory_client import MemoryAPIClient, MemoryClientConfig
from agent_memory_client.models import ClientMemoryRecord, ForgetPolicy
from redis.asyncio import Redis

from agent_memory.models._types import utcnow
from tests.support.live_server import live_server
from agent_memory.tasks import MemoryDocket, task_collection
from tests.tasks.conftest import drain, task_settings


async def test_forget_long_term_memories_through_the_official_client(
        redis_url: str, redis: Redis) -> None:
    """forget_long_term_memories selects by policy, honours pinned ids and the scope, and
    parses our answer; get_task follows a background pass to success."""
    settings = task_settings(redis_url)
    with live_server(settings) as url:
        client = MemoryAPIClient(MemoryClientConfig(base_url=url, default_namespace="demo"))
        try:
            old = utcnow() - timedelta(days=30)
            await client.create_long_term_memory([
                ClientMemoryRecord(id="old-1", text="an old fact", namespace="demo",
                                   created_at=old, last_accessed=old),
                ClientMemoryRecord(id="old-2", text="another old fact", namespace="demo",
                                   created_at=old, last_accessed=old),
                ClientMemoryRecord(id="new", text="a new fact", namespace="demo"),
                ClientMemoryRecord(id="elsewhere", text="old elsewhere", namespace="other",
                                   created_at=old, last_accessed=old),
            ], deduplicate=False)
            policy = ForgetPolicy(max_age_days=7)
            dry = await client.forget_long_term_memories(policy, namespace="demo", dry_run=True,
                                                         pinned_ids=["old-2"])
            assert (dry.scanned, dry.deleted, dry.deleted_ids, dry.dry_run) == (
                3, 1, ["old-1"], True)
            # Client 0.14.0 sends dry_run only when true, so dry_run=False leaves the server's
            # default (true, as AMS): the call is safe, and deletes nothing.
            unsent = await client.forget_long_term_memories(policy, namespace="demo")
            assert unsent.dry_run is True and sorted(unsent.deleted_ids) == ["old-1", "old-2"]

            async with httpx.AsyncClient(base_url=url) as http:
                started = await http.post(
                    "/v1/long-term-memory/forget",
                    params={"namespace": "demo", "dry_run": "false", "background": "true"},
                    json={"policy": {"max_age_days": 7}, "pinned_ids": ["old-2"]})
            task_id = started.json()["task_id"]
            task = await client.get_task(task_id)
            assert task is not None and task.id == task_id and task.type == "forget"
            assert task.status in ("pending", "running", "success")
            # A worker of its own (as `agent-memory worker` would be) runs the pass.
            async with MemoryDocket(settings, task_collection) as docket:
                await drain(docket)
            done = await client.get_task(task_id)
            assert done is not None and done.status == "success" and done.completed_at
            left = await client.forget_long_term_memories(ForgetPolicy(budget=0), namespace="demo",
                                                          dry_run=True)
            assert sorted(left.deleted_ids) == ["new", "old-2"]
            assert await client.get_task("no-such-task") is None
        finally:
            await client.close()
