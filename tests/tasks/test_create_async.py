"""``POST /v1/long-term-memory/`` with ``Prefer: respond-async``: a 202 once the memories and
their indexing task are in Redis; searchable when the task says ``success``. Without the
header the create answers 200 only once every memory is searchable."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from agent_memory.errors import Forbidden
from agent_memory.models.long_term import ExtractedMemoryRecord
from agent_memory.principal import LOCAL_ADMIN, Principal
from tests.tasks.conftest import Stack, drain, open_stack, task_settings

ASYNC = {"Prefer": "respond-async"}


def _memories(tag: str, n: int = 3) -> list[dict[str, object]]:
    return [{"id": f"{tag}-{i}", "text": f"{tag} fact {i}: the user keeps bees number {i}",
             "namespace": "ns", "user_id": "u"} for i in range(n)]


async def _search(stack: Stack, text: str) -> set[str]:
    response = await stack.client.post("/v1/long-term-memory/search", json={
        "text": text, "namespace": {"eq": "ns"}, "limit": 50})
    assert response.status_code == 200, response.text
    return {m["id"] for m in response.json()["memories"]}


async def test_accepted_create_answers_202_then_the_task_makes_it_searchable(
        stack: Stack) -> None:
    """The 202 names the task and the submitted ids; the memories are not indexed yet but
    the task holding them is on the Docket; once a worker ran it the task is ``success``,
    every memory is searchable and has its ``created`` provenance event."""
    response = await stack.client.post("/v1/long-term-memory/", headers=ASYNC, json={
        "memories": _memories("acc"), "deduplicate": True})
    assert response.status_code == 202, response.text
    assert response.headers["preference-applied"] == "respond-async"
    body = response.json()
    assert body["ids"] == ["acc-0", "acc-1", "acc-2"] and body["task_id"] in body["status"]
    task = (await stack.client.get(f"/v1/tasks/{body['task_id']}")).json()
    assert task["type"] == "create" and task["status"] == "pending"
    assert await stack.services.redis.exists("memory_idx:acc-0") == 0
    snapshot = await stack.docket.snapshot()
    assert [e.key for e in (*snapshot.future, *snapshot.running)] == [f"task:{body['task_id']}"]

    await drain(stack.docket)
    task = (await stack.client.get(f"/v1/tasks/{body['task_id']}")).json()
    assert task["status"] == "success", task
    assert await _search(stack, "bees") >= {"acc-0", "acc-1", "acc-2"}
    history = await stack.services.provenance.history("acc-1")
    assert [e["event"] for e in history] == ["created"]


async def test_without_the_preference_a_create_is_searchable_when_it_answers(
        stack: Stack) -> None:
    """The default keeps its promise: 200, and a search right after finds every memory
    (no worker runs)."""
    response = await stack.client.post("/v1/long-term-memory/", json={
        "memories": _memories("sync"), "deduplicate": True})
    assert response.status_code == 200 and "preference-applied" not in response.headers
    assert response.json()["ids"] == ["sync-0", "sync-1", "sync-2"]
    assert await _search(stack, "bees") >= {"sync-0", "sync-1", "sync-2"}


async def test_accepted_create_resolves_duplicates_and_keeps_created_at(stack: Stack) -> None:
    """The task does what a synchronous create does: a hash duplicate of a stored memory is
    not written (the task's result names the original), and an overwrite by id that gives no
    ``created_at`` keeps the stored one (fields the client left out stay unset)."""
    created = datetime(2025, 3, 1, tzinfo=UTC)
    long_term = stack.services.long_term
    assert long_term is not None
    await long_term.create(LOCAL_ADMIN, [
        ExtractedMemoryRecord(id="old", text="likes figs", namespace="ns", user_id="u",
                              created_at=created),
        ExtractedMemoryRecord(id="tea", text="likes tea", namespace="ns", user_id="u")])
    response = await stack.client.post("/v1/long-term-memory/", headers=ASYNC, json={
        "memories": [{"id": "old", "text": "likes fresh figs", "namespace": "ns",
                      "user_id": "u"},
                     {"id": "copy", "text": "likes tea", "namespace": "ns", "user_id": "u"}]})
    assert response.status_code == 202 and response.json()["ids"] == ["old", "copy"]
    await drain(stack.docket)
    record = await stack.services.background.task_status.get(response.json()["task_id"])
    assert record is not None and record.result is not None
    assert '"ids": ["old", "tea"]' in record.result
    (stored,) = await long_term.store.get_many(["old"])
    assert stored is not None and stored.text == "likes fresh figs"
    assert stored.created_at == created
    assert await stack.services.redis.exists("memory_idx:copy") == 0


async def test_bad_input_and_foreign_ids_are_refused_before_the_202(stack: Stack) -> None:
    """Validation runs first (422, nothing queued); a caller bound to a namespace cannot
    queue an id stored in another (403 before anything is queued)."""
    response = await stack.client.post("/v1/long-term-memory/", headers=ASYNC, json={
        "memories": [{"id": "x", "text": "t", "memory_type": "nonsense"}]})
    assert response.status_code == 422
    long_term = stack.services.long_term
    assert long_term is not None and stack.services.background is not None
    await long_term.create(LOCAL_ADMIN, [ExtractedMemoryRecord(id="theirs", text="x",
                                                               namespace="other")])
    bound = Principal(subject="t", namespaces=frozenset({"ns"}))
    with pytest.raises(Forbidden):
        await stack.services.background.create_in_background(
            bound, [ExtractedMemoryRecord(id="theirs", text="mine now", namespace="ns")], True)
    snapshot = await stack.docket.snapshot()
    assert not snapshot.future and not snapshot.running


async def test_server_setting_answers_every_create_before_indexing(
        redis_url: str, redis: object) -> None:
    """``LONG_TERM_CREATE_ASYNC=true``: a create without the header is answered 202 too (no
    ``Preference-Applied``, nothing asked); the task makes it searchable."""
    async with open_stack(task_settings(redis_url, long_term_create_async=True)) as running:
        response = await running.client.post("/v1/long-term-memory/", json={
            "memories": _memories("dep")})
        assert response.status_code == 202 and "preference-applied" not in response.headers
        await drain(running.docket)
        assert await _search(running, "bees") >= {"dep-0", "dep-1", "dep-2"}
