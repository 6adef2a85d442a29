"""``POST /v1/memory/prompt`` with long-term search, against the real Redis index."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from redis.asyncio import Redis

from tests.api.test_prompt import PROMPT, put_session, recount
from tests.auth.conftest import serve
from tests.conftest import make_settings
from tests.support.stub_openai import StubOpenAI
from tests.support.wait import wait_until

MEMORIES_HEADER = "## Long term memories related to the user's query\n "


async def store(client: httpx.AsyncClient, memories: list[dict[str, Any]]) -> None:
    """Create memories and wait until every one is searchable."""
    response = await client.post("/v1/long-term-memory/", json={"memories": memories,
                                                                 "deduplicate": False})
    assert response.status_code == 200, response.text
    ids = {m["id"] for m in memories}

    async def indexed() -> bool:
        found: set[str] = set()
        for memory in memories:
            got = await client.get(f"/v1/long-term-memory/{memory['id']}")
            if got.status_code == 200:
                found.add(memory["id"])
        return found == ids

    await wait_until(indexed, timeout=10)


def filler(n: int, **scope: str) -> list[dict[str, Any]]:
    """Memories that share no words with the test queries."""
    topics = ["hiking trails", "jazz records", "chess openings", "bread baking", "sailing knots"]
    return [{"id": f"f{i}-{scope.get('namespace', '')}-{scope.get('user_id', '')}",
             "text": f"{topics[i % len(topics)]} note {i}", **scope} for i in range(n)]


async def test_true_searches_with_the_query(client: httpx.AsyncClient) -> None:
    """``long_term_search: true`` ranks the memory matching the query first (AMS ignores the
    query and lists 20 arbitrary memories), within the session's namespace and user, and
    excludes the current session's own memories."""
    scope = {"namespace": "ns", "user_id": "u"}
    await store(client, [
        {"id": "tea", "text": "favourite drink is green tea with honey", "session_id": "old",
         **scope},
        *filler(30, **scope),
        {"id": "mine", "text": "favourite drink is green tea right now", "session_id": "now",
         **scope},
        {"id": "other-ns", "text": "favourite drink is green tea", "namespace": "ns2",
         "user_id": "u"},
        {"id": "other-user", "text": "favourite drink is green tea", "namespace": "ns",
         "user_id": "u2"},
    ])
    await put_session(client, "now", [{"role": "user", "content": "hello"}], **scope)
    response = await client.post(PROMPT, json={
        "query": "what is my favourite drink? green tea?",
        "session": {"session_id": "now", **scope}, "long_term_search": True,
    })
    assert response.status_code == 200, response.text
    data = response.json()
    ids = [m["id"] for m in data["long_term_memories"]]
    assert ids[0] == "tea"
    assert not {"mine", "other-ns", "other-user"} & set(ids)
    assert len(ids) <= 20
    roles = [m["role"] for m in data["messages"]]
    assert roles == ["user", "system", "user"]
    block = data["messages"][1]["content"]["text"]
    assert block == MEMORIES_HEADER + "\n".join(
        f"- {m['text']} (ID: {m['id']})" for m in data["long_term_memories"])
    assert recount(data["messages"]) == data["tokens_used"]
    # Another query ranks another memory first: the ranking follows the query.
    other = await client.post(PROMPT, json={
        "query": "which sailing knots do I know?",
        "session": {"session_id": "now", **scope}, "long_term_search": True,
    })
    assert "sailing knots" in other.json()["long_term_memories"][0]["text"]


async def test_search_object_takes_the_query_and_the_session_user(
    client: httpx.AsyncClient,
) -> None:
    """A search object's ``text`` is replaced by the query; the session's user is applied."""
    await store(client, [
        {"id": "u-tea", "text": "drinks green tea every morning", "user_id": "u"},
        {"id": "u-hike", "text": "hiking trails in the alps", "user_id": "u"},
        {"id": "v-tea", "text": "drinks green tea every morning", "user_id": "v"},
    ])
    response = await client.post(PROMPT, json={
        "query": "green tea morning",
        "session": {"session_id": "s", "user_id": "u"},
        "long_term_search": {"text": "hiking alps", "limit": 5},
    })
    assert response.status_code == 200, response.text
    ids = [m["id"] for m in response.json()["long_term_memories"]]
    assert ids[0] == "u-tea" and "v-tea" not in ids


async def test_no_hits_renders_the_none_found_message(client: httpx.AsyncClient) -> None:
    """No matching memory: AMS's 'No relevant long-term memories found.' and a null list."""
    response = await client.post(PROMPT, json={
        "query": "anything", "long_term_search": {"namespace": {"eq": "empty-ns"}}})
    assert response.status_code == 200, response.text
    data = response.json()
    assert data["long_term_memories"] is None
    assert data["messages"][0]["content"]["text"] == (
        MEMORIES_HEADER + "No relevant long-term memories found.")
    assert data["messages"][-1]["content"]["text"] == "anything"


