"""Users and containers are real records; the ingestion store erases a user completely."""

from __future__ import annotations

import copy

import httpx
from asgi_lifespan import LifespanManager
from redis.asyncio import Redis

from agent_memory.app import create_app
from tests.conftest import make_settings
from tests.ingestion.conftest import INGESTION_EXAMPLE, PROCESS_EXAMPLE
from tests.tasks.conftest import Stack, drain


async def test_users_and_containers_are_listed(stack: Stack) -> None:
    """created_containers names only the containers this call created; GET shows all of
    them with their types; the user list pages."""
    await stack.client.post("/v1/process", json=PROCESS_EXAMPLE)
    body = copy.deepcopy(PROCESS_EXAMPLE)
    body["containers"] = [{"id": "thread-abc", "type": "thread"}, {"id": "proj-1", "type": "project"}]
    body["turn"].update(user_message_id="msg-u-2", assistant_message_id="msg-a-2")
    second = (await stack.client.post("/v1/process", json=body)).json()
    assert (second["created_user"], second["created_containers"]) == (False, ["proj-1"])
    user = (await stack.client.get("/v1/users/user-123")).json()
    assert {(c["id"], c["type"]) for c in user["containers"]} == {
        ("thread-abc", "thread"), ("proj-1", "project")}
    for session in ("thread-abc", "proj-1"):
        messages = (await stack.client.get(f"/v1/working-memory/{session}",
                                           params={"user_id": "user-123"})).json()["messages"]
        assert "msg-u-2" in [m["id"] for m in messages]
    body["user_id"] = "user-456"
    await stack.client.post("/v1/process", json=body)
    assert (await stack.client.get("/v1/users", params={"limit": 1})).json() == {
        "users": ["user-123"], "total": 2}
    assert (await stack.client.get("/v1/users/nobody")).status_code == 404
    assert (await stack.client.get("/v1/jobs/nope")).status_code == 404


async def test_no_passive_tier_means_no_job_work(stack: Stack) -> None:
    """write_passive=false: passive_job_id is null and the job is already done; with
    write_active=false there are no fragments and no session messages."""
    body = copy.deepcopy(INGESTION_EXAMPLE)
    body["options"] = {"write_active": True, "write_passive": False}
    out = (await stack.client.post("/ingestion/memory", json=body)).json()
    assert out["passive_job_id"] is None and len(out["active_fragment_ids"]) == 2
    job = (await stack.client.get(f"/v1/jobs/{out['job_id']}")).json()
    assert job["status"] == "succeeded" and len(job["ids"]["fragments"]) == 2
    body["options"] = {"write_active": False, "write_passive": True}
    body["scope"]["session_id"] = "chat-2"
    out = (await stack.client.post("/ingestion/memory", json=body)).json()
    assert out["active_fragment_ids"] == [] and out["passive_job_id"] == out["job_id"]
    session = await stack.client.get("/v1/working-memory/chat-2", params={
        "namespace": "org_...", "user_id": "user_..."})
    assert session.status_code == 404
    await drain(stack.docket)
    assert (await stack.client.get(f"/v1/jobs/{out['job_id']}")).json()["status"] == "succeeded"


async def test_erase_user_leaves_no_ingestion_record(stack: Stack, redis: Redis) -> None:
    """``erase_user`` (called by the erase of issue 16) removes the user's records, turn
    claims and jobs (which hold turn text), and nobody else's; the erase of issue 16 calls it."""
    await stack.client.post("/v1/process", json=PROCESS_EXAMPLE)
    other = copy.deepcopy(PROCESS_EXAMPLE)
    other["user_id"] = "user-456"
    kept = (await stack.client.post("/v1/process", json=other)).json()
    await drain(stack.docket)
    assert stack.services.ingestion is not None
    removed = await stack.services.ingestion.erase_user(None, "user-123")
    assert removed["ingestion_users"] == 1 and removed["ingestion_jobs"] == 1
    assert removed["ingestion_containers"] == 1 and removed["ingestion_turns"] == 1
    assert (await stack.client.get("/v1/users/user-123")).status_code == 404
    leftovers = [k for k in await redis.keys("am:ingest:*") if b"user-123" in k]
    assert leftovers == []
    for key in await redis.keys("am:job:*"):
        assert b"Remember that I prefer" not in b"".join(
            v for v in (await redis.hgetall(key)).values()) or key.endswith(kept["job_id"].encode())
    assert (await stack.client.get(f"/v1/jobs/{kept['job_id']}")).status_code == 200
    assert (await stack.client.get("/v1/users/user-456")).status_code == 200


async def test_ingested_session_is_an_ams_session(stack: Stack) -> None:
    """The AMS append extends a session the ingestion door wrote, and the door's next turn
    lands after it: one session, three doors."""
    await stack.client.post("/ingestion/memory", json=INGESTION_EXAMPLE)
    scope = {"namespace": "org_...", "user_id": "user_..."}
    appended = await stack.client.post("/v1/working-memory/chat-1/messages", params=scope, json={
        "messages": [{"role": "user", "content": "Written by hand", "id": "hand-1"}]})
    assert appended.status_code == 200, appended.text
    body = copy.deepcopy(INGESTION_EXAMPLE)
    body["turns"] = [{"role": "user", "text": "And one more.", "timestamp": "2026-05-08T14:05:00Z"}]
    await stack.client.post("/ingestion/memory", json=body)
    session = (await stack.client.get("/v1/working-memory/chat-1", params=scope)).json()
    assert [m["content"] for m in session["messages"]] == [
        "I'm allergic to shellfish.", "Got it.", "Written by hand", "And one more."]
    user = (await stack.client.get("/v1/users/user_...", params={"namespace": "org_..."})).json()
    assert [(c["id"], c["type"]) for c in user["containers"]] == [("chat-1", "session")]


async def test_without_docket_the_job_runs_before_the_answer(redis_url: str,
                                                             redis: Redis) -> None:
    """USE_DOCKET=false: no worker will ever run the job, so the request runs it."""
    app = create_app(make_settings(redis_url, use_docket=False))
    async with LifespanManager(app) as manager:
        transport = httpx.ASGITransport(app=manager.app)
        async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
            out = (await client.post("/v1/process", json=PROCESS_EXAMPLE)).json()
            job = (await client.get(f"/v1/jobs/{out['job_id']}")).json()
    assert job["status"] == "succeeded" and job["counts"]["added"] == 1


async def test_erase_route_reaches_the_ingestion_store(stack: Stack) -> None:
    """``POST /v1/users/{id}/erase`` (issue 16) counts and removes what ingestion keeps."""
    await stack.client.post("/v1/process", json=PROCESS_EXAMPLE)
    await drain(stack.docket)
    task = (await stack.client.post("/v1/users/user-123/erase")).json()["task_id"]
    await drain(stack.docket)
    done = (await stack.client.get(f"/v1/users/user-123/erase/{task}")).json()
    assert done["result"]["stores"]["ingestion"] == {
        "ingestion_jobs": 1, "ingestion_users": 1, "ingestion_containers": 1,
        "ingestion_turns": 1}, done
    assert (await stack.client.get("/v1/users/user-123")).status_code == 404
