"""The official agent-memory-client 0.14.0's prompt calls against a real uvicorn server."""

from __future__ import annotations


from agent_memory_client import MemoryAPIClient
from agent_memory_client.models import ClientMemoryRecord, MemoryMessage, WorkingMemory

from tests.support.wait import wait_until



async def _seed(client: MemoryAPIClient) -> None:
    await client.create_long_term_memory([
        ClientMemoryRecord(id="tea", text="alice drinks green tea every morning",
                           user_id="alice", session_id="earlier"),
        ClientMemoryRecord(id="boat", text="alice owns a small sailing boat",
                           user_id="alice", session_id="earlier"),
        ClientMemoryRecord(id="bob-tea", text="bob drinks green tea every morning",
                           user_id="bob", session_id="earlier"),
    ], deduplicate=False)

    async def searchable() -> bool:
        found = await client.search_long_term_memory(text="green tea", namespace=None, limit=10)
        return {"tea", "boat", "bob-tea"} <= {m.id for m in found.memories}

    await wait_until(searchable, timeout=10)


async def test_memory_prompt(memory_client: MemoryAPIClient) -> None:
    """memory_prompt: session messages, memories scoped to the session's user, the query; the
    window the client sends as a string is the budget."""
    await _seed(memory_client)
    await memory_client.put_working_memory(
        "chat", WorkingMemory(session_id="chat", namespace="demo", user_id="alice",
                              context="alice is planning her morning",
                              messages=[MemoryMessage(role="user", content="good morning"),
                                        MemoryMessage(role="assistant", content="hello alice")]),
        user_id="alice",
    )
    result = await memory_client.memory_prompt(
        "what does alice drink in the morning?", session_id="chat", user_id="alice",
        context_window_max=3000, long_term_search={"limit": 5},
    )
    roles = [m["role"] for m in result["messages"]]
    assert roles == ["system", "user", "assistant", "system", "user"]
    assert result["messages"][0]["content"]["text"].endswith("alice is planning her morning")
    assert result["messages"][-1]["content"]["text"] == "what does alice drink in the morning?"
    ids = [m["id"] for m in result["long_term_memories"]]
    assert ids[0] == "tea" and "bob-tea" not in ids
    block = result["messages"][3]["content"]["text"]
    assert "- alice drinks green tea every morning (ID: tea)" in block
    assert result["token_budget"] == 3000 and 0 < result["tokens_used"] <= 3000


async def test_hydrate_memory_prompt(memory_client: MemoryAPIClient) -> None:
    """hydrate_memory_prompt: only long-term search, with the client's filter objects."""
    await _seed(memory_client)
    result = await memory_client.hydrate_memory_prompt(
        "green tea in the morning", user_id={"eq": "bob"}, limit=3)
    assert [m["role"] for m in result["messages"]] == ["system", "user"]
    assert [m["id"] for m in result["long_term_memories"]] == ["bob-tea"]
    assert result["messages"][1]["content"]["text"] == "green tea in the morning"