async def test_many_memories_and_a_long_session_stay_within_budget(
    client: httpx.AsyncClient,
) -> None:
    """Summary, messages and memories together never exceed the budget; memories get what
    the summary and the messages leave, best first."""
    await store(client, [{"id": f"m{i}", "text": f"green tea fact {i} " + "detail " * (i % 9),
                          "namespace": "b"} for i in range(60)])
    history = [{"role": "user" if i % 2 == 0 else "assistant", "content": f"turn {i} " * 12}
               for i in range(10)]
    await put_session(client, "long", history, namespace="b", context="they like tea " * 60)
    seen: dict[int, dict[str, Any]] = {}
    for budget in (150, 1000, 20000):
        response = await client.post(PROMPT, json={
            "query": "tell me about green tea",
            "session": {"session_id": "long", "namespace": "b", "context_window_max": budget},
            "long_term_search": {"limit": 60},
        })
        assert response.status_code == 200, response.text
        data = seen[budget] = response.json()
        assert recount(data["messages"]) == data["tokens_used"] <= budget
        assert data["messages"][0]["content"]["text"].startswith(
            "## A summary of the conversation so far:\n")
        hits = data["long_term_memories"] or []
        assert data["memories_omitted"] == 60 - len(hits)
    assert seen[150]["messages_omitted"] == 10 and seen[150]["long_term_memories"] is None
    partial = [m["id"] for m in seen[1000]["long_term_memories"]]
    assert seen[1000]["messages_omitted"] == 0 and 0 < len(partial) < 60
    everything = [m["id"] for m in seen[20000]["long_term_memories"]]
    assert len(everything) == 60
    # The partial list follows relevance order (the order of the full result list).
    assert partial == [i for i in everything if i in set(partial)]


async def test_optimize_query_rewrites_the_search_not_the_prompt(
    redis_url: str, redis: Redis, stub_openai: StubOpenAI,
) -> None:
    """``optimize_query=true`` sends the query to the model for a search rewrite; the prompt
    still ends with the caller's own words. Without it no model call is made."""
    stub_openai.default_reply = "green tea"
    settings = make_settings(redis_url, openai_api_base=stub_openai.base_url)
    body = {"query": "which beverage do I enjoy at breakfast?",
            "long_term_search": {"search_mode": "semantic", "limit": 1}}
    async with serve(settings) as http:
        await store(http, [{"id": "tea", "text": "drinks green tea"},
                           {"id": "boat", "text": "owns a sailing boat"}])
        plain = await http.post(PROMPT, json=body)
        assert plain.status_code == 200, plain.text
        assert stub_openai.chat_requests() == []
        response = await http.post(PROMPT, params={"optimize_query": "true"}, json=body)
    assert response.status_code == 200, response.text
    asked = stub_openai.chat_requests()
    assert len(asked) == 1 and body["query"] in asked[0]["messages"][0]["content"]
    data = response.json()
    assert [m["id"] for m in data["long_term_memories"]] == ["tea"]
    assert data["messages"][-1]["content"]["text"] == body["query"]


async def test_a_query_longer_than_a_search_text_still_makes_a_prompt(
    client: httpx.AsyncClient,
) -> None:
    """Search text is capped at 10,000 characters; the prompt keeps the whole query."""
    await store(client, [{"id": "tea", "text": "green tea every morning"}])
    query = "green tea " + "and more words " * 1000
    response = await client.post(PROMPT, json={"query": query, "long_term_search": True})
    assert response.status_code == 200, response.text
    data = response.json()
    assert data["messages"][-1]["content"]["text"] == query
    assert [m["id"] for m in data["long_term_memories"]] == ["tea"]


async def test_long_term_disabled(redis_url: str, redis: Redis) -> None:
    """With LONG_TERM_MEMORY off a search is AMS's 400; a session-only prompt still works."""
    async with serve(make_settings(redis_url, long_term_memory=False)) as http:
        refused = await http.post(PROMPT, json={"query": "q", "long_term_search": True})
        assert refused.status_code == 400
        assert refused.json()["detail"] == "Long-term memory is disabled"
        fine = await http.post(PROMPT, json={"query": "q", "session": {"session_id": "s"}})
        assert fine.status_code == 200, fine.text


@pytest.mark.parametrize("mode", ["keyword", "hybrid", "semantic"])
async def test_stopword_heavy_query_does_not_take_redis_down(
    client: httpx.AsyncClient, redis: Redis, mode: str,
) -> None:
    """Prompt queries are natural language: the query that segfaults RediSearch 2.10 as a
    stopword union (ENVIRONMENT.md) is searched safely in every mode, and Redis stays up."""
    await store(client, [{"id": "vol", "text": "james volunteered for the organization"}])
    query = ("will there be an interview required to volunteer with the organization "
             "james volunteered for?")
    response = await client.post(PROMPT, json={
        "query": query, "long_term_search": {"search_mode": mode}})
    assert response.status_code == 200, response.text
    assert await redis.ping()
    assert [m["id"] for m in response.json()["long_term_memories"] or []] == ["vol"]
