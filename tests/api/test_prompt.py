"""``POST /v1/memory/prompt`` from working memory: order, shapes, roles, budget, errors."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from agent_memory.tokenizer import encoding

PROMPT = "/v1/memory/prompt"


def text_of(message: dict[str, Any]) -> str:
    content = message["content"]
    return content if isinstance(content, str) else content["text"]


def recount(messages: list[dict[str, Any]]) -> int:
    """Tokens of the returned prompt, counted independently with tiktoken as rendered."""
    enc = encoding()
    return sum(len(enc.encode(f"{m['role']}: {text_of(m)}", disallowed_special=()))
               for m in messages)


async def put_session(client: httpx.AsyncClient, session_id: str, messages: list[dict[str, str]],
                      **fields: Any) -> None:
    response = await client.put(f"/v1/working-memory/{session_id}",
                                json={"messages": messages, **fields})
    assert response.status_code == 200, response.text


def chat(n: int, words: int = 5, prefix: str = "m") -> list[dict[str, str]]:
    return [{"role": "user" if i % 2 == 0 else "assistant", "id": f"{prefix}{i}",
             "content": f"{prefix}{i} " + " ".join(f"word{j}" for j in range(words))}
            for i in range(n)]


async def test_order_shapes_summary_and_roles(client: httpx.AsyncClient) -> None:
    """Summary as a system message, messages in order with AMS role mapping, query last."""
    messages = [
        {"role": "user", "content": "hello there", "id": "a"},
        {"role": "assistant", "content": "hi, how can I help", "id": "b"},
        {"role": "system", "content": "be brief", "id": "c"},
        {"role": "tool", "content": "{\"temp\": 21}", "id": "d"},
        {"role": "user", "content": "thanks", "id": "e"},
    ]
    await put_session(client, "s1", messages, context="they talked about weather",
                      namespace="ns", user_id="u1")
    response = await client.post(PROMPT, json={
        "query": "what is the weather?",
        "session": {"session_id": "s1", "namespace": "ns", "user_id": "u1"},
    })
    assert response.status_code == 200, response.text
    data = response.json()
    assert data["messages"][0] == {
        "role": "system",
        "content": {"type": "text", "text": "## A summary of the conversation so far:\n"
                    "they talked about weather", "annotations": None, "_meta": None},
    }
    middle = data["messages"][1:-1]
    assert [(m["role"], m["content"]["text"]) for m in middle] == [
        ("user", "hello there"), ("assistant", "hi, how can I help"), ("assistant", "be brief"),
        ("assistant", "{\"temp\": 21}"), ("user", "thanks"),
    ]
    assert all(m["content"]["type"] == "text" for m in middle)
    assert data["messages"][-1] == {
        "role": "user",
        "content": {"type": "text", "text": "what is the weather?", "annotations": None,
                    "_meta": None},
    }
    assert data["long_term_memories"] is None
    assert data["tokens_used"] == recount(data["messages"])
    assert data["token_budget"] == 16000  # settings.default_context_window
    assert response.headers["x-prompt-tokens"] == str(data["tokens_used"])
    assert response.headers["x-prompt-token-budget"] == "16000"


async def test_missing_session_is_empty(client: httpx.AsyncClient) -> None:
    """An unknown session gives a prompt with only the query (not 404), as AMS."""
    response = await client.post(PROMPT, json={"query": "hi", "session": {"session_id": "nope"}})
    assert response.status_code == 200, response.text
    assert [m["role"] for m in response.json()["messages"]] == ["user"]
    assert response.json()["messages_omitted"] == 0


async def test_session_in_other_namespace_is_not_read(client: httpx.AsyncClient) -> None:
    """A session stored under namespace b is invisible to a prompt naming namespace a."""
    await put_session(client, "shared-id", chat(3, prefix="b"), namespace="b", user_id="u")
    await put_session(client, "shared-id", chat(2, prefix="a"), namespace="a", user_id="u")
    response = await client.post(PROMPT, json={
        "query": "q", "session": {"session_id": "shared-id", "namespace": "a", "user_id": "u"}})
    texts = [m["content"]["text"] for m in response.json()["messages"]]
    assert texts[:-1] == [m["content"] for m in chat(2, prefix="a")]
    other = await client.post(PROMPT, json={
        "query": "q", "session": {"session_id": "shared-id", "namespace": "c", "user_id": "u"}})
    assert [m["content"]["text"] for m in other.json()["messages"]] == ["q"]


async def test_window_from_string_model_and_default(client: httpx.AsyncClient) -> None:
    """context_window_max as a string (the Python client) wins, then the model, then default."""
    cases = [
        ({"context_window_max": "4096", "model_name": "gpt-4o"}, 4096),
        ({"model_name": "gpt-4"}, 8192),
        ({"model_name": "my-own-finetune-v7"}, 16000),  # any name is accepted
    ]
    for extra, expected in cases:
        response = await client.post(PROMPT, json={
            "query": "q", "session": {"session_id": "s", **extra}})
        assert response.status_code == 200, response.text
        assert response.json()["token_budget"] == expected


async def test_huge_session_keeps_newest_messages_within_budget(client: httpx.AsyncClient) -> None:
    """Budget is never exceeded: the newest messages are kept, contiguous and in order."""
    history = chat(400, words=40)
    for start in range(0, 400, 100):  # append in chunks: the session is far over any budget
        response = await client.post("/v1/working-memory/big/messages",
                                     json={"messages": history[start:start + 100]},
                                     params={"context_window_max": 10_000_000})
        assert response.status_code == 200, response.text
    for budget in (300, 1000, 5000):
        response = await client.post(PROMPT, json={
            "query": "summarize please",
            "session": {"session_id": "big", "context_window_max": budget}})
        assert response.status_code == 200, response.text
        data = response.json()
        used = recount(data["messages"])
        assert used == data["tokens_used"] <= budget
        kept = [m["content"]["text"] for m in data["messages"][:-1]]
        assert kept == [m["content"] for m in history[len(history) - len(kept):]]
        assert data["messages_omitted"] == len(history) - len(kept) > 0
        # Greedy and contiguous: the next older message would not have fitted.
        enc = encoding()
        nxt = history[len(history) - len(kept) - 1]
        assert used + len(enc.encode(f"{nxt['role']}: {nxt['content']}")) > budget


async def test_summary_comes_first_and_is_cut_to_fit(client: httpx.AsyncClient) -> None:
    """A summary larger than the budget is cut at a token boundary; messages get what is left."""
    summary = " ".join(f"fact{i} about the user" for i in range(2000))
    await put_session(client, "sum", chat(4), context=summary)
    response = await client.post(PROMPT, json={
        "query": "q", "session": {"session_id": "sum", "context_window_max": 500}})
    data = response.json()
    assert response.status_code == 200, response.text
    first = data["messages"][0]
    assert first["role"] == "system"
    assert first["content"]["text"].startswith("## A summary of the conversation so far:\nfact0 ")
    assert first["content"]["text"].endswith(" …")
    assert recount(data["messages"]) == data["tokens_used"] <= 500
    assert data["tokens_used"] >= 490  # the summary takes nearly all the room
    assert data["messages_omitted"] == 4


async def test_query_over_budget_is_400(client: httpx.AsyncClient) -> None:
    """A query that alone exceeds the budget is a clear 400, not a silently broken prompt."""
    response = await client.post(PROMPT, json={
        "query": "word " * 200, "session": {"session_id": "s", "context_window_max": 50}})
    assert response.status_code == 400
    assert "over the prompt budget of 50" in response.json()["detail"]
    assert response.json()["error"]["details"]["token_budget"] == 50


async def test_neither_session_nor_search_is_400(client: httpx.AsyncClient) -> None:
    """Without session and long_term_search there is nothing to assemble (AMS: 400)."""
    for body in ({"query": "q"}, {"query": "q", "long_term_search": False},
                 {"query": "q", "session": None, "long_term_search": None}):
        response = await client.post(PROMPT, json=body)
        assert response.status_code == 400, body
        assert response.json()["detail"] == "Either session or long_term_search must be provided"


@pytest.mark.parametrize(("body", "loc"), [
    ({"session": {"session_id": "s"}}, ["body", "query"]),
    ({"query": "   ", "session": {"session_id": "s"}}, ["body", "query"]),
    ({"query": "q", "session": {}}, ["body", "session", "session_id"]),
    ({"query": "q", "session": {"session_id": "s", "context_window_max": "big"}},
     ["body", "session", "context_window_max"]),
    ({"query": "q", "session": {"session_id": "s", "context_window_max": 0}},
     ["body", "session", "context_window_max"]),
    ({"query": "q", "long_term_search": {"limit": 0}}, ["body", "long_term_search"]),
    ({"query": "q", "long_term_search": [1]}, ["body", "long_term_search"]),
])
async def test_invalid_bodies_are_422_with_field_paths(
    client: httpx.AsyncClient, body: dict[str, Any], loc: list[str]
) -> None:
    """Malformed bodies are 422 naming the field, never a 500."""
    response = await client.post(PROMPT, json=body)
    assert response.status_code == 422, response.text
    locs = [d["loc"] for d in response.json()["detail"]]
    assert any(found[:len(loc)] == loc for found in locs), locs


async def test_optimize_query_must_be_boolean(client: httpx.AsyncClient) -> None:
    """The query parameter is validated like the body."""
    response = await client.post(PROMPT, params={"optimize_query": "maybe"},
                                 json={"query": "q", "session": {"session_id": "s"}})
    assert response.status_code == 422
    assert response.json()["detail"][0]["loc"] == ["query", "optimize_query"]
