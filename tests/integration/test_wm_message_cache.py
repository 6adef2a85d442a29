"""Stored messages are decoded once and shared; a changed flag must still be seen."""

from __future__ import annotations

from redis.asyncio import Redis

from agent_memory.models.working_memory import MemoryMessage
from agent_memory.storage.working_memory import WorkingMemoryStore


async def test_flags_set_after_a_read_are_seen(redis: Redis) -> None:
    store = WorkingMemoryStore(redis)
    msg = MemoryMessage(role="user", content="hello", id="f1")
    session, added, _ = await store.append("ns", "u", "s", [(msg, 3)])
    assert added == 1 and session.messages[0].message.persisted_at is None
    assert (await store.get("ns", "u", "s")).messages[0].message.discrete_memory_extracted == "f"

    assert await store.mark("ns", "u", "s", persisted_messages=["f1"], extracted_messages=["f1"],
                            persisted_at=1_700_000_000.0) == 2
    again = (await store.get("ns", "u", "s")).messages[0].message
    assert again.persisted_at is not None and again.persisted_at.timestamp() == 1_700_000_000.0
    assert again.discrete_memory_extracted == "t"


async def test_same_id_in_another_session_keeps_its_own_content(redis: Redis) -> None:
    store = WorkingMemoryStore(redis)
    await store.append("ns", "u", "a", [(MemoryMessage(role="user", content="one", id="x"), 1)])
    await store.append("ns", "u", "b", [(MemoryMessage(role="user", content="two", id="x"), 1)])
    assert (await store.get("ns", "u", "a")).messages[0].message.content == "one"
    assert (await store.get("ns", "u", "b")).messages[0].message.content == "two"
