"""Summary views (AMS routes 14-20) against the real Redis, a real worker and the stub model."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
from agent_memory_client import MemoryAPIClient, MemoryClientConfig
from agent_memory_client.models import CreateSummaryViewRequest
from redis.asyncio import Redis

from agent_memory.auth import issue_token
from agent_memory.services.summary_views import CONTINUOUS_KEY, CONTINUOUS_TASK
from agent_memory.storage.auth_tokens import TokenStore
from agent_memory.storage.keys import summary_partitions_key
from tests.auth.conftest import bearer, serve
from tests.conftest import make_settings
from tests.support.live_server import live_server
from tests.support.stub_openai import StubOpenAI
from tests.tasks.conftest import drain, open_stack, task_settings, worker_on

VIEWS = "/v1/summary-views"
MEMORIES = [
    {"id": "a1", "text": "alice drinks green tea", "user_id": "alice", "namespace": "n",
     "memory_type": "semantic"},
    {"id": "a2", "text": "alice lives in Lisbon", "user_id": "alice", "namespace": "n",
     "memory_type": "semantic"},
    {"id": "a3", "text": "alice met bob on Monday", "user_id": "alice", "namespace": "n",
     "memory_type": "episodic"},
    {"id": "b1", "text": "bob sails a small boat", "user_id": "bob", "namespace": "n",
     "memory_type": "semantic"},
    {"id": "x1", "text": "someone elsewhere", "user_id": "alice", "namespace": "other",
     "memory_type": "semantic"},
]


async def _seed(client: httpx.AsyncClient, headers: dict[str, str] | None = None) -> None:
    created = await client.post("/v1/long-term-memory/", headers=headers,
                                json={"memories": MEMORIES, "deduplicate": False})
    assert created.status_code == 200, created.text


async def _view(client: httpx.AsyncClient, **fields: Any) -> dict[str, Any]:
    body = {"name": "per user", "source": "long_term", "group_by": ["user_id"],
            "filters": {"namespace": "n"}, **fields}
    response = await client.post(VIEWS, json=body)
    assert response.status_code == 200, response.text
    return response.json()


async def test_crud_and_validation(client: httpx.AsyncClient) -> None:
    """Create, list, get, delete; AMS's 400 for working_memory; 422 for unknown fields."""
    view = await _view(client)
    assert view["id"] and view["group_by"] == ["user_id"] and view["continuous"] is False
    assert [v["id"] for v in (await client.get(VIEWS)).json()] == [view["id"]]
    assert (await client.get(f"{VIEWS}/{view['id']}")).json() == view
    assert (await client.delete(f"{VIEWS}/{view['id']}")).json() == {"status": "ok"}
    assert (await client.get(f"{VIEWS}/{view['id']}")).status_code == 404
    bad = await client.post(VIEWS, json={"source": "working_memory", "group_by": []})
    assert bad.status_code == 400
    for body in ({"source": "long_term", "group_by": ["text"]},
                 {"source": "long_term", "filters": {"vector": "x"}},
                 {"source": "long_term", "filters": {"memory_type": "dream"}},
                 {"source": "long_term", "time_window_days": 0}):
        assert (await client.post(VIEWS, json=body)).status_code == 422, body


