"""The official agent-memory-client 0.14.0, unchanged, against a real server over HTTP."""

from __future__ import annotations


import pytest
from agent_memory_client import MemoryAPIClient
from agent_memory_client.exceptions import MemoryNotFoundError
from agent_memory_client.models import MemoryMessage, WorkingMemory




async def test_working_memory_walkthrough(memory_client: MemoryAPIClient) -> None:
    """health, put, get, get_or_create, append, list and delete all succeed unchanged."""
    health = await memory_client.health_check()
    assert health.now > 0

    created, memory = await memory_client.get_or_create_working_memory("chat-1", user_id="alice")
    assert created is True and memory.session_id == "chat-1"
    created_again, _ = await memory_client.get_or_create_working_memory("chat-1", user_id="alice")
    assert created_again is False

    put = await memory_client.put_working_memory(
        "chat-1",
        WorkingMemory(
            session_id="chat-1", namespace="demo", user_id="alice",
            messages=[MemoryMessage(role="user", content="I live in Lisbon")],
            data={"plan": "trip"},
        ),
        user_id="alice",
        model_name="gpt-4o",
    )
    assert [m.content for m in put.messages] == ["I live in Lisbon"]
    assert put.context_percentage_total_used is not None

    appended = await memory_client.append_messages_to_working_memory(
        "chat-1", [{"role": "assistant", "content": "Lisbon is lovely"}], user_id="alice"
    )
    assert [m.content for m in appended.messages] == ["I live in Lisbon", "Lisbon is lovely"]

    got = await memory_client.get_working_memory("chat-1", user_id="alice", namespace="demo")
    assert len(got.messages) == 2 and got.data == {"plan": "trip"}

    sessions = await memory_client.list_sessions(namespace="demo", user_id="alice")
    assert sessions.sessions == ["chat-1"] and sessions.total == 1

    ack = await memory_client.delete_working_memory("chat-1", user_id="alice")
    assert ack.status == "ok"
    with pytest.raises(MemoryNotFoundError):
        await memory_client.get_working_memory("chat-1", user_id="alice", namespace="demo")
