"""Background work started by a bound caller stays inside its bounds, when a worker runs it."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from redis.asyncio import Redis

from agent_memory.auth import issue_token
from agent_memory.storage.auth_tokens import TokenStore
from tests.auth.conftest import bearer, require_route
from tests.tasks.conftest import Stack, drain, open_stack, task_settings


@pytest.fixture
async def stack(redis_url: str, redis: Redis) -> AsyncIterator[Stack]:
    require_route("GET", "/v1/long-term-memory/x")
    async with open_stack(task_settings(redis_url, auth_mode="token")) as running:
        yield running


async def _tokens(redis: Redis) -> tuple[dict[str, str], dict[str, str], dict[str, str]]:
    store = TokenStore(redis)
    a, _ = await issue_token(store, description="a", namespaces=["tenant-a"])
    b, _ = await issue_token(store, description="b", namespaces=["tenant-b"])
    admin, _ = await issue_token(store, description="admin", admin=True)
    return bearer(a), bearer(b), bearer(admin)


async def _create(stack: Stack, headers: dict[str, str], texts: list[str]) -> list[str]:
    response = await stack.client.post("/v1/long-term-memory/", headers=headers, json={
        "memories": [{"text": t} for t in texts], "deduplicate": False})
    assert response.status_code == 200, response.text
    return response.json()["ids"]


async def test_background_forget_deletes_only_the_callers_memories(stack: Stack,
                                                                    redis: Redis) -> None:
    """B's background forget of "everything" deletes B's memories; A's and unscoped ones stay,
    and only B can read the task's status."""
    require_route("POST", "/v1/long-term-memory/forget")
    require_route("GET", "/v1/tasks/x")
    a, b, admin = await _tokens(redis)
    a_ids = await _create(stack, a, ["a one", "a two"])
    b_ids = await _create(stack, b, ["b one", "b two"])
    loose = await _create(stack, admin, ["no namespace at all"])
    started = await stack.client.post(
        "/v1/long-term-memory/forget", headers=b,
        params={"dry_run": "false", "background": "true"}, json={"policy": {"max_age_days": 0}})
    assert started.status_code == 200, started.text
    task_id = started.json()["task_id"]
    assert task_id

    await drain(stack.docket)

    status = await stack.client.get(f"/v1/tasks/{task_id}", headers=b)
    assert status.status_code == 200 and status.json()["status"] == "success", status.text
    assert (await stack.client.get(f"/v1/tasks/{task_id}", headers=a)).status_code == 404
    for memory_id in b_ids:
        assert (await stack.client.get(f"/v1/long-term-memory/{memory_id}",
                                       headers=admin)).status_code == 404
    for memory_id in a_ids + loose:
        assert (await stack.client.get(f"/v1/long-term-memory/{memory_id}",
                                       headers=admin)).status_code == 200


async def test_promotion_keeps_the_sessions_scope(stack: Stack, redis: Redis) -> None:
    """Structured memories B puts in its session, even naming A's namespace and user, are
    promoted into B's namespace."""
    a, b, admin = await _tokens(redis)
    put = await stack.client.put("/v1/working-memory/s1", headers=b, json={
        "messages": [],
        "memories": [{"id": "planted", "text": "planted into a", "namespace": "tenant-a",
                      "user_id": "alice"}],
    })
    assert put.status_code == 200, put.text

    await drain(stack.docket)

    promoted = await stack.client.get("/v1/long-term-memory/planted", headers=admin)
    assert promoted.status_code == 200, promoted.text
    assert promoted.json()["namespace"] == "tenant-b"
    assert (await stack.client.get("/v1/long-term-memory/planted", headers=a)).status_code == 404
    found = await stack.client.post("/v1/long-term-memory/search", headers=a,
                                    json={"text": "planted into a"})
    assert found.status_code == 200 and found.json()["memories"] == []
