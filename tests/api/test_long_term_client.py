"""The official agent-memory-client 0.14.0 long-term calls against a real uvicorn server."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from agent_memory_client import MemoryAPIClient
from agent_memory_client.exceptions import MemoryNotFoundError
from agent_memory_client.filters import CreatedAt, Namespace, Topics, UserId
from agent_memory_client.models import ClientMemoryRecord, MemoryTypeEnum



@pytest.fixture
def client_namespace() -> str:
    return "client-ns"


async def test_official_client_long_term_round_trip(memory_client: MemoryAPIClient) -> None:
    """create (client ids), search with filters, get, edit, delete: ids round-trip intact."""
    records = [
        ClientMemoryRecord(text="alice prefers window seats on flights", user_id="alice",
                           topics=["travel", "preferences"], memory_type=MemoryTypeEnum.SEMANTIC),
        ClientMemoryRecord(text="alice visited Lisbon in May", user_id="alice",
                           topics=["travel"], memory_type=MemoryTypeEnum.EPISODIC),
        ClientMemoryRecord(text="bob prefers aisle seats", user_id="bob", topics=["travel"]),
    ]
    ack = await memory_client.create_long_term_memory(records)
    assert ack.status == "ok"
    ids = [r.id for r in records]

    found = await memory_client.search_long_term_memory(
        text="seat preferences on flights", user_id=UserId(eq="alice"),
        topics=Topics(any=["travel"]), limit=5)
    assert {m.id for m in found.memories} == set(ids[:2])
    assert found.total == 2
    assert found.memories[0].id == ids[0]

    both = await memory_client.search_long_term_memory(
        text="", topics={"all": ["travel", "preferences"]}, namespace=Namespace(eq="client-ns"))
    assert [m.id for m in both.memories] == [ids[0]]

    recent = await memory_client.search_long_term_memory(
        text="seats", created_at=CreatedAt(gte=datetime.now(UTC) - timedelta(hours=1),
                                           lte=datetime.now(UTC) + timedelta(minutes=1)))
    assert {m.id for m in recent.memories} >= {ids[0], ids[2]}

    in_users = await memory_client.search_long_term_memory(
        text="seats", user_id=UserId(in_=["bob"]))
    assert [m.id for m in in_users.memories] == [ids[2]]

    got = await memory_client.get_long_term_memory(ids[1])
    assert got.id == ids[1] and got.namespace == "client-ns" and got.text.startswith("alice visited")

    edited = await memory_client.edit_long_term_memory(ids[1], {"text": "alice visited Porto in June",
                                                                "topics": ["travel", "cities"]})
    assert edited.id == ids[1] and edited.text == "alice visited Porto in June"
    again = await memory_client.search_long_term_memory(text="Porto", limit=1)
    assert again.memories[0].id == ids[1]

    deleted = await memory_client.delete_long_term_memories([ids[0], ids[1]])
    assert deleted.status == "ok, deleted 2 memories"
    with pytest.raises(MemoryNotFoundError):
        await memory_client.get_long_term_memory(ids[0])
    rest = await memory_client.search_long_term_memory(text="")
    assert [m.id for m in rest.memories] == [ids[2]]
