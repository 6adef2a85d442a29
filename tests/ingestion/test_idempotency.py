"""Re-sent turns are no-ops, concurrent duplicates produce one of everything, and an
Idempotency-Key replays a whole response."""

from __future__ import annotations

import asyncio
import copy
from typing import Any

from redis.asyncio import Redis

from agent_memory.storage.keys import ingest_user_jobs_key
from tests.ingestion.conftest import INGESTION_EXAMPLE, PROCESS_EXAMPLE
from tests.tasks.conftest import Stack, all_memories, drain


def _hundred_turns() -> dict[str, Any]:
    turns = []
    for i in range(50):
        turns.append({"role": "user", "text": f"I like fruit number {i}",
                      "timestamp": f"2026-05-08T14:{i:02d}:00Z"})
        turns.append({"role": "assistant", "text": f"Noted, fruit {i}.",
                      "timestamp": f"2026-05-08T14:{i:02d}:30Z"})
    return {"scope": {"org_id": "org-a", "user_id": "u1", "session_id": "s1"}, "turns": turns}


async def test_resent_process_turn_is_a_no_op(stack: Stack, redis: Redis) -> None:
    """The same turn again: the original job id, no new user or container, no second
    message, no second job."""
    first = (await stack.client.post("/v1/process", json=PROCESS_EXAMPLE)).json()
    again = await stack.client.post("/v1/process", json=PROCESS_EXAMPLE)
    assert again.status_code == 202
    body = again.json()
    assert body["job_id"] == first["job_id"]
    assert body["created_user"] is False and body["created_containers"] == []
    session = (await stack.client.get("/v1/working-memory/thread-abc",
                                      params={"user_id": "user-123"})).json()
    assert len(session["messages"]) == 2
    assert await redis.zcard(ingest_user_jobs_key(None, "user-123")) == 1


async def test_resent_turn_without_ids_is_recognised_by_its_texts(stack: Stack) -> None:
    """No upstream ids: the hash of the texts and the timestamp identifies the turn; another
    timestamp is another turn."""
    example = copy.deepcopy(PROCESS_EXAMPLE)
    del example["turn"]["user_message_id"], example["turn"]["assistant_message_id"]
    first = (await stack.client.post("/v1/process", json=example)).json()
    assert (await stack.client.post("/v1/process", json=example)).json()["job_id"] == first["job_id"]
    example["turn"]["occurred_at"] = "2026-03-16T11:00:00Z"
    other = (await stack.client.post("/v1/process", json=example)).json()
    assert other["job_id"] != first["job_id"]
    session = (await stack.client.get("/v1/working-memory/thread-abc",
                                      params={"user_id": "user-123"})).json()
    assert len(session["messages"]) == 4


async def test_resent_ingestion_turns_repeat_ids_and_charge_nothing(stack: Stack) -> None:
    """Same job id and fragment ids, no second charge, no second message."""
    first = (await stack.client.post("/ingestion/memory", json=INGESTION_EXAMPLE)).json()
    again = (await stack.client.post("/ingestion/memory", json=INGESTION_EXAMPLE)).json()
    assert again["job_id"] == first["job_id"]
    assert again["active_fragment_ids"] == first["active_fragment_ids"]
    assert again["passive_job_id"] == first["passive_job_id"]
    assert first["usage"]["tokens_in"] > 0 and again["usage"]["tokens_in"] == 0
    session = (await stack.client.get("/v1/working-memory/chat-1", params={
        "namespace": "org_...", "user_id": "user_..."})).json()
    assert len(session["messages"]) == 2


async def test_hundred_turns_three_times_at_once_leave_one_of_everything(
        stack: Stack, redis: Redis) -> None:
    """100 turns sent 3 times concurrently: 100 messages, 100 fragments, one job, one
    charge, and after the worker ran one memory per user statement."""
    body = _hundred_turns()
    responses = await asyncio.gather(*(stack.client.post("/ingestion/memory", json=body)
                                       for _ in range(3)))
    assert [r.status_code for r in responses] == [202] * 3
    bodies = [r.json() for r in responses]
    assert len({b["job_id"] for b in bodies}) == 1
    assert all(b["active_fragment_ids"] == bodies[0]["active_fragment_ids"] for b in bodies)
    assert len(set(bodies[0]["active_fragment_ids"])) == 100
    assert sorted(b["usage"]["tokens_in"] > 0 for b in bodies) == [False, False, True]
    session = (await stack.client.get("/v1/working-memory/s1", params={
        "namespace": "org-a", "user_id": "u1"})).json()
    assert len(session["messages"]) == 100
    assert await redis.zcard(ingest_user_jobs_key("org-a", "u1")) == 1
    await drain(stack.docket)
    memories = await all_memories(stack.services, "org-a", "u1")
    fragments = [m for m in memories if m.memory_type.value == "message"]
    facts = [m for m in memories if m.memory_type.value != "message"]
    assert len(fragments) == 100
    for fragment in fragments:  # one "created" event each, whichever twin wrote it
        assert len(await stack.services.provenance.history(fragment.id)) == 1
    assert sorted(m.text for m in facts) == sorted(f"User likes fruit number {i}."
                                                   for i in range(50))
    job = (await stack.client.get(f"/v1/jobs/{bodies[0]['job_id']}")).json()
    assert job["status"] == "succeeded" and job["counts"]["added"] == 50
    assert job["turns"] == 100


