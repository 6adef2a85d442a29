"""Provenance of a memory from each write path, through ``GET /v1/memories/{id}/provenance``."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import pytest
from redis.asyncio import Redis

from agent_memory.services.promotion import promotion_task_id
from tests.support.stub_openai import StubOpenAI, reply_json
from tests.tasks.conftest import Stack, all_memories, drain, open_stack, task_settings


async def _provenance(stack: Stack, memory_id: str) -> dict[str, Any]:
    res = await stack.client.get(f"/v1/memories/{memory_id}/provenance")
    assert res.status_code == 200, res.text
    return res.json()  # type: ignore[no-any-return]


async def test_ams_create_and_duplicates(stack: Stack) -> None:
    """An AMS create records door ``ams``; a skipped duplicate becomes a ``merged`` event
    on the memory it duplicates; unknown ids are 404."""
    res = await stack.client.post("/v1/long-term-memory/", json={"memories": [
        {"id": "a1", "text": "likes tea", "session_id": "s", "namespace": "n"},
        {"id": "a2", "text": "likes tea", "session_id": "s", "namespace": "n"}]})
    assert res.json()["ids"] == ["a1", "a1"]
    prov = await _provenance(stack, "a1")
    assert prov["state"] == "live"
    assert [e["event"] for e in prov["events"]] == ["created", "merged"]
    created = prov["created"]
    assert created["door"] == "ams" and created["session_id"] == "s"
    assert "candidates" not in created  # a client write is its own only candidate
    assert prov["events"][1]["candidate"] == {"decision": "merged", "source_id": "a2"}
    assert (await stack.client.get("/v1/memories/zzz/provenance")).status_code == 404
    await stack.client.patch("/v1/long-term-memory/a1", json={"text": "likes green tea",
                                                              "topics": ["drinks"]})
    edited = (await _provenance(stack, "a1"))["events"][-1]
    assert edited["event"] == "edited" and edited["fields"] == ["text", "topics"]


async def test_promotion_of_structured_memories_and_messages(stack: Stack) -> None:
    """Session memories and messages promoted by the worker record door, how, session,
    source message ids and the promotion task id; a forgotten memory keeps its history
    (state ``trashed``) until purged."""
    body = {"namespace": "n", "user_id": "u",
            "memories": [{"id": "wm-1", "text": "user likes green tea"}],
            "messages": [{"id": "m1", "role": "user", "content": "hello there"}]}
    assert (await stack.client.put("/v1/working-memory/s1", json=body)).status_code == 200
    await drain(stack.docket)
    (message_id,) = [m.id for m in await all_memories(stack.services) if m.id != "wm-1"]
    task = promotion_task_id("n", "u", "s1")
    structured = (await _provenance(stack, "wm-1"))["created"]
    assert (structured["door"], structured["how"], structured["session_id"],
            structured["task_id"]) == ("working_memory", "promotion", "s1", task)
    message = (await _provenance(stack, message_id))["created"]
    assert (message["how"], message["message_ids"], message["strategy"]) == (
        "message", ["m1"], "message")
    await stack.client.post("/v1/memories/forget", json={"memory_ids": ["wm-1"]})
    trashed = await _provenance(stack, "wm-1")
    assert trashed["state"] == "trashed"
    assert [e["event"] for e in trashed["events"]] == ["created", "deleted"]
    assert trashed["events"][1]["method"] == "user_request"


@pytest.fixture
async def llm_stack(redis_url: str, redis: Redis,
                    stub_openai: StubOpenAI) -> AsyncIterator[Stack]:
    settings = task_settings(redis_url, openai_api_base=stub_openai.base_url,
                             openai_api_key="test-key", llm_max_retries=0)
    async with open_stack(settings) as running:
        yield running


async def test_extraction_records_model_prompt_and_candidates(llm_stack: Stack,
                                                              stub_openai: StubOpenAI) -> None:
    """Extracted memories record the model, prompt version, batch, source messages and
    every candidate of the batch with its decision (a repeated fact is ``merged``)."""
    stub_openai.chat_replies.append(reply_json({"memories": [
        {"type": "semantic", "text": "Ana prefers green tea", "topics": [], "entities": []},
        {"type": "semantic", "text": "Ana prefers green tea", "topics": [], "entities": []},
        {"type": "episodic", "text": "Ana visited Lisbon", "topics": [], "entities": []}]}))
    body = {"namespace": "n", "user_id": "ana", "messages": [
        {"id": "x", "role": "user", "content": "I am Ana, I like green tea"},
        {"id": "y", "role": "user", "content": "I went to Lisbon"}]}
    await llm_stack.client.put("/v1/working-memory/s1", json=body)
    await drain(llm_stack.docket)
    extracted = [m for m in await all_memories(llm_stack.services)
                 if m.memory_type.value != "message"]
    assert sorted(m.text for m in extracted) == ["Ana prefers green tea", "Ana visited Lisbon"]
    tea = next(m for m in extracted if "tea" in m.text)
    prov = await _provenance(llm_stack, tea.id)
    created = prov["created"]
    assert created["how"] == "extraction" and created["model"]
    assert len(created["prompt_version"]) == 12 and created["batch"]
    assert created["message_ids"] == ["x", "y"] and created["strategy"] == "discrete"
    assert [c["decision"] for c in created["candidates"]] == ["created", "merged", "created"]
    assert [e["event"] for e in prov["events"]] == ["created", "merged"]