async def test_partition_run_is_extractive_without_a_model(client: httpx.AsyncClient,
                                                           redis: Redis) -> None:
    """One partition summarizes exactly its group's memories within the view's filters; the
    result is stored, listed with filters, and removed with the view."""
    await _seed(client)
    view = await _view(client, filters={"namespace": "n", "memory_type": "semantic"})
    run = await client.post(f"{VIEWS}/{view['id']}/partitions/run",
                            json={"group": {"user_id": "alice"}})
    assert run.status_code == 200, run.text
    result = run.json()
    assert result["group"] == {"user_id": "alice"} and result["memory_count"] == 2
    assert "alice drinks green tea" in result["summary"] and "Lisbon" in result["summary"]
    assert "bob" not in result["summary"] and "elsewhere" not in result["summary"]
    empty = (await client.post(f"{VIEWS}/{view['id']}/partitions/run",
                               json={"group": {"user_id": "carol"}})).json()
    assert empty["empty"] is True and empty["memory_count"] == 0 and empty["summary"] == ""
    mismatch = await client.post(f"{VIEWS}/{view['id']}/partitions/run",
                                 json={"group": {"namespace": "n"}})
    assert mismatch.status_code == 400
    listed = (await client.get(f"{VIEWS}/{view['id']}/partitions",
                               params={"user_id": "alice"})).json()
    assert [p["group"] for p in listed] == [{"user_id": "alice"}]
    assert len((await client.get(f"{VIEWS}/{view['id']}/partitions")).json()) == 2
    await client.delete(f"{VIEWS}/{view['id']}")
    assert await redis.exists(summary_partitions_key(view["id"])) == 0


async def test_full_run_is_a_task_done_by_a_worker(redis_url: str, redis: Redis) -> None:
    """``/run`` answers a pending AMS Task; a real worker computes every partition and the
    task status moves to success."""
    async with open_stack(task_settings(redis_url)) as stack:
        await _seed(stack.client)
        view = await _view(stack.client)
        started = await stack.client.post(f"{VIEWS}/{view['id']}/run", json={"force": True})
        assert started.status_code == 200, started.text
        task = started.json()
        assert task["type"] == "summary_view_full_run" and task["status"] == "pending"
        assert task["view_id"] == view["id"]
        await drain(stack.docket)
        done = (await stack.client.get(f"/v1/tasks/{task['id']}")).json()
        assert done["status"] == "success" and done["completed_at"]
        parts = (await stack.client.get(f"{VIEWS}/{view['id']}/partitions")).json()
        assert {p["group"]["user_id"]: p["memory_count"] for p in parts} == {"alice": 3, "bob": 1}
        named = await stack.client.post(f"{VIEWS}/{view['id']}/run", json={"task_id": "mine-1"})
        assert named.json()["id"] == "mine-1"
        reused = await stack.client.post(f"{VIEWS}/{view['id']}/run", json={"task_id": "mine-1"})
        assert reused.status_code == 400  # a finished task's status is never overwritten


async def test_continuous_views_refresh_on_their_own(redis_url: str, redis: Redis) -> None:
    """Creating a continuous view schedules the periodic refresh (once, however many views);
    a worker recomputes continuous views only, and the task stops when none is left."""
    async with open_stack(task_settings(redis_url)) as stack:
        await _seed(stack.client)
        live = await _view(stack.client, continuous=True)
        await _view(stack.client, continuous=True, group_by=["memory_type"])
        still = await _view(stack.client)
        async with worker_on(stack.docket) as worker:
            await worker.run_at_most({CONTINUOUS_KEY: 1})
        parts = (await stack.client.get(f"{VIEWS}/{live['id']}/partitions")).json()
        assert {p["group"]["user_id"] for p in parts} == {"alice", "bob"}
        assert (await stack.client.get(f"{VIEWS}/{still['id']}/partitions")).json() == []
        for view in (await stack.client.get(VIEWS)).json():
            await stack.client.delete(f"{VIEWS}/{view['id']}")
        await stack.docket.add(CONTINUOUS_TASK, key=CONTINUOUS_KEY)()
        async with worker_on(stack.docket) as worker:
            running = asyncio.create_task(worker.run_until_finished())
            done, _ = await asyncio.wait({running}, timeout=10)
            running.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await running
        # A refresh that rescheduled itself would keep the worker waiting for an hour.
        assert done, "the refresh kept itself scheduled with no continuous view left"


