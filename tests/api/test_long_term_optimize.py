"""optimize_query with a model configured: the stub model rewrites semantic queries only."""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
import pytest
from asgi_lifespan import LifespanManager
from redis.asyncio import Redis

from agent_memory.app import create_app
from tests.conftest import make_settings
from tests.support.stub_openai import StubOpenAI


@pytest.fixture
async def llm_client(redis_url: str, redis: Redis,
                     stub_openai: StubOpenAI) -> AsyncIterator[httpx.AsyncClient]:
    settings = make_settings(redis_url, openai_api_base=stub_openai.base_url,
                             openai_api_key="test-key", llm_max_retries=0, use_docket=False)
    app = create_app(settings)
    async with LifespanManager(app) as manager:
        transport = httpx.ASGITransport(app=manager.app)
        async with httpx.AsyncClient(transport=transport, base_url="http://t") as client:
            yield client


async def test_optimize_query_rewrites_semantic_text(llm_client: httpx.AsyncClient,
                                                     stub_openai: StubOpenAI) -> None:
    """The model's rewrite is what gets searched (semantic mode), once per request."""
    r = await llm_client.post("/v1/long-term-memory/", json={"memories": [
        {"id": "p", "text": "penguins live in antarctica"},
        {"id": "q", "text": "the stock market fell"}]})
    assert r.status_code == 200
    stub_openai.requests.clear()
    stub_openai.chat_replies.append("penguins antarctica")
    r = await llm_client.post("/v1/long-term-memory/search?optimize_query=true", json={
        "text": "where do those flightless birds live?", "search_mode": "semantic",
        "recency_boost": False})
    assert r.status_code == 200
    assert len(stub_openai.chat_requests()) == 1
    assert r.json()["memories"][0]["id"] == "p"
    plain = await llm_client.post("/v1/long-term-memory/search", json={
        "text": "where do those flightless birds live?", "search_mode": "semantic",
        "recency_boost": False})
    top_plain = {m["id"]: m["score"] for m in plain.json()["memories"]}["p"]
    assert r.json()["memories"][0]["score"] > top_plain + 0.1  # the rewrite was embedded


async def test_optimize_query_failure_falls_back_and_skips_other_modes(
        llm_client: httpx.AsyncClient, stub_openai: StubOpenAI) -> None:
    """A failing model keeps the original text; keyword mode never calls the model."""
    await llm_client.post("/v1/long-term-memory/", json={"memories": [{"id": "p", "text": "penguins"}]})
    stub_openai.requests.clear()
    stub_openai.fail_status = 500
    r = await llm_client.post("/v1/long-term-memory/search?optimize_query=true",
                              json={"text": "penguins", "search_mode": "semantic"})
    assert r.status_code == 200 and r.json()["memories"][0]["id"] == "p"
    stub_openai.fail_status = None
    stub_openai.requests.clear()
    r = await llm_client.post("/v1/long-term-memory/search?optimize_query=true",
                              json={"text": "penguins", "search_mode": "keyword"})
    assert r.status_code == 200 and stub_openai.chat_requests() == []
