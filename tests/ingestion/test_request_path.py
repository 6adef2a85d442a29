"""The request path's shortcuts keep its promises: fragments written whole with their
session context, the job's task put on the docket in the same round trip that marks it
queued (and not marked when the task is not there), promotion left alone for turns that
give it nothing to do."""

from __future__ import annotations

import copy

from redis.asyncio import Redis

from agent_memory.storage.jobs import ACCEPTING, JobStore
from agent_memory.storage.keys import job_key, promotion_armed_key
from tests.ingestion.conftest import INGESTION_EXAMPLE, PROCESS_EXAMPLE
from tests.tasks.conftest import Stack, drain

SCOPE = {"namespace": "org_...", "user_id": "user_..."}


def turn(text: str, at: str) -> dict[str, object]:
    body = copy.deepcopy(INGESTION_EXAMPLE)
    body["turns"] = [{"role": "user", "text": text, "timestamp": at}]
    return body


async def test_fragments_carry_their_neighbours_at_once(stack: Stack, redis: Redis) -> None:
    """A fragment is stored with its session context, and the stored message before it
    gets the new one as its next: a search right after the 202 ranks by both."""
    first = (await stack.client.post("/ingestion/memory", json=turn(
        "Which pets do you have?", "2026-05-08T14:00:00Z"))).json()
    second = (await stack.client.post("/ingestion/memory", json=turn(
        "Luna and Oliver, two cats.", "2026-05-08T14:00:05Z"))).json()
    (a,), (b,) = first["active_fragment_ids"], second["active_fragment_ids"]
    prefix = stack.settings.redisvl_index_prefix
    fields_a = await redis.hgetall(f"{prefix}:{a}")
    fields_b = await redis.hgetall(f"{prefix}:{b}")
    assert fields_a[b"context_next"] == b"user: Luna and Oliver, two cats."
    assert fields_b[b"context_prev"] == b"user: Which pets do you have?"
    assert fields_b[b"context_next"] == b""
    found = await stack.client.post("/v1/long-term-memory/search", json={
        "text": "pets", "namespace": {"eq": "org_..."}, "user_id": {"eq": "user_..."},
        "search_mode": "keyword", "limit": 10})
    assert found.status_code == 200, found.text
    assert {a, b} <= {m["id"] for m in found.json()["memories"]}


async def test_the_task_is_on_the_docket_when_the_job_says_queued(stack: Stack) -> None:
    """Right after the 202 the job is queued with its ids, its task is on the docket, and a
    worker finishes it; the AMS task route reads the same job as a task."""
    out = (await stack.client.post("/ingestion/memory", json=INGESTION_EXAMPLE)).json()
    job = (await stack.client.get(f"/v1/jobs/{out['job_id']}")).json()
    assert job["status"] == "queued" and len(job["ids"]["fragments"]) == 2
    snapshot = await stack.docket.snapshot()
    assert f"ingest:{out['job_id']}" in {e.key for e in snapshot.future}
    task = (await stack.client.get(f"/v1/tasks/{out['job_id']}")).json()
    assert (task["type"], task["status"]) == ("ingestion", "pending")
    await drain(stack.docket)
    done = (await stack.client.get(f"/v1/jobs/{out['job_id']}")).json()
    assert done["status"] == "succeeded" and done["attempts"] == 1
    task = (await stack.client.get(f"/v1/tasks/{out['job_id']}")).json()
    assert (task["status"], task["completed_at"]) == ("success", done["finished_at"])
    assert task["created_at"] == done["created_at"] and task["error_message"] is None
    assert (await stack.client.get("/v1/tasks/no-such-task")).status_code == 404


async def test_a_job_stays_accepting_when_its_task_is_not_there(redis: Redis) -> None:
    """The queue step changes the status only once the task's runs hash has a state: a
    schedule that put nothing there leaves the job for a retry to finish."""
    jobs = JobStore(redis)
    await redis.hset(job_key("j-1"), mapping={"status": ACCEPTING})
    _, moved = await jobs.queue("j-1", ACCEPTING, "queued", 60, ("PING",),
                                "return 1", "test:runs:none")
    assert not moved and await redis.hget(job_key("j-1"), "status") == ACCEPTING.encode()
    await redis.hset("test:runs:j-2", "state", "queued")
    _, moved = await jobs.queue("j-1", ACCEPTING, "queued", 60, ("PING",), "return 1",
                                "test:runs:j-2", {"ids": {"messages": ["s/m"]}})
    assert moved and await redis.hget(job_key("j-1"), "status") == b"queued"
    assert await redis.hget(job_key("j-1"), "ids") == b'{"messages": ["s/m"]}'


async def test_promotion_is_woken_only_by_turns_it_has_work_for(stack: Stack,
                                                                 redis: Redis) -> None:
    """Ingested turns are stored extracted and indexed: promotion's marker is not set for
    them. A post-turn pair is not indexed yet, so its append arms promotion."""
    await stack.client.post("/ingestion/memory", json=INGESTION_EXAMPLE)
    assert not await redis.exists(promotion_armed_key("org_...", "user_...", "chat-1"))
    await stack.client.post("/v1/process", json=PROCESS_EXAMPLE)
    assert await redis.exists(promotion_armed_key(None, "user-123", "thread-abc"))