async def test_concurrent_process_duplicates_make_one_job(stack: Stack, redis: Redis) -> None:
    """The same post-turn call three times at once: one job, one user creation."""
    responses = await asyncio.gather(*(stack.client.post("/v1/process", json=PROCESS_EXAMPLE)
                                       for _ in range(3)))
    bodies = [r.json() for r in responses]
    assert len({b["job_id"] for b in bodies}) == 1
    assert sorted(b["created_user"] for b in bodies) == [False, False, True]
    assert sum(len(b["created_containers"]) for b in bodies) == 1
    await drain(stack.docket)
    facts = [m for m in await all_memories(stack.services, None, "user-123")
             if m.memory_type.value != "message"]
    assert [m.text for m in facts] == ["User prefers pytest over unittest."]


async def test_idempotency_key_replays_the_first_response(stack: Stack) -> None:
    """The same key and body: the first response again, marked as a replay (even
    ``created_user: true``); the same key with another body: 422."""
    headers = {"Idempotency-Key": "req-1"}
    first = await stack.client.post("/v1/process", json=PROCESS_EXAMPLE, headers=headers)
    replay = await stack.client.post("/v1/process", json=PROCESS_EXAMPLE, headers=headers)
    assert replay.status_code == 202
    assert replay.json() == first.json()
    assert replay.headers["Idempotent-Replayed"] == "true"
    other = copy.deepcopy(PROCESS_EXAMPLE)
    other["turn"]["user_message"] = "Something else entirely."
    clash = await stack.client.post("/v1/process", json=other, headers=headers)
    assert clash.status_code == 422
    assert clash.json()["error"]["code"] == "idempotency_key_reused"
    assert "detail" in clash.json()
    ingest = await stack.client.post("/ingestion/memory", json=INGESTION_EXAMPLE, headers=headers)
    again = await stack.client.post("/ingestion/memory", json=INGESTION_EXAMPLE, headers=headers)
    assert again.json() == ingest.json() and ingest.json()["usage"]["tokens_in"] > 0


async def test_a_resent_request_enqueues_nothing(stack: Stack) -> None:
    """A request whose turns are all taken creates no job and schedules no task."""
    await stack.client.post("/ingestion/memory", json=INGESTION_EXAMPLE)
    await drain(stack.docket)
    await stack.client.post("/ingestion/memory", json=INGESTION_EXAMPLE)
    snapshot = await stack.docket.snapshot()
    assert [e for e in snapshot.future + snapshot.running
            if e.function.__name__ == "ingest_turns"] == []


async def test_a_key_reused_with_another_body_writes_nothing(stack: Stack, redis: Redis) -> None:
    """The key's stored response is found by the claim script itself, before it writes:
    the other body's turn is neither claimed nor stored, so sent later without the key it
    is a new turn (charged, one more message)."""
    headers = {"Idempotency-Key": "req-2"}
    body = _hundred_turns()
    body["turns"] = body["turns"][:1]
    assert (await stack.client.post("/ingestion/memory", json=body,
                                    headers=headers)).status_code == 202
    other = copy.deepcopy(body)
    other["turns"][0]["text"] = "I like something else"
    clash = await stack.client.post("/ingestion/memory", json=other, headers=headers)
    assert clash.status_code == 422
    assert clash.json()["error"]["code"] == "idempotency_key_reused"
    session = (await stack.client.get("/v1/working-memory/s1", params={
        "namespace": "org-a", "user_id": "u1"})).json()
    assert len(session["messages"]) == 1
    assert await redis.zcard(ingest_user_jobs_key("org-a", "u1")) == 1
    fresh = (await stack.client.post("/ingestion/memory", json=other)).json()
    assert fresh["usage"]["tokens_in"] > 0


async def test_one_key_sent_three_times_at_once_answers_one_response(stack: Stack) -> None:
    """Racing requests with one key and body all answer the same job and ids; the turns
    are written once (one charge among the answers that are not replays)."""
    headers = {"Idempotency-Key": "req-3"}
    responses = await asyncio.gather(*(stack.client.post(
        "/ingestion/memory", json=INGESTION_EXAMPLE, headers=headers) for _ in range(3)))
    assert [r.status_code for r in responses] == [202] * 3
    bodies = [r.json() for r in responses]
    assert len({b["job_id"] for b in bodies}) == 1
    assert all(b["active_fragment_ids"] == bodies[0]["active_fragment_ids"] for b in bodies)
    fresh = [b for b, r in zip(bodies, responses, strict=True)
             if "Idempotent-Replayed" not in r.headers]
    assert sum(b["usage"]["tokens_in"] > 0 for b in fresh) <= 1
    session = (await stack.client.get("/v1/working-memory/chat-1", params={
        "namespace": "org_...", "user_id": "user_..."})).json()
    assert len(session["messages"]) == 2
