"""Summarization of sessions that pass SUMMARIZATION_THRESHOLD of their window."""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
import pytest
from asgi_lifespan import LifespanManager

from agent_memory.app import create_app
from tests.conftest import make_settings
from tests.support.stub_openai import StubOpenAI


def _long_msgs(n: int) -> list[dict[str, str]]:
    return [
        {"role": "user" if i % 2 == 0 else "assistant", "id": f"m{i:02d}",
         "content": f"Fact number {i} is that item {i} costs {i * 3} euros. "
                    + "Padding words to use tokens. " * 8}
        for i in range(n)
    ]


@pytest.fixture
async def llm_client(redis_url: str, redis: object, stub_openai: StubOpenAI) -> AsyncIterator[httpx.AsyncClient]:
    settings = make_settings(redis_url, openai_api_base=stub_openai.base_url,
                             openai_api_key="test-key", llm_max_retries=0)
    app = create_app(settings)
    async with LifespanManager(app) as manager:
        transport = httpx.ASGITransport(app=manager.app)
        async with httpx.AsyncClient(transport=transport, base_url="http://test") as http:
            yield http


async def test_put_over_threshold_folds_oldest_without_model(client: httpx.AsyncClient) -> None:
    """No model: an extractive summary in chronological order; the newest are kept."""
    response = await client.put("/v1/working-memory/s", params={"context_window_max": 1000},
                                json={"messages": _long_msgs(30)})
    assert response.status_code == 200
    body = response.json()
    kept = [m["id"] for m in body["messages"]]
    assert kept and kept[-1] == "m29" and len(kept) < 30
    assert kept == sorted(kept)  # a suffix, in order
    folded = 30 - len(kept)
    context = body["context"]
    assert context.startswith(f"[Summary of {folded} earlier messages]")
    positions = [context.index(f"Fact number {i} ") for i in range(folded) if f"Fact number {i} " in context]
    assert positions == sorted(positions) and len(positions) >= 1  # oldest first
    assert body["tokens"] <= 1000 * 0.7
    assert body["context_percentage_until_summarization"] < 100
    stored = (await client.get("/v1/working-memory/s")).json()
    assert [m["id"] for m in stored["messages"]] == kept and stored["context"] == context


async def test_under_threshold_nothing_changes(client: httpx.AsyncClient) -> None:
    """Below the threshold every message stays and no summary appears."""
    response = await client.put("/v1/working-memory/s", json={"messages": _long_msgs(5)})
    assert len(response.json()["messages"]) == 5 and response.json()["context"] is None


async def test_llm_summary_gets_messages_oldest_first(llm_client: httpx.AsyncClient,
                                                      stub_openai: StubOpenAI) -> None:
    """With a model configured the summary comes from one chat call, messages in order."""
    stub_openai.default_reply = "The user priced items 0 to N."
    response = await llm_client.put("/v1/working-memory/s", params={"context_window_max": 1000},
                                    json={"messages": _long_msgs(30), "context": "Earlier: hello."})
    assert response.status_code == 200
    assert response.json()["context"] == "The user priced items 0 to N."
    chats = stub_openai.chat_requests()
    assert len(chats) == 1
    prompt = chats[0]["messages"][0]["content"]
    assert "Earlier: hello." in prompt
    assert prompt.index("Fact number 0 ") < prompt.index("Fact number 1 ") < prompt.index("Fact number 2 ")


async def test_llm_failure_falls_back_to_extractive(llm_client: httpx.AsyncClient,
                                                    stub_openai: StubOpenAI) -> None:
    """A failing model endpoint never fails the write: the extractive summary is used."""
    stub_openai.fail_status = 500
    response = await llm_client.put("/v1/working-memory/s", params={"context_window_max": 1000},
                                    json={"messages": _long_msgs(30)})
    assert response.status_code == 200
    assert response.json()["context"].startswith("[Summary of ")


async def test_append_over_threshold_summarizes(client: httpx.AsyncClient) -> None:
    """Appends that push a session over its threshold fold the oldest messages."""
    for i, msg in enumerate(_long_msgs(30)):
        response = await client.post("/v1/working-memory/a/messages",
                                     params={"context_window_max": 1000}, json={"messages": [msg]})
        assert response.status_code == 200, i
    body = (await client.get("/v1/working-memory/a")).json()
    assert body["messages"][-1]["id"] == "m29"
    assert body["tokens"] <= 700
    # Every message is either still present or counted by the summary, none lost silently.
    kept = {m["id"] for m in body["messages"]}
    header = body["context"].split("\n", 1)[0]
    assert header == f"[Summary of {30 - len(kept)} earlier messages]"
    assert kept == {f"m{i:02d}" for i in range(30 - len(kept), 30)}
    shown = [i for i in range(30) if f"Fact number {i} " in body["context"]]
    assert shown and shown == sorted(shown)