@pytest.fixture
async def llm_client(redis_url: str, redis: Redis,
                     stub_openai: StubOpenAI) -> AsyncIterator[httpx.AsyncClient]:
    settings = make_settings(redis_url, openai_api_base=stub_openai.base_url, use_docket=False)
    async with serve(settings) as http:
        yield http


async def test_model_writes_the_summary_with_the_views_prompt(
    llm_client: httpx.AsyncClient, stub_openai: StubOpenAI,
) -> None:
    """With a model configured the view's prompt and the partition's memories go to it once;
    without Docket a full run completes inside the request."""
    await _seed(llm_client)
    stub_openai.default_reply = "Alice likes tea and lives in Lisbon."
    view = await _view(llm_client, prompt="Describe this person.", model_name="tiny-model")
    result = (await llm_client.post(f"{VIEWS}/{view['id']}/partitions/run",
                                    json={"group": {"user_id": "alice"}})).json()
    assert result["summary"] == "Alice likes tea and lives in Lisbon."
    (sent,) = stub_openai.chat_requests()
    assert sent["model"] == "tiny-model"
    text = sent["messages"][0]["content"]
    assert text.startswith("Describe this person.") and "alice met bob on Monday" in text
    assert "bob sails" not in text
    run = (await llm_client.post(f"{VIEWS}/{view['id']}/run", json={})).json()
    assert run["status"] == "success"
    assert (await llm_client.get(f"/v1/tasks/{run['id']}")).json()["status"] == "success"


async def test_bounded_tokens_are_refused(redis_url: str, redis: Redis) -> None:
    """Views span tenants: a token bound to one namespace gets 403 on every route."""
    store = TokenStore(redis)
    admin, _ = await issue_token(store, description="admin", admin=True)
    bound, _ = await issue_token(store, description="bound", namespaces=["n"])
    async with serve(make_settings(redis_url, auth_mode="token")) as http:
        created = await http.post(VIEWS, headers=bearer(admin), json={
            "source": "long_term", "group_by": ["user_id"]})
        assert created.status_code == 200, created.text
        view_id = created.json()["id"]
        for method, path, body in (
            ("GET", VIEWS, None), ("POST", VIEWS, {"source": "long_term"}),
            ("GET", f"{VIEWS}/{view_id}", None), ("DELETE", f"{VIEWS}/{view_id}", None),
            ("POST", f"{VIEWS}/{view_id}/partitions/run", {"group": {"user_id": "a"}}),
            ("GET", f"{VIEWS}/{view_id}/partitions", None),
            ("POST", f"{VIEWS}/{view_id}/run", {}),
        ):
            response = await http.request(method, path, json=body, headers=bearer(bound))
            assert response.status_code == 403, (method, path, response.text)


async def test_official_client_calls(redis_url: str, redis: Redis) -> None:
    """agent-memory-client 0.14.0's summary-view and task calls work unchanged over HTTP."""
    with live_server(task_settings(redis_url)) as url:
        client = MemoryAPIClient(MemoryClientConfig(base_url=url))
        try:
            async with httpx.AsyncClient(base_url=url) as http:
                await _seed(http)
            view = await client.create_summary_view(CreateSummaryViewRequest(
                name="per user", source="long_term", group_by=["user_id"],
                filters={"namespace": "n"}))
            assert [v.id for v in await client.list_summary_views()] == [view.id]
            assert (await client.get_summary_view(view.id)).name == "per user"
            part = await client.run_summary_view_partition(view.id, {"user_id": "bob"})
            assert part.memory_count == 1 and "bob sails a small boat" in part.summary
            listed = await client.list_summary_view_partitions(view.id, user_id="bob")
            assert [p.group for p in listed] == [{"user_id": "bob"}]
            task = await client.run_summary_view(view.id, force=True)
            assert task.status == "pending" and task.view_id == view.id
            assert (await client.get_task(task.id)).status == "pending"
            assert (await client.delete_summary_view(view.id)).status == "ok"
            assert await client.get_summary_view(view.id) is None
        finally:
            await client.close()
