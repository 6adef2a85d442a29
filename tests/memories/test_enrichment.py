"""Enrichment: with a model, the add answers before any model call (fields pending, row
already searchable) and a Docket task fills them in with one JSON-mode call, recording the
extraction candidate; without a model, rules run inline and say they are rules."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from redis.asyncio import Redis

from tests.support.stub_openai import StubOpenAI, reply_json
from tests.tasks.conftest import Stack, drain, open_stack, task_settings

TEXT = "Alice decided to adopt a microservices architecture for the Q2 roadmap."
MODEL_REPLY = {"memory_type": "decision", "importance_score": 87,
               "summary": "Alice chose microservices for Q2",
               "key_points": ["microservices", "Q2 roadmap"], "quality_score": 0.9,
               "confidence": 0.92}


@pytest.fixture
async def model_stack(redis_url: str, redis: Redis,
                      stub_openai: StubOpenAI) -> AsyncIterator[Stack]:
    settings = task_settings(redis_url, openai_api_base=stub_openai.base_url,
                             openai_api_key="test-key")
    async with open_stack(settings) as running:
        yield running


async def test_add_answers_before_the_model_and_the_task_fills_the_fields(
        model_stack: Stack, stub_openai: StubOpenAI) -> None:
    """No model call on the request path; the pending row is searchable at once; one
    JSON-mode call on the worker fills summary, key points, quality and type, and the
    candidate (seed shape) answers "why was this memory created"."""
    stub_openai.chat_replies.append(reply_json(MODEL_REPLY))
    c = model_stack.client
    added = await c.post("/v1/memories", json={"text": TEXT, "importance": 0.7})
    assert added.status_code == 201
    body = added.json()
    assert stub_openai.chat_requests() == []
    assert body["enrichment"]["status"] == "pending"
    assert body["enrichment"]["pending"] == ["summary", "key_points", "quality_score",
                                             "memory_type"]
    assert body["summary"] is None and body["memory_type"] is None and body["key_points"] == []
    found = await c.post("/v1/long-term-memory/search", json={"text": "microservices"})
    assert [m["id"] for m in found.json()["memories"]] == [str(body["id"])]

    await drain(model_stack.docket)
    calls = stub_openai.chat_requests()
    assert len(calls) == 1 and calls[0]["response_format"] == {"type": "json_object"}
    row = (await c.get(f"/v1/memories/{body['id']}")).json()
    assert row["summary"] == MODEL_REPLY["summary"]
    assert row["key_points"] == MODEL_REPLY["key_points"]
    assert row["quality_score"] == 0.9 and row["memory_type"] == "decision"
    assert row["importance"] == 0.7  # the caller's hint is not the model's score
    assert row["enrichment"] == {"status": "done", "method": "model", "pending": [],
                                 "note": None}
    candidates = (await c.get(f"/v1/memories/{body['id']}/candidates")).json()["candidates"]
    (candidate,) = candidates
    assert set(candidate) == {"extracted_text", "category", "importance_score", "confidence",
                              "decision", "memory_id", "created_at"}
    assert candidate["category"] == "decision" and candidate["importance_score"] == 87
    assert candidate["memory_id"] == body["id"] and candidate["decision"] == "created"

    await model_stack.docket.add("enrich_memory", key="again")(str(body["id"]))
    await drain(model_stack.docket)  # a redelivery finds it done: no second call
    assert len(stub_openai.chat_requests()) == 1


async def test_a_failing_model_falls_back_to_rules_and_says_so(
        model_stack: Stack, stub_openai: StubOpenAI) -> None:
    """An unavailable model never leaves a row pending forever, nor invents values."""
    stub_openai.fail_status = 500
    added = (await model_stack.client.post("/v1/memories", json={"text": TEXT})).json()
    await drain(model_stack.docket)
    row = (await model_stack.client.get(f"/v1/memories/{added['id']}")).json()
    assert row["enrichment"]["method"] == "rules"
    assert row["enrichment"]["note"] == "model unavailable; rules used"
    assert row["memory_type"] == "decision" and row["quality_score"] is None


async def test_a_new_text_is_enriched_again(model_stack: Stack,
                                            stub_openai: StubOpenAI) -> None:
    """PATCH with a new text marks the fields pending and the task redoes them."""
    stub_openai.chat_replies.extend([reply_json(MODEL_REPLY), reply_json(
        {**MODEL_REPLY, "memory_type": "preference", "summary": "Alice likes tea"})])
    added = (await model_stack.client.post("/v1/memories", json={"text": TEXT})).json()
    await drain(model_stack.docket)
    patched = await model_stack.client.patch(f"/v1/memories/{added['id']}",
                                             json={"text": "Alice likes green tea."})
    assert patched.json()["enrichment"]["status"] == "pending"
    await drain(model_stack.docket)
    row = (await model_stack.client.get(f"/v1/memories/{added['id']}")).json()
    assert row["summary"] == "Alice likes tea" and row["memory_type"] == "preference"
