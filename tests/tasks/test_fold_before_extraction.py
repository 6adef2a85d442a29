"""Summarization folding messages away before promotion handled them loses nothing."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from redis.asyncio import Redis

from tests.support.stub_openai import StubOpenAI, reply_json
from tests.tasks.conftest import Stack, all_memories, drain, open_stack, task_settings


def _msgs(prefix: str, n: int) -> list[dict[str, str]]:
    return [{"role": "user", "content": f"{prefix} fact {i}: " + "tea and travel " * 20,
             "id": f"{prefix}{i}"} for i in range(n)]


async def test_folded_messages_are_still_promoted(stack: Stack) -> None:
    """Without a model, messages a summary folded away still become `message` memories."""
    scope = {"namespace": "ns", "user_id": "u"}
    window = {"context_window_max": 400}
    for batch in ("a", "b", "c"):
        response = await stack.client.post("/v1/working-memory/s/messages", params=window,
                                           json={**scope, "messages": _msgs(batch, 2)})
        assert response.status_code == 200
    session = (await stack.client.get("/v1/working-memory/s", params=scope)).json()
    assert session["context"] and len(session["messages"]) < 6  # some were folded away
    await drain(stack.docket)
    found = await all_memories(stack.services)
    assert sorted(m.extracted_from[0] for m in found) == [f"{b}{i}" for b in "abc" for i in (0, 1)]


@pytest.fixture
async def llm_stack(redis_url: str, redis: Redis,
                    stub_openai: StubOpenAI) -> AsyncIterator[Stack]:
    settings = task_settings(redis_url, openai_api_base=stub_openai.base_url,
                             openai_api_key="test-key", llm_max_retries=0,
                             enable_working_memory_summarization=True)
    async with open_stack(settings) as running:
        yield running


async def test_folded_messages_are_still_extracted(llm_stack: Stack,
                                                   stub_openai: StubOpenAI) -> None:
    """With a model, the extraction prompt sees every message, folded or not, once."""

    def summarize_or_extract(body: dict[str, object]) -> str:
        prompt = str(body["messages"][0]["content"])  # type: ignore[index]
        if "running summary" in prompt:
            return "summary of earlier turns"
        return reply_json({"memories": [{"type": "semantic", "text": "likes tea and travel"}]})

    stub_openai.default_reply = summarize_or_extract
    scope = {"namespace": "ns", "user_id": "u"}
    for batch in ("a", "b", "c"):
        await llm_stack.client.post("/v1/working-memory/s/messages",
                                    params={"context_window_max": 400},
                                    json={**scope, "messages": _msgs(batch, 2)})
    await drain(llm_stack.docket)
    extraction_prompts = [str(r["messages"][0]["content"]) for r in stub_openai.chat_requests()
                          if "running summary" not in str(r["messages"][0]["content"])]
    seen = "".join(extraction_prompts)
    for batch in "abc":
        for i in (0, 1):
            assert seen.count(f"{batch} fact {i}:") == 1
    found = await all_memories(llm_stack.services)
    assert found and sorted({i for m in found for i in m.extracted_from or []}) == [
        f"{b}{i}" for b in "abc" for i in (0, 1)]
